# Secrets as resources without values: add the values by hand (infra/README.md), so they
# never sit in Terraform state.

resource "google_secret_manager_secret" "client_secret" {
  secret_id = var.client_secret_name
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "runtime_reads_client_secret" {
  secret_id = google_secret_manager_secret.client_secret.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_secret_manager_secret" "verify_token" {
  count     = local.webhook
  secret_id = var.verify_token_secret_name
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "path_secret" {
  count     = local.webhook
  secret_id = var.path_secret_name
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "webhook_reads_verify_token" {
  count     = local.webhook
  secret_id = google_secret_manager_secret.verify_token[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.webhook[0].email}"
}

resource "google_secret_manager_secret_iam_member" "webhook_reads_path_secret" {
  count     = local.webhook
  secret_id = google_secret_manager_secret.path_secret[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.webhook[0].email}"
}
