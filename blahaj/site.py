"""The words staff control (SiteSettings), as pages and emails read them: cached, with the
Markdown texts rendered once and sanitized.

The Markdown subset is what a short notice needs (paragraphs, emphasis, links, lists, code);
whatever else the text holds, raw HTML included, is removed by nh3 (an allow-list sanitizer),
so the result is safe to insert into a page.

`site_settings_save` is the only door that writes the row (the admin's form calls it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import markdown  # type: ignore[import-untyped]
import nh3
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.dispatch import Signal
from django.utils.safestring import SafeString, mark_safe

from .models import SiteSettings

logger = logging.getLogger(__name__)

CACHE_KEY = "site-settings:v1"
# The service's save clears it at once; a row changed any other way (a shell, another process,
# SQL) is read again within this many seconds, in every process.
CACHE_SECONDS = 5

_TAGS = {"p", "br", "strong", "em", "a", "ul", "ol", "li", "code", "blockquote"}
_ATTRIBUTES = {"a": {"href", "title"}}

# Sent by `site_settings_save` in its transaction (keyword `site_settings`): the audit log records
# the staff action (blahaj sits below audit, so it tells rather than imports).
site_settings_saved = Signal()


def render_markdown(text: str) -> str:
    """`text` (Markdown) as sanitized HTML: only _TAGS, links to http(s) and mailto only."""
    if not text.strip():
        return ""
    html = markdown.markdown(text, output_format="html")
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@dataclass(frozen=True)
class Site:
    service_name: str
    contact_email: str
    signup_html: SafeString
    approval_html: SafeString


def _row() -> SiteSettings | None:
    """The row (an unsaved default one if staff never saved it); None if unreadable."""
    try:
        # A savepoint: a failed read must not break the caller's transaction.
        with transaction.atomic():
            return SiteSettings.objects.filter(pk=SiteSettings.SINGLETON).first() or SiteSettings()
    except DatabaseError:
        # Before `migrate` (a fresh development database) pages still render, with the defaults.
        logger.warning("The site settings could not be read; using the defaults.")
        return None


def _values(row: SiteSettings) -> dict[str, str]:
    return {
        "service_name": row.service_name,
        "contact_email": row.contact_email,
        "signup_html": render_markdown(row.signup_text),
        "approval_html": render_markdown(row.approval_criteria),
    }


def current() -> Site:
    """The settings as shown (cached: one cache read per page or email)."""
    values = cache.get(CACHE_KEY)
    if values is None:
        row = _row()
        values = _values(row or SiteSettings())
        if row is not None:  # defaults standing in for an unreadable row are not kept
            cache.set(CACHE_KEY, values, CACHE_SECONDS)
    return Site(
        service_name=values["service_name"],
        contact_email=values["contact_email"],
        # Sanitized by render_markdown: safe to insert as HTML.
        signup_html=mark_safe(values["signup_html"]),  # noqa: S308
        approval_html=mark_safe(values["approval_html"]),  # noqa: S308
    )


def forget() -> None:
    cache.delete(CACHE_KEY)


@transaction.atomic
def site_settings_save(*, site_settings: SiteSettings) -> SiteSettings:
    """Save the single SiteSettings row; pages and emails use it once this commits."""
    site_settings.pk = SiteSettings.SINGLETON
    site_settings.full_clean()
    site_settings.save()
    site_settings_saved.send(sender=SiteSettings, site_settings=site_settings)
    transaction.on_commit(forget)
    return site_settings
