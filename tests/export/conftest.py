from tests.e2e.conftest import app_env, rt, sync  # noqa: F401 (fixtures)
from tests.gcp.conftest import gcp_env  # noqa: F401 (fixture)
