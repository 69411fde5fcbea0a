"""The words of a website's progress on its pages, in the page's language: the states its JSON
names by value (`done`, `ok`, `pending`), and the sentence of each status. The JSON keeps the
values; websites/static/websites/progress.js gets these words from the page's `data-words`."""

from __future__ import annotations

import json

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy, pgettext_lazy

register = template.Library()

STEP_STATES = {
    "waiting": pgettext_lazy("step state", "waiting"),
    "pending": pgettext_lazy("step state", "pending"),
    "running": pgettext_lazy("step state", "running"),
    "done": pgettext_lazy("step state", "done"),
    "failed": pgettext_lazy("step state", "failed"),
}
CERTIFICATES = {
    "none": pgettext_lazy("certificate state", "none"),
    "pending": pgettext_lazy("certificate state", "pending"),
    "ok": pgettext_lazy("certificate state", "ok"),
    "failing": pgettext_lazy("certificate state", "failing"),
}
DEPLOY_RESULTS = {
    "ok": pgettext_lazy("deploy result", "ok"),
    "failed": pgettext_lazy("deploy result", "failed"),
    "running": pgettext_lazy("deploy result", "running"),
}
NOT_YET = pgettext_lazy("deploy result", "not yet")
STATUS_SENTENCES = {
    "live": gettext_lazy("Your website is online."),
    "failed": gettext_lazy(
        "Something went wrong while setting up your website. Our admins have been told and will retry it."
    ),
    "pending_verification": gettext_lazy("Waiting for your domain's DNS record (see below)."),
    "pending_confirmation": gettext_lazy("Waiting for you to open the confirmation link we emailed."),
    "deleting": gettext_lazy("Your website is being deleted."),
    "deleted": gettext_lazy("This website was deleted."),
}
SETTING_UP = gettext_lazy("We are setting up your website. This page updates itself.")
# The statuses whose sentence the script writes when the status changes under it.
SCRIPT_STATUSES = ("live", "failed", "pending_verification", "deleting", "deleted")


def _word(words: dict, value: str | None) -> str:
    return str(words.get(value, value)) if value else ""


@register.filter
def step_state(value: str) -> str:
    return _word(STEP_STATES, value)


@register.filter
def certificate_state(value: str) -> str:
    return _word(CERTIFICATES, value)


@register.filter
def deploy_result(value: str | None) -> str:
    return _word(DEPLOY_RESULTS, value) if value else str(NOT_YET)


@register.filter
def status_sentence(value: str) -> SafeString:
    # Our own sentences (no markup; an apostrophe reads as it is written).
    return mark_safe(str(STATUS_SENTENCES.get(value, SETTING_UP)))  # noqa: S308


@register.simple_tag
def progress_words() -> str:
    """The words progress.js writes, as JSON (for a `data-words` attribute; the tag escapes it)."""
    words = {
        "status": {status: str(STATUS_SENTENCES[status]) for status in SCRIPT_STATUSES},
        "state": {value: str(word) for value, word in STEP_STATES.items()},
        "certificate": {value: str(word) for value, word in CERTIFICATES.items()},
        "result": {value: str(word) for value, word in DEPLOY_RESULTS.items()},
        "not_yet": str(NOT_YET),
    }
    return json.dumps(words, ensure_ascii=False)
