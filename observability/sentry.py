"""Optional error reports to Sentry (or GlitchTip, which speaks its protocol): off unless
SENTRY_DSN is set. No personal data: `send_default_pii=False` keeps users, addresses and cookies
out, and `scrub` takes out what the SDK would still send of a request (its body, headers, query
string, the path with its one-time tokens) and the local variables of every frame.
"""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

# Imported by the settings only when SENTRY_DSN is set: the SDK is not loaded otherwise.
KEPT_HEADERS = {"content-type", "content-length", "user-agent", "x-request-id"}


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers") or {}
        event["request"] = {
            "method": request.get("method"),
            "headers": {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
        }
    event.pop("user", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for breadcrumb in (event.get("breadcrumbs") or {}).get("values") or []:
        breadcrumb.pop("data", None)
    return event


def init(dsn: str, *, environment: str, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub,  # type: ignore[arg-type]
    )
