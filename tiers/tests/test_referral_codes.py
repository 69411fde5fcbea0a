"""`/api/referral-codes/`: staff CRUD, members' own codes, who referred whom, approval skip."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from accounts.tests.conftest import link_token
from provisioning.models import Operation
from tiers import services
from tiers.models import ReferralCode

pytestmark = pytest.mark.django_db

CODES = "/api/referral-codes/"


@pytest.fixture
def user_codes(settings):
    settings.REFERRALS_USER_CODES = True


def _code_body(code: ReferralCode, **changes) -> dict:
    body = {
        "code": code.code,
        "tier": code.tier.slug if code.tier else None,
        "max_uses": code.max_uses,
        "uses": code.uses,
        "expires_at": None,
        "owner": code.owner.username if code.owner else None,
        "is_active": code.is_active,
        "skips_approval": code.skips_approval,
        "created_at": code.created_at.isoformat().replace("+00:00", "Z"),
    }
    return {**body, **changes}


# --- Staff -----------------------------------------------------------------------------------


def test_staff_create_a_code_and_one_is_generated_without_look_alikes(staff_client, gold, user):
    response = staff_client.post(CODES, {"tier": "gold", "max_uses": 10, "owner": "alice"}, format="json")

    assert response.status_code == 201
    code = ReferralCode.objects.get()
    assert response.json() == _code_body(code)
    assert (code.tier, code.owner, code.max_uses, code.uses) == (gold, user, 10, 0)
    assert re.fullmatch(r"[3467ACEFGHJKMNPRTWXY]{10}", code.code)


def test_generated_codes_never_use_confusable_characters():
    codes = {services.referral_code_generate() for _ in range(500)}

    assert len(codes) == 500
    used = set("".join(codes))
    assert used <= set(services.CODE_ALPHABET)
    assert not used & set("0O1lIQDZ2S5B8UV9")


def test_a_chosen_code_is_kept_and_a_duplicate_is_a_conflict(staff_client, default_tier):
    first = staff_client.post(CODES, {"code": "SHARK-WEEK", "max_uses": None}, format="json")
    second = staff_client.post(CODES, {"code": "SHARK-WEEK"}, format="json")

    assert (first.status_code, first.json()["code"], first.json()["max_uses"]) == (201, "SHARK-WEEK", None)
    assert second.status_code == 409
    assert second.json() == {"error": "The referral code 'SHARK-WEEK' is already taken.", "code": "code_taken"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"tier": "platinum"}, "tier", "Unknown tier."),
        ({"owner": "nobody"}, "owner", "Unknown owner."),
        ({"code": "a b"}, "code", "A code is 4 to 64 letters, digits, '-' or '_'."),
    ],
    ids=["unknown-tier", "unknown-owner", "bad-code"],
)
def test_bad_fields_are_400(staff_client, default_tier, body, field, message):
    response = staff_client.post(CODES, body, format="json")

    assert response.status_code == 400
    assert response.json() == {"error": message, "code": "invalid", "fields": {field: [message]}}
    assert not ReferralCode.objects.exists()


def test_staff_update_list_and_delete_codes(staff_client, gold):
    code = services.referral_code_create(code="WAVES")

    updated = staff_client.patch(f"{CODES}WAVES", {"is_active": False, "tier": "gold"}, format="json")
    listed = staff_client.get(CODES)

    assert updated.status_code == 200
    assert updated.json() == _code_body(code, is_active=False, tier="gold")
    assert listed.json()["results"] == [_code_body(code, is_active=False, tier="gold")]
    deleted = staff_client.delete(f"{CODES}WAVES")
    assert deleted.status_code == 204
    assert not ReferralCode.objects.exists()


def test_uses_is_read_only(staff_client, default_tier):
    services.referral_code_create(code="WAVES", max_uses=3)

    response = staff_client.patch(f"{CODES}WAVES", {"uses": 3}, format="json")

    assert (response.status_code, response.json()["uses"]) == (200, 0)
    assert ReferralCode.objects.get().uses == 0


def test_a_used_code_is_kept_for_the_record(staff_client, api, signup_body):
    services.referral_code_create(code="WAVES")
    assert api.post("/api/user/register", {**signup_body, "referral_code": "WAVES"}).status_code == 201

    response = staff_client.delete(f"{CODES}WAVES")

    assert response.status_code == 409
    assert response.json()["code"] == "code_in_use"
    assert ReferralCode.objects.filter(code="WAVES").exists()


# --- Members ---------------------------------------------------------------------------------


def test_members_get_403_when_member_codes_are_off(auth_client, default_tier):
    listed = auth_client.get(CODES)
    created = auth_client.post(CODES, {}, format="json")

    assert (listed.status_code, created.status_code) == (403, 403)
    assert listed.json() == {"error": "Only staff manage referral codes.", "code": "permission_denied"}
    assert not ReferralCode.objects.exists()


def test_anonymous_gets_401(anonymous, default_tier):
    assert anonymous.get(CODES).status_code == 401


def test_a_member_creates_and_lists_their_own_codes_only(auth_client, user, other_user, gold, user_codes):
    services.referral_code_create(code="BOBS-CODE", owner=other_user)

    created = auth_client.post(CODES, {"max_uses": 5, "tier": "gold", "skips_approval": True}, format="json")
    listed = auth_client.get(CODES)

    assert created.status_code == 201
    mine = ReferralCode.objects.get(owner=user)
    # A member chooses how often and how long; never a tier or an approval skip.
    assert (mine.max_uses, mine.tier, mine.skips_approval) == (5, None, False)
    assert created.json() == _code_body(mine)
    assert listed.json()["results"] == [_code_body(mine)]
    assert auth_client.get(f"{CODES}BOBS-CODE").status_code == 404


def test_a_member_cannot_change_or_delete_codes(auth_client, user, user_codes):
    services.referral_code_create(code="ALICES", owner=user)

    responses = [
        auth_client.patch(f"{CODES}ALICES", {"max_uses": 100}, format="json"),
        auth_client.delete(f"{CODES}ALICES"),
    ]

    assert [r.status_code for r in responses] == [403, 403]
    assert ReferralCode.objects.get().max_uses is None


def test_a_member_stops_at_their_tiers_cap(auth_client, user, default_tier, user_codes):
    default_tier.max_referral_codes = 2
    default_tier.save()
    services.referral_code_create(code="OLD-ONE", owner=user, is_active=False)  # inactive: not counted

    answers = [auth_client.post(CODES, {}, format="json") for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 409]
    assert answers[2].json() == {
        "error": "You already have 2 active referral code(s), the most your tier allows.",
        "code": "referral_code_limit",
    }
    assert ReferralCode.objects.filter(owner=user, is_active=True).count() == 2


# --- Sign-up ---------------------------------------------------------------------------------


def test_the_user_records_which_code_referred_them(api, signup_body, other_user, gold):
    code = services.referral_code_create(code="BOBS-FRIENDS", owner=other_user, tier=gold)

    response = api.post("/api/user/register", {**signup_body, "referral_code": "BOBS-FRIENDS"})

    assert response.status_code == 201
    dana = User.objects.get(username="dana")
    assert dana.referral_code is not None
    assert (dana.referral_code, dana.referral_code.owner, dana.tier) == (code, other_user, gold)
    assert list(code.referred_users.all()) == [dana]


def test_a_code_that_skips_approval_goes_straight_to_provisioning(api, signup_body, mailoutbox, settings):
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    services.referral_code_create(code="VIP-PASS", skips_approval=True)
    services.referral_code_create(code="PLAIN")
    api.post("/api/user/register", {**signup_body, "referral_code": "VIP-PASS"})
    api.post(
        "/api/user/register", {**signup_body, "username": "eve", "email": "eve@example.org", "referral_code": "PLAIN"}
    )

    dana = accounts_services.user_confirm_email(token=link_token(mailoutbox[0]))
    eve = accounts_services.user_confirm_email(token=link_token(mailoutbox[1]))

    assert (dana.status, eve.status) == (User.Status.PROVISIONING, User.Status.PENDING_APPROVAL)
    queued = Operation.objects.filter(kind=Operation.Kind.USER_CREATE).values_list("subject", flat=True)
    assert list(queued) == ["user:dana"]


def test_a_deactivated_skipping_code_no_longer_skips(api, signup_body, mailoutbox, settings):
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    code = services.referral_code_create(code="VIP-PASS", skips_approval=True)
    api.post("/api/user/register", {**signup_body, "referral_code": "VIP-PASS"})
    services.referral_codes_deactivate(referral_codes=ReferralCode.objects.filter(pk=code.pk))

    dana = accounts_services.user_confirm_email(token=link_token(mailoutbox[0]))

    assert dana.status == User.Status.PENDING_APPROVAL


def test_an_expired_code_is_refused_at_sign_up(api, signup_body):
    services.referral_code_create(code="LATE", expires_at=timezone.now() - timedelta(minutes=1))

    response = api.post("/api/user/register", {**signup_body, "referral_code": "LATE"})

    assert (response.status_code, response.json()["code"]) == (400, "referral_code_invalid")
