"""Onboarding of invited athletes: ``invites`` (signed, one use), ``handover`` (the token
handed to the ingest function), ``enroll`` (applied there; a disabled athlete stays so)."""
