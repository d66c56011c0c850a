import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from .responses import plain_text_response

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """While the database is down or restarting, answer 503 with Retry-After instead of a 500 page.

    Clients that retry (OTLP exporters, arize-phoenix-client, a reviewer pressing reload) then succeed
    once it is back; every write runs in a transaction, so nothing half-written is left behind.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.exception("database unavailable during %s %s", request.method, request.path)
        return plain_text_response(
            503, "The database is unavailable; nothing was saved. Try again in a moment."
        )
