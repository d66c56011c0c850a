"""Wire formats shared by the /v1 views."""

from datetime import UTC, datetime
from typing import Any

from rest_framework import serializers

from .errors import RequestValidationError


def iso(value: datetime) -> str:
    """Phoenix's datetime format: isoformat with a +00:00 offset, never Z."""
    return value.astimezone(UTC).isoformat()


class AwareDateTimeField(serializers.DateTimeField):
    """Refuses times without a UTC offset instead of guessing a zone for them."""

    def enforce_timezone(self, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise serializers.ValidationError("Timestamps must be timezone-aware", code="timezone_aware")
        return value.astimezone(UTC)


def envelope(data: Any) -> dict[str, Any]:
    return {"data": data}


def page(data: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"data": data, "next_cursor": next_cursor}


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The serializer's validated data, or a FastAPI-style 422 naming each bad field."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise RequestValidationError(serializer.errors, data=data)
    return serializer.validated_data
