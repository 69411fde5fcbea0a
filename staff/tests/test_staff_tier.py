"""`PUT /api/users/<username>/tier`: staff move an account to another tier (user_set_tier)."""

from __future__ import annotations

import pytest

from accounts.models import User
from provisioning.models import Operation
from tiers.models import Tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold(db):
    return Tier.objects.create(slug="gold", name="Gold", max_websites=5, mailbox_quota="5G")


def test_staff_move_an_account_and_its_quota_is_queued_for_yunohost(staff_client, user, gold):
    response = staff_client.put("/api/users/alice/tier", {"tier": "gold"}, format="json")

    assert response.status_code == 200
    assert response.json()["username"] == "alice"
    assert response.json()["tier"] == "gold"
    assert User.objects.get(username="alice").tier == gold
    update = Operation.objects.get(subject="user:alice", kind="user.update")
    assert update.args == {"username": "alice", "mailbox_quota": "5G"}
    assert update.status == Operation.Status.PENDING


def test_the_same_tier_again_queues_nothing(staff_client, user, default_tier):
    response = staff_client.put("/api/users/alice/tier/", {"tier": default_tier.slug}, format="json")

    assert response.status_code == 200
    assert response.json()["tier"] == default_tier.slug
    assert not Operation.objects.exists()


def test_an_unknown_tier_is_400_in_the_envelope(staff_client, user, default_tier):
    response = staff_client.put("/api/users/alice/tier", {"tier": "platinum"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == {"tier": ["Unknown tier."]}
    assert User.objects.get(username="alice").tier == default_tier


@pytest.mark.parametrize("body", [{}, {"tier": 5}, {"tier": None}])
def test_a_missing_or_mistyped_tier_is_400(staff_client, user, body):
    response = staff_client.put("/api/users/alice/tier", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "tier" in response.json()["fields"]


def test_a_members_token_gets_403(auth_client, gold):
    response = auth_client.put("/api/users/alice/tier", {"tier": "gold"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert User.objects.get(username="alice").tier.slug != "gold"


def test_an_unknown_user_is_404(staff_client, gold):
    response = staff_client.put("/api/users/nobody/tier", {"tier": "gold"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
