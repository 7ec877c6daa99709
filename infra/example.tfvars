# cp example.tfvars my.tfvars (git-ignored), edit, then: terraform apply -var-file=my.tfvars
project_id       = "your-project-id"
strava_client_id = "00000"
alert_email      = "you@example.com"
billing_account  = "" # XXXXXX-XXXXXX-XXXXXX for the budget (needs a billing role)
webhook          = false
deploy_functions = false # the first apply; true once the secrets have values
