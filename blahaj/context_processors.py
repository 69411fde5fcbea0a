"""What every page may show: the service's name and contact, and the sign-up options."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from . import site


def signup_options(request: HttpRequest) -> dict[str, Any]:
    return {
        "site": site.current(),
        "terms_url": settings.ACCOUNTS_TERMS_URL,
        "approval_required": settings.ACCOUNTS_REQUIRE_APPROVAL,
    }
