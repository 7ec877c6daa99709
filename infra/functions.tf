# The functions from the bundle (storage.tf), their invoker bindings, and the dead-letter
# policy on the ingest function's Eventarc subscription.

locals {
  function_env = {
    NUNIS_BACKEND     = "gcp"
    NUNIS_BUCKET      = google_storage_bucket.data.name
    NUNIS_DATASET     = google_bigquery_dataset.nunis.dataset_id
    NUNIS_BQ_LOCATION = var.bq_location
    NUNIS_PROJECT     = var.project_id
    STRAVA_CLIENT_ID  = var.strava_client_id
  }
  bundle_source = {
    bucket = google_storage_bucket.source.name
    object = google_storage_bucket_object.bundle.name
  }
  docker_repository = google_artifact_registry_repository.functions.id
}

resource "google_cloudfunctions2_function" "ingest" {
  count    = local.functions
  name     = var.function_name
  location = var.region
  build_config {
    runtime           = "python312" # the version make bundle-check runs
    entry_point       = "ingest"
    service_account   = google_service_account.build.id
    docker_repository = local.docker_repository
    source {
      storage_source {
        bucket = local.bundle_source.bucket
        object = local.bundle_source.object
      }
    }
  }
  service_config {
    available_memory      = var.memory
    timeout_seconds       = 540 # the event-driven maximum; the code stops at 480 s
    max_instance_count    = var.max_instances
    service_account_email = google_service_account.runtime.email
    ingress_settings      = "ALLOW_INTERNAL_ONLY" # Eventarc's Pub/Sub pushes count as internal
    # NUNIS_INGEST_TOPIC: a message naming no athlete fans out, one message per athlete.
    environment_variables = merge(local.function_env, { NUNIS_INGEST_TOPIC = var.topic })
    secret_environment_variables {
      key        = "STRAVA_CLIENT_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.client_secret.secret_id
      version    = "latest"
    }
  }
  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.ingest.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.trigger.email
  }
  depends_on = [
    google_secret_manager_secret_iam_member.runtime_reads_client_secret,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_artifact_registry_repository_iam_member.build_pushes_images,
  ]
}

# The events drain (main.drain_events): HTTP, private, one instance at a time, called
# every minute by Cloud Scheduler as the trigger account (scheduler.tf).
resource "google_cloudfunctions2_function" "events" {
  count    = local.webhook_fns
  name     = var.events_function_name
  location = var.region
  build_config {
    runtime           = "python312"
    entry_point       = "drain_events"
    service_account   = google_service_account.build.id
    docker_repository = local.docker_repository
    source {
      storage_source {
        bucket = local.bundle_source.bucket
        object = local.bundle_source.object
      }
    }
  }
  service_config {
    available_memory                 = var.memory
    timeout_seconds                  = 540
    max_instance_count               = 1
    max_instance_request_concurrency = 1
    service_account_email            = google_service_account.runtime.email
    ingress_settings                 = "ALLOW_INTERNAL_ONLY" # Cloud Scheduler counts as internal
    environment_variables = merge(local.function_env, {
      NUNIS_EVENTS_SUBSCRIPTION = var.events_subscription
    })
    secret_environment_variables {
      key        = "STRAVA_CLIENT_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.client_secret.secret_id
      version    = "latest"
    }
  }
  depends_on = [
    google_secret_manager_secret_iam_member.runtime_reads_client_secret,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_artifact_registry_repository_iam_member.build_pushes_images,
  ]
}

resource "google_cloudfunctions2_function" "webhook" {
  #checkov:skip=CKV_GCP_124:Strava calls it from the internet; any path but the secret one is answered 404
  count    = local.webhook_fns
  name     = var.webhook_function_name
  location = var.region
  build_config {
    runtime           = "python312"
    entry_point       = "webhook"
    service_account   = google_service_account.build.id
    docker_repository = local.docker_repository
    source {
      storage_source {
        bucket = local.bundle_source.bucket
        object = local.bundle_source.object
      }
    }
  }
  service_config {
    available_memory      = var.memory
    timeout_seconds       = 10
    min_instance_count    = var.webhook_min_instances
    max_instance_count    = var.max_instances
    service_account_email = google_service_account.webhook[0].email
    ingress_settings      = "ALLOW_ALL"
    environment_variables = {
      NUNIS_BACKEND                 = "gcp"
      NUNIS_PROJECT                 = var.project_id
      NUNIS_EVENTS_TOPIC            = var.events_topic
      NUNIS_WEBHOOK_SUBSCRIPTION_ID = var.webhook_subscription_id
    }
    secret_environment_variables {
      key        = "NUNIS_WEBHOOK_VERIFY_TOKEN"
      project_id = var.project_id
      secret     = google_secret_manager_secret.verify_token[0].secret_id
      version    = "latest"
    }
    secret_environment_variables {
      key        = "NUNIS_WEBHOOK_PATH_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.path_secret[0].secret_id
      version    = "latest"
    }
  }
  depends_on = [
    google_secret_manager_secret_iam_member.webhook_reads_verify_token,
    google_secret_manager_secret_iam_member.webhook_reads_path_secret,
    google_project_iam_member.build,
    google_storage_bucket_iam_member.build_reads_source,
    google_artifact_registry_repository_iam_member.build_pushes_images,
  ]
}

# Invoker bindings: the trigger account on the Pub/Sub-triggered function (Eventarc) and
# on the events drain (Cloud Scheduler's OIDC token).
resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_ingest" {
  count    = local.functions
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.ingest[0].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_cloud_run_v2_service_iam_member" "trigger_invokes_events" {
  count    = local.webhook_fns
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.events[0].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger.email}"
}

# Strava cannot authenticate: the webhook is public, and answers 404 to any path but its
# secret one (NUNIS_WEBHOOK_PATH_SECRET).
resource "google_cloud_run_v2_service_iam_member" "webhook_public" {
  #checkov:skip=CKV_GCP_102:Strava's push subscription cannot authenticate; the secret path segment and the verify token guard it
  count    = local.webhook_fns
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.webhook[0].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# The dead-letter policy on the ingest function's Eventarc-created subscription. The
# provider cannot manage a subscription Eventarc owns, so this runs gcloud (needed where
# terraform runs); it re-runs whenever the trigger is replaced (a new trigger has a new
# subscription). Pub/Sub's service agent holds the subscriber role on the project
# (pubsub.tf), which the forwarding needs.
resource "terraform_data" "ingest_dead_letter" {
  count            = local.functions
  triggers_replace = [google_cloudfunctions2_function.ingest[0].event_trigger[0].trigger, var.max_delivery_attempts, var.min_retry_delay, var.max_retry_delay]
  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      sub="$(gcloud eventarc triggers describe '${google_cloudfunctions2_function.ingest[0].event_trigger[0].trigger}' \
        --location='${var.region}' --project='${var.project_id}' --format='value(transport.pubsub.subscription)')"
      gcloud pubsub subscriptions update "$sub" --project='${var.project_id}' \
        --dead-letter-topic='${google_pubsub_topic.dead_letter.id}' \
        --max-delivery-attempts=${var.max_delivery_attempts} \
        --min-retry-delay=${var.min_retry_delay} --max-retry-delay=${var.max_retry_delay}
    EOT
  }
  depends_on = [
    google_pubsub_topic_iam_member.agent_publishes_dead_letters,
    google_project_iam_member.agent_acknowledges_dead_letters,
  ]
}
