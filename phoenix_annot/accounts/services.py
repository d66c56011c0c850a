"""API keys: random tokens shown once; only a SHA-256 digest is kept. And the memberships a project's
creator gets, so that they see what they create.

A fast digest (not a password hasher) is right here: keys carry 256 bits of entropy, so brute force is
hopeless, and every /v1 request checks one.
"""

import hashlib
import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from phoenix_annot.tracing.models import Project
from phoenix_annot.tracing.services import project_create

from .access import AnyUser
from .models import ApiKey, InvalidApiKeyWindow, ProjectMembership, User

KEY_PREFIX = "pa_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Create a key for `user`; return the row and the raw key, which cannot be recovered later."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        user=user,
        name=name,
        prefix=raw_key[:10],
        key_hash=api_key_digest(raw_key),
        expires_at=expires_at,
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_for_api_key(raw_key: str) -> User | None:
    """The active owner of a usable key, or None."""
    api_key = ApiKey.objects.usable().select_related("user").filter(key_hash=api_key_digest(raw_key)).first()
    if api_key is None:
        return None
    now = timezone.now()
    # Throttled so that a busy exporter does not turn every request into a write.
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key.user


def invalid_api_key_record(*, address: str, window: timedelta) -> None:
    """Count one invalid key sent from `address`; once its window has passed, the count starts again."""
    now = timezone.now()
    with transaction.atomic():
        counted = InvalidApiKeyWindow.objects.filter(address=address, window_start__gt=now - window).update(
            failures=F("failures") + 1
        )
        if not counted:
            InvalidApiKeyWindow.objects.update_or_create(
                address=address, defaults={"failures": 1, "window_start": now}
            )


def creator_memberships_add(*, user: AnyUser, project_pks: Collection[int]) -> None:
    """Make `user` a member, with their global role, of the projects they just created, so that they see
    them (accounts/access.py). Only once memberships exist: before, everyone sees every project, and this
    first membership would hide all the others from everyone. Global admins see every project without one,
    and a caller with no account cannot have one."""
    if not project_pks or not user.is_authenticated or user.is_admin:
        return
    if not ProjectMembership.objects.exists():
        return
    ProjectMembership.objects.bulk_create(
        [ProjectMembership(project_id=pk, user=user, role=user.role) for pk in sorted(project_pks)],
        ignore_conflicts=True,
    )


def member_project_create(*, creator: AnyUser, name: str, description: str = "") -> Project:
    """Create a project (tracing.services.project_create) and make its creator a member of it
    (`creator_memberships_add`), in one transaction."""
    with transaction.atomic():
        project = project_create(name=name, description=description)
        creator_memberships_add(user=creator, project_pks=[project.pk])
    return project
