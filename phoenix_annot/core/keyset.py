import base64
import binascii
import json
import math
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime

# A cursor names a row by primary key and sort value, and both go into SQL: each must fit its column.
_MAX_BIGINT = 2**63 - 1


def keyset_after(field: str, value: Any, pk: int, *, descending: bool, inclusive: bool = False) -> Q:
    """Rows after (value, pk) in ORDER BY field, pk (both descending or both ascending).

    Written as a plain range on `field` minus the tied rows already seen, rather than
    `field < v OR (field = v AND pk < p)`: the range lets an index on (…, field, pk) start at the cursor,
    which the OR form keeps PostgreSQL from doing.
    """
    if descending:
        seen = {f"{field}": value, "pk__gt" if inclusive else "pk__gte": pk}
        return Q(**{f"{field}__lte": value}) & ~Q(**seen)
    seen = {f"{field}": value, "pk__lt" if inclusive else "pk__lte": pk}
    return Q(**{f"{field}__gte": value}) & ~Q(**seen)


def encode_cursor(value: datetime | float | None, pk: int) -> str:
    """An opaque page cursor for the row (value, pk) of a keyset ordering."""
    raw = json.dumps([value.isoformat() if isinstance(value, datetime) else value, pk])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, *, by_time: bool) -> tuple[datetime | float, int] | None:
    """The (sort value, id) a cursor names, or None when it was tampered with: a time when the list is
    sorted by time, else a finite number, and an id a database column holds."""
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()), parse_constant=_refuse_constant)
    except (ValueError, TypeError, binascii.Error):
        return None
    if not _is_number(pk) or isinstance(pk, float) or not 0 < pk <= _MAX_BIGINT:
        return None
    sort_value = _time(value) if by_time else _finite(value)
    return None if sort_value is None else (sort_value, pk)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a cursor value")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
        # Converting to UTC moves a time at either end of the calendar out of it.
        return None if parsed is None else parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _finite(value: Any) -> float | None:
    if not _is_number(value):
        return None
    if isinstance(value, int):
        return value if abs(value) <= _MAX_BIGINT else None
    return value if math.isfinite(value) else None
