# Two jobs for every athlete: a message naming no athlete fans out (one per enabled athlete).

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
