import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def check_deploy(**variables: str) -> subprocess.CompletedProcess[str]:
    """`manage.py check --deploy` with only the settings a production deployment would have, plus these."""
    # Test-run switches and the developer's own settings must not leak in.
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SECRET_KEY", "DJANGO_DEBUG"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**inherited, "DJANGO_HTTPS": "true", "DJANGO_ALLOWED_HOSTS": "annot.example.com", **variables},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_deployment_checklist_is_clean_when_served_over_https():
    result = check_deploy(DJANGO_SECRET_KEY=secrets.token_urlsafe(50))

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deployment_checklist_fails_on_the_public_development_secret_key():
    result = check_deploy()

    assert result.returncode == 1
    assert "(accounts.E001) SECRET_KEY is the public development key" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_pages_carry_security_headers(client):
    response = client.get("/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
