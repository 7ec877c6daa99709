terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4, < 3.0"
    }
  }
}

provider "google" {
  project               = var.project_id
  region                = var.region
  billing_project       = var.project_id
  user_project_override = true # the budget API bills its quota to this project
}

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  bucket       = coalesce(var.bucket, "${var.project_id}-nunis")
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  webhook      = var.webhook ? 1 : 0
  functions    = var.deploy_functions ? 1 : 0
  webhook_fns  = var.webhook && var.deploy_functions ? 1 : 0
}
