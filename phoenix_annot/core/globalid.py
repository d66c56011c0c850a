"""Relay GlobalIDs as Phoenix puts them on the wire: base64("<TypeName>:<rowid>") with padding."""

import base64
import binascii


class GlobalIDError(ValueError):
    pass


def to_global_id(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def from_global_id(value: str, expected_type: str | None = None) -> tuple[str, int]:
    """Decode a GlobalID; raise GlobalIDError when it is not one (of the expected type)."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise GlobalIDError(f"Invalid GlobalID: {value}") from exc
    type_name, sep, raw_pk = decoded.partition(":")
    if not sep or not raw_pk.isdigit():
        raise GlobalIDError(f"Invalid GlobalID: {value}")
    if expected_type is not None and type_name != expected_type:
        raise GlobalIDError(f"Expected a {expected_type} GlobalID, got {type_name}")
    return type_name, int(raw_pk)
