"""Web onboarding: a page with Strava's authorize link, its callback and a confirmation."""
