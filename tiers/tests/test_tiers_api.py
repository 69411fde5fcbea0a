"""`/api/tiers/`: anyone reads, staff write; one default at all times; a tier in use stays."""

from __future__ import annotations

import pytest

from tiers.models import Tier

pytestmark = pytest.mark.django_db

TIERS = "/api/tiers/"
STARTER = {
    "slug": "starter",
    "name": "Starter",
    "max_websites": 1,
    "custom_domains": False,
    "mailbox_quota": "500M",
    "is_default": True,
    "description": "",
    "max_referral_codes": 3,
}
PLUS = {
    "slug": "plus",
    "name": "Plus",
    "max_websites": 3,
    "custom_domains": True,
    "mailbox_quota": "2G",
    "is_default": False,
    "description": "More of everything.",
    "max_referral_codes": 5,
}


def _defaults() -> list[str]:
    return list(Tier.objects.filter(is_default=True).values_list("slug", flat=True))


def test_anyone_reads_the_tiers_without_signing_in(anonymous, default_tier):
    Tier.objects.filter(slug="starter").update(description="")  # the data migration's wording aside
    response = anonymous.get(TIERS)

    assert response.status_code == 200
    assert response.json()["results"] == [STARTER]
    assert anonymous.get(f"{TIERS}starter").json() == STARTER


def test_a_member_cannot_write_tiers(auth_client, default_tier):
    responses = [
        auth_client.post(TIERS, PLUS, format="json"),
        auth_client.patch(f"{TIERS}starter", {"max_websites": 9}, format="json"),
        auth_client.delete(f"{TIERS}starter"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert responses[0].json()["code"] == "permission_denied"
    assert Tier.objects.get(slug="starter").max_websites == 1
    assert not Tier.objects.filter(slug="plus").exists()


def test_anonymous_cannot_write_tiers(anonymous, default_tier):
    response = anonymous.post(TIERS, PLUS, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_staff_create_update_and_delete_a_tier(staff_client, default_tier):
    created = staff_client.post(TIERS, PLUS, format="json")
    updated = staff_client.patch(f"{TIERS}plus", {"max_websites": 4}, format="json")
    deleted = staff_client.delete(f"{TIERS}plus/")

    assert (created.status_code, created.json()) == (201, PLUS)
    assert (updated.status_code, updated.json()) == (200, {**PLUS, "max_websites": 4})
    assert deleted.status_code == 204
    assert not Tier.objects.filter(slug="plus").exists()


def test_a_taken_slug_is_a_conflict(staff_client, default_tier):
    response = staff_client.post(TIERS, {**PLUS, "slug": "starter"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"error": "A tier with the slug 'starter' already exists.", "code": "slug_taken"}


def test_a_bad_quota_is_a_field_error(staff_client, default_tier):
    response = staff_client.post(TIERS, {**PLUS, "mailbox_quota": "lots"}, format="json")

    assert response.status_code == 400
    message = "A mailbox quota is 0 (no quota) or a whole number with a b/k/M/G/T unit, such as 500M."
    assert response.json() == {"error": message, "code": "invalid", "fields": {"mailbox_quota": [message]}}


def test_making_another_tier_the_default_moves_the_flag(staff_client, default_tier, gold):
    response = staff_client.patch(f"{TIERS}gold", {"is_default": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert _defaults() == ["gold"]
    assert staff_client.get(f"{TIERS}starter").json()["is_default"] is False


def test_a_new_tier_may_be_created_as_the_default(staff_client, default_tier):
    response = staff_client.post(TIERS, {**PLUS, "is_default": True}, format="json")

    assert (response.status_code, response.json()["is_default"]) == (201, True)
    assert _defaults() == ["plus"]


def test_the_only_default_cannot_be_undefaulted(staff_client, default_tier):
    response = staff_client.patch(f"{TIERS}starter", {"is_default": False}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "error": "There must always be a default tier: make another tier the default instead.",
        "code": "default_tier_required",
    }
    assert _defaults() == ["starter"]


def test_a_tier_in_use_cannot_be_deleted_and_says_how_many_use_it(staff_client, make_user, gold):
    make_user("amy", tier=gold)
    make_user("ben", tier=gold)

    response = staff_client.delete(f"{TIERS}gold")

    assert response.status_code == 409
    assert response.json() == {
        "error": "2 users are on the tier 'gold': move them to another tier first.",
        "code": "tier_in_use",
    }
    assert Tier.objects.filter(slug="gold").exists()


def test_the_default_tier_cannot_be_deleted(staff_client, default_tier):
    response = staff_client.delete(f"{TIERS}starter")

    assert (response.status_code, response.json()["code"]) == (409, "default_tier_required")


def test_a_tier_a_referral_code_gives_cannot_be_deleted(staff_client, default_tier, gold):
    from tiers.models import ReferralCode

    ReferralCode.objects.create(code="GOLDEN", tier=gold)

    response = staff_client.delete(f"{TIERS}gold")

    assert response.status_code == 409
    assert response.json() == {
        "error": "1 referral code(s) give the tier 'gold': change or delete them first.",
        "code": "tier_in_use",
    }


def test_an_unknown_tier_is_a_404(anonymous, default_tier):
    response = anonymous.get(f"{TIERS}nope")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
