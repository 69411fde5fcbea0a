"""The admin index's fleet box (templates/admin/index.html): each YunoHost server's lane."""

from __future__ import annotations

from django import template

from .. import health

register = template.Library()


@register.simple_tag
def fleet_health() -> list[health.Health]:
    return health.fleet_health()
