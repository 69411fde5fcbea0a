"""What every page may show: the sign-up options an admin turned on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def signup_options(request: HttpRequest) -> dict[str, Any]:
    return {"terms_url": settings.ACCOUNTS_TERMS_URL, "approval_required": settings.ACCOUNTS_REQUIRE_APPROVAL}
