# A monthly budget on the project: mails at 50, 90 and 100 % (it warns; it never stops
# spending). Needs a billing role on the billing account, which a project Owner may lack.
resource "google_billing_budget" "nunis" {
  provider        = google.billing
  count           = var.billing_account == "" ? 0 : 1
  billing_account = var.billing_account
  display_name    = "Nunis Ingest"
  budget_filter {
    projects = ["projects/${data.google_project.this.number}"]
  }
  amount {
    specified_amount {
      currency_code = "USD"
      units         = tostring(var.budget_amount_usd)
    }
  }
  threshold_rules {
    threshold_percent = 0.5
  }
  threshold_rules {
    threshold_percent = 0.9
  }
  threshold_rules {
    threshold_percent = 1.0
  }
  all_updates_rule {
    monitoring_notification_channels = local.channels
    disable_default_iam_recipients   = false
  }
  depends_on = [google_project_service.apis]
}
