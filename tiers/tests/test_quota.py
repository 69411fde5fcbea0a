"""A tier's new mailbox quota reaches YunoHost through the lane, recorded in bulk."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts_services
from accounts import yunohost as lane
from accounts.models import User
from accounts.services import tiers as account_tiers
from provisioning import services as provisioning_services
from provisioning.models import Operation
from provisioning.tests.conftest import run_lane
from tiers import services

pytestmark = pytest.mark.django_db


def _on_yunohost(signed_up, *names: str, **fields) -> list[User]:
    users = [signed_up(name, **fields) for name in names]
    for user in users:
        lane.account_create(user=user)
    run_lane()
    return users


def _quota_updates() -> list[tuple[str, dict]]:
    return list(Operation.objects.filter(kind="user.update").order_by("subject").values_list("subject", "args"))


def _inserts(queries: CaptureQueriesContext) -> int:
    return sum(q["sql"].startswith('INSERT INTO "provisioning_operation"') for q in queries.captured_queries)


def test_a_quota_change_goes_to_every_member_on_yunohost_and_runs_there(
    staff_client,
    staff_user,
    gold,
    emulator,
    signed_up,
    make_user,
    default_tier,
    tasks_inline,
    django_capture_on_commit_callbacks,
):
    User.objects.filter(pk=staff_user.pk).update(tier=gold)  # carol has no YunoHost user here
    _on_yunohost(signed_up, "amy", "ben")
    make_user("cat", status=User.Status.PENDING_CONFIRMATION)  # gets the quota when created

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch("/api/tiers/starter", {"mailbox_quota": "1G"}, format="json")

    assert (response.status_code, response.json()["mailbox_quota"]) == (200, "1G")
    assert _quota_updates() == [
        ("user:amy", {"username": "amy", "mailbox_quota": "1G"}),
        ("user:ben", {"username": "ben", "mailbox_quota": "1G"}),
    ]
    assert set(Operation.objects.filter(kind="user.update").values_list("status", flat=True)) == {"succeeded"}
    users = emulator.state()["users"]
    assert (users["amy"]["quota"], users["ben"]["quota"]) == ("1G", "1G")
    assert "cat" not in users
    updates = [e["argv"] for e in emulator.log("user update")]
    assert len(updates) == 2
    assert all("--mailbox-quota=1G" in argv and "--loginShell=/bin/bash" in argv for argv in updates)


def test_the_quota_operations_are_one_insert_per_batch(monkeypatch, signed_up, default_tier):
    monkeypatch.setattr(account_tiers, "TIER_BATCH", 2)
    for name in ("amy", "ben", "cat", "dan", "eve"):
        signed_up(name, status=User.Status.ACTIVE)

    with CaptureQueriesContext(connection) as queries:
        services.tier_update(tier=default_tier, data={"mailbox_quota": "2G"})

    assert _inserts(queries) == 3  # 2 + 2 + 1 members
    assert len(_quota_updates()) == 5
    # Sequenced after whatever each subject already had: here nothing.
    assert set(Operation.objects.values_list("sequence", flat=True)) == {1}


def test_other_changes_queue_no_quota_operation(signed_up, default_tier):
    signed_up("amy", status=User.Status.ACTIVE)

    services.tier_update(tier=default_tier, data={"max_websites": 3, "mailbox_quota": "500M"})

    assert _quota_updates() == []


def test_bulk_operations_come_after_the_subjects_earlier_ones(emulator, signed_up, default_tier):
    (amy,) = _on_yunohost(signed_up, "amy")

    created = provisioning_services.operations_create_bulk(
        kind="user.update",
        operations=[
            provisioning_services.NewOperation(
                subject="user:amy", args={"username": "amy", "mailbox_quota": "3G"}, user_id=amy.pk
            )
        ]
        * 2,
    )

    assert [op.sequence for op in created] == [2, 3]
    assert all(op.pk for op in created)
    run_lane()
    assert emulator.state()["users"]["amy"]["quota"] == "3G"


def test_moving_a_member_to_another_tier_applies_its_quota(emulator, signed_up, gold):
    (amy,) = _on_yunohost(signed_up, "amy")

    accounts_services.user_set_tier(user=amy, tier=gold)

    assert User.objects.get(pk=amy.pk).tier == gold
    assert _quota_updates() == [("user:amy", {"username": "amy", "mailbox_quota": "5G"})]
    run_lane()
    assert emulator.state()["users"]["amy"]["quota"] == "5G"


def test_a_member_not_yet_on_yunohost_changes_tier_without_an_operation(make_user, gold):
    cat = make_user("cat", status=User.Status.PENDING_APPROVAL)

    accounts_services.user_set_tier(user=cat, tier=gold)

    assert User.objects.get(pk=cat.pk).tier == gold
    assert _quota_updates() == []


def test_the_same_quota_needs_no_operation(signed_up, default_tier):
    from tiers.models import Tier

    twin = Tier.objects.create(slug="twin", name="Twin", mailbox_quota=default_tier.mailbox_quota)
    amy = signed_up("amy", status=User.Status.ACTIVE)

    accounts_services.user_set_tier(user=amy, tier=twin)

    assert User.objects.get(pk=amy.pk).tier == twin
    assert _quota_updates() == []
