terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source = "hashicorp/google"
      # The schema tests/deploy/test_provider_schema.py checks every resource, argument and
      # block of infra/ against (the google provider 6.50.0, from its published schema).
      version = "~> 6.50.0"
    }
  }
}

# No user_project_override here: with it every API call would bill its quota to the
# project, whose Service Usage API a fresh project may not have on yet (infra/README.md
# enables it and Resource Manager before the first apply).
provider "google" {
  project = var.project_id
  region  = var.region
}

# The budget API wants a quota project: only the budget goes through this provider.
provider "google" {
  alias                 = "billing"
  project               = var.project_id
  region                = var.region
  billing_project       = var.project_id
  user_project_override = true
}

data "google_project" "this" {
  project_id = var.project_id
  depends_on = [google_project_service.apis]
}

locals {
  bucket       = coalesce(var.bucket, "${var.project_id}-nunis")
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  webhook      = var.webhook ? 1 : 0
  functions    = var.deploy_functions ? 1 : 0
  webhook_fns  = var.webhook && var.deploy_functions ? 1 : 0
}
