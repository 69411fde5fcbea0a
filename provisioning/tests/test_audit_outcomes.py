"""Every outcome of the lane is a row of the audit log (door and actor `lane`): a success, a
failed attempt that will be retried, a failure for good; staff's retry is a staff action."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

import audit
from accounts import yunohost as accounts_lane
from audit.models import AuditEntry
from provisioning import services
from provisioning.models import Operation

from .conftest import run_lane

pytestmark = pytest.mark.django_db


def lane_rows() -> list[tuple[str, str, str, str, str]]:
    return list(
        AuditEntry.objects.filter(door="lane")
        .order_by("id")
        .values_list("actor", "action", "object", "result", "detail")
    )


def test_a_success_is_an_ok_row(emulator, signed_up):
    operation = accounts_lane.account_create(user=signed_up())

    run_lane()

    assert lane_rows() == [
        ("lane", "lane.user.create", "user:alice", "ok", f"operation {operation.pk} succeeded (attempt 1)")
    ]


def test_a_retried_attempt_and_a_failure_for_good_are_failed_rows(emulator, signed_up, settings, staff_user):
    settings.YUNOHOST_MAX_ATTEMPTS = 2
    emulator.add_fault(command="user create", times=5, exit=1, stderr="ERROR The LDAP server is not answering")
    operation = accounts_lane.account_create(user=signed_up())

    run_lane()
    operation.refresh_from_db()
    with time_machine.travel(operation.next_attempt_at + timedelta(seconds=1)):
        run_lane()

    operation.refresh_from_db()
    assert operation.status == Operation.Status.FAILED
    assert [(action, result) for _, action, _, result, _ in lane_rows()] == [
        ("lane.user.create", "failed"),
        ("lane.user.create", "failed"),
    ]
    first, last = (row[4] for row in lane_rows())
    assert first == f"operation {operation.pk}, attempt 1 failed, will retry: The LDAP server is not answering"
    assert last.startswith(f"operation {operation.pk} failed for good: The LDAP server is not answering")

    with audit.scope(door=audit.Door.API, user=staff_user):
        services.operation_retry(operation=operation)

    retry = AuditEntry.objects.get(action="operation.retry")
    assert (retry.actor, retry.door, retry.object, retry.result) == ("carol", "api", f"operation:{operation.pk}", "ok")


def test_a_busy_wait_is_no_attempt_and_no_row(emulator, signed_up):
    accounts_lane.account_create(user=signed_up())

    with emulator.busy():
        for operation in Operation.objects.all():
            services.operation_run(operation_id=operation.pk)

    assert lane_rows() == []
