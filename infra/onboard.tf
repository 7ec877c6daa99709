# Web onboarding (var.onboard): the public page where an athlete connects their Strava
# account. It runs as the runtime account (it writes the athlete's token and config to the
# bucket and publishes their first full load to the ingest topic) and reads the Strava
# client secret and the secret that signs its OAuth states.

variable "onboard" {
  type        = bool
  default     = false
  description = "Also the web onboarding page (entry point onboard)."
}

variable "onboard_function_name" {
  type    = string
  default = "nunis-onboard"
}

variable "onboard_secret_name" {
  type    = string
  default = "nunis-onboard-secret"
}

locals {
  onboard     = var.onboard ? 1 : 0
  onboard_fns = var.onboard && var.deploy_functions ? 1 : 0
  onboard_url = "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.onboard_function_name}"
}

resource "google_secret_manager_secret" "onboard_secret" {
  count     = local.onboard
  secret_id = var.onboard_secret_name
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "runtime_reads_onboard_secret" {
  count     = local.onboard
  secret_id = google_secret_manager_secret.onboard_secret[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_cloudfunctions2_function" "onboard" {
  #checkov:skip=CKV_GCP_124:athletes open it in their browser; it holds no data and every callback needs a signed, single-use state bound to the browser's cookie
  count    = local.onboard_fns
  name     = var.onboard_function_name
  location = var.region
  build_config {
    runtime         = "python312"
    entry_point     = "onboard"
    service_account = google_service_account.build.id
    source {
      storage_source {
        bucket = local.bundle_source.bucket
        object = local.bundle_source.object
      }
    }
  }
  service_config {
    available_memory      = var.memory
    timeout_seconds       = 60
    max_instance_count    = var.max_instances
    service_account_email = google_service_account.runtime.email
    ingress_settings      = "ALLOW_ALL"
    environment_variables = merge(local.function_env, {
      NUNIS_INGEST_TOPIC = var.topic
      NUNIS_ONBOARD_URL  = local.onboard_url
    })
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
    google_secret_manager_secret_iam_member.runtime_reads_client_secret,
    google_secret_manager_secret_iam_member.runtime_reads_onboard_secret,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "onboard_public" {
  #checkov:skip=CKV_GCP_102:athletes open the onboarding page in their browser, unauthenticated
  count    = local.onboard_fns
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.onboard[0].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

output "onboard_url" {
  description = "The page to share with athletes; its host is the Strava app's Authorization Callback Domain."
  value       = one(google_cloudfunctions2_function.onboard[*]) == null ? null : local.onboard_url
}
