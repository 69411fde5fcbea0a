"""The lane's state machine, in this process against the real emulator executable.

`run_lane()` plays the workers; messages sent on commit never go out here (the test's
transaction never commits), so every run below is one the test asked for.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts_services
from accounts import yunohost as accounts_lane
from accounts.models import User
from blahaj.errors import Conflict
from factories import OperationFactory, TierFactory
from provisioning import services, tasks
from provisioning.locks import lane_lock
from provisioning.models import Operation, OwnedObject
from provisioning.services import runner
from yunohost_client import get_client

from .conftest import run_lane, sha256

pytestmark = pytest.mark.django_db

PENDING, RUNNING, SUCCEEDED, FAILED = (s.value for s in Operation.Status)
NEW_PASSWORD = "a brand new passphrase 2 remember"


def _reload(*objects):
    for obj in objects:
        obj.refresh_from_db()


def _queued(operation: Operation | None) -> Operation:
    """The operation a lane entry point recorded (None means it had nothing to do)."""
    assert operation is not None
    return operation


# --- The happy path --------------------------------------------------------------------------


def test_a_confirmed_sign_up_ends_with_a_yunohost_user(emulator, signed_up, welcomes, staff_notes):
    alice = signed_up("alice", display_name="Alice Liddell")

    operation = accounts_lane.account_create(user=alice)

    alice.refresh_from_db()
    assert alice.pending_password == ""
    assert (operation.kind, operation.subject, operation.sequence, operation.status) == (
        "user.create",
        "user:alice",
        1,
        PENDING,
    )
    assert operation.args == {
        "username": "alice",
        "fullname": "Alice Liddell",
        "domain": "blahaj.land",
        "mailbox_quota": "500M",
    }
    assert operation.secret_args and "passphrase" not in operation.secret_args

    run_lane()

    _reload(operation, alice)
    assert (operation.status, operation.attempts, operation.error, operation.secret_args) == (SUCCEEDED, 1, "", "")
    assert json.loads(operation.output) == {
        "fullname": "Alice Liddell",
        "mail": "alice@blahaj.land",
        "username": "alice",
    }
    assert operation.started_at is not None and operation.finished_at is not None
    assert operation.created_at <= operation.started_at <= operation.finished_at
    assert alice.status == User.Status.ACTIVE
    on_yunohost = emulator.state()["users"]["alice"]
    assert on_yunohost["password_sha256"] == sha256("correct-horse-battery-staple-42")
    assert (on_yunohost["fullname"], on_yunohost["quota"]) == ("Alice Liddell", "500M")
    assert welcomes == ["alice"]
    assert staff_notes == [("account_created", "alice now has a YunoHost account (alice@\u200bblahaj.land).")]


def test_the_mailbox_quota_comes_from_the_tier(emulator, signed_up):
    plus = TierFactory(slug="plus", mailbox_quota="2G")
    accounts_lane.account_create(user=signed_up("alice", tier=plus))

    run_lane()

    assert emulator.state()["users"]["alice"]["quota"] == "2G"


def test_an_account_staff_created_gets_a_random_password(emulator, make_user):
    carol = make_user("carol", status=User.Status.PROVISIONING)

    accounts_lane.account_create(user=carol)
    run_lane()

    carol.refresh_from_db()
    assert carol.status == User.Status.ACTIVE
    assert emulator.state()["users"]["carol"]["password_sha256"] != sha256("correct-horse-battery-staple-42")


def test_a_disabled_account_is_not_reactivated_by_its_creation(emulator, signed_up, welcomes):
    alice = signed_up()
    accounts_lane.account_create(user=alice)
    User.objects.filter(pk=alice.pk).update(status=User.Status.DISABLED)

    run_lane()

    alice.refresh_from_db()
    assert alice.status == User.Status.DISABLED
    assert welcomes == []


# --- Busy, transient, permanent --------------------------------------------------------------


def test_a_busy_yunohost_is_retried_later_without_counting_an_attempt(emulator, signed_up, time_machine):
    operation = accounts_lane.account_create(user=signed_up())

    with emulator.busy():
        run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts, operation.busy_waits) == (PENDING, 0, 1)
    assert operation.error == "YunoHost was busy with another command."
    assert operation.heartbeat_at is not None
    assert operation.next_attempt_at - operation.heartbeat_at == timedelta(seconds=2)
    run_lane()  # not due yet
    assert [e["exit"] for e in emulator.log("user create")] == [1]

    time_machine.move_to(operation.next_attempt_at + timedelta(seconds=1))
    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts, operation.busy_waits, operation.error) == (SUCCEEDED, 1, 1, "")
    assert [e["exit"] for e in emulator.log("user create")] == [1, 0]


def test_busy_waits_back_off_exponentially_up_to_a_cap(settings):
    waits = [
        runner._backoff(settings.YUNOHOST_BUSY_BACKOFF, n, settings.YUNOHOST_BUSY_BACKOFF_MAX) for n in range(1, 9)
    ]

    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]


def test_transient_failures_are_retried_with_backoff_then_fail_for_good(
    emulator, signed_up, settings, staff_notes, time_machine
):
    settings.YUNOHOST_MAX_ATTEMPTS = 3
    emulator.add_fault(command="user create", times=3, exit=1, stderr="ERROR The LDAP server is not answering")
    alice = signed_up()
    operation = accounts_lane.account_create(user=alice)

    waits = []
    for _ in range(2):
        run_lane()
        operation.refresh_from_db()
        assert (operation.status, operation.error) == (PENDING, "The LDAP server is not answering")
        assert operation.heartbeat_at is not None
        waits.append((operation.next_attempt_at - operation.heartbeat_at).total_seconds())
        time_machine.move_to(operation.next_attempt_at + timedelta(seconds=1))
    run_lane()

    _reload(operation, alice)
    assert waits == [10, 20]
    assert (operation.status, operation.attempts, operation.secret_args) == (FAILED, 3, "")
    assert operation.error == "The LDAP server is not answering (gave up after 3 attempts)"
    assert alice.status == User.Status.PROVISIONING_FAILED
    assert staff_notes == [
        (
            "provisioning_failed",
            f"The YunoHost account of alice could not be created (operation #{operation.pk}, 3 attempt(s)): "
            "The LDAP server is not answering (gave up after 3 attempts)",
        )
    ]


def test_a_transient_failure_then_success(emulator, signed_up, time_machine):
    emulator.add_fault(command="user create", times=1, crash=True)
    operation = accounts_lane.account_create(user=signed_up())

    run_lane()
    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (PENDING, 1)
    time_machine.move_to(operation.next_attempt_at + timedelta(seconds=1))
    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts, operation.error) == (SUCCEEDED, 2, "")


def test_a_refusal_fails_at_once(emulator, staff_notes):
    operation = services.operation_create(
        kind="user.create",
        subject="user:zoe",
        args={"username": "zoe", "fullname": "Zoe", "domain": "elsewhere.example", "mailbox_quota": "0"},
        secrets={"password": "correct-horse-battery-staple-42"},
    )

    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts, operation.error) == (FAILED, 1, "Domain 'elsewhere.example' unknown")
    assert [event for event, _ in staff_notes] == ["provisioning_failed"]


def test_an_operation_whose_secret_cannot_be_decrypted_fails_visibly(emulator, signed_up, settings):
    operation = accounts_lane.account_create(user=signed_up())
    settings.SECRET_KEY = "a-rotated-key"

    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.secret_args) == (FAILED, "")
    assert operation.error == "The operation's secret cannot be decrypted (DJANGO_SECRET_KEY changed)."
    assert emulator.log() == []


def test_a_kind_without_a_command_fails_at_once(emulator):
    operation = services.operation_create(kind="app.upgrade", subject="app:x", args={"app": "x"})

    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.error) == (
        FAILED,
        "The lane has no command for operations of kind 'app.upgrade' yet.",
    )


# --- Idempotency -----------------------------------------------------------------------------


def test_a_user_creation_run_again_after_its_first_attempt_succeeds_without_a_second_effect(emulator, signed_up):
    operation = accounts_lane.account_create(user=signed_up("alice"))  # its record goes with it
    # The first run's command, and the worker died before the outcome.
    get_client().user_create(username="alice", fullname="Alice", password="the first password 1", domain="blahaj.land")

    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (SUCCEEDED, 1)
    assert json.loads(operation.output) == {
        "note": "The user already existed on YunoHost, made by an earlier attempt of this service: nothing was changed."
    }
    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256("the first password 1")
    assert OwnedObject.objects.get(kind="user", name="alice").state == "created"


def test_a_yunohost_user_this_service_did_not_make_is_never_taken_over(emulator, signed_up, staff_notes):
    # An admin's user, made by hand on the server, and a sign-up that got through with its name.
    get_client().user_create(
        username="alice", fullname="Alice Admin", password="the admins' secret 1", domain="blahaj.land"
    )
    alice = signed_up("alice")
    operation = accounts_lane.account_create(user=alice)

    run_lane()

    operation.refresh_from_db()
    alice.refresh_from_db()
    assert (operation.status, operation.attempts) == ("failed", 1)  # permanent: no retries
    assert "was not made by this service" in operation.error
    assert alice.status == User.Status.PROVISIONING_FAILED and not alice.on_yunohost
    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256("the admins' secret 1")
    assert not OwnedObject.objects.filter(kind="user", name="alice", state__in=["intended", "created"]).exists()

    # Nothing the account does reaches that user: a new password, a deletion.
    update = services.operation_create(
        kind="user.update", subject="user:alice", args={"username": "alice"}, secrets={"password": "an0ther-Secret!"}
    )
    delete = services.operation_create(
        kind="user.delete", subject="user:alice", args={"username": "alice", "purge": True}
    )
    run_lane()

    update.refresh_from_db()
    delete.refresh_from_db()
    assert update.status == "failed" and "left unchanged" in update.error
    assert delete.status == SUCCEEDED and "nothing was deleted" in delete.output
    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256("the admins' secret 1")
    assert emulator.log("user update") == [] and emulator.log("user delete") == []


def test_deleting_a_user_yunohost_does_not_know_succeeds(emulator):
    operation = services.operation_create(
        kind="user.delete", subject="user:ghost", args={"username": "ghost", "purge": True}
    )

    run_lane()

    operation.refresh_from_db()
    assert (operation.status, json.loads(operation.output)) == (
        SUCCEEDED,
        {"note": "No YunoHost user of this service has this name: nothing was deleted."},
    )


def test_a_run_that_read_the_row_before_another_claimed_it_does_nothing(emulator, signed_up):
    operation = accounts_lane.account_create(user=signed_up())
    read_early = Operation.objects.get(pk=operation.pk)
    run_lane()  # another worker claims, runs and finishes it
    Operation.objects.filter(pk=operation.pk).update(status=PENDING)  # and, say, staff retry it

    assert runner._claim(read_early) is False


def test_a_message_delivered_twice_runs_the_command_once(emulator, signed_up):
    operation = accounts_lane.account_create(user=signed_up())

    services.operation_run(operation_id=operation.pk)
    services.operation_run(operation_id=operation.pk)
    tasks.run_operation.apply(args=(operation.pk,))

    assert len(emulator.log("user create")) == 1


# --- Order, the lane lock, the sweeper -------------------------------------------------------


def test_operations_of_one_subject_run_in_order(emulator, signed_up, settings):
    settings.YUNOHOST_LANE_DRAIN = 0  # one operation per run, to look between runs
    alice = signed_up()
    create = _queued(accounts_lane.account_create(user=alice))
    update = _queued(accounts_lane.account_set_password(user=alice, password=NEW_PASSWORD))
    delete = _queued(accounts_lane.account_delete(user=alice))
    bob = _queued(accounts_lane.account_create(user=signed_up("bob")))
    assert [create.sequence, update.sequence, delete.sequence, bob.sequence] == [1, 2, 3, 1]

    for later in (delete, update, bob):
        services.operation_run(operation_id=later.pk)

    _reload(create, update, delete, bob)
    assert [create.status, update.status, delete.status, bob.status] == [PENDING, PENDING, PENDING, SUCCEEDED]
    run_lane()
    commands = [entry["argv"][:3] for entry in emulator.log() if "alice" in entry["argv"]]
    assert commands == [
        ["user", "create", "alice"],
        ["user", "info", "alice"],
        ["user", "update", "alice"],
        ["user", "delete", "alice"],
    ]


def test_holding_the_lane_a_run_goes_on_with_the_next_step_of_its_subject_then_the_oldest(emulator, signed_up):
    alice, bob = signed_up("alice"), signed_up("bob")
    bob_create = _queued(accounts_lane.account_create(user=bob))
    alice_create = _queued(accounts_lane.account_create(user=alice))
    alice_update = _queued(accounts_lane.account_set_password(user=alice, password=NEW_PASSWORD))

    services.operation_run(operation_id=alice_create.pk)  # one message, the whole backlog

    assert set(Operation.objects.values_list("status", flat=True)) == {SUCCEEDED}
    order = [op.pk for op in Operation.objects.order_by("started_at")]
    assert order == [alice_create.pk, alice_update.pk, bob_create.pk]


def test_a_run_stops_going_on_once_its_drain_time_is_up(emulator, signed_up, settings):
    settings.YUNOHOST_LANE_DRAIN = 0
    first = accounts_lane.account_create(user=signed_up("alice"))
    accounts_lane.account_create(user=signed_up("bob"))

    services.operation_run(operation_id=first.pk)

    assert sorted(Operation.objects.values_list("status", flat=True)) == [PENDING, SUCCEEDED]


def test_a_task_that_cannot_get_the_lane_steps_aside_without_touching_the_operation(emulator, signed_up, settings):
    settings.YUNOHOST_LANE_WAIT = 0
    operation = accounts_lane.account_create(user=signed_up())
    holder = lane_lock()
    assert holder.acquire(wait=0)
    try:
        with pytest.raises(services.LaneBusy):
            services.operation_run(operation_id=operation.pk)
        tasks.run_operation.apply(args=(operation.pk,))  # re-queues itself, raises nothing
    finally:
        holder.release()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts, operation.busy_waits) == (PENDING, 0, 0)
    assert emulator.log() == []


def test_the_sweeper_takes_back_a_running_operation_whose_worker_died(emulator, signed_up, settings):
    operation = accounts_lane.account_create(user=signed_up())
    long_ago = timezone.now() - timedelta(seconds=settings.YUNOHOST_HEARTBEAT_STALE + 1)
    Operation.objects.filter(pk=operation.pk).update(
        status=RUNNING, attempts=1, started_at=long_ago, heartbeat_at=long_ago
    )

    assert services.operations_sweep() == {"recovered": 1, "queued": 1}
    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (SUCCEEDED, 2)


def test_a_live_running_operation_is_left_alone(emulator, signed_up):
    operation = accounts_lane.account_create(user=signed_up())
    now = timezone.now()
    Operation.objects.filter(pk=operation.pk).update(status=RUNNING, attempts=1, started_at=now, heartbeat_at=now)

    assert services.operations_sweep() == {"recovered": 0, "queued": 0}


def test_the_sweeper_fails_a_stale_operation_out_of_attempts(emulator, signed_up, settings, staff_notes):
    settings.YUNOHOST_MAX_ATTEMPTS = 2
    alice = signed_up()
    operation = accounts_lane.account_create(user=alice)
    long_ago = timezone.now() - timedelta(seconds=settings.YUNOHOST_HEARTBEAT_STALE + 1)
    Operation.objects.filter(pk=operation.pk).update(
        status=RUNNING, attempts=2, started_at=long_ago, heartbeat_at=long_ago
    )

    assert services.operations_sweep() == {"recovered": 1, "queued": 0}

    _reload(operation, alice)
    assert (operation.status, operation.secret_args) == (FAILED, "")
    assert operation.error == "The worker running it stopped before it finished. (gave up after 2 attempts)"
    assert alice.status == User.Status.PROVISIONING_FAILED
    assert [event for event, _ in staff_notes] == ["provisioning_failed"]


def test_the_sweeper_queues_the_first_pending_operation_of_each_subject_once_its_grace_is_over(
    emulator, signed_up, settings
):
    alice = signed_up()
    create = accounts_lane.account_create(user=alice)
    accounts_lane.account_set_password(user=alice, password=NEW_PASSWORD)
    assert services.operations_sweep() == {"recovered": 0, "queued": 0}  # their messages may be on the way

    Operation.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=settings.YUNOHOST_SWEEP_GRACE + 1))
    assert services.operations_sweep() == {"recovered": 0, "queued": 1}
    run_lane()

    create.refresh_from_db()
    assert set(Operation.objects.values_list("status", flat=True)) == {SUCCEEDED}


def test_a_result_is_dropped_if_the_sweeper_took_the_operation_back_meanwhile(emulator, signed_up):
    operation = accounts_lane.account_create(user=signed_up())
    claimed = Operation.objects.get(pk=operation.pk)
    assert runner._claim(claimed)
    assert claimed.started_at is not None
    Operation.objects.filter(pk=operation.pk).update(started_at=claimed.started_at + timedelta(seconds=5))

    assert runner._finish(claimed, runner.Outcome(SUCCEEDED, output="{}")) is False

    operation.refresh_from_db()
    assert (operation.status, operation.output) == (RUNNING, "")


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_refreshes_the_row_and_the_lane_lock_while_a_command_runs(settings):
    settings.YUNOHOST_HEARTBEAT_INTERVAL = 0.05

    class CountingLock:
        """A lane lock that counts refreshes and says when the third one came."""

        def __init__(self) -> None:
            self.refreshed = 0
            self.third = threading.Event()

        def acquire(self, *, wait: float) -> bool:
            return True

        def refresh(self) -> None:
            self.refreshed += 1
            if self.refreshed >= 3:
                self.third.set()

        def release(self) -> None:
            pass

    started = timezone.now()
    operation = OperationFactory.create(kind="user.delete", status=RUNNING, started_at=started, heartbeat_at=started)
    lock = CountingLock()

    with runner._Heartbeat(operation, lock):
        # Each refresh follows the row's update: three refreshes, three heartbeats written.
        assert lock.third.wait(timeout=10), "the heartbeat did not beat three times"

    operation.refresh_from_db()
    assert lock.refreshed >= 3
    assert operation.heartbeat_at is not None
    assert operation.heartbeat_at > started


# --- Staff retry -----------------------------------------------------------------------------


def _fail_creation(emulator, alice):
    emulator.add_fault(
        command="user create", exit=1, stderr="ERROR This e-mail address is reserved for the admins group"
    )
    operation = accounts_lane.account_create(user=alice)
    run_lane()
    operation.refresh_from_db()
    assert (operation.status, operation.secret_args) == (FAILED, "")
    return operation


def test_staff_retry_a_failed_creation_which_then_gets_a_random_password(emulator, signed_up, welcomes):
    alice = signed_up()
    operation = _fail_creation(emulator, alice)

    retried = services.operation_retry(operation=operation)

    alice.refresh_from_db()
    assert (retried.status, retried.attempts, retried.finished_at) == (PENDING, 0, None)
    assert retried.secret_args  # the sign-up password was wiped: a random one
    assert alice.status == User.Status.PROVISIONING
    run_lane()
    _reload(operation, alice)
    assert (operation.status, alice.status) == (SUCCEEDED, User.Status.ACTIVE)
    assert emulator.state()["users"]["alice"]["password_sha256"] != sha256("correct-horse-battery-staple-42")
    assert welcomes == ["alice"]


def test_a_password_changed_after_a_failed_creation_is_used_by_its_retry(emulator, signed_up):
    alice = signed_up()
    operation = _fail_creation(emulator, alice)

    assert accounts_services.user_set_password(user=alice, password=NEW_PASSWORD) is None
    services.operation_retry(operation=operation)
    run_lane()

    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256(NEW_PASSWORD)
    assert Operation.objects.count() == 1


def test_only_a_failed_operation_can_be_retried(emulator, signed_up):
    operation = accounts_lane.account_create(user=signed_up())

    with pytest.raises(Conflict) as caught:
        services.operation_retry(operation=operation)

    assert (caught.value.code, caught.value.message) == ("not_failed", "Only a failed operation can be retried.")


# --- Password changes and deletion -----------------------------------------------------------


def test_a_password_change_reaches_yunohost(emulator, signed_up):
    alice = signed_up()
    accounts_lane.account_create(user=alice)

    accounts_services.user_set_password(user=alice, password=NEW_PASSWORD)
    update = Operation.objects.get(kind="user.update")
    run_lane()

    update.refresh_from_db()
    assert (update.args, update.status, update.secret_args) == ({"username": "alice"}, SUCCEEDED, "")
    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256(NEW_PASSWORD)
    assert emulator.state()["users"]["alice"]["shell"] == "/bin/bash"


def test_a_password_changed_before_provisioning_is_the_one_provisioned(emulator, signed_up):
    alice = signed_up(status=User.Status.PENDING_APPROVAL)

    assert accounts_lane.account_set_password(user=alice, password=NEW_PASSWORD) is None
    accounts_lane.account_create(user=alice)
    run_lane()

    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256(NEW_PASSWORD)


def test_an_account_without_a_yunohost_user_changes_its_password_here_only(emulator, make_user):
    user = make_user("alice", on_yunohost=False)  # not created by the lane, nor imported

    assert accounts_lane.account_set_password(user=user, password=NEW_PASSWORD) is None
    assert Operation.objects.count() == 0


def test_deleting_an_account_deletes_its_yunohost_user_with_its_mail(emulator, signed_up):
    alice = signed_up()
    accounts_lane.account_create(user=alice)
    run_lane()

    operation = _queued(accounts_lane.account_delete(user=alice))
    alice.delete()
    run_lane()

    operation.refresh_from_db()
    assert (operation.args, operation.status, operation.user) == ({"username": "alice", "purge": True}, SUCCEEDED, None)
    assert "alice" not in emulator.state()["users"]
    assert emulator.log("user delete")[0]["argv"][:4] == ["user", "delete", "alice", "--purge"]


def test_deleting_an_account_that_never_reached_yunohost_queues_nothing(emulator, signed_up):
    alice = signed_up(status=User.Status.PENDING_CONFIRMATION)

    assert accounts_lane.account_delete(user=alice) is None

    alice.refresh_from_db()
    assert alice.pending_password == ""


def test_a_new_account_with_a_deleted_ones_username_is_created_after_the_deletion(emulator, signed_up):
    alice = signed_up()
    accounts_lane.account_create(user=alice)
    accounts_lane.account_delete(user=alice)
    alice.delete()

    again = accounts_lane.account_create(user=signed_up("alice", email="alice2@example.org"))
    run_lane()

    again.refresh_from_db()
    assert (again.sequence, again.status) == (3, SUCCEEDED)
    assert "alice" in emulator.state()["users"]


# --- Secrets and hostile input ---------------------------------------------------------------


def test_no_password_reaches_a_row_a_log_or_yunohosts_recorded_argv(emulator, signed_up, caplog):
    caplog.set_level(logging.DEBUG)
    alice = signed_up(password="first secret phrase 9")
    accounts_lane.account_create(user=alice)
    accounts_lane.account_set_password(user=alice, password=NEW_PASSWORD)

    run_lane()

    for operation in Operation.objects.all():
        stored = operation.output + operation.error + operation.secret_args + json.dumps(operation.args)
        assert "first secret phrase 9" not in stored and NEW_PASSWORD not in stored
    assert "first secret phrase 9" not in caplog.text and NEW_PASSWORD not in caplog.text
    recorded = json.dumps(emulator.log())
    assert "first secret phrase 9" not in recorded and NEW_PASSWORD not in recorded


def test_shell_metacharacters_in_a_password_reach_yunohost_verbatim(emulator, signed_up, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a shell would have created "pwned"
    marker = tmp_path / "pwned"
    password = 'it\'s "quoted"; $(touch pwned) `touch pwned` && touch pwned | sh'
    operation = accounts_lane.account_create(user=signed_up(password=password))

    run_lane()

    operation.refresh_from_db()
    assert operation.status == SUCCEEDED
    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256(password)
    assert not marker.exists()


def test_a_password_with_a_line_break_is_refused_without_being_echoed(emulator, signed_up):
    password = "line one is fine\nline two $(reboot)"
    operation = accounts_lane.account_create(user=signed_up(password=password))

    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (FAILED, 1)
    assert operation.error == "Invalid password: control characters (line breaks, NUL...) are not accepted"
    assert emulator.log() == []


@pytest.mark.parametrize("name", ['Bob "the" Builder', "Bob; $(touch pwned)", "Bob\nEve", "Bob `id`", "Bob & Eve"])
def test_a_display_name_with_shell_metacharacters_is_refused_before_and_by_the_lane(emulator, tmp_path, name):
    from django.core.exceptions import ValidationError

    from accounts.validators import validate_display_name

    with pytest.raises(ValidationError):
        validate_display_name(name)
    operation = services.operation_create(
        kind="user.create",
        subject="user:bob",
        args={"username": "bob", "fullname": name, "domain": "blahaj.land", "mailbox_quota": "0"},
        secrets={"password": "correct-horse-battery-staple-42"},
    )

    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.error) == (FAILED, f"Invalid full name: {name!r}")
    assert emulator.log() == []
