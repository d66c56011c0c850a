# The /v1 client with auth off, as tests/api has it.
from tests.api.conftest import api  # noqa: F401

# The pages' logged-in reviewer, as tests/web has them.
from tests.web.conftest import reviewer, reviewer_client  # noqa: F401
