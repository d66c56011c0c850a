"""JSON encoding through orjson, falling back to the standard library for what orjson refuses."""

import json
from collections.abc import Callable
from typing import Any

import orjson


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact UTF-8 JSON; `default` encodes what JSON has no type for (datetimes included, as given).

    orjson refuses integers beyond 64 bits, which a JSON-string attribute can hold; those answers go
    through the standard library instead, with the same compact output.
    """
    try:
        return orjson.dumps(value, default=default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except TypeError:
        return json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":")).encode()
