"""The admin index's "waiting for staff" box (templates/admin/index.html)."""

from __future__ import annotations

from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def staff_waiting() -> list[selectors.Waiting]:
    return selectors.staff_waiting()
