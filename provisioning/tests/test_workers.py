"""The lane with real Redis and real Celery worker processes (the PostgreSQL + Redis pass).

Each test starts its own prefork workers (`celery -A blahaj worker -Q yunohost`) on the test
database, with the emulator's state in a temporary file; the rows they work on are committed
(transactional tests), and the emulator's log, which records every command's start and end,
is the witness of what really ran.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction

from accounts import yunohost as accounts_lane
from accounts.models import User
from audit.models import AuditEntry
from blahaj.celery import app as celery_app
from blahaj.crypto import encrypt
from factories import UserFactory
from provisioning import services
from provisioning.locks import LOCK_KEY
from provisioning.models import Operation
from testing import ROOT, child_env, free_port

from .conftest import Emulator, sha256

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EMULATOR_BIN = str(ROOT / "yunohost_emulator" / "bin" / "yunohost")


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


class Workers:
    """Celery workers in their own process groups, so that a SIGKILL takes a whole worker
    (its pool children and the command they run) the way a crashed host would."""

    def __init__(self, tmp_path: Path, emulator: Emulator) -> None:
        self.tmp_path = tmp_path
        self.emulator = emulator
        self.running: dict[str, tuple[subprocess.Popen, Path]] = {}
        self.redis_url = settings.REDIS_URL

    def env(self, **extra: str) -> dict[str, str]:
        defaults = {
            "REDIS_URL": self.redis_url,
            "DJANGO_DEBUG": "true",
            "YUNOHOST_BIN": EMULATOR_BIN,
            "YUNOHOST_EMULATOR_STATE": str(self.emulator.path),
        }
        return child_env(**{**defaults, **extra})

    def start(self, name: str, *, concurrency: int = 2, queue: str = "yunohost", **extra: str) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{name}.log"
        # The worker writes to its own copy of the descriptor: the parent's closes once it started.
        with log.open("w") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "blahaj",
                    "worker",
                    "-Q",
                    queue,
                    "-c",
                    str(concurrency),
                    "--pool",
                    "prefork",
                    "-n",
                    f"{name}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "INFO",
                ],
                cwd=ROOT,
                env=self.env(**extra),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running[name] = (process, log)
        wait_for(lambda: process.poll() is not None or " ready." in log.read_text(), timeout=60, what=f"worker {name}")
        assert process.poll() is None, log.read_text()
        return process

    def kill(self, name: str) -> None:
        process, _ = self.running.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for process, _ in self.running.values():
            _signal_group(process, signal.SIGTERM)
        for process, _ in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            _signal_group(process, signal.SIGKILL)  # pool children left behind, if any
            process.wait()
        self.running.clear()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{log.read_text()[-4000:]}" for name, (_, log) in self.running.items())


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _purge(redis_url: str) -> None:
    """Start clean: no message or lane lock left by an earlier test or another test module."""
    redis.Redis.from_url(redis_url).delete(LOCK_KEY)
    with celery_app.connection_for_write(redis_url) as connection:
        # The stubs type the abstract channel; every kombu transport's channel has queue_purge.
        connection.default_channel.queue_purge("yunohost")  # type: ignore[attr-defined]


@pytest.fixture
def workers(transactional_db, default_tier, emulator, tmp_path) -> Iterator[Workers]:
    lane = Workers(tmp_path, emulator)
    _purge(lane.redis_url)
    yield lane
    print(lane.logs())  # shown by pytest when the test failed
    lane.stop_all()


def _signed_up(count: int, *, prefix: str = "user", status: str = User.Status.PROVISIONING) -> list[User]:
    return [
        UserFactory.create(
            username=f"{prefix}{i:02d}",
            password=f"password of {prefix} {i}!",
            display_name=f"User {i}",
            status=status,
            pending_password=encrypt(f"password of {prefix} {i}!"),
        )
        for i in range(count)
    ]


def _all_finished() -> bool:
    return not Operation.objects.filter(status__in=Operation.UNFINISHED).exists()


def _assert_never_overlapping(entries: list[dict]) -> None:
    ordered = sorted(entries, key=lambda e: e["started"])
    for before, after in itertools.pairwise(ordered):
        assert after["started"] >= before["finished"], (before, after)


def test_two_hundred_operations_run_one_at_a_time_in_order_none_lost_none_twice(workers, emulator):
    workers.start("one")
    workers.start("two")
    users = _signed_up(50)

    with transaction.atomic():  # what 50 people confirming and changing their minds would queue
        for user in users:
            accounts_lane.account_create(user=user)
            accounts_lane.account_set_password(user=user, password=f"second password of {user.username}")
            accounts_lane.account_delete(user=user)
            services.operation_create(
                kind="user.create",
                subject=f"user:{user.username}",
                user=user,
                args={"username": user.username, "fullname": "Again", "domain": "blahaj.land", "mailbox_quota": "0"},
                secrets={"password": f"last password of {user.username}"},
            )
    assert Operation.objects.count() == 200

    wait_for(_all_finished, timeout=150, what="200 operations", every=0.5)

    operations = list(Operation.objects.order_by("started_at"))
    assert {(op.status, op.attempts, op.busy_waits, op.secret_args) for op in operations} == {("succeeded", 1, 0, "")}
    for before, after in itertools.pairwise(operations):  # the lane's own record: one at a time
        assert after.started_at is not None and before.finished_at is not None
        assert after.started_at >= before.finished_at
    log = emulator.log()
    _assert_never_overlapping(log)
    assert [e["exit"] for e in log] == [0] * len(log)
    for user in users:
        mine = [e["argv"][1] for e in log if e["argv"][2] == user.username and e["lock"]]
        assert mine == ["create", "update", "delete", "create"], user.username
        finished = [
            at
            for at in Operation.objects.filter(subject=f"user:{user.username}")
            .order_by("sequence")
            .values_list("finished_at", flat=True)
            if at is not None
        ]
        assert len(finished) == 4 and finished == sorted(finished)
    state = emulator.state()["users"]
    assert sorted(state) == [user.username for user in users]
    assert all(state[u.username]["password_sha256"] == sha256(f"last password of {u.username}") for u in users)
    assert set(User.objects.values_list("status", flat=True)) == {User.Status.ACTIVE}
    # The audit log has each outcome, written by the workers in the lane's transactions.
    outcomes = AuditEntry.objects.filter(door="lane")
    assert outcomes.count() == 200
    assert set(outcomes.values_list("actor", "result")) == {("lane", "ok")}
    assert outcomes.filter(action="lane.user.create").count() == 100


def test_a_busy_yunohost_is_retried_then_done(workers, emulator):
    workers.start("one", YUNOHOST_LOCK_TIMEOUT="0", YUNOHOST_BUSY_BACKOFF="1")
    [alice] = _signed_up(1)

    with emulator.busy():
        with transaction.atomic():
            operation = accounts_lane.account_create(user=alice)
        wait_for(lambda: Operation.objects.get(pk=operation.pk).busy_waits >= 2, timeout=20, what="busy answers")
        assert "user00" not in emulator.state()["users"]
    wait_for(_all_finished, timeout=30, what="the operation")

    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == ("succeeded", 1)
    assert operation.busy_waits >= 2
    assert [e["exit"] for e in emulator.log("user create")] == [1] * operation.busy_waits + [0]


def test_a_worker_killed_in_the_middle_of_a_command_leaves_the_operation_done_exactly_once(workers, emulator, settings):
    timing = {
        "YUNOHOST_EMULATOR_DELAY_USER_CREATE": "2",
        "YUNOHOST_TIMEOUT": "4",
        "YUNOHOST_LANE_LOCK_MARGIN": "1",
        "YUNOHOST_HEARTBEAT_INTERVAL": "1",
        "YUNOHOST_HEARTBEAT_STALE": "3",
        "CELERY_VISIBILITY_TIMEOUT": "6",
    }
    workers.start("doomed", concurrency=1, **timing)
    [alice] = _signed_up(1)
    with transaction.atomic():
        operation = accounts_lane.account_create(user=alice)
    wait_for(lambda: Operation.objects.get(pk=operation.pk).status == "running", timeout=20, what="the claim")
    # YunoHost's lock is taken: the 2 s command is running now.
    wait_for(Path(str(emulator.path) + ".lock").exists, timeout=20, what="the command holding YunoHost's lock")

    workers.kill("doomed")
    workers.start("survivor", **timing)
    settings.YUNOHOST_HEARTBEAT_STALE = 3  # this process plays beat, with the workers' timings

    def swept_and_done() -> bool:
        services.operations_sweep()
        return _all_finished()

    wait_for(swept_and_done, timeout=40, what="recovery", every=0.5)

    operation.refresh_from_db()
    alice.refresh_from_db()
    assert (operation.status, operation.attempts, alice.status) == ("succeeded", 2, User.Status.ACTIVE)
    creates = emulator.log("user create")
    assert [e["exit"] for e in creates] == [0]  # the killed run never finished; one did
    assert list(emulator.state()["users"]) == ["user00"]


class PrivateRedis:
    """A Redis of this test's own, which it can stop and start (the shared one is not ours)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=10, what="redis-server", every=0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


