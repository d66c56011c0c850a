import math
from typing import Any


def storable_json(value: Any) -> bool:
    """Whether JSON (PostgreSQL's jsonb) can hold `value`: no NUL, no unpaired surrogate, no NaN."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value and (value.isascii() or _utf8_encodable(value))
    if isinstance(value, dict):
        return all(storable_json(key) and storable_json(item) for key, item in value.items())
    if isinstance(value, list):
        return all(storable_json(item) for item in value)
    return True


def _utf8_encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
