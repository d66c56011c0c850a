import pytest
from django.test import Client

from phoenix_annot.accounts.models import User
from tests.factories import UserFactory


@pytest.fixture
def reviewer(db) -> User:
    return UserFactory(username="reviewer")


@pytest.fixture
def reviewer_client(reviewer: User) -> Client:
    client = Client()
    client.force_login(reviewer)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}
