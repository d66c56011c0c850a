"""Request body parsing for /v1 with a size limit: DRF's JSONParser reads whatever it is sent."""

import io
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


class BodyTooLarge(exceptions.APIException):
    # Not errors.PlainError: DRF imports this module while rest_framework.views, which errors.py
    # imports, is still loading.
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


def body_limit(parser_context: dict[str, Any] | None) -> int:
    """The view's own `max_body_bytes` (dataset uploads take more), else PHOENIX_ANNOT_API_MAX_BODY_BYTES."""
    view = (parser_context or {}).get("view")
    return getattr(view, "max_body_bytes", None) or settings.API_MAX_BODY_BYTES


def body_too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(f"Request body is larger than the {limit} byte limit")


def check_declared_length(meta: dict[str, Any], limit: int) -> None:
    """Refuse, unread, a body whose Content-Length already says it is too large."""
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise exceptions.ParseError("Invalid Content-Length header") from None
    if declared > limit:
        raise body_too_large(limit)


class SizeLimitedJSONParser(JSONParser):
    """JSONParser that answers 413 past the limit, from Content-Length and again while reading.

    Reading is capped too because Content-Length is not the only way a body arrives (an ASGI server, a body
    already buffered by middleware), and a cap that trusts a header is no cap.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = body_limit(parser_context)
        request = (parser_context or {}).get("request")
        if request is not None:
            check_declared_length(request.META, limit)
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise body_too_large(limit)
        return super().parse(io.BytesIO(body), media_type, parser_context)
