from typing import Any


def flatten_attributes(attributes: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested attributes back to dotted keys, as Phoenix returns them: lists of objects are numbered."""
    flat: dict[str, Any] = {}
    _flatten_into(flat, attributes, prefix)
    return flat


def _flatten_into(flat: dict[str, Any], node: dict[str, Any], prefix: str) -> None:
    # One output dict for the whole walk: span listings flatten a thousand of these per request.
    for key, value in node.items():
        if isinstance(value, dict) and value:
            _flatten_into(flat, value, f"{prefix}{key}.")
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for index, item in enumerate(value):
                _flatten_into(flat, item, f"{prefix}{key}.{index}.")
        else:
            flat[prefix + key] = value
