from django.contrib import admin

from phoenix_annot.tracing.admin import ViewOnlyMixin

from .models import Correction, CorrectionEvent


class ReadOnlyAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Shown, never edited here: every change goes through the services, which record it in the history."""


@admin.register(Correction)
class CorrectionAdmin(ReadOnlyAdmin):
    list_display = ("updated_at", "user", "target_kind", "project", "format", "gold")
    list_filter = ("target_kind", "format", "gold")
    list_select_related = ("user", "project")
    raw_id_fields = ("span", "trace", "session")
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(CorrectionEvent)
class CorrectionEventAdmin(ReadOnlyAdmin):
    """The corrections' history: appended in the transaction of each change, never edited nor deleted."""

    list_display = ("at", "action", "via", "user", "owner", "target_kind", "target_key", "before", "after")
    list_filter = ("action", "via", "target_kind")
    search_fields = ("target_key",)
    list_select_related = ("user", "owner")
    ordering = ("-id",)
    show_full_result_count = False
