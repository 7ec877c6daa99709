"""The end-to-end fixtures (a runtime on the sandbox, registration), reused here."""

from tests.e2e.conftest import app_env, rt, sync

__all__ = ["app_env", "rt", "sync"]
