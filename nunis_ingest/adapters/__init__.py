"""The adapters behind the ports: Strava (``strava/``), object stores (``stores/``: a
folder or Cloud Storage), warehouses (``warehouses/``: DuckDB or BigQuery) and event queues
(``queues``: SQLite or Pub/Sub). Only ``runtime.py`` chooses among them."""
