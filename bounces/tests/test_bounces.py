"""Bounces and complaints through anymail's real Mailgun tracking webhook (signed as Mailgun
signs, behind the basic auth anymail checks), and what an undeliverable address changes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import time
from collections.abc import Iterator

import pytest
from django.core import mail
from django.test import Client
from django.urls import clear_url_caches

import blahaj.urls
from accounts.tasks import send_password_reset_to
from audit.models import AuditEntry
from conftest import committed
from notices.models import StaffNotice

SIGNING_KEY = "mailgun-webhook-signing-key-0123456789"
BASIC_AUTH = "mailgun:basic-auth-secret-of-the-hook"
URL = "/anymail/mailgun/tracking/"


@pytest.fixture
def webhooks(settings) -> Iterator[None]:
    settings.ANYMAIL = {"WEBHOOK_SECRET": BASIC_AUTH, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}
    importlib.reload(blahaj.urls)
    clear_url_caches()
    yield
    settings.ANYMAIL = {}
    importlib.reload(blahaj.urls)
    clear_url_caches()


def mailgun_event(
    recipient: str, *, event: str = "failed", severity: str = "permanent", key: str = SIGNING_KEY
) -> dict:
    timestamp, token = str(int(time.time())), hashlib.sha256(recipient.encode() + event.encode()).hexdigest()
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    failure = {"severity": severity, "reason": "bounce"} if event == "failed" else {}
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": event,
            **failure,
            "recipient": recipient,
            "timestamp": time.time(),
            "id": "event-id",
            "delivery-status": {"code": 550, "message": "5.1.1 mailbox does not exist", "description": ""},
            "message": {"headers": {"message-id": "20261207.abc@mg.blahaj.land"}},
        },
    }


def post(body: dict, *, auth: str | None = BASIC_AUTH):
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    with committed():
        return Client().post(URL, data=json.dumps(body), content_type="application/json", headers=headers)


def test_a_signed_hard_bounce_marks_the_address_and_tells_staff(webhooks, user, other_user):
    response = post(mailgun_event("Alice@Example.org"))

    assert response.status_code == 200
    user.refresh_from_db()
    other_user.refresh_from_db()
    assert user.email_undeliverable_at is not None
    assert user.email_undeliverable_reason == "bounced (bounced)"
    assert other_user.email_undeliverable_at is None
    notice = StaffNotice.objects.get(kind=StaffNotice.Kind.EMAIL_UNDELIVERABLE)
    assert "alice" in notice.text
    assert AuditEntry.objects.filter(action="user.email.undeliverable", object="user:alice").exists()

    post(mailgun_event("alice@example.org"))  # the ESP says it again: one notice is enough
    assert StaffNotice.objects.filter(kind=StaffNotice.Kind.EMAIL_UNDELIVERABLE).count() == 1


def test_a_complaint_marks_the_address_and_a_soft_bounce_does_not(webhooks, user, other_user):
    assert post(mailgun_event("bob@example.org", severity="temporary")).status_code == 200
    assert post(mailgun_event("alice@example.org", event="complained")).status_code == 200
    user.refresh_from_db()
    other_user.refresh_from_db()
    assert user.email_undeliverable_reason == "complained"
    assert other_user.email_undeliverable_at is None


@pytest.mark.parametrize(
    ("body", "auth"),
    [
        (mailgun_event("alice@example.org", key="not-the-signing-key"), BASIC_AUTH),  # forged signature
        (mailgun_event("alice@example.org"), None),  # no basic auth
        (mailgun_event("alice@example.org"), "mailgun:guessed"),  # wrong basic auth
        ({"event-data": {"event": "failed", "recipient": "alice@example.org"}}, BASIC_AUTH),  # unsigned
    ],
)
def test_forged_webhook_calls_are_refused(webhooks, user, body, auth):
    response = post(body, auth=auth)

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.email_undeliverable_at is None


def test_without_a_webhook_secret_there_is_no_webhook(user):
    assert Client().post(URL, data="{}", content_type="application/json").status_code == 404


def test_no_email_goes_to_an_undeliverable_address(webhooks, user, other_user, settings, caplog):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    post(mailgun_event("alice@example.org"))
    mail.outbox.clear()

    send_password_reset_to.apply(args=("alice",))
    send_password_reset_to.apply(args=("bob",))

    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
    assert "Not sending" in caplog.text and "undeliverable address" in caplog.text
    assert "alice@example.org" not in caplog.text
