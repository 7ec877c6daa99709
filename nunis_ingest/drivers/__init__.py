"""The drivers: where a request from outside enters and is turned into a use-case call.

``cli/`` (the ``nunis-ingest`` command), ``webhook/`` (Strava's HTTP callback, the local
worker and the Pub/Sub drain), ``onboard/`` (the onboarding pages); ``main.py`` at the
repository root holds the Cloud Function targets.
"""
