"""Benchmark of the YunoHost lane. Not a test.

Run:  .venv/bin/python bench/lane.py [--ops 500] [--latency-ops 100]
Needs PostgreSQL and Redis on 127.0.0.1 (scripts/test starts them). It (re)creates the
database `blahaj_bench_lane`, uses Redis database 13 (flushed), runs the `yunohost` emulator with
no delay in a temporary folder, and measures:

(a) throughput: the same N `user create` commands (N = --ops, 500) run back to back by a plain
    loop calling the client, and as N operations through the whole lane: rows committed in one
    transaction, queued on commit, one real Celery worker (prefork, concurrency 1) claiming each
    with its conditional UPDATE under the Redis lane lock, running it, recording the outcome and
    calling back (user active, welcome email queued). Lane rate / loop rate; target >= 0.8.
    Loop and lane alternate in rounds of --round operations, so that a change in the machine's
    load during the run weighs on both alike.
(b) the lane's own time per operation, from the operations' timestamps and the emulator's log
    (which records when each command took YunoHost's lock and when it ended):
    - in the batch: previous operation done -> next command start (the hand-over), and
      command end -> operation done (recording the outcome);
    - one operation at a time (--latency-ops, on an idle lane): enqueue (commit) -> command start,
      and command end -> operation done.
    "Command start" is the emulator's, once its interpreter started and it took YunoHost's lock:
    the loop pays that start-up too, so its own "client call -> command start" is printed as the
    reference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported at run time after django.setup()
    from provisioning.models import Operation

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "blahaj_bench_lane"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_DB = 13
PASSWORD = "correct-horse-battery-staple-42"


def bench_env(state: Path, *, db_name: str = DB_NAME, redis_db: int = REDIS_DB) -> dict[str, str]:
    """The servers' and workers' environment: their own database and Redis database, the
    emulator with its state in `state` (bench/websites.py passes its own names)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blahaj.settings",
        "DJANGO_SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "DJANGO_DEBUG": "false",
        "BLAHAJ_TESTING": "false",
        "DATABASE_URL": f"{PG}/{db_name}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "LOG_LEVEL": "WARNING",
        "YUNOHOST_BIN": str(ROOT / "yunohost_emulator" / "bin" / "yunohost"),
        "YUNOHOST_EMULATOR_STATE": str(state),
        "YUNOHOST_CERT_DNS_CHECK": "false",  # no public DNS here: the emulator installs every certificate
    }


def prepare(env: dict[str, str], *, db_name: str = DB_NAME, redis_db: int = REDIS_DB) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name}")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(["redis-cli", "-n", str(redis_db), "flushdb"], check=True, capture_output=True)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "blahaj",
            "worker",
            "-Q",
            "yunohost",
            "-c",
            "1",
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def loop_round(first: int, n: int, state: Path) -> tuple[float, list[float]]:
    """Run n commands back to back; (seconds, client call -> command start of each)."""
    from yunohost_client import get_client

    client = get_client()
    called: dict[str, float] = {}
    start = time.monotonic()
    for i in range(first, first + n):
        username = f"bench{i:04d}"
        called[username] = time.time()
        client.user_create(
            username=username, fullname=f"Bench {i}", password=PASSWORD, domain="blahaj.land", mailbox_quota="500M"
        )
    elapsed = time.monotonic() - start
    commands = commands_by_user(state)
    return elapsed, [commands[name]["started"] - at for name, at in called.items()]


def make_users(prefix: str, first: int, n: int) -> list:
    from accounts.models import User
    from blahaj.crypto import encrypt

    secret = encrypt(PASSWORD)
    return User.objects.bulk_create(
        User(
            username=f"{prefix}{i:04d}",
            email=f"{prefix}{i:04d}@example.org",
            display_name=f"Bench {i}",
            status=User.Status.PROVISIONING,
            pending_password=secret,
            tier_id=_tier_id(),
        )
        for i in range(first, first + n)
    )


def _tier_id() -> int:
    from tiers.models import Tier

    return Tier.get_default().pk


def wait_done(timeout: float) -> None:
    from provisioning.models import Operation

    deadline = time.monotonic() + timeout
    while Operation.objects.filter(status__in=Operation.UNFINISHED).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the lane did not finish in time")
        time.sleep(0.05)  # light polling: this machine's CPUs are the worker's too
    failed = Operation.objects.filter(status="failed").first()
    if failed is not None:
        raise SystemExit(f"operation {failed.pk} failed: {failed.error}")


def commands_by_user(state: Path) -> dict[str, dict]:
    log = json.loads(state.read_text())["log"]
    return {e["argv"][2]: e for e in log if e["argv"][:2] == ["user", "create"]}


