"""What a profile or status change does to the account's YunoHost user, run on the emulator."""
# ruff: noqa: F811 - the lane's fixtures are imported by name, then requested as arguments

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts import services
from accounts import yunohost as accounts_lane
from accounts.models import User
from conftest import PASSWORD
from provisioning import services as lane
from provisioning.models import Operation
from provisioning.tests.conftest import emulator, run_lane, sha256, signed_up, welcomes  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def _fail_creation(emulator, user: User) -> Operation:
    emulator.add_fault(
        command="user create", exit=1, stderr="ERROR This e-mail address is reserved for the admins group"
    )
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


# --- disable / enable ------------------------------------------------------------------------


def _on_yunohost(emulator, signed_up) -> User:
    alice = signed_up(display_name="Alice")
    accounts_lane.account_create(user=alice)
    run_lane()
    alice.refresh_from_db()
    assert alice.status == User.Status.ACTIVE
    return alice


def test_disabling_scrambles_the_yunohost_password_so_mail_and_sso_logins_stop(emulator, signed_up, welcomes):
    alice = _on_yunohost(emulator, signed_up)
    before = emulator.state()["users"]["alice"]["password_sha256"]

    services.user_disable(user=alice)
    run_lane()

    update = Operation.objects.get(kind=Operation.Kind.USER_UPDATE, subject="user:alice")
    assert update.status == Operation.Status.SUCCEEDED
    assert update.args == {"username": "alice"}  # the password is a secret: never in the args
    assert update.secret_args == ""  # wiped once done
    after = emulator.state()["users"]["alice"]["password_sha256"]
    assert after not in (before, sha256(PASSWORD))


def test_enabling_mails_a_reset_link_to_choose_a_password_on_both_sides(
    emulator, signed_up, welcomes, mailoutbox, tasks_inline, django_capture_on_commit_callbacks
):
    alice = _on_yunohost(emulator, signed_up)
    services.user_disable(user=alice)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.user_enable(user=alice)

    assert alice.status == User.Status.ACTIVE
    assert [message.to for message in mailoutbox] == [[alice.email]]
    assert "/password-reset/" in mailoutbox[0].body


def test_an_account_never_provisioned_has_nothing_on_yunohost_to_lock(
    signed_up, mailoutbox, tasks_inline, django_capture_on_commit_callbacks
):
    bob = signed_up("bob", status=User.Status.PENDING_APPROVAL, confirmed_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        services.user_disable(user=bob)
        services.user_enable(user=bob)

    assert not Operation.objects.exists()
    assert bob.status == User.Status.PENDING_APPROVAL
    assert bob.pending_password  # its sign-up password is kept for provisioning
    assert mailoutbox == []


def test_disabling_after_a_failed_creation_gives_the_retry_a_random_password(emulator, signed_up, welcomes):
    alice = signed_up(display_name="Alice")
    failed = _fail_creation(emulator, alice)

    services.user_disable(user=alice)

    failed.refresh_from_db()
    assert failed.secret_args  # a staff retry creates the user with a password nobody knows
    assert not Operation.objects.filter(kind=Operation.Kind.USER_UPDATE).exists()
