# Alerts: one google_monitoring_alert_policy per file of alerts/ (alerts/webhook/ with the
# webhook, alerts/onboard/ with onboarding): the files deployment-guide.md step 10 gives to
# `gcloud alpha monitoring policies create --policy-from-file`, with the same names filled
# in. Three log-based metrics feed them. They notify the e-mail channel when alert_email is set.

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
  alert_names = {
    REGION           = var.region
    FUNCTION         = var.function_name
    EVENTS_FUNCTION  = var.events_function_name
    WEBHOOK_FUNCTION = var.webhook_function_name
    ONBOARD_FUNCTION = var.onboard_function_name
    DLQ_SUB          = var.dead_letter_subscription
    EVENTS_DLQ_SUB   = var.events_dead_letter_subscription
    EVENTS_SUB       = var.events_subscription
  }
  alert_files = concat(
    tolist(fileset("${path.module}/alerts", "*.yaml")),
    var.webhook ? tolist(fileset("${path.module}/alerts", "webhook/*.yaml")) : [],
    var.onboard ? tolist(fileset("${path.module}/alerts", "onboard/*.yaml")) : [],
  )
  alerts = {
    for f in local.alert_files :
    trimsuffix(f, ".yaml") => yamldecode(templatefile("${path.module}/alerts/${f}", local.alert_names))
  }
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
  filter      = "resource.type=\"cloud_scheduler_job\" AND severity>=ERROR AND resource.labels.job_id!=\"${var.events_job}\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "stale_athletes" {
  name        = "nunis-stale-athletes"
  description = "Athletes without a successful run for a day (a line per tick and athlete)"
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.function_name}\" AND jsonPayload.kind=\"stale_athlete\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "alerts" {
  for_each              = local.alerts
  display_name          = each.value.displayName
  combiner              = each.value.combiner
  notification_channels = local.channels
  documentation {
    content   = each.value.documentation.content
    mime_type = each.value.documentation.mimeType
  }
  dynamic "conditions" {
    for_each = each.value.conditions
    content {
      display_name = conditions.value.displayName
      condition_threshold {
        filter          = conditions.value.conditionThreshold.filter
        comparison      = conditions.value.conditionThreshold.comparison
        threshold_value = conditions.value.conditionThreshold.thresholdValue
        duration        = conditions.value.conditionThreshold.duration
        dynamic "aggregations" {
          for_each = conditions.value.conditionThreshold.aggregations
          content {
            alignment_period     = aggregations.value.alignmentPeriod
            per_series_aligner   = aggregations.value.perSeriesAligner
            cross_series_reducer = lookup(aggregations.value, "crossSeriesReducer", null)
          }
        }
      }
    }
  }
  depends_on = [
    google_logging_metric.failed_runs,
    google_logging_metric.scheduler_failures,
    google_logging_metric.stale_athletes,
  ]
}

# Cloud Run's request log records the URL path, i.e. the webhook's path secret (and the
# handshake's verify token in the query): keep it out of the _Default bucket.
resource "google_logging_project_exclusion" "webhook_requests" {
  count       = local.webhook
  name        = "nunis-webhook-requests"
  description = "The webhook's request log carries its secret path segment"
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.webhook_function_name}\" AND log_id(\"run.googleapis.com/requests\")"
}
