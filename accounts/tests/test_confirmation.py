"""Email confirmation: the emailed link, the API's confirm link, resend-confirm, approval."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts import services
from accounts.models import OneTimeToken, User
from blahaj.errors import Conflict

from .conftest import link_path, link_token

RESEND = "/api/user/resend-confirm"


@pytest.fixture
def lane_calls(monkeypatch) -> list:
    """What reached the YunoHost lane's seam (the lane itself is another issue's)."""
    from accounts import yunohost as lane

    calls: list = []
    monkeypatch.setattr(lane, "account_create", lambda *, user: calls.append(("create", user.username, user.status)))
    return calls


def test_the_emailed_link_confirms_and_starts_provisioning(web, registered, lane_calls):
    user, email = registered

    response = web.get(link_path(email))

    assert response.status_code == 200
    assert "Email confirmed" in response.content.decode()
    assert "We are creating your account now" in response.content.decode()
    user.refresh_from_db()
    assert user.status == User.Status.PROVISIONING
    assert user.confirmed_at is not None
    assert lane_calls == [("create", "dana", User.Status.PROVISIONING)]


def test_with_approval_on_the_account_waits_for_staff(web, registered, lane_calls, settings):
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    user, email = registered

    response = web.get(link_path(email))

    assert "A staff member now looks at your sign-up" in response.content.decode()
    user.refresh_from_db()
    assert user.status == User.Status.PENDING_APPROVAL
    assert lane_calls == []

    services.user_approve(user=user)

    assert User.objects.get(pk=user.pk).status == User.Status.PROVISIONING
    assert lane_calls == [("create", "dana", User.Status.PROVISIONING)]


def test_approving_twice_or_too_early_is_a_conflict(registered, lane_calls):
    user, _ = registered
    with pytest.raises(Conflict) as early:
        services.user_approve(user=user)
    assert early.value.code == "invalid_status"

    User.objects.filter(pk=user.pk).update(status=User.Status.PENDING_APPROVAL)
    stale = User.objects.get(pk=user.pk)
    services.user_approve(user=User.objects.get(pk=user.pk))
    with pytest.raises(Conflict):
        services.user_approve(user=stale)  # a second staff member's click on a stale page
    assert len(lane_calls) == 1


def test_the_api_confirm_link_redirects_to_the_confirmed_page(web, registered, lane_calls):
    user, email = registered

    response = web.get(f"/api/user/confirm/{link_token(email)}")

    assert response.status_code == 302
    assert response["Location"] == "/confirmed/?next=provisioning"
    page = web.get(response["Location"])
    assert page.status_code == 200
    assert "We are creating your account now" in page.content.decode()
    assert User.objects.get(pk=user.pk).status == User.Status.PROVISIONING


def test_a_used_link_is_invalid_on_the_page_and_the_api(web, registered, lane_calls):
    _, email = registered
    web.get(link_path(email))

    again = web.get(link_path(email))
    api_again = web.get(f"/api/user/confirm/{link_token(email)}")

    assert again.status_code == 400
    assert "This link is invalid" in again.content.decode()
    assert api_again.status_code == 302
    assert api_again["Location"] == "/link-invalid/?reason=token_invalid"
    assert web.get(api_again["Location"]).status_code == 400
    assert len(lane_calls) == 1


def test_an_expired_link_says_so_and_offers_a_new_one(web, registered, lane_calls):
    user, email = registered

    with time_machine.travel(timezone.now() + timedelta(hours=48, seconds=1)):
        page = web.get(link_path(email))
        api_response = web.get(f"/api/user/confirm/{link_token(email)}")

    assert page.status_code == 410
    assert "This link has expired" in page.content.decode()
    assert 'action="/resend-confirmation/"' in page.content.decode()
    assert api_response["Location"] == "/link-invalid/?reason=token_expired"
    assert User.objects.get(pk=user.pk).status == User.Status.PENDING_CONFIRMATION
    assert lane_calls == []


def test_a_link_just_before_expiry_still_works(web, registered, lane_calls):
    _, email = registered

    with time_machine.travel(timezone.now() + timedelta(hours=47, minutes=59)):
        response = web.get(link_path(email))

    assert response.status_code == 200
    assert "We are creating your account now" in response.content.decode()
    assert lane_calls == [("create", "dana", User.Status.PROVISIONING)]


def test_too_many_confirm_links_get_a_friendly_page_not_json(web, rates):
    rates(lookup="1/min")
    web.get("/api/user/confirm/first-try")

    api_response = web.get("/api/user/confirm/second-try")
    page = web.get("/confirm/third-try/")

    for response in (api_response, page):
        assert response.status_code == 429
        assert response["Content-Type"].startswith("text/html")
        assert "Too many tries" in response.content.decode()
        assert 1 <= int(response["Retry-After"]) <= 60


def test_an_unknown_token_is_invalid(web, lane_calls):
    response = web.get("/confirm/not-a-real-token/")

    assert response.status_code == 400
    assert "This link is invalid" in response.content.decode()


# --- resend-confirm --------------------------------------------------------------------------


def test_resend_mails_a_new_link_and_kills_the_old_one(api, web, registered, mailoutbox, lane_calls):
    user, first = registered

    response = api.post(RESEND, {"email": "DANA@example.org"})

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert len(mailoutbox) == 2
    second = mailoutbox[1]
    assert link_path(second) != link_path(first)
    assert web.get(link_path(first)).status_code == 400  # superseded
    assert web.get(link_path(second)).status_code == 200
    assert OneTimeToken.objects.filter(user=user, purpose="confirm").count() == 1


def test_resend_answers_the_same_for_unknown_confirmed_and_unconfirmed(api, registered, user, mailoutbox):
    sent_before = len(mailoutbox)
    answers = [
        api.post(RESEND, {"email": email}) for email in ("dana@example.org", "alice@example.org", "nobody@example.org")
    ]

    assert {(a.status_code, a.content) for a in answers} == {(200, b'{"status":"success"}')}
    assert [m.to for m in mailoutbox[sent_before:]] == [["dana@example.org"]]  # alice is confirmed already


def test_the_request_itself_does_no_lookup(
    api, registered, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # The whole answer is computed before any lookup: the worker does it, after the response.
    # The one query writes the outbox's message, the same for both.
    for email in ("dana@example.org", "nobody@example.org"):
        with django_capture_on_commit_callbacks() as queued, django_assert_num_queries(1) as queries:
            response = api.client.post(RESEND, {"email": email}, format="json")
        assert response.status_code == 200
        assert len(queued) == 1
        assert queries.captured_queries[0]["sql"].startswith('INSERT INTO "blahaj_outboxmessage"')


def test_resend_needs_a_valid_email(api):
    response = api.post(RESEND, {"email": "nope"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Enter a valid email address.",
        "code": "invalid",
        "fields": {"email": ["Enter a valid email address."]},
    }


def test_resend_is_limited_per_ip(api, rates):
    rates(email="1/hour")
    assert api.post(RESEND, {"email": "a@example.org"}).status_code == 200

    response = api.post(RESEND, {"email": "a@example.org"})

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response


def test_the_resend_page_mails_a_new_link(web, registered, mailoutbox):
    response = web.post("/resend-confirmation/", {"email": "dana@example.org"})

    assert response.status_code == 302
    assert response["Location"] == "/signup/done/"
    assert len(mailoutbox) == 2
