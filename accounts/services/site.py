"""The words staff control."""

from __future__ import annotations

from django.db import transaction

import audit

from .. import site
from ..models import SiteSettings


@transaction.atomic
@audit.audited("site_settings.update", target=lambda _, __: "site_settings")
def site_settings_save(*, site_settings: SiteSettings) -> SiteSettings:
    """Save the single SiteSettings row; pages and emails use it once this commits."""
    site_settings.pk = SiteSettings.SINGLETON
    site_settings.full_clean()
    site_settings.save()
    transaction.on_commit(site.forget)
    return site_settings
