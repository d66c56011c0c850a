"""Request bodies sent with `Transfer-Encoding: chunked` and no `Content-Length`, read in full.

Django reads `CONTENT_LENGTH` bytes of a request body and takes a missing header as an empty body. The
OpenTelemetry JS exporters, and everything built on them, stream every export that way, so without this
each of their requests would look empty. A server that decodes the chunked framing for its application
says so with `wsgi.input_terminated` (gunicorn does); this wrapper then spools the body, counting it
against a limit as it arrives, and hands Django an ordinary request with a `Content-Length`. A server that
leaves the framing in the stream (Django's development server) gets a 411 instead of a silently empty
body, and the connection is closed so the unread chunks are never taken for the next request.
"""

import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

READ_BLOCK_BYTES = 64 * 1024
# Bodies up to this size stay in memory; larger ones go to a temporary file until the request ends.
SPOOL_IN_MEMORY_BYTES = 1024 * 1024


class ChunkedBodyTooLarge(Exception):
    pass


class ChunkedRequestBody:
    """WSGI middleware: give a chunked request body its `Content-Length` before Django reads it."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not is_chunked(environ):
            return self.app(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _refuse(
                start_response,
                "411 Length Required",
                "This server cannot read a request body sent with Transfer-Encoding: chunked; send "
                "Content-Length, or serve phoenix-annot with gunicorn as the README says.",
            )
        limit = settings.MAX_REQUEST_BODY_BYTES
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as body:
            try:
                length = spool(environ["wsgi.input"], body, limit)
            except ChunkedBodyTooLarge:
                return _refuse(
                    start_response,
                    "413 Content Too Large",
                    f"Request body is larger than the {limit} byte limit "
                    "(PHOENIX_ANNOT_MAX_REQUEST_BODY_BYTES)",
                )
            body.seek(0)
            environ = {**environ, "CONTENT_LENGTH": str(length), "wsgi.input": body}
            # Django has read what it needs by the time it returns: its response never reads the request.
            return self.app(environ, start_response)


def is_chunked(environ: dict[str, Any]) -> bool:
    encodings = environ.get("HTTP_TRANSFER_ENCODING", "").lower().split(",")
    return "chunked" in (encoding.strip() for encoding in encodings)


def spool(stream: Any, body: Any, limit: int) -> int:
    """Copy `stream` to `body` until it ends; past `limit` bytes, stop and raise."""
    length = 0
    while block := stream.read(READ_BLOCK_BYTES):
        length += len(block)
        if length > limit:
            raise ChunkedBodyTooLarge
        body.write(block)
    return length


def _refuse(start_response: StartResponse, status: str, message: str) -> list[bytes]:
    payload = message.encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            # The rest of the body is unread: the connection cannot carry another request.
            ("Connection", "close"),
        ],
    )
    return [payload]
