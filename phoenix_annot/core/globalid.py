"""Relay GlobalIDs as Phoenix puts them on the wire: base64("<TypeName>:<rowid>") with padding."""

import base64
import binascii
import re
import string

from .numbers import ascii_int

BASE64_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
DIGIT_BYTES = frozenset(b"0123456789")
# Row ids are 64-bit signed integers in every supported database; a larger one names no row, and the
# database driver would refuse it (a 500) rather than find nothing.
MAX_ROW_ID = 2**63 - 1
MAX_ROW_ID_DIGITS = len(str(MAX_ROW_ID))


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
    pk = ascii_int(raw_pk) if sep else None
    if pk is None or pk > MAX_ROW_ID:
        raise GlobalIDError(f"Invalid GlobalID: {value}")
    if expected_type is not None and type_name != expected_type:
        raise GlobalIDError(f"Expected a {expected_type} GlobalID, got {type_name}")
    return type_name, pk


def global_id_pattern(*type_names: str) -> str:
    """A regular expression (Python's and JSON Schema's) for the GlobalIDs of these types: base64 of
    "<type>:" and ASCII digits, padding included. It stops short of MAX_ROW_ID's 19 digits (at 16 to 18,
    depending on the type), so that every id it matches is one `from_global_id` accepts.

    Base64 turns each 3 bytes into 4 characters, so the type's bytes that fill whole groups encode to a
    fixed prefix; each later group holds the type's last bytes or digits, and is spelt out as the characters
    those bytes can give at each of its 4 places.
    """
    digits = [DIGIT_BYTES] * 3
    last = f"(?:{_group(digits[:2])}|{_group(digits[:1])})?"
    alternatives = []
    for type_name in type_names:
        prefix = f"{type_name}:".encode()
        whole = len(prefix) - len(prefix) % 3
        rest = [frozenset([byte]) for byte in prefix[whole:]]
        # The first group after the fixed prefix: the rest of the prefix and 1 to 3 digits; then whole
        # groups of 3 digits, as many as keep the count under MAX_ROW_ID's, and a last group of 1 or 2.
        firsts = [rest + digits[: size - len(rest)] for size in (3, 2, 1) if size > len(rest)]
        first_full, *first_short = [_group(sets) for sets in firsts]
        groups = (MAX_ROW_ID_DIGITS - 1 - (3 - len(rest)) - 2) // 3
        tail = "|".join([f"{first_full}(?:{_group(digits)}){{0,{groups}}}{last}", *first_short])
        alternatives.append(re.escape(base64.b64encode(prefix[:whole]).decode()) + f"(?:{tail})")
    return "^(?:" + "|".join(alternatives) + ")$"


def _group(byte_sets: list[frozenset[int]]) -> str:
    """The base64 of one group of 1 to 3 bytes, each byte from its set, padding included."""
    first, second, third = [*byte_sets, frozenset([0]), frozenset([0])][:3]
    # Character 1 and 2 depend on byte 1 and byte 2's high half, 3 on its low half and byte 3, 4 on byte 3:
    # with every set a single byte or the digits (all 0x3_), the choices at each place are independent.
    chars = [
        _either(
            {BASE64_ALPHABET[a >> 2] + BASE64_ALPHABET[(a & 3) << 4 | b >> 4] for a in first for b in second}
        ),
        _either({BASE64_ALPHABET[(b & 15) << 2 | c >> 6] for b in second for c in third}),
        _either({BASE64_ALPHABET[c & 63] for c in third}),
    ]
    return "".join(chars[: len(byte_sets)]) + "=" * (3 - len(byte_sets))


def _either(options: set[str]) -> str:
    ordered = sorted(options)
    if len(ordered) == 1:
        return re.escape(ordered[0])
    if all(len(option) == 1 for option in ordered):
        return "[" + "".join(ordered) + "]"
    return "(?:" + "|".join(re.escape(option) for option in ordered) + ")"
