"""Refuse what a web page open in a reviewer's browser could send to /v1 on their behalf."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from phoenix_annot.core.responses import plain_text_response

from .auth import bearer_token

CROSS_SITE_REFUSED = (
    "Cross-site request refused: /v1 takes requests without an API key only from this site or from an origin "
    "listed in PHOENIX_ANNOT_V1_ALLOWED_ORIGINS"
)


class CrossSiteV1Middleware:
    """With /v1 authentication off (the demo), any page could POST a form, a multipart upload or a no-cors
    fetch to /v1 on 127.0.0.1: browsers send such "simple" requests without asking first. They carry an
    `Origin` header (or `Sec-Fetch-Site: cross-site`); exporters, SDKs and curl send neither.

    A request with a key is left to authentication: a page cannot add `Authorization` to a cross-site
    request without a CORS preflight, which this server never grants."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/v1/") and bearer_token(request) is None and is_cross_site(request):
            return plain_text_response(403, CROSS_SITE_REFUSED)
        return self.get_response(request)


def is_cross_site(request: HttpRequest) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site") == "cross-site"
    own_origin = f"{request.scheme}://{request.get_host()}"
    return origin != own_origin and origin not in settings.V1_ALLOWED_ORIGINS
