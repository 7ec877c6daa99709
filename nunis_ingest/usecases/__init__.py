"""The use cases: what the product does, through the ports (``ports.py``).

One sync of one athlete (``sync``: plan -> ``fetch`` -> settle, with ``listing``,
``confirm`` and the athlete's Strava access in ``athlete_api``/``tokens``), the enrichment
drain (``drain``), ``replay`` from the archive, the shared read ledger and scheduler
(``budget_ledger``, ``budget_planner``), webhook events (``webhook/``), onboarding
(``onboard/``), bulk-export import (``bulk_export/``) and the training report
(``reporting/``). They never import a driver or an adapter: ``runtime.py`` wires those.
"""
