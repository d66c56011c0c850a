import pytest
from django.test import Client

from phoenix_annot.accounts.services import api_key_create
from tests.factories import UserFactory


class V1Client(Client):
    """A test client that sends JSON bodies by default."""

    def post(self, path, data=None, content_type="application/json", **extra):
        return super().post(path, data, content_type=content_type, **extra)

    def put(self, path, data=None, content_type="application/json", **extra):
        return super().put(path, data, content_type=content_type, **extra)


@pytest.fixture
def api(db, v1_auth_off) -> V1Client:
    return V1Client()


def client_for_role(role: str) -> V1Client:
    _key, raw = api_key_create(user=UserFactory(role=role), name=f"{role} key")
    return V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def keyed_client(db, settings):
    settings.V1_AUTH_REQUIRED = True
    return client_for_role
