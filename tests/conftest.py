import pytest
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # UserFactory hashes a password; the default hasher costs ~0.2 s a user on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def v1_auth_off(settings):
    settings.V1_AUTH_REQUIRED = False


@pytest.fixture
def admin_client_logged_in(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, role="ADMIN"))
    return client
