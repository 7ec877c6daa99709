"""The pure core: rules and values with no I/O (no HTTP, database, cloud client or clock).

Plans and settlements of a run (``plan``, ``settle``, ``stops``), the per-athlete state
(``state``), the enrichment queue and read-budget rules (``enrichment``, ``budget_rules``,
``budget_schedule``), message and event parsing (``events``, ``webhook_event``,
``enrolment``), rows from Strava payloads (``transform*``, ``representation``,
``canonical``, ``schema*``), object keys (``keys``) and the value types the use cases pass
around (``ratelimit``, ``guard``, ``signing``). ``tests/test_layers.py`` checks that nothing
here imports outside the core (``errors`` and ``settings`` aside).
"""
