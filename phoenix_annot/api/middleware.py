from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from phoenix_annot.core.responses import plain_text_response

from .params import query_error

API_PREFIX = "/v1/"


class NulCharacterMiddleware:
    """Refuse a request whose path holds a NUL character (a 404: the site's page, or plain text on /v1),
    and a /v1 query string holding one (request-validation JSON naming the parameter).

    PostgreSQL text cannot hold NUL, so no stored value can match one, and handing it to a query fails
    the query (a 500). One check here covers every identifier and filter of every route, present and
    future.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith(API_PREFIX)
        # No stored identifier holds a NUL: whatever such a path names does not exist.
        if "\x00" in request.path:
            if not api:
                raise Http404("There is no page at an address holding a NUL character.")
            return plain_text_response(404, "Not found: the path contains a NUL character")
        if not api:
            return self.get_response(request)
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                refusal = query_error(
                    name,
                    f"Query parameter '{name}' contains a NUL character",
                    values if len(values) > 1 else values[0],
                    kind="string_nul",
                )
                return JsonResponse({"detail": refusal.items}, status=refusal.status_code)
        return self.get_response(request)
