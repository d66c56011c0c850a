import math
from datetime import timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "ADMIN", "Admin"
        ANNOTATOR = "ANNOTATOR", "Annotator"
        VIEWER = "VIEWER", "Viewer"

    role = models.CharField(
        max_length=16,
        choices=Role.choices,
        default=Role.ANNOTATOR,
        help_text="Viewers read; annotators also write annotations and datasets; admins manage everything.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["ADMIN", "ANNOTATOR", "VIEWER"]), name="user_role_valid"
            ),
        ]

    @property
    def can_write(self) -> bool:
        return self.role != self.Role.VIEWER

    @property
    def is_admin(self) -> bool:
        """Admins change any annotation, config or dataset; superusers count as admins whatever their role."""
        return self.role == self.Role.ADMIN or self.is_superuser


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> "ApiKeyQuerySet":
        now = timezone.now()
        return self.filter(revoked_at__isnull=True, user__is_active=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    prefix = models.CharField(
        max_length=16, editable=False, help_text="First characters of the key, to recognise it in lists."
    )
    key_hash = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        help_text="SHA-256 of the key; the key itself is never stored.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Set to revoke the key at once.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class InvalidApiKeyWindowQuerySet(models.QuerySet["InvalidApiKeyWindow"]):
    def retry_after(self, *, address: str, limit: int, window: timedelta) -> int | None:
        """Seconds until `address` may send a key again, or None when it has not sent `limit` invalid ones
        within the current window."""
        now = timezone.now()
        window_start = (
            self.filter(address=address, failures__gte=limit, window_start__gt=now - window)
            .values_list("window_start", flat=True)
            .first()
        )
        if window_start is None:
            return None
        return max(1, math.ceil((window_start + window - now).total_seconds()))


class InvalidApiKeyWindow(models.Model):
    """Invalid API keys sent from one client address since `window_start`: /v1 throttles key guessing.

    In the database rather than a per-process cache, so that every gunicorn worker and app server counts
    the same failures."""

    address = models.CharField(max_length=64, unique=True, help_text="The client address (REMOTE_ADDR).")
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(help_text="When the first failure of the current window came.")

    objects = InvalidApiKeyWindowQuerySet.as_manager()

    class Meta:
        verbose_name = "invalid API key window"

    def __str__(self) -> str:
        return f"{self.address}: {self.failures} invalid keys since {self.window_start:%Y-%m-%d %H:%M:%S}"


class ProjectMembership(models.Model):
    """A user's role on one project. Once any membership exists, users other than global admins see only
    the projects they are members of (phoenix_annot/accounts/access.py holds the rules)."""

    # The global roles' names, with the same meaning on one project.
    Role = User.Role

    project = models.ForeignKey("tracing.Project", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="project_memberships")
    role = models.CharField(
        max_length=16,
        choices=Role.choices,
        default=Role.ANNOTATOR,
        help_text="Capped by the user's global role: a membership never grants more than the account has.",
    )
    can_adjudicate = models.BooleanField(
        default=False,
        help_text="May set the gold value of a config on this project's rows (project admins always may).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="project_membership_unique_user"),
            models.CheckConstraint(
                condition=models.Q(role__in=["ADMIN", "ANNOTATOR", "VIEWER"]),
                name="project_membership_role_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="VIEWER", can_adjudicate=True),
                name="project_membership_viewer_cannot_adjudicate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.project}: {self.get_role_display()}"
