"""One Strava read budget for the whole app: the ledger (``ledger``), its pure rules
(``rules``) and the scheduler that spends it (``schedule``, gathered by ``planner``)."""
