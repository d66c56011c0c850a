"""Query-string parsing for /v1 routes: repeated keys for lists, FastAPI-style 422s for bad values.

List views declare their filters once, as a django-filter FilterSet (`PhoenixFilterBackend`), and their
paging as a `PhoenixPagination`; both also yield the OpenAPI parameters.
"""

import math
from datetime import datetime
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django_filters import FilterSet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.filtering.spans import PHOENIX_TEXT, utc_datetime

from .errors import PlainError, RequestValidationError
from .schema import cursor_param, limit_param, parameter_object
from .wire import page

M = TypeVar("M", bound=Model)
TRUE_VALUES = {"true", "1", "yes", "on"}
FALSE_VALUES = {"false", "0", "no", "off"}


def query_error(name: str, message: str, value: Any, *, kind: str = "value_error") -> RequestValidationError:
    error = RequestValidationError({})
    error.items = [{"type": kind, "loc": ["query", name], "msg": message, "input": value}]
    return error


def filter_error(filterset: FilterSet, request: Request) -> PlainError | RequestValidationError:
    """A FilterSet's refusal as Phoenix answers it: its text/plain 422 when it has one, else 422 JSON."""
    items = []
    for name, errors in filterset.form.errors.as_data().items():
        for error in errors:
            message = " ".join(error.messages)
            if error.code == PHOENIX_TEXT:
                return PlainError(422, message)
            given = request.query_params.getlist(name)
            value = given[0] if len(given) == 1 else given or None
            loc = ["query", name] if name != "__all__" else ["query"]
            items.append({"type": error.code or "value_error", "loc": loc, "msg": message, "input": value})
    refusal = RequestValidationError({})
    refusal.items = items
    return refusal


class PhoenixFilterBackend(DjangoFilterBackend):
    """The view's `filterset_class` over the query string; a refused parameter answers as in Phoenix."""

    def filter_queryset(self, request: Request, queryset: QuerySet[M], view: APIView) -> QuerySet[M]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise filter_error(filterset, request)
        return filterset.qs


class PhoenixPagination(BasePagination):
    """Phoenix's paging (`paginate_desc`): `limit`, and `cursor`, the first row not returned."""

    type_name: str
    default_limit: int
    max_limit: int

    def paginate_queryset(
        self, queryset: QuerySet[M], request: Request, view: APIView | None = None
    ) -> list[M]:
        limit = query_int(request, "limit", default=self.default_limit, maximum=self.max_limit)
        rows, self.next_cursor = paginate_desc(
            queryset, request=request, type_name=self.type_name, limit=limit
        )
        return rows

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(page(data, self.next_cursor))

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["data", "next_cursor"],
            "properties": {
                "data": schema,
                "next_cursor": {
                    "type": "string",
                    "nullable": True,
                    "description": "GlobalID of the first row not returned; null on the last page.",
                },
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            parameter_object(cursor_param(self.type_name)),
            parameter_object(limit_param(default=self.default_limit, maximum=self.max_limit)),
        ]


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in TRUE_VALUES:
        return True
    if raw.lower() in FALSE_VALUES:
        return False
    raise query_error(name, "Input should be a valid boolean", raw, kind="bool_parsing")


def bounded_int(raw: str, *, minimum: int = 1, maximum: int | None = None) -> int:
    """The integer in `raw`, or a ValidationError in pydantic's words, its error type as code."""
    try:
        value = int(raw)
    except ValueError:
        raise serializers.ValidationError("Input should be a valid integer", code="int_parsing") from None
    if value < minimum:
        raise serializers.ValidationError(f"Input should be greater than {minimum - 1}", code="greater_than")
    if maximum is not None and value > maximum:
        raise serializers.ValidationError(
            f"Input should be less than or equal to {maximum}", code="less_than_equal"
        )
    return value


