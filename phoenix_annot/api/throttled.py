from rest_framework.exceptions import ErrorDetail, Throttled


def throttled(message: str, *, wait: int) -> Throttled:
    """A 429 saying exactly `message` (DRF would append its own words); `wait` gives it Retry-After."""
    exc = Throttled(wait=wait)
    exc.detail = ErrorDetail(message, code=exc.default_code)
    return exc
