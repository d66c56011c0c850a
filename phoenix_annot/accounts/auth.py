"""Credentials of /v1 requests, shared by the OTLP view and the REST API."""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from .models import User
from .services import user_for_api_key


@dataclass(frozen=True)
class AuthFailure:
    status: int
    message: str


def bearer_token(request: HttpRequest) -> str | None:
    """The key from `Authorization: Bearer <key>`, or from the `api_key` header older Phoenix docs use."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    legacy = request.headers.get("api_key", "").strip()
    return legacy or None


def authenticate_v1(request: HttpRequest, *, write: bool) -> tuple[User | None, AuthFailure | None]:
    """Who is calling, or why they may not; with auth off every caller is anonymous and allowed."""
    token = bearer_token(request)
    if token is None:
        if settings.V1_AUTH_REQUIRED:
            return None, AuthFailure(
                401, "Missing API key: send the header 'Authorization: Bearer <api key>'"
            )
        return None, None
    user = user_for_api_key(token)
    if user is None:
        if settings.V1_AUTH_REQUIRED:
            return None, AuthFailure(401, "Invalid token")
        return None, None
    if write and not user.can_write:
        return user, AuthFailure(403, "Viewers cannot perform this action.")
    return user, None
