"""How every page writes times, counts and scores, so one value reads the same on every screen."""

import math
from datetime import UTC, datetime

from django import template

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
    """A moment with its year and zone, in one unambiguous format: 2026-12-06 14:03:27 UTC."""
    if value is None or value == "":
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@register.filter
def count(value: int | float | None) -> str:
    """A whole number with thousands separators: 12,345."""
    if value is None or value == "":
        return ""
    return f"{round(value):,}"


@register.filter
def score(value: float | int | None) -> str:
    """A score with two decimals, whatever its size: 0.50, 4.00, 1,234.57."""
    if value is None or value == "":
        return ""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.2f}"


@register.filter
def clip(value: str | None, length: int) -> str:
    """The first `length` characters of a text, the last one an ellipsis when it is cut: a table preview.

    Django's truncatechars also weighs combining characters and translates its ellipsis, which made it a
    quarter of a 50-row table's rendering; a preview needs neither.
    """
    if not value:
        return ""
    return value if len(value) <= length else f"{value[: length - 1]}…"
