"""``nunis-ingest``: click commands (``main``), each a few lines over a use case."""
