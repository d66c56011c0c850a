"""Request body parsing for /v1 with a size limit: DRF's JSONParser reads whatever it is sent."""

import io
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser, JSONParser


class BodyTooLarge(exceptions.APIException):
    # Not errors.PlainError: DRF imports this module while rest_framework.views, which errors.py
    # imports, is still loading.
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


@dataclass(frozen=True)
class BodyLimit:
    bytes: int
    setting: str

    def exceeded(self) -> BodyTooLarge:
        return BodyTooLarge(f"Request body is larger than the {self.bytes} byte limit ({self.setting})")

    def check_declared_length(self, meta: dict[str, Any]) -> None:
        """Refuse, unread, a body whose Content-Length already says it is too large."""
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise exceptions.ParseError("Invalid Content-Length header") from None
        if declared > self.bytes:
            raise self.exceeded()


def body_limit(parser_context: dict[str, Any] | None) -> BodyLimit:
    """The view's own `body_limit` (dataset uploads take more), else PHOENIX_ANNOT_API_MAX_BODY_BYTES."""
    view = (parser_context or {}).get("view")
    return getattr(view, "body_limit", None) or BodyLimit(
        settings.API_MAX_BODY_BYTES, "PHOENIX_ANNOT_API_MAX_BODY_BYTES"
    )


class SizeLimitedJSONParser(BaseParser):
    """JSON that answers 413 past the limit, from Content-Length and again while reading.

    Reading is capped too because Content-Length is not the only way a body arrives (an ASGI server, a body
    already buffered by middleware), and a cap that trusts a header is no cap. Not a JSONParser subclass:
    DRF hands those `request.body`, which Django refuses past DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB) with an
    HTML 400, far below our limits; this parser reads the stream itself, and JSONParser only decodes.
    """

    media_type = JSONParser.media_type
    renderer_class = JSONParser.renderer_class

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = body_limit(parser_context)
        request = (parser_context or {}).get("request")
        if request is not None:
            limit.check_declared_length(request.META)
        body = stream.read(limit.bytes + 1)
        if len(body) > limit.bytes:
            raise limit.exceeded()
        return self.decode(body, media_type, parser_context)

    def decode(self, body: bytes, media_type: str | None, parser_context: Any) -> Any:
        return JSONParser().parse(io.BytesIO(body), media_type, parser_context)
