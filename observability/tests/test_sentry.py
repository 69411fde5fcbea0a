"""Error reports (SENTRY_DSN): off by default, and no personal data when on."""

from __future__ import annotations

import subprocess
import sys

import sentry_sdk
from django.conf import settings

from observability.sentry import scrub
from testing import ROOT


def test_reports_are_off_without_a_dsn():
    assert settings.SENTRY_DSN == ""
    assert not sentry_sdk.get_client().is_active()


def test_a_dsn_turns_them_on_without_personal_data():
    code = (
        "import django; django.setup(); import sentry_sdk; o = sentry_sdk.get_client().options;"
        "print(o['send_default_pii'], o['include_local_variables'], o['max_request_body_size'], o['before_send'].__name__)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "blahaj.settings",
        "BLAHAJ_TESTING": "true",
        "SENTRY_DSN": "https://public@127.0.0.1:9/1",
    }
    ran = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["False", "False", "never", "scrub"]


def test_scrub_keeps_no_body_cookie_header_query_user_or_local():
    event = {
        "request": {
            "url": "https://accounts.blahaj.land/password-reset/one-time-token/",
            "method": "POST",
            "query_string": "token=abc",
            "data": {"password": "hunter2-hunter2"},
            "cookies": {"sessionid": "s3ssion"},
            "headers": {
                "Authorization": "Bearer eyJ",
                "Cookie": "sessionid=s3ssion",
                "X-Request-ID": "r1",
                "Content-Type": "application/json",
            },
        },
        "user": {"id": 4, "email": "alice@example.org", "ip_address": "203.0.113.9"},
        "exception": {"values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"password": "hunter2"}}]}}]},
        "breadcrumbs": {"values": [{"message": "query", "data": {"params": ["hunter2"]}}]},
    }
    cleaned = scrub(event)
    assert cleaned["request"] == {
        "method": "POST",
        "headers": {"X-Request-ID": "r1", "Content-Type": "application/json"},
    }
    assert "user" not in cleaned
    for secret in ("hunter2", "s3ssion", "eyJ", "one-time-token", "alice@example.org", "203.0.113.9"):
        assert secret not in str(cleaned)
