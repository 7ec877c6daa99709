# Web onboarding (var.onboard): the page where an invited athlete connects their Strava
# account. It runs as its own account, which may only create objects under onboard/ in the
# bucket (used invites, and the hand-over of a new token), publish to the ingest
# topic (the hand-over message) and read its two secrets: no athlete's token or config, no
# BigQuery. The ingest function applies the hand-over.

variable "onboard" {
  type        = bool
  default     = false
  description = "Also the web onboarding page (entry point onboard), for invited athletes."
}

variable "onboard_function_name" {
  type    = string
  default = "nunis-onboard"
}

variable "onboard_secret_name" {
  type    = string
  default = "nunis-onboard-secret"
}

variable "onboard_account" {
  type    = string
  default = "nunis-onboard"
}

variable "onboard_max_instances" {
  type        = number
  default     = 1
  description = "Bounds what anonymous callers can make the page spend (deployment-guide.md step 12)."
}

locals {
  onboard     = var.onboard ? 1 : 0
  onboard_fns = var.onboard && var.deploy_functions ? 1 : 0
  onboard_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.onboard_function_name}"
}

resource "google_service_account" "onboard" {
  count        = local.onboard
  account_id   = var.onboard_account
  display_name = "Nunis Ingest onboarding page"
  depends_on   = [google_project_service.apis]
}

# Create-only, and only under onboard/: objectCreator has no get, list, delete or overwrite.
resource "google_storage_bucket_iam_member" "onboard_creates_handovers" {
  count  = local.onboard
  bucket = google_storage_bucket.data.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.onboard[0].email}"
  condition {
    title      = "onboard-objects-only"
    expression = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.data.name}/objects/onboard/\")"
  }
}

resource "google_pubsub_topic_iam_member" "onboard_publishes_handovers" {
  count  = local.onboard
  topic  = google_pubsub_topic.ingest.name
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.onboard[0].email}"
}

resource "google_secret_manager_secret" "onboard_secret" {
  count     = local.onboard
  secret_id = var.onboard_secret_name
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "onboard_reads_onboard_secret" {
  count     = local.onboard
  secret_id = google_secret_manager_secret.onboard_secret[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.onboard[0].email}"
}

resource "google_secret_manager_secret_iam_member" "onboard_reads_client_secret" {
  count     = local.onboard
  secret_id = google_secret_manager_secret.client_secret.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.onboard[0].email}"
}

resource "google_cloudfunctions2_function" "onboard" {
  #checkov:skip=CKV_GCP_124:invited athletes open it in their browser; it refuses anyone without a signed invite before any storage or Strava request
  count    = local.onboard_fns
  name     = var.onboard_function_name
  location = var.region
  build_config {
    runtime           = "python312"
    entry_point       = "onboard"
    service_account   = google_service_account.build.id
    docker_repository = local.docker_repository
    source {
      storage_source {
        bucket = local.bundle_source.bucket
        object = local.bundle_source.object
      }
    }
  }
  service_config {
    available_memory                 = var.memory
    timeout_seconds                  = 30
    max_instance_count               = var.onboard_max_instances
    max_instance_request_concurrency = 1
    service_account_email            = google_service_account.onboard[0].email
    ingress_settings                 = "ALLOW_ALL"
    environment_variables = {
      NUNIS_BACKEND      = "gcp"
      NUNIS_BUCKET       = google_storage_bucket.data.name
      NUNIS_DATASET      = google_bigquery_dataset.nunis.dataset_id
      NUNIS_PROJECT      = var.project_id
      STRAVA_CLIENT_ID   = var.strava_client_id
      NUNIS_INGEST_TOPIC = var.topic
      NUNIS_ONBOARD_URL  = local.onboard_url
    }
    secret_environment_variables {
      key        = "STRAVA_CLIENT_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.client_secret.secret_id
      version    = "latest"
    }
    secret_environment_variables {
      key        = "NUNIS_ONBOARD_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.onboard_secret[0].secret_id
      version    = "latest"
    }
  }
  depends_on = [
    google_secret_manager_secret_iam_member.onboard_reads_client_secret,
    google_secret_manager_secret_iam_member.onboard_reads_onboard_secret,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_artifact_registry_repository_iam_member.build_pushes_images,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "onboard_public" {
  #checkov:skip=CKV_GCP_102:invited athletes open the onboarding page in their browser, unauthenticated
  count    = local.onboard_fns
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.onboard[0].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Invite links carry a secret until used: keep Cloud Run's request log of the page (the
# URLs) out of the _Default bucket, as for the webhook.
resource "google_logging_project_exclusion" "onboard_requests" {
  count       = local.onboard
  name        = "nunis-onboard-requests"
  description = "The onboarding page's request log carries invite links"
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.onboard_function_name}\" AND log_id(\"run.googleapis.com/requests\")"
}

output "onboard_url" {
  description = "The page's address (invites start with it); its host is the Strava app's Authorization Callback Domain."
  value       = one(google_cloudfunctions2_function.onboard[*]) == null ? null : local.onboard_url
}