def lane_round(first: int, n: int, state: Path) -> tuple[float, list[float], list[float]]:
    """n operations through the lane; (seconds from commit start to the last one done,
    previous done -> next command start, command end -> op done)."""
    from django.db import transaction

    from accounts import yunohost as accounts_lane
    from provisioning.models import Operation

    users = make_users("bench", first, n)
    start = time.time()
    with transaction.atomic():
        for user in users:
            accounts_lane.account_create(user=user)
    wait_done(timeout=max(120, n))
    names = [user.username for user in users]
    ops = list(Operation.objects.filter(args__username__in=names).order_by("started_at"))
    commands = commands_by_user(state)
    finished = [_finished_at(op) for op in ops]
    handover = [
        commands[op.args["username"]]["started"] - before for before, op in zip(finished[:-1], ops[1:], strict=True)
    ]
    recording = [at - commands[op.args["username"]]["finished"] for at, op in zip(finished, ops, strict=True)]
    return finished[-1] - start, handover, recording


def _finished_at(op: Operation) -> float:
    """When the lane recorded the operation done (wait_done has waited for every one)."""
    if op.finished_at is None:
        raise RuntimeError(f"operation {op.pk} has not finished")
    return op.finished_at.timestamp()


def lane_one_by_one(n: int, state: Path) -> tuple[list[float], list[float]]:
    from django.db import transaction

    from accounts import yunohost as accounts_lane
    from provisioning.models import Operation

    users = make_users("solo", 0, n)
    enqueued: dict[str, float] = {}
    for user in users:
        with transaction.atomic():
            accounts_lane.account_create(user=user)
        enqueued[user.username] = time.time()  # the message went out on commit
        wait_done(timeout=30)
    commands = commands_by_user(state)
    to_start, to_done = [], []
    for op in Operation.objects.filter(subject__startswith="user:solo"):
        command = commands[op.args["username"]]
        to_start.append(command["started"] - enqueued[op.args["username"]])
        to_done.append(_finished_at(op) - command["finished"])
    return to_start, to_done


def ms(values: list[float]) -> tuple[str, str]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered) * 1000:7.1f} ms", f"{p95 * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--round", type=int, default=50)
    parser.add_argument("--latency-ops", type=int, default=100)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-lane-"))
    loop_state, lane_state = tmp / "loop.json", tmp / "lane.json"
    prepare(bench_env(lane_state))
    os.environ.update(bench_env(loop_state))
    import django

    django.setup()
    from django.conf import settings

    worker = start_worker(bench_env(lane_state), tmp / "worker.log")
    loop_seconds = lane_seconds = 0.0
    loop_starts: list[float] = []
    handover: list[float] = []
    recording: list[float] = []
    try:
        for first in range(0, args.ops, args.round):
            n = min(args.round, args.ops - first)
            print(f"round {first // args.round + 1}: {n} commands by the loop, {n} operations by the lane", flush=True)
            settings.YUNOHOST_EMULATOR_STATE = str(loop_state)
            seconds, starts = loop_round(first, n, loop_state)
            loop_seconds += seconds
            loop_starts += starts
            settings.YUNOHOST_EMULATOR_STATE = str(lane_state)
            seconds, handed, recorded = lane_round(first, n, lane_state)
            lane_seconds += seconds
            handover += handed
            recording += recorded
        print(f"{args.latency_ops} operations one at a time on an idle lane ...", flush=True)
        to_start, to_done = lane_one_by_one(args.latency_ops, lane_state)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)

    loop, lane = args.ops / loop_seconds, args.ops / lane_seconds
    print()
    print(f"{'per operation':<58}{'median':>10}{'p95':>12}")
    rows = [
        ("lane, batch: previous op done -> next command start", handover),
        ("lane, batch: command end -> op done", recording),
        ("lane, idle: enqueue (commit) -> command start", to_start),
        ("lane, idle: command end -> op done", to_done),
        ("reference, loop: client call -> command start", loop_starts),
    ]
    for label, values in rows:
        median, p95 = ms(values)
        print(f"{label:<58}{median:>10}{p95:>12}")
    print()
    print(f"plain loop calling the client : {args.ops} commands in {loop_seconds:6.1f} s = {loop:6.2f}/s")
    print(f"the lane (enqueue -> all done): {args.ops} operations in {lane_seconds:6.1f} s = {lane:6.2f}/s")
    print(f"ratio lane / loop             : {lane / loop:6.2f}   (target >= 0.80)")


if __name__ == "__main__":
    main()
