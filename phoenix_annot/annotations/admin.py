"""Admin for annotations, including their inlines on the span and trace pages.

Tracing may not import annotations, so the inlines are attached here: the tracing admins are registered
again as subclasses that carry them.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from phoenix_annot.tracing.admin import (
    HexIdSearchMixin,
    SessionAdmin,
    SpanAdmin,
    TraceAdmin,
    ViewAndDeleteOnlyMixin,
    ViewOnlyMixin,
)
from phoenix_annot.tracing.models import Session, Span, Trace

from .configs import config_for_project
from .models import (
    NOTE_NAME,
    AnnotationBase,
    AnnotationBulkAction,
    AnnotationBulkPrior,
    AnnotationConfig,
    AnnotationEvent,
    DocumentAnnotation,
    EventVia,
    PendingAnnotation,
    ProjectAnnotationConfig,
    RetrievalMetrics,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
)
from .services import annotation_rows_delete, annotation_save, annotation_validate


class ProjectAnnotationConfigInline(admin.TabularInline):
    model = ProjectAnnotationConfig
    extra = 0
    autocomplete_fields = ("project",)
    verbose_name = "project"
    verbose_name_plural = "projects"


@admin.register(AnnotationConfig)
class AnnotationConfigAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "optimization_direction", "description")
    list_filter = ("type",)
    search_fields = ("name",)
    inlines = [ProjectAnnotationConfigInline]


class AnnotationForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        cleaned_data = super().clean()
        name = cleaned_data.get("name")
        # Notes come from their own service under the reserved name, which the rules refuse; fixing the text
        # of one must stay possible. (self.instance still holds the stored values during clean().)
        editing_a_note = self.instance.pk is not None and name == self.instance.name == NOTE_NAME
        target = cleaned_data.get("span") or cleaned_data.get("trace") or cleaned_data.get("session")
        if name is not None and target is not None and not editing_a_note:
            # The same rules as the API and the Annotate form, so an admin edit cannot store what they refuse.
            annotation_validate(
                name=name,
                label=cleaned_data.get("label"),
                score=cleaned_data.get("score"),
                explanation=cleaned_data.get("explanation"),
                config=config_for_project(name=name, project_id=target.project_id),
            )
        return cleaned_data


class AnnotationAdmin(HexIdSearchMixin, admin.ModelAdmin):
    form = AnnotationForm
    target_field: str
    list_display = (
        "name",
        "label",
        "score",
        "annotator_kind",
        "source",
        "user",
        "identifier",
        "target",
        "updated_at",
    )
    list_filter = ("name", "annotator_kind", "source")
    readonly_fields = ("created_at", "updated_at")
    ordering = ("-updated_at",)
    show_full_result_count = False

    def __init__(self, model: type[Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        # Targets and users are too many for a <select>, and every row of the list shows both.
        self.raw_id_fields = (self.target_field, "user")
        self.list_select_related = (self.target_field, "user")

    @admin.display(description="target")
    def target(self, obj: AnnotationBase) -> SafeString:
        target = getattr(obj, self.target_field)
        url = reverse(f"admin:tracing_{self.target_field}_change", args=[target.pk])
        return format_html('<a href="{}">{}</a>', url, target)

    # Changes made here go to the history as the services' do (and a document's retrieval metrics follow).
    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        annotation_save(annotation=obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        annotation_rows_delete(
            annotations=type(obj).objects.filter(pk=obj.pk), user=request.user, via=EventVia.ADMIN
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        annotation_rows_delete(annotations=queryset, user=request.user, via=EventVia.ADMIN)


@admin.register(SpanAnnotation)
class SpanAnnotationAdmin(AnnotationAdmin):
    target_field = "span"
    search_fields = ("name", "label", "span__span_id")
    hex_id_lookups = ((16, "span__span_id"),)


@admin.register(TraceAnnotation)
class TraceAnnotationAdmin(AnnotationAdmin):
    target_field = "trace"
    search_fields = ("name", "label", "trace__trace_id")
    hex_id_lookups = ((32, "trace__trace_id"),)


@admin.register(SessionAnnotation)
class SessionAnnotationAdmin(AnnotationAdmin):
    target_field = "session"
    search_fields = ("name", "label", "session__session_id")


@admin.register(DocumentAnnotation)
class DocumentAnnotationAdmin(AnnotationAdmin):
    target_field = "span"
    list_display = (*AnnotationAdmin.list_display, "document_position")
    search_fields = ("name", "label", "span__span_id")
    hex_id_lookups = ((16, "span__span_id"),)


@admin.register(RetrievalMetrics)
class RetrievalMetricsAdmin(ViewAndDeleteOnlyMixin, admin.ModelAdmin):
    """Computed from the document annotations in the transaction of every write (annotations/retrieval.py):
    shown, never edited by hand, or they would disagree with the annotations. Deleting stays allowed, as
    deleting a span, trace or project in the admin deletes its row too."""

    list_display = ("span", "project", "document_count", "judged_count", "precision", "ndcg", "hit")
    list_filter = ("hit", "project")
    list_select_related = ("span", "project")
    raw_id_fields = ("span", "project")
    show_full_result_count = False


class RefusedFilter(admin.SimpleListFilter):
    """Waiting for a target that has not arrived, or refused: the target came, in a project the writer may
    not write to."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("waiting", "waiting for its target"), ("refused", "refused: writer may not write there")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("waiting", "refused"):
            return queryset.filter(refused_at__isnull=self.value() == "waiting")
        return queryset


