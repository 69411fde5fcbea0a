"""Unknown query parameters on a list are refused, not ignored.

A misspelt filter (`?stauts=active`) silently ignored answers with every row, which looks like
an answer; a 400 naming the parameter tells the client its bug. The schema lists each list
operation's parameters, and this keeps the server to that list.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
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


def refuse_invalid_values(request: Request, view: Any) -> None:
    """The values a filter serializer would let through as "no filter": a page that is not a
    number from 1 (`?page=`, `?page=0`, `?page=two`), an empty choice (`?status=`, which DRF
    reads as absent for a form-like input). The schema says an integer and an enum."""
    errors: dict[str, list[str]] = {}
    paginator = getattr(view, "paginator", None)
    page = getattr(paginator, "page_query_param", None) if paginator is not None else None
    if page is not None and any(not as_id(value) for value in request.query_params.getlist(page)):
        errors[page] = ["Must be a whole number from 1."]
    filters = getattr(view, "filter_serializer_class", None)
    for name, field in filters().fields.items() if filters is not None else ():
        if isinstance(field, ChoiceField) and "" in request.query_params.getlist(name):
            errors[name] = ["Not one of the allowed values."]
    if errors:
        raise ValidationFailed(fields=errors)


class RefuseUnknownQueryParameters(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        unknown = sorted(set(request.query_params) - known_query_parameters(view))
        if unknown:
            raise ValidationFailed(fields={name: ["Unknown query parameter."] for name in unknown[:10]})
        refuse_invalid_values(request, view)
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list:
        return []
