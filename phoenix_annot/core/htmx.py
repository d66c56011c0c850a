from django.http import HttpRequest


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page, rather than a full page load or a boosted link."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request
