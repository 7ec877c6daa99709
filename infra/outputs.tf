output "bucket" {
  value = google_storage_bucket.data.name
}

output "dataset" {
  value = google_bigquery_dataset.nunis.dataset_id
}

output "topic" {
  value = google_pubsub_topic.ingest.name
}

output "dead_letter_subscriptions" {
  value = concat(
    [google_pubsub_subscription.dead_letter.name],
    google_pubsub_subscription.events_dead_letter[*].name,
  )
}

output "service_accounts" {
  value = {
    runtime = google_service_account.runtime.email
    trigger = google_service_account.trigger.email
    build   = google_service_account.build.email
    webhook = one(google_service_account.webhook[*].email)
    onboard = one(google_service_account.onboard[*].email)
  }
}

output "secrets_to_fill" {
  description = "Add a version to each (infra/README.md) before deploy_functions=true."
  value = concat(
    [google_secret_manager_secret.client_secret.secret_id],
    google_secret_manager_secret.verify_token[*].secret_id,
    google_secret_manager_secret.path_secret[*].secret_id,
    google_secret_manager_secret.onboard_secret[*].secret_id,
  )
}

output "webhook_url" {
  description = "Pass to `nunis-ingest webhook subscribe --callback-url` (it appends the path secret)."
  value       = one(google_cloudfunctions2_function.webhook[*].service_config[0].uri)
}
