"""POST /api/user/register (docs/api.md §1, §5, §6) and the account it creates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.utils import timezone

from accounts.models import User
from blahaj import crypto
from blahaj.models import OutboxMessage
from conftest import PASSWORD
from factories import ReferralCodeFactory, TierFactory
from tiers.models import ReferralCode

from .conftest import link_path

REGISTER = "/api/user/register"


def test_register_creates_an_unconfirmed_account_and_mails_its_link(api, signup_body, mailoutbox):
    response = api.post(REGISTER, {**signup_body, "discord_username": "dana.s"})

    assert response.status_code == 201
    assert response.json() == {"status": "success"}
    user = User.objects.get(username="dana")
    assert user.status == User.Status.PENDING_CONFIRMATION
    assert (user.display_name, user.email, user.discord_username) == ("Dana Scully", "dana@example.org", "dana.s")
    assert user.tier.slug == "starter"
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["dana@example.org"]
    assert link_path(mailoutbox[0]).startswith("/confirm/")


def test_the_password_is_hashed_and_kept_encrypted_for_yunohost(api, signup_body):
    api.post(REGISTER, signup_body)

    user = User.objects.get(username="dana")
    assert identify_hasher(user.password)
    assert user.check_password(PASSWORD)
    assert PASSWORD not in user.pending_password
    assert crypto.decrypt(user.pending_password) == PASSWORD


def test_the_email_domain_is_lower_cased(api, signup_body):
    api.post(REGISTER, {**signup_body, "email": "Dana@EXAMPLE.Org"})

    assert User.objects.get(username="dana").email == "Dana@example.org"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("username", "Dana", "Use 1 to 30 lower-case letters, digits, dots or underscores."),
        ("username", "a" * 31, "Use 1 to 30 lower-case letters, digits, dots or underscores."),
        ("username", "postmaster", "This username is reserved."),
        (
            "display_name",
            "Dana__Scully",
            "Use letters and digits, with single spaces, commas, dots, apostrophes or hyphens between them.",
        ),
        ("email", "not-an-address", "Enter a valid email address."),
        ("discord_username", "x", "A Discord username is 2 to 32 lower-case letters, digits, underscores or dots."),
    ],
)
def test_each_input_rule_is_a_field_error(api, signup_body, field, value, message):
    response = api.post(REGISTER, {**signup_body, field: value})

    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["code"], list(body["fields"])) == (message, "invalid", [field])
    assert body["fields"][field][0] == message
    assert not User.objects.exists()


def test_missing_fields_are_listed(api):
    response = api.post(REGISTER, {})

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"username", "display_name", "email", "password"}


def test_a_weak_password_is_refused_with_the_reason(api, signup_body):
    response = api.post(REGISTER, {**signup_body, "password": "password123"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["fields"]) == ["password"]
    assert "This password is too common." in body["fields"]["password"]


def test_a_password_like_the_username_is_refused(api, signup_body):
    response = api.post(REGISTER, {**signup_body, "username": "marigoldfalcon", "password": "marigoldfalcon1"})

    assert response.status_code == 400
    assert "The password is too similar to the username." in response.json()["fields"]["password"]


def test_a_password_of_127_characters_is_refused_before_hashing(api, signup_body):
    response = api.post(REGISTER, {**signup_body, "password": "x" * 127})

    assert response.status_code == 400
    assert response.json()["fields"] == {"password": ["Use at most 126 characters."]}


def test_a_long_passphrase_beyond_zxcvbn_limit_is_accepted(api, signup_body):
    passphrase = "velvet comet harbor " * 6  # 120 characters
    response = api.post(REGISTER, {**signup_body, "password": passphrase})

    assert response.status_code == 201
    assert response.json() == {"status": "success"}
    assert User.objects.get(username="dana").check_password(passphrase)


def test_several_bad_fields_are_reported_together(api, signup_body):
    response = api.post(REGISTER, {**signup_body, "username": "Bad Name", "password": "password123"})

    assert response.status_code == 400
    assert response.json()["error"] == "Some fields are invalid."
    assert set(response.json()["fields"]) == {"username", "password"}


def test_a_taken_username_is_409(api, signup_body, user):
    response = api.post(REGISTER, {**signup_body, "username": "alice"})

    assert response.status_code == 409
    assert response.json() == {"error": "Username already taken", "code": "username_taken"}


def test_a_taken_email_is_409_whatever_its_case(api, signup_body, user):
    response = api.post(REGISTER, {**signup_body, "email": "ALICE@example.ORG"})

    assert response.status_code == 409
    assert response.json() == {"error": "Email already registered", "code": "email_taken"}


def test_a_race_lost_at_the_database_is_still_409(api, signup_body, make_user, monkeypatch):
    # The pre-check saw nothing; a concurrent sign-up then committed the same username.
    # The one private patch of the suite: the rival row must be committed by the time the
    # INSERT fails and the service looks again. A `pre_save` hook (before_account_insert)
    # adds it inside the service's own transaction, which the failed INSERT rolls back
    # with it, so the service then finds nothing and answers the generic `conflict`.
    from accounts.services import registration

    real_taken = registration.user_taken
    calls = []

    def taken_after_a_race(user):
        calls.append(user.username)
        if len(calls) == 1:
            make_user("dana", email="someone@example.org")
            return None
        return real_taken(user)

    monkeypatch.setattr(registration, "user_taken", taken_after_a_race)
    response = api.post(REGISTER, signup_body)

    assert response.status_code == 409
    assert response.json() == {"error": "Username already taken", "code": "username_taken"}
    assert User.objects.get(username="dana").email == "someone@example.org"


def test_a_broker_that_is_down_does_not_fail_the_sign_up(api, signup_body, monkeypatch, caplog):
    from kombu.exceptions import OperationalError

    from accounts import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.send_account_email, "apply_async", broker_down)

    response = api.post(REGISTER, signup_body)

    assert response.status_code == 201
    assert response.json() == {"status": "success"}
    assert User.objects.filter(username="dana").exists()
    assert "Could not queue accounts.tasks.send_account_email" in caplog.text
    assert PASSWORD not in caplog.text
    # The email waits in the outbox for the sweeper (blahaj/outbox.py).
    message = OutboxMessage.objects.get()
    assert (message.task, message.status, message.last_error) == (
        "accounts.tasks.send_account_email",
        "waiting",
        "OperationalError",
    )


def test_registration_closed_is_403(api, signup_body, settings):
    settings.ACCOUNTS_REGISTRATION_OPEN = False

    response = api.post(REGISTER, signup_body)

    assert response.status_code == 403
    assert response.json() == {"error": "Registration is closed for now.", "code": "registration_closed"}
    assert not User.objects.exists()


# --- referral codes --------------------------------------------------------------------------


@pytest.fixture
def gold(db):
    return TierFactory(slug="gold", max_websites=5, custom_domains=True)


def test_a_referral_code_puts_the_account_on_its_tier_and_counts_a_use(api, signup_body, gold):
    ReferralCodeFactory(code="SHARKS", tier=gold, max_uses=2)

    response = api.post(REGISTER, {**signup_body, "referral_code": "SHARKS"})

    assert response.status_code == 201
    assert response.json() == {"status": "success"}
    assert User.objects.get(username="dana").tier == gold
    assert ReferralCode.objects.get(code="SHARKS").uses == 1


def test_a_referral_code_without_tier_keeps_the_default_tier(api, signup_body):
    ReferralCodeFactory(code="FRIENDS")

    api.post(REGISTER, {**signup_body, "referral_code": "FRIENDS"})

    assert User.objects.get(username="dana").tier.slug == "starter"


@pytest.mark.parametrize(
    "code_fields",
    [
        {"code": "OTHER"},
        {"code": "SHARKS", "is_active": False},
        {"code": "SHARKS", "max_uses": 3, "uses": 3},
        {"code": "SHARKS", "expires_at": timezone.now() - timedelta(seconds=1)},
    ],
    ids=["unknown", "inactive", "used-up", "expired"],
)
def test_an_unusable_referral_code_is_400_and_creates_nothing(api, signup_body, gold, code_fields):
    ReferralCodeFactory(tier=gold, **code_fields)

    response = api.post(REGISTER, {**signup_body, "referral_code": "SHARKS"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "This referral code is invalid, expired or used up.",
        "code": "referral_code_invalid",
    }
    assert not User.objects.filter(username="dana").exists()


def test_a_refused_sign_up_gives_the_referral_use_back(api, signup_body, gold, make_user, before_account_insert):
    ReferralCodeFactory(code="SHARKS", tier=gold, max_uses=1)
    # The use is taken, then the insert itself collides with a sign-up that slipped in.
    before_account_insert(lambda user: make_user("alice") if user.email == signup_body["email"] else None)

    response = api.post(REGISTER, {**signup_body, "username": "alice", "referral_code": "SHARKS"})

    assert response.status_code == 409
    assert response.json() == {"error": "Please try again.", "code": "conflict"}
    assert ReferralCode.objects.get(code="SHARKS").uses == 0


# --- abuse limits ----------------------------------------------------------------------------


def test_register_is_limited_per_ip(api, signup_body, rates):
    rates(register="2/hour")
    for name in ("one", "two"):
        assert api.post(REGISTER, {**signup_body, "username": name, "email": f"{name}@example.org"}).status_code == 201

    response = api.post(REGISTER, signup_body)

    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 3000 < int(response["Retry-After"]) <= 3600
    assert not User.objects.filter(username="dana").exists()


def test_a_body_that_is_not_a_json_object_is_400(api):
    response = api.post(REGISTER, ["dana"])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
