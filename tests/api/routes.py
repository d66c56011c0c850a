"""Every /v1 route the URLconf serves, in OpenAPI's spelling, to check tables and the schema against."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

HANDLERS = ("get", "post", "put", "patch", "delete")


def v1_routes() -> set[tuple[str, str]]:
    """(METHOD, "/v1/projects/{identifier}") for every route under /v1/ of the root URLconf."""
    return {
        (method, path)
        for path, methods in _walk(get_resolver().url_patterns, "/")
        if path.startswith("/v1/")
        for method in methods
    }


def _walk(patterns: list, prefix: str):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route), _methods(pattern)


def _methods(pattern: URLPattern) -> list[str]:
    view_class = getattr(pattern.callback, "view_class", None)
    if view_class is None:
        # The one plain Django view under /v1 is OTLP ingestion, which takes POST only.
        return ["POST"]
    return [name.upper() for name in HANDLERS if hasattr(view_class, name)]
