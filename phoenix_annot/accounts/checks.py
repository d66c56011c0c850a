"""Deployment checks for what signs sessions, password-reset links and CSRF tokens."""

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_is_not_the_development_one(
    app_configs: list[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    # The fallback is public (it is in the source), so anyone could forge a session signed with it. Django's
    # own check (security.W009) only warns about weak keys, and this one is long enough to pass it.
    if settings.SECRET_KEY != settings.DEVELOPMENT_SECRET_KEY:
        return []
    return [
        Error(
            "SECRET_KEY is the public development key.",
            hint="Set DJANGO_SECRET_KEY to a long random value, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
            id="accounts.E001",
        )
    ]
