"""An undeliverable address (bounces/services.py) is one a member is asked to replace: a confirmed
email change clears the mark."""
# ruff: noqa: F811 - fixtures are imported by name, then requested as arguments

from __future__ import annotations

import re

from django.core import mail
from django.test import Client

from bounces.tests.test_bounces import mailgun_event, post, webhooks  # noqa: F401 - a fixture
from conftest import PASSWORD, committed
from logins import services as logins
from selfservice import services


def test_the_member_is_asked_for_another_address_and_a_confirmed_change_clears_it(
    webhooks, user, staff_client, tasks_inline
):
    post(mailgun_event("alice@example.org"))
    api = Client()
    access = logins.user_login(identifier="alice", password=PASSWORD)["access"]
    assert api.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}").json()["email_undeliverable"] is True
    staff_view = staff_client.get("/api/users/alice/").json()["email_undeliverable"]
    assert staff_view["reason"] == "bounced (bounced)" and staff_view["since"]

    page = Client()
    assert page.post("/account/login/", {"identifier": "alice", "password": PASSWORD}).status_code == 302
    overview = page.get("/account/").content.decode()
    assert 'id="email-undeliverable"' in overview and 'href="/account/email/"' in overview

    with committed():
        services.user_request_email_change(user=user, email="alice.new@example.net", password=PASSWORD)
    found = re.search(r"/account/email/confirm/([^/\s]+)/", str(mail.outbox[-1].body))
    assert found is not None
    token = found.group(1)
    with committed():
        services.user_confirm_email_change(token=token)

    user.refresh_from_db()
    assert (user.email, user.email_undeliverable_at, user.email_undeliverable_reason) == (
        "alice.new@example.net",
        None,
        "",
    )
    assert api.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}").json()["email_undeliverable"] is False
    assert 'id="email-undeliverable"' not in page.get("/account/").content.decode()
    assert staff_client.get("/api/users/alice/").json()["email_undeliverable"] is None
