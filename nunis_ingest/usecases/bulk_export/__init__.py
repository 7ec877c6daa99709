"""Import a Strava bulk export ("Download your data"): see ``importer``."""
