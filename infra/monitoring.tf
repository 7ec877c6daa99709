# Alerts: failed runs (log-based metric), dead letters waiting, scheduler failures, webhook
# 5xx. They notify the e-mail channel when alert_email is set.

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "Nunis Ingest alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  depends_on = [google_project_service.apis]
}

locals {
  channels = google_monitoring_notification_channel.email[*].id
}

resource "google_logging_metric" "failed_runs" {
  name        = "nunis-failed-runs"
  description = "Nunis Ingest runs that failed or were acknowledged as errors"
  filter      = "resource.type=\"cloud_run_revision\" AND (resource.labels.service_name=\"${var.function_name}\" OR resource.labels.service_name=\"${var.events_function_name}\") AND (jsonPayload.outcome=\"failed\" OR (severity>=ERROR AND jsonPayload.error_class:*))"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "scheduler_failures" {
  name        = "nunis-scheduler-failures"
  description = "Cloud Scheduler jobs that could not publish"
  filter      = "resource.type=\"cloud_scheduler_job\" AND severity>=ERROR"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "failed_runs" {
  display_name          = "Nunis: failed runs"
  combiner              = "OR"
  notification_channels = local.channels
  conditions {
    display_name = "a run failed in the last 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.failed_runs.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "600s"
        per_series_aligner = "ALIGN_DELTA"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "Nunis: dead letters waiting"
  combiner              = "OR"
  notification_channels = local.channels
  conditions {
    display_name = "messages in a dead-letter subscription"
    condition_threshold {
      filter          = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=one_of(\"${var.dead_letter_subscription}\", \"${var.events_dead_letter_subscription}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "scheduler_failures" {
  display_name          = "Nunis: scheduler failures"
  combiner              = "OR"
  notification_channels = local.channels
  conditions {
    display_name = "a scheduler job failed"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.scheduler_failures.name}\" AND resource.type=\"cloud_scheduler_job\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "3600s"
        per_series_aligner = "ALIGN_DELTA"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "webhook_5xx" {
  count                 = local.webhook
  display_name          = "Nunis: webhook 5xx"
  combiner              = "OR"
  notification_channels = local.channels
  conditions {
    display_name = "the webhook answered 5xx more than twice in 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/request_count\" AND resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.webhook_function_name}\" AND metric.labels.response_code_class=\"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = 2
      duration        = "0s"
      aggregations {
        alignment_period   = "600s"
        per_series_aligner = "ALIGN_DELTA"
      }
    }
  }
}

# Cloud Run's request log records the URL path, i.e. the webhook's path secret (and the
# handshake's verify token in the query): keep it out of the _Default bucket.
resource "google_logging_project_exclusion" "webhook_requests" {
  count       = local.webhook
  name        = "nunis-webhook-requests"
  description = "The webhook's request log carries its secret path segment"
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.webhook_function_name}\" AND log_id(\"run.googleapis.com/requests\")"
}
