"""Query-string parsing for /v1 routes: repeated keys for lists, FastAPI-style 422s for bad values."""

import math
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework.request import Request

from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id

from .errors import PlainError, RequestValidationError

M = TypeVar("M", bound=Model)
TRUE_VALUES = {"true", "1", "yes", "on"}
FALSE_VALUES = {"false", "0", "no", "off"}


def query_error(name: str, message: str, value: Any, *, kind: str = "value_error") -> RequestValidationError:
    error = RequestValidationError({})
    error.items = [{"type": kind, "loc": ["query", name], "msg": message, "input": value}]
    return error


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in TRUE_VALUES:
        return True
    if raw.lower() in FALSE_VALUES:
        return False
    raise query_error(name, "Input should be a valid boolean", raw, kind="bool_parsing")


def query_int(
    request: Request, name: str, *, default: int, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise query_error(name, "Input should be a valid integer", raw, kind="int_parsing") from None
    if value < minimum:
        raise query_error(name, f"Input should be greater than {minimum - 1}", raw, kind="greater_than")
    if maximum is not None and value > maximum:
        raise query_error(
            name, f"Input should be less than or equal to {maximum}", raw, kind="less_than_equal"
        )
    return value


def query_float(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise query_error(name, "Input should be a valid number", raw, kind="float_parsing") from None
    if not math.isfinite(value) or value < 0:
        raise query_error(name, "Input should be a finite number >= 0", raw, kind="greater_than_equal")
    return value


def query_datetime(request: Request, name: str) -> datetime | None:
    """ISO 8601; a naive time is UTC, as in Phoenix."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = parse_datetime(raw.replace("Z", "+00:00"))
        # In UTC here, where a time near year 1 or 9999 that UTC cannot hold is refused, not in the
        # database driver, where the same overflow is a 500.
        value = value.astimezone(UTC) if value and value.tzinfo else value
    except (ValueError, OverflowError):
        value = None
    if value is None:
        raise query_error(name, "Input should be a valid datetime", raw, kind="datetime_parsing")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def query_list(request: Request, name: str, *, max_items: int | None = None) -> list[str]:
    values = list(dict.fromkeys(request.query_params.getlist(name)))
    if max_items is not None and len(values) > max_items:
        raise PlainError(422, f"Too many {name} supplied: {len(values)} (max {max_items})")
    return values


def paginate_desc(
    queryset: QuerySet[M], *, request: Request, type_name: str, limit: int
) -> tuple[list[M], str | None]:
    """Phoenix's cursor paging: newest id first, the cursor is the first row not returned (inclusive).

    Rows are model instances, or dicts with a "pk" key from `values()`.
    """
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            _type, pk = from_global_id(cursor)
        except GlobalIDError:
            raise PlainError(422, f"Invalid cursor format: {cursor}") from None
        queryset = queryset.filter(pk__lte=pk)
    rows = list(queryset.order_by("-pk")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        extra = rows[limit]
        next_cursor = to_global_id(type_name, extra["pk"] if isinstance(extra, dict) else extra.pk)
    return rows[:limit], next_cursor
