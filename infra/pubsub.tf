# Topics, dead-letter topics and the subscriptions that keep dead letters (7 days) for
# docs/runbook.md, and the events drain's pull subscription. The dead-letter policy of the
# ingest trigger sits on its Eventarc subscription (functions.tf), which Eventarc names.

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

# The events drain (main.drain_events) pulls from here; its own dead-letter policy.
resource "google_pubsub_subscription" "events_drain" {
  count                      = local.webhook
  name                       = var.events_subscription
  topic                      = google_pubsub_topic.events[0].id
  message_retention_duration = "604800s"
  ack_deadline_seconds       = 600
  expiration_policy {
    ttl = ""
  }
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.events_dead_letter[0].id
    max_delivery_attempts = var.max_delivery_attempts
  }
  retry_policy {
    minimum_backoff = var.min_retry_delay
    maximum_backoff = var.max_retry_delay
  }
  depends_on = [google_pubsub_topic_iam_member.agent_publishes_event_dead_letters]
}

resource "google_pubsub_subscription_iam_member" "runtime_drains_events" {
  count        = local.webhook
  subscription = google_pubsub_subscription.events_drain[0].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.runtime.email}"
}

# Pub/Sub's service agent forwards dead letters: publisher on each dead-letter topic, and
# subscriber on the subscriptions it takes them from (Eventarc's is named by Eventarc).
resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  topic      = google_pubsub_topic.dead_letter.name
  role       = "roles/pubsub.publisher"
  member     = local.pubsub_agent
  depends_on = [terraform_data.pubsub_agent]
}

resource "google_pubsub_topic_iam_member" "agent_publishes_event_dead_letters" {
  count      = local.webhook
  topic      = google_pubsub_topic.events_dead_letter[0].name
  role       = "roles/pubsub.publisher"
  member     = local.pubsub_agent
  depends_on = [terraform_data.pubsub_agent]
}

resource "google_project_iam_member" "agent_acknowledges_dead_letters" {
  project    = var.project_id
  role       = "roles/pubsub.subscriber"
  member     = local.pubsub_agent
  depends_on = [terraform_data.pubsub_agent]
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
