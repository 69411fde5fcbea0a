"""Input serializers that take JSON types at their word.

DRF coerces: `"5"` passes an IntegerField, `5` a CharField, `"true"` a BooleanField. The
schema says `integer`, `string`, `boolean`; a client that sends another type has a bug we
should tell it about, not guess around.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import fields, relations, serializers


class TextCap(TypedDict):
    """A CharField's cap, spread as `CharField(**cap)`: a TypedDict, so mypy checks the other keywords."""

    max_length: int


_NAMES = {
    bool: gettext_lazy("true or false"),
    int: gettext_lazy("a whole number"),
    str: gettext_lazy("a string"),
    list: gettext_lazy("a list"),
    dict: gettext_lazy("an object"),
}


def _expected(field: fields.Field) -> tuple[type, ...] | None:
    if isinstance(field, fields.BooleanField):
        return (bool,)
    if isinstance(field, fields.IntegerField):
        return (int,)
    if isinstance(field, (fields.FloatField, fields.DecimalField)):
        return (int, float)
    if isinstance(field, fields.ChoiceField):
        kinds = {type(choice) for choice in field.choices}
        return tuple(kinds) if kinds else None
    if isinstance(field, (fields.CharField, relations.SlugRelatedField)):
        return (str,)
    if isinstance(field, fields.ListField):
        return (list,)
    if isinstance(field, (fields.DictField, serializers.Serializer)):
        return (dict,)
    return None


def _wrong_type(value: Any, expected: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in expected:
        return True  # True is an int to Python, not to JSON
    return not isinstance(value, expected)


# The mixin reads `self.fields`: to mypy it is the Serializer it is always mixed into.
if TYPE_CHECKING:
    _SerializerBase = serializers.Serializer
else:
    _SerializerBase = object


class StrictTypesMixin(_SerializerBase):
    # A comment, not a docstring: the schema would give every subclass this description.
    # Refuses a value of the wrong JSON type before DRF coerces it.

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            errors = {}
            for name, field in self.fields.items():
                value = data.get(name)
                if field.read_only or value is None:
                    continue
                expected = _expected(field)
                if expected and _wrong_type(value, expected):
                    kind = _NAMES.get(expected[0], expected[0].__name__)
                    errors[name] = [_("Must be %(kind)s.") % {"kind": kind}]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictTypesMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictTypesMixin, serializers.ModelSerializer):
    pass
