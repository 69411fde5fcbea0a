"""A backup that restores (docs/deploy.md, "Backups and restore"): a pg_dump taken while the
lane has operations queued and running, restored into a fresh database, and the lane started on
it against the same YunoHost (the emulator), which went on after the dump.

Real parts: PostgreSQL's pg_dump and pg_restore, Redis, Celery workers, the emulator's CLI.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection, transaction

import testing
from accounts import yunohost as accounts_lane
from accounts.models import User
from provisioning.models import Operation
from testing import child_env

from .test_workers import _django_process, _purge, _signed_up, wait_for, workers  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FAST_LANE = {"YUNOHOST_HEARTBEAT_INTERVAL": "1", "YUNOHOST_HEARTBEAT_STALE": "3", "YUNOHOST_SWEEP_GRACE": "0"}


def _libpq(url: str) -> list[str]:
    # pg_dump and pg_restore read the same URL psycopg does; the password, if any, in the URL.
    return ["--dbname", url]


@pytest.fixture
def restored_url() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restored"
    server = testing.test_database_url().rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_a_dump_taken_mid_lane_restores_and_every_operation_finishes_once(workers, emulator, tmp_path, restored_url):  # noqa: F811
    users = _signed_up(10, prefix="restore")
    with transaction.atomic():
        for user in users:
            accounts_lane.account_create(user=user)
    # Slow commands, so that the dump catches some done, one running and the rest waiting.
    workers.start("before", concurrency=1, YUNOHOST_EMULATOR_DELAY="0.5", **FAST_LANE)
    wait_for(
        lambda: (
            Operation.objects.filter(status="succeeded").count() >= 3
            and Operation.objects.filter(status="running").exists()
        ),
        timeout=90,
        what="a lane half-way",
        every=0.05,
    )
    dump = tmp_path / "blahaj.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(dump), *_libpq(testing.test_database_url())], check=True
    )

    # YunoHost goes on after the dump: the old lane finishes everything, then the host is lost
    # (its database and its broker's messages with it).
    wait_for(
        lambda: not Operation.objects.filter(status__in=Operation.UNFINISHED).exists(), timeout=120, what="the old lane"
    )
    workers.stop_all()
    _purge(workers.redis_url)
    assert sorted(emulator.state()["users"]) == sorted(u.username for u in users)

    subprocess.run(["pg_restore", "--no-owner", *_libpq(restored_url), str(dump)], check=True)
    held = dict(_rows(restored_url, "SELECT id, status FROM provisioning_operation"))
    assert len(held) == 10 and set(held.values()) >= {"succeeded", "running", "pending"}, held
    unfinished_at_dump = {pk for pk, status in held.items() if status != "succeeded"}

    # The restored service: a lane worker on the restored database, and the sweeper, which
    # takes back the operation the dump caught running and re-queues the waiting ones.
    workers.start("after", concurrency=1, DATABASE_URL=restored_url, **FAST_LANE)
    sweep = "from provisioning import services\nprint(services.operations_sweep())\n"
    env = child_env(DATABASE_URL=restored_url, REDIS_URL=workers.redis_url, **FAST_LANE)

    def restored_lane_done() -> bool:
        if not _rows(restored_url, "SELECT 1 FROM provisioning_operation WHERE status IN ('pending', 'running')"):
            return True
        ran = _django_process(sweep, env)
        assert ran.returncode == 0, ran.stderr
        return False

    wait_for(restored_lane_done, timeout=120, what="the restored lane", every=1)

    # Nothing the dump held is lost: every row is there, every operation succeeded, and the
    # accounts whose YunoHost user was made are active.
    after = dict(_rows(restored_url, "SELECT id, status FROM provisioning_operation"))
    assert after.keys() == held.keys() and set(after.values()) == {"succeeded"}
    assert _rows(restored_url, "SELECT count(*) FROM accounts_user WHERE status = 'active'") == [(10,)]
    assert _rows(restored_url, "SELECT count(*) FROM provisioning_operation WHERE secret_args != ''") == [(0,)]
    # Exactly once on YunoHost: each user was created once; the operations the dump held
    # unfinished found their user there (the old lane made it after the dump) and stopped there.
    created = [entry["argv"][2] for entry in emulator.log("user create") if entry.get("exit") == 0]
    assert sorted(created) == sorted(u.username for u in users)
    notes = dict(_rows(restored_url, "SELECT id, output FROM provisioning_operation"))
    assert unfinished_at_dump and all("already existed" in notes[pk] for pk in unfinished_at_dump), notes
    assert User.objects.filter(status=User.Status.ACTIVE).count() == 10  # the original, untouched
