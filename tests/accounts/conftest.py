# The /v1 matrix's world (one of everything a route can name, in project `p`), and the compat tests' three
# RAG traces in project `compat`, for the real client.
import pytest

from phoenix_annot.accounts.models import ProjectMembership, User
from tests.accounts.factories import ProjectMembershipFactory
from tests.api.conftest import world
from tests.compat.conftest import rag_spans
from tests.factories import ProjectFactory, UserFactory

__all__ = ["rag_spans", "world"]


@pytest.fixture
def member() -> User:
    """An annotator: an annotator member of `mine`, a viewer member of `watched`, not one of `hidden`."""
    user = UserFactory(role=User.Role.ANNOTATOR)
    ProjectMembershipFactory(user=user, project=ProjectFactory(name="mine"))
    ProjectMembershipFactory(
        user=user, project=ProjectFactory(name="watched"), role=ProjectMembership.Role.VIEWER
    )
    ProjectFactory(name="hidden")
    return user
