from datetime import timedelta

import pytest
from django.utils import timezone

from phoenix_annot.accounts.models import ApiKey
from phoenix_annot.accounts.services import api_key_create, api_key_digest, api_key_revoke, user_for_api_key
from tests.factories import UserFactory
from tests.ingest.builders import export_request, otlp_span

pytestmark = pytest.mark.django_db


def test_only_a_digest_of_a_new_key_is_stored():
    key, raw = api_key_create(user=UserFactory(), name="exporter")

    stored = ApiKey.objects.get(pk=key.pk)
    assert raw.startswith("pa_")
    assert stored.key_hash == api_key_digest(raw) != raw
    assert raw not in {stored.name, stored.prefix, stored.key_hash}
    assert raw.startswith(stored.prefix)


def test_a_key_identifies_its_owner():
    user = UserFactory()
    _key, raw = api_key_create(user=user, name="exporter")

    assert user_for_api_key(raw) == user
    assert user_for_api_key(raw + "x") is None


def test_revoked_expired_and_inactive_owners_keys_identify_nobody():
    revoked, revoked_raw = api_key_create(user=UserFactory(), name="revoked")
    api_key_revoke(api_key=revoked)
    _expired, expired_raw = api_key_create(
        user=UserFactory(), name="expired", expires_at=timezone.now() - timedelta(seconds=1)
    )
    _inactive, inactive_raw = api_key_create(user=UserFactory(is_active=False), name="inactive")

    assert user_for_api_key(revoked_raw) is None
    assert user_for_api_key(expired_raw) is None
    assert user_for_api_key(inactive_raw) is None


def test_last_use_is_recorded_at_most_once_a_minute(django_assert_num_queries):
    key, raw = api_key_create(user=UserFactory(), name="exporter")

    with django_assert_num_queries(2):
        user_for_api_key(raw)
    first_use = ApiKey.objects.get(pk=key.pk).last_used_at
    with django_assert_num_queries(1):
        user_for_api_key(raw)

    assert first_use is not None
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first_use


def get_projects(client, **headers):
    return client.get("/v1/projects", **headers)


def export_a_span(client, **headers):
    body = export_request(otlp_span()).SerializeToString()
    return client.generic("POST", "/v1/traces", body, CONTENT_TYPE="application/x-protobuf", **headers)


@pytest.mark.parametrize("send", [get_projects, export_a_span], ids=["rest api", "otlp"])
def test_a_key_revoked_on_the_settings_page_is_refused_on_the_very_next_request(client, send):
    """No cache between the key table and a request: revocation is immediate in every worker."""
    user = UserFactory()
    key, raw = api_key_create(user=user, name="exporter")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert send(client, **headers).status_code == 200

    client.force_login(user)
    client.post(f"/settings/api-keys/{key.pk}/revoke/")
    client.logout()

    refused = send(client, **headers)
    assert refused.status_code == 401
    assert refused["Content-Type"].startswith("text/plain")
