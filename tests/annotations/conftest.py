import pytest

from phoenix_annot.accounts.models import User
from tests.factories import UserFactory


@pytest.fixture
def admin() -> User:
    """The admin who labels in bulk (admins may replace others' values)."""
    return UserFactory(username="root", role=User.Role.ADMIN)