@admin.register(PendingAnnotation)
class PendingAnnotationAdmin(ViewAndDeleteOnlyMixin, HexIdSearchMixin, admin.ModelAdmin):
    """API annotations waiting for their span or trace; the API writes them, ingestion applies them."""

    list_display = (
        "target",
        "target_id",
        "document_position",
        "name",
        "label",
        "score",
        "annotator_kind",
        "identifier",
        "user",
        "received_at",
        "expires_at",
        "refused_at",
    )
    list_filter = ("target", "annotator_kind", RefusedFilter)
    search_fields = ("target_id", "name")
    hex_id_lookups = ((16, "target_id"), (32, "target_id"))
    list_select_related = ("user",)
    ordering = ("expires_at",)


@admin.register(AnnotationEvent)
class AnnotationEventAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """The annotation history: appended by the services in the transaction of each change, never edited
    nor deleted, here or anywhere."""

    list_display = (
        "at",
        "action",
        "via",
        "user",
        "target_kind",
        "target_key",
        "document_position",
        "name",
        "identifier",
        "before",
        "after",
    )
    list_filter = ("action", "via", "target_kind")
    search_fields = ("name", "target_key")
    list_select_related = ("user",)
    ordering = ("-id",)
    show_full_result_count = False


class AnnotationBulkPriorInline(admin.TabularInline):
    """Whose each row a bulk label replaced was, for its undo."""

    model = AnnotationBulkPrior
    fields = ("annotation_pk", "user", "source")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AnnotationBulkAction)
class AnnotationBulkActionAdmin(AnnotationEventAdmin):
    """Bulk labels and their undos: written by annotations/bulk.py with their events, never edited here
    (the history they belong to is not), shown read-only as the events are."""

    list_display = (
        "at",
        "kind",
        "user",
        "project",
        "target_kind",
        "name",
        "identifier",
        "label",
        "score",
        "selected_count",
        "created_count",
        "replaced_count",
        "skipped_count",
        "undone_at",
    )
    list_filter = ("kind", "target_kind")
    search_fields = ("name",)
    list_select_related = ("user", "project")
    inlines = [AnnotationBulkPriorInline]


class AnnotationInline(admin.TabularInline):
    """Annotations as seen from their target; editing and deleting happen on the annotation's own page."""

    fields = (
        "name",
        "label",
        "score",
        "explanation",
        "annotator_kind",
        "source",
        "identifier",
        "user",
        "updated_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("user").order_by("name", "identifier")

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class SpanAnnotationInline(AnnotationInline):
    model = SpanAnnotation


class TraceAnnotationInline(AnnotationInline):
    model = TraceAnnotation


class SessionAnnotationInline(AnnotationInline):
    model = SessionAnnotation


admin.site.unregister(Span)
admin.site.unregister(Trace)
admin.site.unregister(Session)


@admin.register(Span)
class SpanWithAnnotationsAdmin(SpanAdmin):
    inlines = [SpanAnnotationInline]


@admin.register(Trace)
class TraceWithAnnotationsAdmin(TraceAdmin):
    inlines = [TraceAnnotationInline]


@admin.register(Session)
class SessionWithAnnotationsAdmin(SessionAdmin):
    inlines = [SessionAnnotationInline]
