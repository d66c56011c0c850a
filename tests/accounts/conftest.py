# The /v1 matrix's world: one of everything a route can name, in project `p`.
from tests.api.conftest import world

__all__ = ["world"]
