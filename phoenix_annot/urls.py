from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from phoenix_annot.api.errors import route_not_implemented
from phoenix_annot.api.views.meta import healthz, phoenix_version
from phoenix_annot.ingest.views import otlp_traces

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/traces", otlp_traces, name="otlp-traces"),
    path("v1/", include("phoenix_annot.api.urls")),
    re_path(r"^v1(?:/|$)", route_not_implemented, name="v1-not-implemented"),
    path("arize_phoenix_version", phoenix_version, name="phoenix-version"),
    path("healthz", healthz, name="healthz"),
    # The OpenAPI document of /v1 and Swagger UI over it (phoenix_annot/api/schema.py).
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    path("", include("phoenix_annot.web.urls")),
]

handler400 = "phoenix_annot.core.bad_request.bad_request"
