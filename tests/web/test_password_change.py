import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OLD = "pw-for-tests"  # UserFactory's
NEW = "a new passphrase, 2026"


def change(client: Client, old: str, new1: str, new2: str | None = None):
    data = {"old_password": old, "new_password1": new1, "new_password2": new1 if new2 is None else new2}
    return client.post(reverse("web:password-change"), data)


def test_a_non_staff_user_reaches_the_password_page_from_the_settings_page():
    client = Client()
    client.force_login(UserFactory(role="VIEWER", is_staff=False))

    settings_page = client.get(reverse("web:api-keys")).content.decode()
    password_page = client.get(reverse("web:password-change"))

    assert f'href="{reverse("web:password-change")}"' in settings_page
    assert password_page.status_code == 200
    assert 'name="old_password"' in password_page.content.decode()


def test_a_user_changes_their_password_stays_signed_in_and_logs_in_with_the_new_one_only():
    user = UserFactory(username="ann", role="ANNOTATOR")
    client = Client()
    client.force_login(user)

    response = change(client, OLD, NEW)

    assert response.status_code == 302 and response["Location"] == reverse("web:password-change-done")
    assert client.session[SESSION_KEY] == str(user.pk)
    assert client.get(reverse("web:projects")).status_code == 200
    new_login = Client().post("/login/", {"username": "ann", "password": NEW})
    old_login = Client().post("/login/", {"username": "ann", "password": OLD})
    assert new_login.status_code == 302
    assert old_login.status_code == 200 and SESSION_KEY not in old_login.wsgi_request.session


@pytest.mark.parametrize(
    ("old", "new1", "new2", "field", "message"),
    [
        ("wrong", NEW, NEW, "old_password", "Your old password was entered incorrectly"),
        (OLD, NEW, NEW + "x", "new_password2", "The two password fields didn"),
        (OLD, "12345678", "12345678", "new_password2", "This password is too common"),
    ],
    ids=["wrong old password", "mismatch", "common password"],
)
def test_a_refused_change_names_the_field_and_keeps_the_old_password(old, new1, new2, field, message):
    user = UserFactory(role="ANNOTATOR")
    client = Client()
    client.force_login(user)

    response = change(client, old, new1, new2)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    user.refresh_from_db()
    assert user.check_password(OLD)
