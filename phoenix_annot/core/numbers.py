"""Integers read from text that came over the wire."""


def ascii_int(text: str) -> int | None:
    """The non-negative integer `text` spells in ASCII digits, else None.

    `str.isdigit()` then `int()` is not enough: isdigit accepts digits int() refuses ("²"), and int() refuses
    more than 4300 digits; either way the caller would raise a ValueError, a 500.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:
        return None
