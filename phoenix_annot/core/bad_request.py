"""handler400: a request Django refuses before or while a view reads it, answered with the reason."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.defaults import bad_request as django_bad_request

from .responses import plain_text_response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A form body past DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 that says so, not an HTML 400 with no message.

    The /v1 routes read their bodies themselves, under their own larger limits; this one holds for the
    pages' forms and the admin, which never need more.
    """
    if isinstance(exception, RequestDataTooBig):
        return plain_text_response(
            413,
            f"Request body is larger than the {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} byte limit of a form "
            "(DATA_UPLOAD_MAX_MEMORY_SIZE)",
        )
    return django_bad_request(request, exception)
