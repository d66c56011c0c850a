"""Error bodies as Phoenix sends them (PHOENIX_COMPAT.md §0.4).

HTTP errors are text/plain with the message; request validation errors are 422 JSON in FastAPI's shape,
`{"detail": [{"type", "loc", "msg", "input"}]}`, which arize-phoenix-client parses.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from phoenix_annot.core.responses import plain_text_response

MISSING_KEY = "Missing API key: send the header 'Authorization: Bearer <api key>'"
HEADERS_TO_KEEP = ("WWW-Authenticate", "Retry-After", "Allow")


class RequestValidationError(exceptions.APIException):
    """422 with FastAPI-style details; `errors` is DRF's nested error structure."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, errors: Any, *, location: str = "body", data: Any = None) -> None:
        super().__init__("Request validation failed")
        self.items = list(_fastapi_items(errors, [location], data))


class PlainError(exceptions.APIException):
    """An error answered as Phoenix does: this status, this exact text."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def not_implemented(request: HttpRequest, status_code: int) -> JsonResponse:
    """FastAPI's JSON answer to a route or method it has not (`{"detail": "Not Found"}`), saying why."""
    reason = "Not Found" if status_code == 404 else "Method Not Allowed"
    return JsonResponse(
        {"detail": f"{reason}: phoenix-annot does not implement {request.method} {request.path}"},
        status=status_code,
    )


@csrf_exempt
def route_not_implemented(request: HttpRequest) -> JsonResponse:
    """Any /v1 path no route serves (Phoenix's prompts, experiments, users...): JSON 404, also under DEBUG."""
    return not_implemented(request, 404)


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    if isinstance(exc, exceptions.MethodNotAllowed):
        return not_implemented(context["request"], 405)
    if isinstance(exc, RequestValidationError):
        return JsonResponse({"detail": exc.items}, status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        return JsonResponse({"detail": list(_fastapi_items(exc.detail, ["body"], None))}, status=422)
    if isinstance(exc, DjangoValidationError):
        return plain_text_response(400, "; ".join(_django_messages(exc)))
    if isinstance(exc, OperationalError | InterfaceError):
        return plain_text_response(503, "Database unavailable; nothing was written. Retry later.")
    if isinstance(exc, exceptions.NotAuthenticated):
        exc.detail = MISSING_KEY
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail", response.data) if isinstance(response.data, dict) else response.data
    plain = plain_text_response(response.status_code, str(detail))
    for header in HEADERS_TO_KEEP:
        if header in response:
            plain[header] = response[header]
    return plain


def _django_messages(exc: DjangoValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{field}: {message}" for field, messages in exc.message_dict.items() for message in messages]
    return list(exc.messages)


def _child(data: Any, key: str | int) -> Any:
    """The value at `key` (a field name or a list index) of the input, None when it has none."""
    if isinstance(data, dict):
        return data.get(key)
    if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
        return data[key]
    return None


def _fastapi_items(errors: Any, loc: list[str | int], data: Any) -> Any:
    # A ListSerializer's errors are a dict keyed by item index; a ListField's, a list of per-item errors.
    if isinstance(errors, dict):
        for key, nested in errors.items():
            next_loc = [*loc, key] if key != "non_field_errors" else loc
            yield from _fastapi_items(
                nested, next_loc, _child(data, key) if key != "non_field_errors" else data
            )
    elif (
        isinstance(errors, list) and errors and not all(isinstance(e, exceptions.ErrorDetail) for e in errors)
    ):
        for index, nested in enumerate(errors):
            if nested:
                yield from _fastapi_items(nested, [*loc, index], _child(data, index))
    else:
        for error in errors if isinstance(errors, list) else [errors]:
            code = getattr(error, "code", "value_error")
            yield {
                "type": "missing" if code == "required" else code,
                "loc": loc,
                "msg": "Field required" if code == "required" else str(error),
                "input": data,
            }
