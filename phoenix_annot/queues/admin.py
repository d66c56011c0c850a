from django.contrib import admin
from django.http import HttpRequest

from phoenix_annot.tracing.admin import ViewAndDeleteOnlyMixin

from .models import (
    AnnotationQueue,
    QueueConfig,
    QueueItem,
    QueueReservation,
    QueueReview,
    QueueReviewer,
    QueueRule,
)


class QueueConfigInline(admin.TabularInline):
    model = QueueConfig
    extra = 0
    raw_id_fields = ("annotation_config",)


class QueueReviewerInline(admin.TabularInline):
    model = QueueReviewer
    extra = 0
    raw_id_fields = ("user",)


@admin.register(AnnotationQueue)
class AnnotationQueueAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "reviewers_per_item", "assignment", "blind", "created_at")
    list_filter = ("project", "assignment", "blind")
    search_fields = ("name",)
    raw_id_fields = ("project", "user")
    readonly_fields = ("created_at", "updated_at")
    inlines = [QueueConfigInline, QueueReviewerInline]


# Items, reservations and reviews are the reviewers' work, made by the services with their counters: the
# admin looks at them, and may delete an item or a reservation (which frees its item at once).
@admin.register(QueueItem)
class QueueItemAdmin(ViewAndDeleteOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "queue", "review_count", "completed_at", "created_at")
    list_filter = ("queue",)
    list_select_related = ("queue",)
    raw_id_fields = ("queue", "span", "trace", "session", "added_by")
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(QueueReservation)
class QueueReservationAdmin(ViewAndDeleteOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "queue", "reviewer", "reserved_at", "expires_at")
    list_filter = ("queue",)
    list_select_related = ("queue", "reviewer")
    raw_id_fields = ("queue", "item", "reviewer")


@admin.register(QueueReview)
class QueueReviewAdmin(ViewAndDeleteOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "queue", "reviewer", "outcome", "skip_reason", "created_at")
    list_filter = ("queue", "outcome")
    list_select_related = ("queue", "reviewer")
    raw_id_fields = ("queue", "item", "reviewer")
    ordering = ("-id",)
    show_full_result_count = False

    def has_delete_permission(self, request: HttpRequest, obj: QueueReview | None = None) -> bool:
        # Its item's review_count counts it: deleting the item deletes its reviews with it.
        return False


# A rule is saved through its service, which adds the items of the stored spans it matches: the admin looks
# at rules and may delete one (its items stay); the queue page and /v1 save them.
@admin.register(QueueRule)
class QueueRuleAdmin(ViewAndDeleteOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "queue", "kind", "sampling_percent", "enabled", "user", "created_at")
    list_filter = ("enabled", "kind")
    list_select_related = ("queue", "user")
    raw_id_fields = ("queue", "user")
