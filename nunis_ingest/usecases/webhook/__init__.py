"""Strava push events applied through the same lease, token, ports and state as polling:
``process`` (create, update, delete), ``deauth`` (verified before acted on), ``statesync``
(the state follows every write), ``reconcile`` (slow polls beside a live subscription),
``marks`` and ``subscription`` (what is stored about events and our subscription)."""
