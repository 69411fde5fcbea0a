"""Unknown query parameters on a list are refused, not ignored.

A misspelt filter (`?stauts=active`) silently ignored answers with every row, which looks like
an answer; a 400 naming the parameter tells the client its bug. The schema lists each list
operation's parameters, and this keeps the server to that list.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework.fields import ChoiceField
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .errors import ValidationFailed
from .lookups import as_id


def known_query_parameters(view: Any) -> set[str]:
    """`page`, DRF's format override, and the fields of the view's `filter_serializer_class`."""
    names = {api_settings.URL_FORMAT_OVERRIDE} if api_settings.URL_FORMAT_OVERRIDE else set()
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        names.add(getattr(paginator, "page_query_param", "page"))
    filters = getattr(view, "filter_serializer_class", None)
    if filters is not None:
        names.update(filters().fields)
    return names


# What clients of other APIs send to size a page: the answer says the size is fixed here.
_PAGE_SIZE_NAMES = {"page_size", "per_page", "limit", "offset", "size"}


def _unknown_sentence(unknown: list[str], view: Any) -> str:
    """Which parameters are unknown, which the list takes, and (for a page size) why."""
    takes = sorted(known_query_parameters(view) - {api_settings.URL_FORMAT_OVERRIDE})
    sentence = ngettext("Unknown query parameter: %(names)s.", "Unknown query parameters: %(names)s.", len(unknown)) % {
        "names": ", ".join(unknown)
    }
    paginator = getattr(view, "paginator", None)
    if paginator is not None and _PAGE_SIZE_NAMES & set(unknown):
        page = getattr(paginator, "page_query_param", "page")
        sentence += " " + _("Pages have a fixed size of %(size)s rows; the next one is ?%(page)s=2.") % {
            "size": paginator.page_size,
            "page": page,
        }
    return sentence + " " + _("This list takes: %(names)s.") % {"names": ", ".join(takes)} if takes else sentence


def _invalid_sentence(errors: dict[str, list[str]]) -> str:
    if len(errors) == 1:
        [(name, messages)] = errors.items()
        return f"{name}: {messages[0]}"
    return _("Some query parameters are invalid: %(names)s.") % {"names": ", ".join(errors)}


def refuse_invalid_values(request: Request, view: Any) -> None:
    """The values a filter serializer would let through as "no filter": a page that is not a
    number from 1 (`?page=`, `?page=0`, `?page=two`), an empty choice (`?status=`, which DRF
    reads as absent for a form-like input). The schema says an integer and an enum."""
    errors: dict[str, list[str]] = {}
    paginator = getattr(view, "paginator", None)
    page = getattr(paginator, "page_query_param", None) if paginator is not None else None
    if page is not None and any(not as_id(value) for value in request.query_params.getlist(page)):
        errors[page] = [_("Must be a whole number from 1.")]
    filters = getattr(view, "filter_serializer_class", None)
    for name, field in filters().fields.items() if filters is not None else ():
        if isinstance(field, ChoiceField) and "" in request.query_params.getlist(name):
            errors[name] = [_("Not one of the allowed values.")]
    if errors:
        raise ValidationFailed(_invalid_sentence(errors), fields=errors)


class RefuseUnknownQueryParameters(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        unknown = sorted(set(request.query_params) - known_query_parameters(view))
        if unknown:
            unknown = unknown[:10]
            fields = {name: [_("Unknown query parameter.")] for name in unknown}
            raise ValidationFailed(_unknown_sentence(unknown, view), fields=fields)
        refuse_invalid_values(request, view)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list:
        return []
