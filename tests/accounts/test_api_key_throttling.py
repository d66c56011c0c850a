"""Guessing API keys: after too many invalid keys from one address, its keyed /v1 requests wait (429)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from phoenix_annot.accounts.models import InvalidApiKeyWindow
from phoenix_annot.accounts.services import api_key_create
from tests.factories import UserFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db

ROUTES = ["/v1/projects", "/v1/traces"]


@pytest.fixture
def keys_required(settings):
    settings.V1_AUTH_REQUIRED = True


def send(path: str, key: str, *, address: str = "10.0.0.1"):
    client = Client(REMOTE_ADDR=address, HTTP_AUTHORIZATION=f"Bearer {key}")
    if path == "/v1/traces":
        body = export_request(otlp_span(name="guess")).SerializeToString()
        return client.post(path, body, content_type="application/x-protobuf")
    return client.get(path)


def valid_key() -> str:
    return api_key_create(user=UserFactory(), name="exporter")[1]


@pytest.mark.usefixtures("keys_required")
@pytest.mark.parametrize("path", ROUTES)
def test_after_twenty_invalid_keys_even_a_valid_key_from_that_address_waits(path):
    key = valid_key()
    guesses = [send(path, f"pa_guess{n}").status_code for n in range(20)]

    response = send(path, key)

    assert set(guesses) == {401}
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300
    assert response.content.decode() == (
        f"Too many invalid API keys from this address: try again in {response['Retry-After']} seconds"
    )


@pytest.mark.usefixtures("keys_required")
def test_another_address_is_not_held_back():
    key = valid_key()
    for n in range(20):
        send("/v1/projects", f"pa_guess{n}", address="10.0.0.1")

    assert send("/v1/projects", key, address="10.0.0.2").status_code == 200


@pytest.mark.usefixtures("keys_required")
def test_the_address_may_send_keys_again_once_its_window_has_passed():
    key = valid_key()
    for n in range(20):
        send("/v1/projects", f"pa_guess{n}")
    assert send("/v1/projects", key).status_code == 429

    InvalidApiKeyWindow.objects.update(window_start=timezone.now() - timedelta(seconds=301))

    assert send("/v1/projects", key).status_code == 200
    assert send("/v1/projects", "pa_guess").status_code == 401
    assert InvalidApiKeyWindow.objects.get().failures == 1


@pytest.mark.usefixtures("keys_required")
def test_valid_keys_count_nothing():
    key = valid_key()

    statuses = {send("/v1/projects", key).status_code for _ in range(25)}

    assert statuses == {200}
    assert not InvalidApiKeyWindow.objects.exists()


def test_with_keys_optional_a_stale_key_is_neither_refused_nor_counted(v1_auth_off):
    statuses = {send("/v1/projects", f"pa_stale{n}").status_code for n in range(25)}

    assert statuses == {200}
    assert not InvalidApiKeyWindow.objects.exists()
