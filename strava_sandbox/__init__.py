"""A local imitation of the parts of Strava's API v3 that Nunis Ingest uses (tests only)."""
