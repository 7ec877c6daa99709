"""The onboarding pages: HTTP glue (``http``, ``app``) and the HTML (``pages``)."""
