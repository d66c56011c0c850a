from django.contrib import admin
from django.urls import path

from phoenix_annot.ingest.views import otlp_traces

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/traces", otlp_traces, name="otlp-traces"),
]
