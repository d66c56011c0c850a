"""Credentials of /v1 requests, shared by the OTLP view and the REST API."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from phoenix_annot.core.responses import plain_text_response

from .models import InvalidApiKeyWindow, User
from .services import invalid_api_key_record, user_for_api_key


@dataclass(frozen=True)
class AuthFailure:
    status: int
    message: str
    retry_after: int | None = None

    def response(self) -> HttpResponse:
        response = plain_text_response(self.status, self.message)
        if self.retry_after is not None:
            response["Retry-After"] = str(self.retry_after)
        return response


class TooManyInvalidKeys(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        self.message = f"Too many invalid API keys from this address: try again in {retry_after} seconds"
        super().__init__(self.message)


def bearer_token(request: HttpRequest) -> str | None:
    """The key from `Authorization: Bearer <key>`, or from the `api_key` header older Phoenix docs use."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    legacy = request.headers.get("api_key", "").strip()
    return legacy or None


def client_address(request: HttpRequest) -> str:
    """The address the connection came from. Forwarding headers are not read: any client can set them, and
    a made-up address per request would slip past every per-address limit (logins and API keys alike)."""
    return request.META.get("REMOTE_ADDR", "")


def api_key_owner(request: HttpRequest, token: str) -> User | None:
    """The active owner of the key, or None.

    With /v1 keys required, an address that sent too many invalid keys is refused before its key is even
    looked at (TooManyInvalidKeys), so that keys cannot be guessed at speed; with keys optional nothing is
    protected by them, so nothing is counted."""
    if not settings.V1_AUTH_REQUIRED:
        return user_for_api_key(token)
    address = client_address(request)
    window = timedelta(seconds=settings.V1_INVALID_KEY_WINDOW_SECONDS)
    retry_after = InvalidApiKeyWindow.objects.retry_after(
        address=address, limit=settings.V1_INVALID_KEY_LIMIT, window=window
    )
    if retry_after is not None:
        raise TooManyInvalidKeys(retry_after)
    user = user_for_api_key(token)
    if user is None:
        invalid_api_key_record(address=address, window=window)
    return user


def authenticate_v1(request: HttpRequest, *, write: bool) -> tuple[User | None, AuthFailure | None]:
    """Who is calling, or why they may not; with auth off every caller is anonymous and allowed."""
    token = bearer_token(request)
    if token is None:
        if settings.V1_AUTH_REQUIRED:
            return None, AuthFailure(
                401, "Missing API key: send the header 'Authorization: Bearer <api key>'"
            )
        return None, None
    try:
        user = api_key_owner(request, token)
    except TooManyInvalidKeys as exc:
        return None, AuthFailure(429, exc.message, retry_after=exc.retry_after)
    if user is None:
        if settings.V1_AUTH_REQUIRED:
            return None, AuthFailure(401, "Invalid token")
        return None, None
    if write and not user.can_write:
        return user, AuthFailure(403, "Viewers cannot perform this action.")
    return user, None
