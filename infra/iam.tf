# Service accounts. None gets a project-wide data role.

resource "google_service_account" "runtime" {
  account_id   = var.runtime_account
  display_name = "Nunis Ingest function"
  depends_on   = [google_project_service.apis]
}

# Eventarc pushes each Pub/Sub message, and Cloud Scheduler calls the events drain, as this
# account; its only role is roles/run.invoker on those functions (functions.tf).
resource "google_service_account" "trigger" {
  account_id   = var.trigger_account
  display_name = "Nunis Ingest invoker"
  depends_on   = [google_project_service.apis]
}

# The public webhook: publish to the events topic, read its two secrets. No bucket, no
# token, no warehouse (the subscription id comes in as an env var).
resource "google_service_account" "webhook" {
  count        = local.webhook
  account_id   = var.webhook_account
  display_name = "Nunis Ingest webhook receiver"
  depends_on   = [google_project_service.apis]
}

# Builds the functions' images (Cloud Functions' build_config.service_account). Terraform
# deploys the functions itself, so this account needs no deploy role here.
resource "google_service_account" "build" {
  account_id   = var.build_account
  display_name = "Nunis Ingest deploy"
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/logging.logWriter",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}
