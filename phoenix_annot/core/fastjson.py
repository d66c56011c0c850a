"""JSON encoding through orjson, falling back to the standard library for what orjson refuses."""

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

# orjson reads an integer beyond 64 bits as a float; any run of 19 digits sends the text to the standard
# library instead (a few of those are strings or fit in 64 bits: slower, never wrong).
LONG_DIGITS = re.compile(r"\d{19}")


def dumps(value: Any, *, default: Callable[[Any], Any] | None = None) -> bytes:
    """Compact UTF-8 JSON; `default` encodes what JSON has no type for (datetimes included, as given).

    orjson refuses integers beyond 64 bits, which a JSON-string attribute can hold; those answers go
    through the standard library instead, with the same compact output.
    """
    try:
        return orjson.dumps(value, default=default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except TypeError:
        return json.dumps(value, default=default, ensure_ascii=False, separators=(",", ":")).encode()


def loads(text: str) -> Any:
    """JSON text as Python, through orjson unless the standard library would read it differently."""
    if LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # what orjson refuses (1e400 reads as infinity) the standard library reads
    return json.loads(text)
