"""The API's one request parser: a JSON object, bounded in size and in depth."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.parsers import JSONParser

from blahaj.errors import InvalidCharacters, InvalidJSON, body_too_large, has_invalid_characters

# No request of ours nests more than a few levels; a bound far below the interpreter's
# recursion limit keeps `[[[...]]]` bodies from costing more than a refusal.
MAX_JSON_DEPTH = 32


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether `data` nests containers deeper than `limit`, walked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _holds_invalid_characters(data: Any) -> bool:
    """Whether any string of `data`, key or value at any depth, holds a NUL or a lone surrogate."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if has_invalid_characters(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


class JSONObjectParser(JSONParser):
    """JSON bodies must be objects, at most API_MAX_BODY_BYTES long and MAX_JSON_DEPTH deep,
    with no NUL and no lone surrogate in any string.

    The size is checked before parsing, so an oversized body costs nothing (no hashing,
    no JSON decoding) and gets the same envelope as any other bad input.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise body_too_large()
        try:
            data = json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, ValueError):
            raise InvalidJSON() from None
        except RecursionError:
            raise InvalidJSON(
                _("The request body nests deeper than %(depth)s levels.") % {"depth": MAX_JSON_DEPTH}
            ) from None
        if not isinstance(data, dict):
            raise InvalidJSON(_("The request body must be a JSON object."))
        # Counting brackets is cheaper than the walk, and enough for every ordinary body.
        brackets = raw.count(b"[") + raw.count(b"{")
        if brackets > MAX_JSON_DEPTH and _depth_exceeds(data, MAX_JSON_DEPTH):
            raise InvalidJSON(_("The request body nests deeper than %(depth)s levels.") % {"depth": MAX_JSON_DEPTH})
        # JSON can carry either only as a `\u` escape (a raw NUL or surrogate does not decode).
        if b"\\u" in raw and _holds_invalid_characters(data):
            raise InvalidCharacters()
        return data
