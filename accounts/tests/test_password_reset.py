"""Password reset through the API: request-reset and confirm-reset (docs/api.md §1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import OneTimeToken, User
from blahaj import crypto
from conftest import PASSWORD, login

from .conftest import STRONG, link_path, link_token

REQUEST = "/api/user/request-reset"
CONFIRM = "/api/user/confirm-reset"


@pytest.fixture
def reset_email(api, user, mailoutbox):
    response = api.post(REQUEST, {"email": "alice@example.org"})
    assert response.status_code == 200
    return mailoutbox[-1]


@pytest.fixture
def lane_passwords(monkeypatch) -> list:
    from accounts import yunohost as lane

    calls: list = []
    monkeypatch.setattr(lane, "account_set_password", lambda *, user, password: calls.append((user.username, password)))
    return calls


def test_request_reset_by_email_mails_a_reset_link(api, user, mailoutbox):
    response = api.post(REQUEST, {"email": "Alice@Example.org"})

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["alice@example.org"]
    assert mailoutbox[0].subject == "Reset your blahaj.land password"
    assert link_path(mailoutbox[0]).startswith("/password-reset/")


def test_request_reset_by_username(api, user, mailoutbox):
    api.post(REQUEST, {"username": "alice"})

    assert [m.to for m in mailoutbox] == [["alice@example.org"]]


def test_known_and_unknown_accounts_get_the_same_bytes(api, user, mailoutbox):
    answers = [
        api.post(REQUEST, body)
        for body in (
            {"email": "alice@example.org"},
            {"email": "nobody@example.org"},
            {"username": "alice"},
            {"username": "nobody"},
        )
    ]

    assert len({(a.status_code, a.content, a["Content-Type"]) for a in answers}) == 1
    assert len(mailoutbox) == 2


def test_the_request_does_the_same_work_for_known_and_unknown(
    api, user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # No lookup in the request: it cannot take longer for an account that exists. Its one
    # query writes the outbox's message, the same for both.
    for body in ({"email": "alice@example.org"}, {"email": "nobody@example.org"}):
        with django_capture_on_commit_callbacks() as queued, django_assert_num_queries(1) as queries:
            response = api.client.post(REQUEST, body, format="json")
        assert response.status_code == 200
        assert len(queued) == 1
        assert queries.captured_queries[0]["sql"].startswith('INSERT INTO "blahaj_outboxmessage"')


def test_a_disabled_account_gets_no_reset_email(api, make_user, mailoutbox):
    make_user("eve", status=User.Status.DISABLED)

    assert api.post(REQUEST, {"username": "eve"}).status_code == 200
    assert mailoutbox == []


def test_request_reset_needs_an_email_or_a_username(api):
    response = api.post(REQUEST, {})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Give an email or a username.",
        "code": "invalid",
        "fields": {"email": ["Give an email or a username."]},
    }


def test_confirm_reset_sets_the_password_here_and_on_yunohost(api, user, reset_email, mailoutbox, lane_passwords):
    response = api.post(CONFIRM, {"token": link_token(reset_email), "password": STRONG})

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert lane_passwords == [("alice", STRONG)]
    assert login(api.client, "alice", STRONG)["access"]
    changed = mailoutbox[-1]
    assert changed.subject == "Your blahaj.land password was changed"
    assert link_path(changed) == "/password-reset/"


def test_after_a_reset_every_old_token_is_dead(api, user, reset_email, lane_passwords):
    old = login(api.client, "alice")

    api.post(CONFIRM, {"token": link_token(reset_email), "password": STRONG})

    api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert api.client.get("/api/user/me").status_code == 401
    api.client.credentials()
    assert api.client.post("/api/user/refresh", {"refresh": old["refresh"]}, format="json").status_code == 401
    assert (
        api.client.post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json").status_code
        == 401
    )


def test_a_reset_link_works_once(api, user, reset_email, lane_passwords):
    token = link_token(reset_email)
    assert api.post(CONFIRM, {"token": token, "password": STRONG}).status_code == 200

    response = api.post(CONFIRM, {"token": token, "password": "another-" + STRONG})

    assert response.status_code == 400
    assert response.json() == {"error": "This link is invalid or has already been used.", "code": "token_invalid"}
    assert User.objects.get(pk=user.pk).check_password(STRONG)


def test_a_newer_reset_link_kills_the_older_one(api, user, reset_email, mailoutbox, lane_passwords):
    api.post(REQUEST, {"username": "alice"})
    newer = mailoutbox[-1]

    older = api.post(CONFIRM, {"token": link_token(reset_email), "password": STRONG})

    assert older.status_code == 400
    assert older.json()["code"] == "token_invalid"
    assert api.post(CONFIRM, {"token": link_token(newer), "password": STRONG}).status_code == 200


def test_a_reset_link_expires_after_two_hours(api, user, reset_email, lane_passwords):
    with time_machine.travel(timezone.now() + timedelta(hours=2, seconds=1)):
        response = api.post(CONFIRM, {"token": link_token(reset_email), "password": STRONG})

    assert response.status_code == 410
    assert response.json() == {"error": "This link has expired. Ask for a new one.", "code": "token_expired"}
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_a_weak_password_is_refused_and_the_link_still_works(api, user, reset_email, lane_passwords):
    token = link_token(reset_email)

    weak = api.post(CONFIRM, {"token": token, "password": "alice12345"})

    assert weak.status_code == 400
    assert weak.json()["code"] == "invalid"
    assert list(weak.json()["fields"]) == ["password"]
    assert api.post(CONFIRM, {"token": token, "password": STRONG}).status_code == 200


def test_an_unknown_token_is_400(api, lane_passwords):
    response = api.post(CONFIRM, {"token": "x" * 43, "password": STRONG})

    assert response.status_code == 400
    assert response.json()["code"] == "token_invalid"
    assert lane_passwords == []


def test_tokens_are_stored_only_as_hashes(user, reset_email):
    token = link_token(reset_email)
    row = OneTimeToken.objects.get(user=user)

    assert row.digest == OneTimeToken.digest_of(token) != token
    assert not OneTimeToken.objects.filter(digest=token).exists()


def test_two_uses_of_one_token_cannot_both_win(user):
    # The second use finds the row already marked used by the conditional UPDATE.
    from accounts import services
    from accounts.services.links import one_time_token_use

    services.one_time_token_issue(user=user, purpose="reset")
    row = OneTimeToken.objects.get(user=user)
    one_time_token_use(row)

    with pytest.raises(services.TokenInvalid):
        one_time_token_use(row)


def test_a_reset_before_provisioning_updates_the_password_kept_for_yunohost(
    api, registered, mailoutbox, lane_passwords
):
    user, _ = registered
    api.post(REQUEST, {"username": "dana"})

    api.post(CONFIRM, {"token": link_token(mailoutbox[-1]), "password": STRONG})

    assert crypto.decrypt(User.objects.get(pk=user.pk).pending_password) == STRONG


def test_confirm_reset_is_limited_per_ip(api, rates):
    rates(lookup="1/min")
    api.post(CONFIRM, {"token": "x", "password": STRONG})

    assert api.post(CONFIRM, {"token": "x", "password": STRONG}).status_code == 429


def test_request_reset_is_limited_per_ip(api, rates):
    rates(email="2/hour")
    for _ in range(2):
        api.post(REQUEST, {"username": "someone"})

    response = api.post(REQUEST, {"username": "someone"})

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
