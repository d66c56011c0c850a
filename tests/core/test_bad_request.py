import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("enforce_csrf_checks", [False, True])
def test_a_form_post_past_djangos_limit_is_a_413_naming_the_limit(settings, enforce_csrf_checks):
    """With CSRF checks the middleware reads the form before the view, without them the view does."""
    client = Client(enforce_csrf_checks=enforce_csrf_checks)
    client.get("/login/")
    body = {
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        "username": "x",
        "password": "y" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    }

    response = client.post("/login/", body)

    assert (response.status_code, response.content.decode()) == (
        413,
        f"Request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} byte limit of a form "
        "(DATA_UPLOAD_MAX_MEMORY_SIZE)",
    )
    assert response["Content-Type"].startswith("text/plain")


def test_other_bad_requests_keep_djangos_400(client):
    response = client.get("/", HTTP_HOST="not allowed")

    assert response.status_code == 400
