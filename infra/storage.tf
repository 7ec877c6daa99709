# The data bucket: athlete config, refresh tokens, state, leases and the raw archive.
resource "google_storage_bucket" "data" {
  #checkov:skip=CKV_GCP_62:access logs of a single-tenant bucket add cost; Cloud Audit Logs record admin access
  #checkov:skip=CKV_GCP_78:versioning would keep every superseded token and lease; objects are written with generation preconditions instead
  name                        = local.bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced" # it holds refresh tokens
  force_destroy               = false      # never lose the archive by accident

  # lifecycle.json (the guide uses it too): the raw archive (archive/) to colder classes,
  # never deleted (it is how tables are rebuilt); the web onboarding's used
  # invites and unclaimed hand-overs (onboard/) deleted once they can no longer matter.
  dynamic "lifecycle_rule" {
    for_each = jsondecode(file("${path.module}/lifecycle.json")).rule
    content {
      action {
        type          = lifecycle_rule.value.action.type
        storage_class = lookup(lifecycle_rule.value.action, "storageClass", null)
      }
      condition {
        age                   = lifecycle_rule.value.condition.age
        matches_prefix        = lifecycle_rule.value.condition.matchesPrefix
        matches_storage_class = lookup(lifecycle_rule.value.condition, "matchesStorageClass", null)
      }
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "runtime_objects" {
  bucket = google_storage_bucket.data.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.runtime.email}"
}

# The function bundle: the zip `make infra-bundle` writes (scripts/bundle.py zip) once
# `make bundle-check check` passed, the same gate as the Cloud Build route. Its files are
# exactly what `gcloud functions deploy` uploads (tests/deploy/test_upload.py).
resource "google_storage_bucket" "source" {
  #checkov:skip=CKV_GCP_62:build inputs only; no access logs needed
  #checkov:skip=CKV_GCP_78:each bundle is a new object named by its hash; old ones expire
  name                        = "${local.bucket}-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = 30
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

locals {
  bundle_zip = "${path.module}/.build/bundle.zip"
}

resource "google_storage_bucket_object" "bundle" {
  name   = "bundle-${fileexists(local.bundle_zip) ? filemd5(local.bundle_zip) : "missing"}.zip"
  bucket = google_storage_bucket.source.name
  source = local.bundle_zip
  lifecycle {
    precondition {
      condition     = fileexists(local.bundle_zip)
      error_message = "infra/.build/bundle.zip is missing: run `make infra-bundle` first (it runs the checks, then zips the function bundle)."
    }
  }
}
