"""Error pages are pages of the site: its layout, the reason in plain words, and a link back."""

import pytest
from django.test import Client, RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_an_unknown_address_is_a_404_page_in_the_sites_layout_even_for_a_visitor_not_logged_in(
    client: Client,
):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="topbar"' in html
    assert "Nothing is at this address" in html
    assert 'href="/">Back to the projects</a>' in html


def test_a_refusal_names_its_reason(reviewer_client: Client):
    response = reviewer_client.get("/configs/")

    assert response.status_code == 403
    assert "Only admins manage annotation configs." in response.content.decode()


def test_the_server_error_page_renders_without_a_request():
    # Django renders 500.html with no request and no context: the layout must not need either.
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on the server" in html
    assert 'class="topbar"' in html


def test_a_form_sent_without_its_security_token_says_to_reload_in_the_sites_layout(reviewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)

    response = client.post("/settings/api-keys/", {"name": "laptop"})

    assert response.status_code == 403
    html = response.content.decode()
    assert "Reload the page and send it again." in html
    assert 'class="topbar"' in html
