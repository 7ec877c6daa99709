# Service Usage and Resource Manager are what Terraform itself calls first (enabling the
# others, reading the project): infra/README.md enables them with gcloud before the first
# apply; they are listed here too so that Terraform never turns them off.
resource "google_project_service" "apis" {
  for_each = toset([
    "serviceusage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "cloudscheduler.googleapis.com",
    "bigquery.googleapis.com",
    "storage.googleapis.com",
    "secretmanager.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "iam.googleapis.com",
    "cloudbilling.googleapis.com",
    "billingbudgets.googleapis.com",
  ])
  service            = each.value
  disable_on_destroy = false # other things in the project may use them
}

# Pub/Sub's service agent forwards dead letters (pubsub.tf). It is created lazily by Google;
# the google provider has no GA resource for it (google_project_service_identity is in
# google-beta only), so gcloud creates it, as deployment-guide.md step 2 does.
resource "terraform_data" "pubsub_agent" {
  triggers_replace = [var.project_id]
  provisioner "local-exec" {
    command = "gcloud beta services identity create --service=pubsub.googleapis.com --project='${var.project_id}'"
  }
  depends_on = [google_project_service.apis]
}
