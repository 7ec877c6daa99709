# The functions' images: a repository of our own, whose cleanup policy
# (artifact-cleanup.json, the guide uses it too) keeps the newest images and deletes old ones.
resource "google_artifact_registry_repository" "functions" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption; the images hold the public code only, a customer-managed key is the owner's choice
  location      = var.region
  repository_id = var.repository
  format        = "DOCKER"
  description   = "Nunis Ingest function images"
  dynamic "cleanup_policies" {
    for_each = jsondecode(file("${path.module}/artifact-cleanup.json"))
    content {
      id     = cleanup_policies.value.name
      action = upper(cleanup_policies.value.action.type)
      dynamic "condition" {
        for_each = contains(keys(cleanup_policies.value), "condition") ? [cleanup_policies.value.condition] : []
        content {
          older_than = condition.value.olderThan
        }
      }
      dynamic "most_recent_versions" {
        for_each = contains(keys(cleanup_policies.value), "mostRecentVersions") ? [cleanup_policies.value.mostRecentVersions] : []
        content {
          keep_count = most_recent_versions.value.keepCount
        }
      }
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}
