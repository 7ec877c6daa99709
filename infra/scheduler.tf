# Two jobs for every athlete: a message naming no athlete fans out (one per athlete due).

resource "google_cloud_scheduler_job" "new" {
  name      = var.new_job
  region    = var.region
  schedule  = var.new_schedule
  time_zone = "Etc/UTC"
  pubsub_target {
    topic_name = google_pubsub_topic.ingest.id
    data       = base64encode(jsonencode({ mode = "new" }))
  }
  depends_on = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "all" {
  name      = var.all_job
  region    = var.region
  schedule  = var.all_schedule
  time_zone = "Etc/UTC"
  pubsub_target {
    topic_name = google_pubsub_topic.ingest.id
    data       = base64encode(jsonencode({ mode = "all" }))
  }
  depends_on = [google_project_service.apis]
}

# With the webhook: the events drain, every minute, as the trigger account (OIDC).
resource "google_cloud_scheduler_job" "events" {
  count            = local.webhook_fns
  name             = var.events_job
  region           = var.region
  schedule         = "* * * * *"
  time_zone        = "Etc/UTC"
  attempt_deadline = "540s"
  http_target {
    uri         = google_cloudfunctions2_function.events[0].service_config[0].uri
    http_method = "POST"
    oidc_token {
      service_account_email = google_service_account.trigger.email
      audience              = google_cloudfunctions2_function.events[0].service_config[0].uri
    }
  }
  depends_on = [google_cloud_run_v2_service_iam_member.trigger_invokes_events]
}
