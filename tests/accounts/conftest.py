# The /v1 matrix's world (one of everything a route can name, in project `p`), and the compat tests' three
# RAG traces in project `compat`, for the real client.
from tests.api.conftest import world
from tests.compat.conftest import rag_spans

__all__ = ["rag_spans", "world"]
