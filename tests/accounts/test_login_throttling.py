"""Guessing passwords: the pages' and the admin's login forms lock a username out for one address."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"  # UserFactory's


def log_in(path: str, username: str, password: str, *, address: str = "10.0.0.1", **headers: str):
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(path, {"username": username, "password": password})
    return response, SESSION_KEY in client.session


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_after_a_hundred_wrong_passwords_the_right_one_does_not_log_in(path):
    UserFactory(username="alice", role="ADMIN", is_staff=True)
    wrong = [log_in(path, "alice", f"guess-{n}")[0].status_code for n in range(100)]

    response, logged_in = log_in(path, "alice", PASSWORD)

    assert set(wrong[:9]) == {200} and set(wrong[9:]) == {429}  # the tenth failure locks the pair out
    assert response.status_code == 429 and not logged_in
    assert "Too many failed logins" in response.content.decode()
    assert "alice" in response.content.decode()


def test_a_lockout_holds_one_username_from_one_address_only():
    UserFactory(username="alice")
    UserFactory(username="bob")
    for n in range(10):
        log_in("/login/", "alice", f"guess-{n}", address="10.0.0.1")

    locked_out, logged_in = log_in("/login/", "alice", PASSWORD, address="10.0.0.1")
    assert locked_out.status_code == 429 and not logged_in
    assert log_in("/login/", "alice", PASSWORD, address="10.0.0.2")[1]
    assert log_in("/login/", "bob", PASSWORD, address="10.0.0.1")[1]


def test_a_made_up_forwarded_address_per_guess_does_not_escape_the_lockout():
    UserFactory(username="alice")
    for n in range(10):
        log_in("/login/", "alice", f"guess-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    response, logged_in = log_in("/login/", "alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert response.status_code == 429 and not logged_in


def test_a_successful_login_starts_the_count_again():
    UserFactory(username="alice")
    for _round in range(3):
        for n in range(9):
            log_in("/login/", "alice", f"guess-{n}")
        assert log_in("/login/", "alice", PASSWORD)[1]


def test_the_lockout_ends_after_the_cool_off():
    UserFactory(username="alice")
    for n in range(10):
        log_in("/login/", "alice", f"guess-{n}")
    assert not log_in("/login/", "alice", PASSWORD)[1]

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert log_in("/login/", "alice", PASSWORD)[1]