def query_int(
    request: Request, name: str, *, default: int, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return bounded_int(raw, minimum=minimum, maximum=maximum)
    except serializers.ValidationError as error:
        (detail,) = error.detail
        raise query_error(name, str(detail), raw, kind=detail.code) from None


class QueryParams(serializers.Serializer):
    """A view's query parameters, declared once: read from the query string (`read`), refused as FastAPI
    refuses them (422 JSON, `loc: ["query", <name>]`), documented by `extend_schema(parameters=[cls])`."""

    @classmethod
    def read(cls, request: Request) -> dict[str, Any]:
        params = cls(data=request.query_params)
        if not params.is_valid():
            given = {
                name: request.query_params.getlist(name)
                if isinstance(field, serializers.ListField)
                else request.query_params.get(name)
                for name, field in params.fields.items()
            }
            raise RequestValidationError(params.errors, location="query", data=given)
        return params.validated_data


class QueryList(serializers.ListField):
    """A repeated query key (`?a=1&a=2`; commas are not separators), deduplicated. More than `max_items`
    values is Phoenix's text/plain 422 `Too many <name> supplied: <n> (max <max>)`."""

    def __init__(self, *, max_items: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("child", serializers.CharField(allow_blank=True, trim_whitespace=False))
        super().__init__(required=False, default=list, max_length=max_items, **kwargs)
        self.max_items = max_items

    def to_internal_value(self, data: Any) -> list[Any]:
        values = list(dict.fromkeys(data)) if isinstance(data, list) else data
        if self.max_items is not None and isinstance(values, list) and len(values) > self.max_items:
            raise PlainError(
                422, f"Too many {self.field_name} supplied: {len(values)} (max {self.max_items})"
            )
        return super().to_internal_value(values)


class NonEmptyText(serializers.CharField):
    """A string of at least one character, refused in pydantic's words."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def fail(self, key: str, **kwargs: Any) -> None:
        if key == "blank":
            raise serializers.ValidationError(
                "String should have at least 1 character", code="string_too_short"
            )
        super().fail(key, **kwargs)


class LiteralField(serializers.ChoiceField):
    """One of a few strings, refused as pydantic refuses a Literal: "Input should be 'a', 'b' or 'c'"."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            values = [repr(value) for value in self.choices]
            allowed = " or ".join([", ".join(values[:-1]), values[-1]]) if len(values) > 1 else values[0]
            raise serializers.ValidationError(f"Input should be {allowed}", code="literal_error") from None


class QueryBool(serializers.BooleanField):
    """A boolean as FastAPI reads one (true/1/yes/on, false/0/no/off, any case). Absent, it is absent:
    not False, as DRF reads a missing checkbox."""

    default_empty_html = serializers.empty

    def to_internal_value(self, data: Any) -> bool:
        text = str(data).lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise serializers.ValidationError("Input should be a valid boolean", code="bool_parsing")


class QueryDateTime(serializers.DateTimeField):
    """ISO 8601; a naive time is UTC, as in Phoenix (`utc_datetime`)."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed = utc_datetime(str(value))
        if parsed is None:
            raise serializers.ValidationError("Input should be a valid datetime", code="datetime_parsing")
        return parsed


class NonNegativeNumber(serializers.FloatField):
    """A finite number >= 0, refused in pydantic's words."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=0, **kwargs)

    def to_internal_value(self, data: Any) -> float:
        try:
            value = float(data)
        except ValueError:
            raise serializers.ValidationError(
                "Input should be a valid number", code="float_parsing"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise serializers.ValidationError(
                "Input should be a finite number >= 0", code="greater_than_equal"
            )
        return value

    def get_validators(self) -> list[Any]:
        return []


class LimitField(serializers.IntegerField):
    """`limit`: rows per page, refused in pydantic's words."""

    def __init__(self, *, default: int, maximum: int) -> None:
        super().__init__(
            default=default, min_value=1, max_value=maximum, required=False, help_text="Rows per page."
        )

    def to_internal_value(self, data: Any) -> int:
        return bounded_int(str(data), minimum=1, maximum=self.max_value)

    def get_validators(self) -> list[Any]:
        # bounded_int checks the bounds, in pydantic's words; min_value and max_value only document them.
        return []


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
    value = utc_datetime(raw)
    if value is None:
        raise query_error(name, "Input should be a valid datetime", raw, kind="datetime_parsing")
    return value


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
    return paginate_by_pk(queryset, request=request, type_name=type_name, limit=limit, descending=True)


def paginate_by_pk(
    queryset: QuerySet[M], *, request: Request, type_name: str, limit: int, descending: bool
) -> tuple[list[M], str | None]:
    """`paginate_desc` in either order: ascending, the cursor's row and those after it."""
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            _type, pk = from_global_id(cursor)
        except GlobalIDError:
            raise PlainError(422, f"Invalid cursor format: {cursor}") from None
        queryset = queryset.filter(pk__lte=pk) if descending else queryset.filter(pk__gte=pk)
    rows = list(queryset.order_by("-pk" if descending else "pk")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        extra = rows[limit]
        next_cursor = to_global_id(type_name, extra["pk"] if isinstance(extra, dict) else extra.pk)
    return rows[:limit], next_cursor
