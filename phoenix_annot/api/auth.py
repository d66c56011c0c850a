"""DRF authentication and permission for /v1, on the same keys and roles as OTLP ingestion.

Each permission asks the question the pages ask (`User.can_write`, `User.is_admin`, `Dataset.deletable_by`),
so a role may do the same through either; who may change an annotation is the services' rule
(annotations/ownership.py).
"""

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from phoenix_annot.accounts.auth import TooManyInvalidKeys, api_key_owner, bearer_token
from phoenix_annot.accounts.models import User
from phoenix_annot.api.throttled import throttled
from phoenix_annot.datasets.models import Dataset

if TYPE_CHECKING:
    # rest_framework.views imports the authentication classes from settings: a runtime import would cycle.
    from rest_framework.views import APIView

VIEWER_WRITE_DENIED = "Viewers cannot perform this action."
ADMIN_ONLY = "Only admin or system users can perform this action."
DATASET_DELETE_DENIED = "Only admins and the dataset's creator can delete a dataset."


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <api key>` (or the legacy `api_key` header)."""

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        token = bearer_token(request._request)
        if token is None:
            return None
        try:
            user = api_key_owner(request._request, token)
        except TooManyInvalidKeys as exc:
            # OTLP ingestion's words.
            raise throttled(exc.message, wait=exc.retry_after) from exc
        if user is None:
            if not settings.V1_AUTH_REQUIRED:
                # With auth off, a stale key in a client's environment must not lock it out.
                return None
            raise AuthenticationFailed("Invalid token")
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="phoenix-annot"'


class V1Read(BasePermission):
    """Auth on: a key is required. Auth off: everyone may read. For a POST that only reads (a span query)."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return request.user.is_authenticated or not settings.V1_AUTH_REQUIRED


class V1Access(V1Read):
    """Auth on: a key is required and viewers may only read. Auth off: everyone may do everything."""

    message = VIEWER_WRITE_DENIED

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        if not user.is_authenticated:
            return super().has_permission(request, view)
        return request.method in SAFE_METHODS or user.can_write


class AdminOnlyWrites(BasePermission):
    """After V1Access (which answers viewers first, as Phoenix does): writes need an admin."""

    message = ADMIN_ONLY

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        if request.method in SAFE_METHODS or not user.is_authenticated:
            return True
        return user.is_admin


class DatasetDeletion(BasePermission):
    """After V1Access: a dataset is deleted by an admin or by whoever created it."""

    message = DATASET_DELETE_DENIED

    def has_object_permission(self, request: Request, view: "APIView", obj: Dataset) -> bool:
        user = request.user
        return not user.is_authenticated or obj.deletable_by(user)
