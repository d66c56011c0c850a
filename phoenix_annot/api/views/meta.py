from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def phoenix_version(request: HttpRequest) -> HttpResponse:
    return HttpResponse(settings.PHOENIX_COMPATIBLE_VERSION, content_type="text/plain")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("OK", content_type="text/plain")
