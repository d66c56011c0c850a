from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from phoenix_annot.tracing.admin import ProjectAdmin
from phoenix_annot.tracing.models import Project

from .models import ApiKey, InvalidApiKeyWindow, ProjectMembership, User
from .services import api_key_create, api_key_revoke


class ProjectMembershipInline(admin.TabularInline):
    """Adding the first membership restricts every non-admin user to the projects they are members of
    (accounts/access.py)."""

    model = ProjectMembership
    extra = 0
    raw_id_fields = ("project", "user")


class MembershipsSwitchNotice:
    """Says so when a save adds the instance's first membership or deletes its last: per-project access
    switches on or off for everyone at that moment (accounts/access.py)."""

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: list[BaseInlineFormSet], change: bool
    ) -> None:
        before = ProjectMembership.objects.exists()
        super().save_related(request, form, formsets, change)
        after = ProjectMembership.objects.exists()
        if after and not before:
            messages.warning(
                request,
                "Per-project access is now on: users other than admins see only the projects they are "
                "members of.",
            )
        elif before and not after:
            messages.warning(request, "Per-project access is now off: every user sees every project.")


@admin.register(User)
class UserAdmin(MembershipsSwitchNotice, DjangoUserAdmin):
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Role", {"fields": ("role",)}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Role", {"fields": ("role",)}))
    list_display = (*DjangoUserAdmin.list_display, "role")
    list_filter = (*DjangoUserAdmin.list_filter, "role")

    # The add form is Django's short one (name, password, role): memberships come on the change page.
    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type[admin.TabularInline]]:
        return [ProjectMembershipInline] if obj is not None else []


class ApiKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("usable", "Usable"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey] | None:
        if self.value() == "usable":
            return queryset.filter(pk__in=ApiKey.objects.usable().values("pk"))
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=timezone.now())
        return None


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = (ApiKeyStateFilter, "user__role")
    search_fields = ("name", "prefix", "user__username")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    ordering = ("-created_at",)
    actions = ["revoke_selected"]

    # key_hash is in neither list: the digest is of no use to a person and need not leave the database.
    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "expires_at")
        return ("name", "user", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("user", "prefix", "created_at", "last_used_at")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw_key = api_key_create(user=obj.user, name=obj.name, expires_at=obj.expires_at)
        # The add view goes on with `obj` (log entry, redirect), so it must become the stored row.
        obj.pk = created.pk
        obj.refresh_from_db()
        # The one and only time the raw key is shown: the messages framework drops it once displayed.
        messages.warning(
            request,
            format_html(
                "API key for {}: <code>{}</code> Copy it now; it cannot be shown again.",
                obj.user.get_username(),
                raw_key,
            ),
        )

    @admin.action(description="Revoke selected keys")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        to_revoke = list(queryset.filter(revoked_at__isnull=True))
        for api_key in to_revoke:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {len(to_revoke)} API key(s).", messages.SUCCESS)


@admin.register(InvalidApiKeyWindow)
class InvalidApiKeyWindowAdmin(admin.ModelAdmin):
    """Addresses that sent invalid API keys; deleting a row lets a throttled address send keys again."""

    list_display = ("address", "failures", "window_start")
    search_fields = ("address",)
    ordering = ("-window_start",)

    # Written by /v1 authentication only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: InvalidApiKeyWindow | None = None) -> bool:
        return False


# Tracing may not import accounts, so the memberships inline is attached here, as annotations/admin.py
# attaches its own.
admin.site.unregister(Project)


@admin.register(Project)
class ProjectWithMembersAdmin(MembershipsSwitchNotice, ProjectAdmin):
    inlines = [ProjectMembershipInline]
