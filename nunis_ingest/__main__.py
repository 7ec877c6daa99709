"""``python -m nunis_ingest``: the same as the ``nunis-ingest`` command."""

from nunis_ingest.drivers.cli.main import main

if __name__ == "__main__":
    main()
