# Only the dataset: the function creates `activities` and `ingest_runs` on its first run from
# nunis_ingest/core/schema.py and adds columns a newer version declares. A schema here as well
# would be a second owner, and the next plan would try to drop the columns the code added.
resource "google_bigquery_dataset" "nunis" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption; a customer-managed key is a choice for the owner, not a default
  dataset_id  = var.dataset
  location    = var.bq_location
  description = "Strava activities loaded by Nunis Ingest"
  depends_on  = [google_project_service.apis]
}

resource "google_bigquery_dataset_iam_member" "runtime_edits" {
  dataset_id = google_bigquery_dataset.nunis.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "runtime_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}
