from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from phoenix_annot.tracing.admin import HexIdSearchMixin, ViewAndDeleteOnlyMixin

from .models import (
    Dataset,
    DatasetExample,
    DatasetSplit,
    DatasetSplitExample,
    DatasetVersion,
    ExampleRevision,
)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "example_count", "created_at")
    search_fields = ("name",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        return super().get_queryset(request).annotate(example_count=Count("examples"))

    # Rows, not "examples at the latest version": an example deleted by a later version still counts.
    @admin.display(description="examples (all versions)", ordering="example_count")
    def example_count(self, obj: Dataset) -> int:
        return obj.example_count


# Versions and revisions are history: editing one in place would change what older versions contain.
@admin.register(DatasetVersion)
class DatasetVersionAdmin(ViewAndDeleteOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "dataset", "description", "created_at")
    list_filter = ("dataset",)
    search_fields = ("dataset__name", "description")
    list_select_related = ("dataset",)
    raw_id_fields = ("dataset", "user")
    readonly_fields = ("created_at",)
    ordering = ("-id",)


@admin.register(DatasetExample)
class DatasetExampleAdmin(HexIdSearchMixin, admin.ModelAdmin):
    list_display = ("__str__", "dataset", "span", "session", "external_id", "created_at")
    list_filter = ("dataset",)
    search_fields = ("dataset__name", "external_id", "span__span_id", "session__session_id")
    hex_id_lookups = ((16, "span__span_id"),)
    list_select_related = ("dataset", "span", "session")
    raw_id_fields = ("dataset", "span", "session")
    readonly_fields = ("created_at",)
    ordering = ("-id",)


@admin.register(ExampleRevision)
class ExampleRevisionAdmin(ViewAndDeleteOnlyMixin, admin.ModelAdmin):
    list_display = ("example", "version", "revision_kind", "created_at")
    list_filter = ("revision_kind",)
    search_fields = ("example__external_id", "version__dataset__name")
    # str(version) names its dataset.
    list_select_related = ("example", "version__dataset")
    raw_id_fields = ("example", "version")
    readonly_fields = ("created_at",)
    ordering = ("-id",)


@admin.register(DatasetSplit)
class DatasetSplitAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "color", "example_count", "created_at")
    search_fields = ("name",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[DatasetSplit]:
        return super().get_queryset(request).annotate(example_count=Count("memberships"))

    # A split is global: these are its examples in every dataset, deleted ones included.
    @admin.display(description="examples (all datasets)", ordering="example_count")
    def example_count(self, obj: DatasetSplit) -> int:
        return obj.example_count


@admin.register(DatasetSplitExample)
class DatasetSplitExampleAdmin(admin.ModelAdmin):
    list_display = ("split", "example")
    list_filter = ("split",)
    search_fields = ("split__name", "example__dataset__name", "example__external_id")
    list_select_related = ("split", "example")
    raw_id_fields = ("split", "example")
