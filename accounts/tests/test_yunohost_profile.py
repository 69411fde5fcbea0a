"""What a profile or status change does to the account's YunoHost user, run on the emulator."""

from __future__ import annotations

import pytest

from accounts import services
from accounts import yunohost as accounts_lane
from accounts.models import User
from provisioning import services as lane
from provisioning.models import Operation
from provisioning.tests.conftest import emulator, run_lane, signed_up, welcomes  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _fail_creation(emulator, user: User) -> Operation:
    emulator.add_fault(command="user create", exit=1, stderr="ERROR This e-mail address is reserved for the admins group")
    operation = accounts_lane.account_create(user=user)
    run_lane()
    operation.refresh_from_db()
    assert operation.status == Operation.Status.FAILED
    return operation


def test_a_retried_creation_uses_the_display_name_given_after_it_failed(emulator, signed_up, welcomes):
    alice = signed_up(display_name="Alice")
    failed = _fail_creation(emulator, alice)

    services.user_update(user=alice, display_name="Alice Liddell")

    failed.refresh_from_db()
    assert failed.args["fullname"] == "Alice Liddell"
    assert failed.args["username"] == "alice"
    assert not Operation.objects.filter(kind=Operation.Kind.USER_UPDATE).exists()  # nothing to update yet
    lane.operation_retry(operation=failed)
    run_lane()
    assert emulator.state()["users"]["alice"]["fullname"] == "Alice Liddell"


def test_only_a_failed_operation_has_its_arguments_changed(signed_up):
    alice = signed_up(display_name="Alice")
    pending = accounts_lane.account_create(user=alice)

    lane.operation_update_args(operation=pending, args={"fullname": "Mallory"})

    pending.refresh_from_db()
    assert pending.args["fullname"] == "Alice"
