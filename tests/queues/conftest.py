# The /v1 client with auth off, as tests/api has it.
from tests.api.conftest import api  # noqa: F401
