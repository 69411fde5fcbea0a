"""Unknown query parameters on a list are refused, not ignored.

A misspelt filter (`?stauts=active`) silently ignored answers with every row, which looks like
an answer; a 400 naming the parameter tells the client its bug. The schema lists each list
operation's parameters, and this keeps the server to that list.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .errors import ValidationFailed


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


class RefuseUnknownQueryParameters(BaseFilterBackend):
    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        unknown = sorted(set(request.query_params) - known_query_parameters(view))
        if unknown:
            raise ValidationFailed(fields={name: ["Unknown query parameter."] for name in unknown[:10]})
        return queryset

    def get_schema_operation_parameters(self, view: Any) -> list:
        return []
