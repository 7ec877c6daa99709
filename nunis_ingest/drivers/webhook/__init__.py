"""Strava's push callback (``http``/``app``; ``receive`` decides what to answer), the
local worker draining the SQLite queue (``worker``) and the GCP drain of the pull
subscription (``pull``)."""
