from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from .params import query_error

API_PREFIX = "/v1/"


class QueryNulMiddleware:
    """Refuse a /v1 query string holding a NUL character, naming the parameter.

    PostgreSQL text cannot hold NUL, so no stored value can match one, and handing it to a query fails
    the query. One check here covers every filter of every route, present and future.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    error = query_error(
                        name,
                        f"Query parameter '{name}' contains a NUL character",
                        values if len(values) > 1 else values[0],
                        kind="string_nul",
                    )
                    return JsonResponse({"detail": error.items}, status=error.status_code)
        return self.get_response(request)
