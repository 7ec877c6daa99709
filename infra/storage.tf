# The data bucket: athlete config, refresh tokens, state, leases and the raw archive.
resource "google_storage_bucket" "data" {
  #checkov:skip=CKV_GCP_62:access logs of a single-tenant bucket add cost; Cloud Audit Logs record admin access
  #checkov:skip=CKV_GCP_78:versioning would keep every superseded token and lease; objects are written with generation preconditions instead
  name                        = local.bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced" # it holds refresh tokens
  force_destroy               = false      # never lose the archive by accident

  # Raw archive (archive/) to colder classes; never deleted: it is how tables are rebuilt.
  dynamic "lifecycle_rule" {
    for_each = jsondecode(file("${path.module}/lifecycle.json")).rule
    content {
      action {
        type          = lifecycle_rule.value.action.type
        storage_class = lifecycle_rule.value.action.storageClass
      }
      condition {
        age                   = lifecycle_rule.value.condition.age
        matches_prefix        = lifecycle_rule.value.condition.matchesPrefix
        matches_storage_class = lifecycle_rule.value.condition.matchesStorageClass
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

# The function bundle: the repository minus .gcloudignore's exclusions (and infra/ itself).
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
  # .gcloudignore, one pattern a line; a bare name also matches at any depth.
  ignore_lines = [
    for line in split("\n", file("${path.module}/../.gcloudignore")) :
    trimsuffix(trimspace(line), "/")
    if trimspace(line) != "" && !startswith(trimspace(line), "#") && !startswith(trimspace(line), "!")
  ]
  bundle_excludes = distinct(concat(
    ["infra", "infra/**"],
    local.ignore_lines,
    [for p in local.ignore_lines : "${p}/**"],
    [for p in local.ignore_lines : "**/${p}" if !strcontains(p, "/")],
    [for p in local.ignore_lines : "**/${p}/**" if !strcontains(p, "/")],
  ))
}

data "archive_file" "bundle" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.build/bundle.zip"
  excludes    = local.bundle_excludes
}

resource "google_storage_bucket_object" "bundle" {
  name   = "bundle-${data.archive_file.bundle.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.bundle.output_path
}