def _django_process(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Django process (another web server, say) with `env`."""
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "blahaj.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_confirming_while_redis_is_down_are_provisioned_once_it_is_back(workers, emulator, private_redis):
    workers.redis_url = private_redis.url
    workers.start("one")
    users = _signed_up(5, status=User.Status.PENDING_CONFIRMATION)
    private_redis.kill()

    started = time.monotonic()
    confirm = _django_process(
        """
        from django.db import transaction
        from accounts.models import User
        from accounts.services import user_begin_provisioning
        for user in User.objects.filter(status="pending_confirmation"):
            with transaction.atomic():
                user_begin_provisioning(user=user)
        """,
        workers.env(),
    )
    assert confirm.returncode == 0, confirm.stderr
    assert time.monotonic() - started < 30  # a dead broker costs each request little
    assert "Could not queue provisioning.tasks.run_operation" in confirm.stderr
    assert list(Operation.objects.values_list("status", flat=True)) == ["pending"] * 5
    assert set(User.objects.values_list("status", flat=True)) == {User.Status.PROVISIONING}

    private_redis.start()
    sweep = _django_process(
        "from provisioning.tasks import sweep_operations\nsweep_operations()\n",
        workers.env(YUNOHOST_SWEEP_GRACE="0"),
    )
    assert sweep.returncode == 0, sweep.stderr
    wait_for(_all_finished, timeout=60, what="the operations after the outage", every=0.5)

    assert set(Operation.objects.values_list("status", "attempts")) == {("succeeded", 1)}
    assert sorted(emulator.state()["users"]) == sorted(u.username for u in users)
    assert len(emulator.log("user create")) == 5
    assert set(User.objects.values_list("status", flat=True)) == {User.Status.ACTIVE}
