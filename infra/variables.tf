# Defaults are the names in names.json (tests/deploy checks they agree, and agree with
# cloudbuild-deploy.yaml and deployment-guide.md). Only project_id and strava_client_id
# are required.

variable "project_id" {
  type        = string
  description = "Google Cloud project id."
}

variable "region" {
  type    = string
  default = "us-central1"
}

variable "bq_location" {
  type    = string
  default = "US"
}

variable "bucket" {
  type        = string
  default     = null
  description = "Data bucket (config, tokens, state, raw archive). Default: <project_id>-nunis."
}

variable "dataset" {
  type    = string
  default = "nunis"
}

variable "strava_client_id" {
  type        = string
  description = "Your Strava API application's client id (not secret)."
}

variable "deploy_functions" {
  type        = bool
  default     = true
  description = "false for the first apply: the functions need the secrets' values, added by hand."
}

variable "webhook" {
  type        = bool
  default     = false
  description = "Also the webhook receiver, the events topic, its pull subscription and the events drain."
}

variable "webhook_subscription_id" {
  type        = string
  default     = ""
  description = "Strava push subscription id, printed by `nunis-ingest webhook subscribe`."
}

variable "function_name" {
  type    = string
  default = "nunis-ingest"
}

variable "events_function_name" {
  type    = string
  default = "nunis-events"
}

variable "webhook_function_name" {
  type    = string
  default = "nunis-webhook"
}

variable "topic" {
  type    = string
  default = "nunis-ingest"
}

variable "dead_letter_topic" {
  type    = string
  default = "nunis-ingest-dead-letter"
}

variable "dead_letter_subscription" {
  type    = string
  default = "nunis-ingest-dead-letter-sub"
}

variable "events_topic" {
  type    = string
  default = "nunis-webhook-events"
}

variable "events_dead_letter_topic" {
  type    = string
  default = "nunis-webhook-events-dead-letter"
}

variable "events_subscription" {
  type        = string
  default     = "nunis-webhook-events-drain"
  description = "The pull subscription the events drain empties."
}

variable "events_job" {
  type    = string
  default = "nunis-events-drain"
}

variable "repository" {
  type        = string
  default     = "nunis-functions"
  description = "Artifact Registry repository of the functions' images (with a cleanup policy)."
}

variable "events_dead_letter_subscription" {
  type    = string
  default = "nunis-webhook-events-dead-letter-sub"
}

variable "runtime_account" {
  type    = string
  default = "nunis-runtime"
}

variable "trigger_account" {
  type    = string
  default = "nunis-trigger"
}

variable "webhook_account" {
  type    = string
  default = "nunis-webhook"
}

variable "build_account" {
  type    = string
  default = "nunis-build"
}

variable "client_secret_name" {
  type    = string
  default = "strava-client-secret"
}

variable "verify_token_secret_name" {
  type    = string
  default = "strava-webhook-verify-token"
}

variable "path_secret_name" {
  type    = string
  default = "strava-webhook-path-secret"
}

variable "new_job" {
  type    = string
  default = "nunis-new"
}

variable "all_job" {
  type    = string
  default = "nunis-all"
}

variable "new_schedule" {
  type        = string
  default     = "*/15 * * * *"
  description = "Keep it at 15 minutes with webhooks too: the tick picks the athletes that are due."
}

variable "all_schedule" {
  type    = string
  default = "17 3 * * 0"
}

variable "memory" {
  type    = string
  default = "512Mi"
}

variable "max_instances" {
  type    = number
  default = 3
}

variable "webhook_min_instances" {
  type        = number
  default     = 0
  description = "1 keeps a warm instance: about $5 a month (deployment-guide.md, costs)."
}

variable "max_delivery_attempts" {
  type    = number
  default = 10
}

variable "min_retry_delay" {
  type    = string
  default = "10s"
}

variable "max_retry_delay" {
  type    = string
  default = "600s"
}

variable "alert_email" {
  type        = string
  default     = ""
  description = "Where alerts and budget mails go; empty: no channel, alerts without notification."
}

variable "billing_account" {
  type        = string
  default     = ""
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) for the budget; empty: no budget."
}

variable "budget_amount_usd" {
  type    = number
  default = 10
}
