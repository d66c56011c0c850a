"""What PostgreSQL's text and jsonb can hold: no NUL character, no unpaired surrogate, no NaN or Infinity.

Two answers to values that break those rules: `is_storable_json` says whether a value is fit (for
input that is refused when it is not), `storable_json` makes it fit (for telemetry, which is kept).
"""

import math
from typing import Any


def clean_text(value: str) -> str:
    """The text without NUL characters."""
    return value.replace("\x00", "") if "\x00" in value else value


def finite_or_text(value: float) -> float | str:
    """NaN and Infinity as readable text, every other float as it is."""
    return value if math.isfinite(value) else str(value)


def storable_json(value: Any) -> Any:
    """Parsed JSON made storable: NULs dropped, lone surrogates replaced, NaN and Infinity as text."""
    if isinstance(value, str):
        return clean_text(value.encode("utf-8", "replace").decode("utf-8"))
    if isinstance(value, float):
        return finite_or_text(value)
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    return value


def is_storable_json(value: Any) -> bool:
    """Whether `value` is storable as it is."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value and (value.isascii() or _utf8_encodable(value))
    if isinstance(value, dict):
        return all(is_storable_json(key) and is_storable_json(item) for key, item in value.items())
    if isinstance(value, list):
        return all(is_storable_json(item) for item in value)
    return True


def _utf8_encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
