from typing import Any


def flatten_attributes(attributes: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested attributes back to dotted keys, as Phoenix returns them: lists of objects are numbered."""
    flat: dict[str, Any] = {}
    for key, value in attributes.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten_attributes(value, f"{path}."))
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for index, item in enumerate(value):
                flat.update(flatten_attributes(item, f"{path}.{index}."))
        else:
            flat[path] = value
    return flat
