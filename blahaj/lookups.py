"""Ids in paths: ASCII digits only.

`str.isdigit()` also takes `¹` (which `int()` then refuses) and `int()` also reads `٣` as 3;
an id in a path is neither. Viewsets keyed by a number set `lookup_value_regex = ID_PATTERN`
(any other value matches no route: a 404), and code that reads an id itself uses `as_id`.
"""

from __future__ import annotations

ID_PATTERN = "[0-9]+"

# A bigint holds 19 digits; a longer "id" names no row.
_MAX_DIGITS = 19


def as_id(value: object) -> int | None:
    """`value` as a row id, or None when it is not 1 to 19 ASCII digits."""
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS):
        return None
    return int(text)
