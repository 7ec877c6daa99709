from tests.e2e.conftest import app_env, rt, sync  # noqa: F401 (fixtures)
