"""A tier change reaches signed-in members at once; the admin goes through the services."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts_services
from tiers.models import ReferralCode, Tier

pytestmark = pytest.mark.django_db

ME = "/api/user/me"


# --- The auth cache --------------------------------------------------------------------------


def test_a_cached_member_sees_the_tier_change_at_once(
    auth_client, staff_client, default_tier, django_capture_on_commit_callbacks
):
    assert auth_client.get(ME).json()["tier"] == "starter"  # cached now

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch("/api/tiers/starter", {"slug": "minnow"}, format="json")

    assert response.status_code == 200
    assert auth_client.get(ME).json()["tier"] == "minnow"


def test_a_cached_member_moved_to_another_tier_sees_it_at_once(
    auth_client, user, gold, django_capture_on_commit_callbacks
):
    assert auth_client.get(ME).json()["tier"] == "starter"

    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.user_set_tier(user=user, tier=gold)

    assert auth_client.get(ME).json()["tier"] == "gold"


def test_saving_a_tier_does_no_io(default_tier, django_capture_on_commit_callbacks, monkeypatch):
    from logins import tokens

    forgotten: list = []
    monkeypatch.setattr(tokens, "forget_users", lambda ids, **kw: forgotten.append(list(ids)))

    with django_capture_on_commit_callbacks() as callbacks:
        default_tier.name = "Renamed"
        default_tier.save()

    assert (forgotten, callbacks) == ([], [])


# --- Admin -----------------------------------------------------------------------------------


def test_the_tier_list_counts_users_in_one_query(admin_client, make_user, default_tier, gold):
    for name in ("amy", "ben"):
        make_user(name, tier=gold)

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/admin/tiers/tier/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<td class="field-user_count">2</td>' in html
    tier_queries = [q for q in queries.captured_queries if 'FROM "tiers_tier"' in q["sql"]]
    # The page (with its counts) and the paginator's COUNT, which leaves the users out.
    assert len(tier_queries) == 2
    assert "accounts_user" not in tier_queries[0]["sql"]


def test_the_make_default_action_moves_the_flag(admin_client, default_tier, gold):
    response = admin_client.post(
        "/admin/tiers/tier/", {"action": "make_default", "_selected_action": [gold.pk]}, follow=True
    )

    assert "Gold is now the default tier." in response.content.decode()
    assert list(Tier.objects.filter(is_default=True)) == [gold]


def test_the_delete_page_refuses_a_tier_in_use_with_the_count(admin_client, make_user, gold):
    make_user("amy", tier=gold)

    response = admin_client.get(f"/admin/tiers/tier/{gold.pk}/delete/", follow=True)

    assert "1 user is on the tier &#x27;gold&#x27;: move them to another tier first." in response.content.decode()
    assert Tier.objects.filter(pk=gold.pk).exists()


def test_the_admin_form_moves_the_default_through_the_service(admin_client, default_tier, gold):
    response = admin_client.post(
        f"/admin/tiers/tier/{gold.pk}/change/",
        {
            "slug": "gold",
            "name": "Gold",
            "max_websites": 5,
            "custom_domains": "on",
            "mailbox_quota": "5G",
            "max_referral_codes": 3,
            "make_default": "on",
            "description": "",
        },
    )

    assert response.status_code == 302
    assert list(Tier.objects.filter(is_default=True).values_list("slug", flat=True)) == ["gold"]


def test_the_admin_form_refuses_to_leave_no_default(admin_client, default_tier):
    response = admin_client.post(
        f"/admin/tiers/tier/{default_tier.pk}/change/",
        {
            "slug": "starter",
            "name": "Starter",
            "max_websites": 1,
            "mailbox_quota": "500M",
            "max_referral_codes": 3,
            "description": "",
        },
    )

    assert response.status_code == 200
    assert "There must always be a default tier" in response.content.decode()
    assert Tier.objects.get(pk=default_tier.pk).is_default


def test_a_code_left_blank_in_the_admin_is_generated(admin_client, default_tier):
    response = admin_client.post("/admin/tiers/referralcode/add/", {"code": "", "max_uses": "5", "is_active": "on"})

    assert response.status_code == 302
    code = ReferralCode.objects.get()
    assert (len(code.code), code.max_uses, code.uses) == (10, 5, 0)


def test_the_deactivate_action(admin_client, default_tier):
    codes = [ReferralCode.objects.create(code=c) for c in ("ONE-CODE", "TWO-CODE")]

    response = admin_client.post(
        "/admin/tiers/referralcode/",
        {"action": "deactivate", "_selected_action": [c.pk for c in codes]},
        follow=True,
    )

    assert "Deactivated 2 referral code(s)." in response.content.decode()
    assert not ReferralCode.objects.filter(is_active=True).exists()


def test_the_user_page_shows_who_referred_them(admin_client, api, signup_body, other_user):
    ReferralCode.objects.create(code="BOBS-FRIENDS", owner=other_user)
    api.post("/api/user/register", {**signup_body, "referral_code": "BOBS-FRIENDS"})
    from accounts.models import User

    dana = User.objects.get(username="dana")

    response = admin_client.get(f"/admin/accounts/user/{dana.pk}/change/")

    assert "BOBS-FRIENDS (owned by bob)" in response.content.decode()
