# Topics, dead-letter topics and the subscriptions that keep dead letters (7 days) for
# docs/runbook.md. The dead-letter policy itself sits on each function's Eventarc
# subscription (functions.tf), which Eventarc creates and names.

resource "google_pubsub_topic" "ingest" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; the messages hold athlete ids and modes only
  name       = var.topic
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; the messages hold athlete ids and modes only
  name       = var.dead_letter_topic
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = var.dead_letter_subscription
  topic                      = google_pubsub_topic.dead_letter.id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 600
  expiration_policy {
    ttl = "" # never expires
  }
}

resource "google_pubsub_topic" "events" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; events are Strava's unsigned ids
  count      = local.webhook
  name       = var.events_topic
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "events_dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; events are Strava's unsigned ids
  count      = local.webhook
  name       = var.events_dead_letter_topic
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "events_dead_letter" {
  count                      = local.webhook
  name                       = var.events_dead_letter_subscription
  topic                      = google_pubsub_topic.events_dead_letter[0].id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 600
  expiration_policy {
    ttl = ""
  }
}

# Pub/Sub's service agent forwards dead letters: publisher on each dead-letter topic.
resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "agent_publishes_event_dead_letters" {
  count  = local.webhook
  topic  = google_pubsub_topic.events_dead_letter[0].name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

# The fan-out: the function publishes one message per athlete to its own topic.
resource "google_pubsub_topic_iam_member" "runtime_fans_out" {
  topic  = google_pubsub_topic.ingest.name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# The webhook publishes events; that is all it may do.
resource "google_pubsub_topic_iam_member" "webhook_publishes_events" {
  count  = local.webhook
  topic  = google_pubsub_topic.events[0].name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.webhook[0].email}"
}
