import json
import re
from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .models import Project, Session, Span, Trace

HEX = re.compile(r"[0-9a-f]+")


def json_block(value: Any) -> SafeString:
    """JSON indented for reading; format_html escapes it, since attributes hold whatever an exporter sent."""
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


class HexIdSearchMixin:
    """Send a full OpenTelemetry id straight to its unique index.

    The admin's default search wraps every term in UPPER(...) LIKE, which scans tables of millions of spans;
    ids are stored lowercase, so an exact match on the lowercased term finds the same rows at once.
    """

    # (length of the hex id, lookup to match it with exactly); other terms go to `search_fields`.
    hex_id_lookups: tuple[tuple[int, str], ...] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip().lower()
        for length, lookup in self.hex_id_lookups:
            if len(term) == length and HEX.fullmatch(term):
                return queryset.filter(**{lookup: term}), False
        return super().get_search_results(request, queryset, search_term)


class ViewAndDeleteOnlyMixin:
    """For rows that only the app's own writers may make: the admin may look at them and delete them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ViewOnlyMixin(ViewAndDeleteOnlyMixin):
    """For records that are never edited nor deleted (histories): the admin only looks at them."""

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class IngestedDataAdmin(ViewAndDeleteOnlyMixin, HexIdSearchMixin, admin.ModelAdmin):
    """Traces and spans are written by ingestion only."""

    ordering = ("-start_time",)
    # The tables grow to millions of rows: one COUNT for the paginator is enough.
    show_full_result_count = False


class ErrorsFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("ERROR", "with errors"), ("OK", "without errors")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "ERROR":
            return queryset.filter(error_count__gt=0)
        if self.value() == "OK":
            return queryset.filter(error_count=0)
        return queryset


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "created_at")
    search_fields = ("name",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Trace)
class TraceAdmin(IngestedDataAdmin):
    list_display = (
        "trace_id",
        "project",
        "root_span_name",
        "start_time",
        "latency_ms",
        "span_count",
        "error_count",
        "llm_token_count_total",
    )
    list_filter = ("project",)
    list_select_related = ("project",)
    search_fields = ("trace_id", "root_span_name")
    hex_id_lookups = ((32, "trace_id"),)
    fieldsets = (
        (None, {"fields": ("trace_id", "project", "root_span_name", "spans_link")}),
        ("Timing", {"fields": ("start_time", "end_time", "latency_ms")}),
        (
            "Roll-ups",
            {
                "fields": (
                    "span_count",
                    "error_count",
                    "llm_token_count_prompt",
                    "llm_token_count_completion",
                    "llm_token_count_total",
                )
            },
        ),
    )

    @admin.display(description="spans")
    def spans_link(self, obj: Trace) -> SafeString:
        # A link rather than an inline: a trace may hold thousands of spans.
        url = reverse("admin:tracing_span_changelist") + f"?trace__id__exact={obj.pk}"
        return format_html('<a href="{}">{} span(s)</a>', url, obj.span_count)


@admin.register(Session)
class SessionAdmin(IngestedDataAdmin):
    list_display = (
        "session_id",
        "project",
        "start_time",
        "end_time",
        "trace_count",
        "error_count",
        "llm_token_count_total",
        "llm_cost_total",
    )
    list_filter = ("project", ErrorsFilter)
    list_select_related = ("project",)
    search_fields = ("session_id",)
    fieldsets = (
        (None, {"fields": ("session_id", "project", "traces_link")}),
        ("Timing", {"fields": ("start_time", "end_time", "created_at", "updated_at")}),
        (
            "Roll-ups",
            {
                "fields": (
                    "trace_count",
                    "error_count",
                    "llm_token_count_prompt",
                    "llm_token_count_completion",
                    "llm_token_count_total",
                    "llm_cost_total",
                )
            },
        ),
    )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # A session id is found by its unique index; the default UPPER(...) LIKE would scan the table.
        term = search_term.strip()
        return (queryset.filter(session_id=term), False) if term else (queryset, False)

    @admin.display(description="traces")
    def traces_link(self, obj: Session) -> SafeString:
        url = reverse("admin:tracing_trace_changelist") + f"?session__id__exact={obj.pk}"
        return format_html('<a href="{}">{} trace(s)</a>', url, obj.trace_count)


@admin.register(Span)
class SpanAdmin(IngestedDataAdmin):
    list_display = (
        "span_kind",
        "name",
        "latency_ms",
        "status_code",
        "project",
        "start_time",
        "trace_link",
    )
    list_display_links = ("name",)
    list_filter = ("project", "span_kind", "status_code")
    list_select_related = ("project", "trace")
    search_fields = ("span_id", "trace__trace_id", "name")
    hex_id_lookups = ((16, "span_id"), (32, "trace__trace_id"))
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "span_id",
                    "parent_id",
                    "name",
                    "span_kind",
                    "trace",
                    "project",
                    "status_code",
                    "status_message",
                )
            },
        ),
        ("Timing", {"fields": ("start_time", "end_time", "latency_ms", "created_at")}),
        (
            "Input and output",
            {"fields": ("input_value", "input_mime_type", "output_value", "output_mime_type")},
        ),
        (
            "LLM",
            {
                "fields": (
                    "llm_model_name",
                    "llm_token_count_prompt",
                    "llm_token_count_completion",
                    "llm_token_count_total",
                )
            },
        ),
        ("Raw", {"fields": ("attributes_json", "events_json")}),
    )

    @admin.display(description="trace id", ordering="trace__trace_id")
    def trace_link(self, obj: Span) -> SafeString:
        url = reverse("admin:tracing_trace_change", args=[obj.trace.pk])
        return format_html('<a href="{}">{}</a>', url, obj.trace.trace_id)

    @admin.display(description="attributes")
    def attributes_json(self, obj: Span) -> SafeString:
        return json_block(obj.attributes)

    @admin.display(description="events")
    def events_json(self, obj: Span) -> SafeString:
        return json_block(obj.events)
