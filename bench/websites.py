"""Benchmark of website provisioning. Not a test.

Run:  .venv/bin/python bench/websites.py [--sites 50] [--round 25]
Needs PostgreSQL and Redis on 127.0.0.1 (scripts/test starts them). It (re)creates the
database `blahaj_bench_websites`, uses Redis database 12 (flushed), runs the `yunohost`
emulator with no delay in a temporary folder, and measures, in the same run:

- the loop: for each site, the YunoHost commands of its plan run back to back by a plain loop
  calling the lane's own handlers (provisioning.commands.execute): domain.add, app.install
  (app list, app list, app install, app list), cert.install (cert status, cert install,
  cert status). This is the emulator's own throughput for exactly these commands.
- the lane: the same number of sites, each requested by its own member, then all confirmed in
  one transaction: the plans go through the whole lane (rows, Redis lane lock, one real Celery
  worker, outcome callbacks that queue each next step, the site live, its certificate in the
  background) until every site is live and every certificate installed.

Loop and lane alternate in rounds of --round sites, so a change in the machine's load weighs on
both alike. Reported: sites per minute for both, and the ratio lane / loop (goal >= 0.9).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import lane  # noqa: E402 - after the path
from bench.lane import start_worker  # noqa: E402 - after the path

DB_NAME = "blahaj_bench_websites"
REDIS_DB = 12


def bench_env(state: Path) -> dict[str, str]:
    return lane.bench_env(state, db_name=DB_NAME, redis_db=REDIS_DB)


def prepare(env: dict[str, str]) -> None:
    lane.prepare(env, db_name=DB_NAME, redis_db=REDIS_DB)


def domain(prefix: str, i: int) -> str:
    return f"{prefix}{i:03d}.blahaj.land"


def loop_round(first: int, n: int) -> float:
    """The plan's commands for n sites, back to back; seconds."""
    from provisioning.commands import execute
    from websites.rules import sftp_password

    start = time.monotonic()
    for i in range(first, first + n):
        args = {"domain": domain("loop", i), "path": "/", "with_sftp": True, "label": f"Website of loop{i}"}
        execute("domain.add", args, {})
        execute("app.install", args, {"password": sftp_password()})
        execute("cert.install", args, {})
    return time.monotonic() - start


def make_members(first: int, n: int) -> list:
    from accounts.models import User
    from tiers.models import Tier

    tier = Tier.get_default()
    return User.objects.bulk_create(
        User(
            username=f"site{i:03d}",
            email=f"site{i:03d}@example.org",
            display_name=f"Site {i}",
            status=User.Status.ACTIVE,
            tier=tier,
        )
        for i in range(first, first + n)
    )


def wait_live(ids: list[int], timeout: float) -> None:
    from provisioning.models import Operation
    from websites.models import Website

    deadline = time.monotonic() + timeout
    while (
        Website.objects.filter(pk__in=ids).exclude(status="live").exists()
        or Website.objects.filter(pk__in=ids).exclude(certificate="ok").exists()
    ):
        if time.monotonic() > deadline:
            raise SystemExit("the sites did not go live in time")
        failed = Operation.objects.filter(status="failed").first()
        if failed is not None:
            raise SystemExit(f"operation {failed.pk} ({failed.kind}) failed: {failed.error}")
        time.sleep(0.25)  # light polling: this machine's CPUs are the worker's; the times come from the rows


def lane_round(first: int, n: int) -> tuple[float, float]:
    """n sites requested, then confirmed at once; (seconds to all live, to all certificates)."""
    from django.db import transaction
    from django.db.models import Max

    from provisioning.models import Operation
    from websites import services
    from websites.models import Website

    members = make_members(first, n)
    sites = [
        services.website_request(owner=m, domain=domain("site", i))
        for i, m in zip(range(first, first + n), members, strict=True)
    ]
    tokens = [services.website_confirmation_issue(website=site) for site in sites]
    start = time.time()
    with transaction.atomic():
        for token in tokens:
            services.website_confirm(token=token)
    ids = [site.pk for site in sites]
    wait_live(ids, timeout=max(120, 10 * n))
    last_live = Website.objects.filter(pk__in=ids).aggregate(m=Max("live_at"))["m"].timestamp()
    last_done = Operation.objects.filter(args__website_id__in=ids).aggregate(m=Max("finished_at"))["m"].timestamp()
    return last_live - start, last_done - start


def command_seconds(state: Path) -> tuple[int, float]:
    """How many commands the emulator ran, and for how long in all (lock taken -> done)."""
    log = json.loads(state.read_text())["log"]
    return len(log), sum(entry["finished"] - entry["started"] for entry in log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--round", type=int, default=25)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-websites-"))
    loop_state, lane_state = tmp / "loop.json", tmp / "lane.json"
    prepare(bench_env(lane_state))
    os.environ.update(bench_env(loop_state))
    import django

    django.setup()
    from django.conf import settings

    worker = start_worker(bench_env(lane_state), tmp / "worker.log")
    loop_seconds = lane_live_seconds = lane_seconds = 0.0
    try:
        for first in range(0, args.sites, args.round):
            n = min(args.round, args.sites - first)
            print(f"round {first // args.round + 1}: {n} sites by the loop, {n} sites through the lane", flush=True)
            settings.YUNOHOST_EMULATOR_STATE = str(loop_state)
            loop_seconds += loop_round(first, n)
            settings.YUNOHOST_EMULATOR_STATE = str(lane_state)
            live, done = lane_round(first, n)
            lane_live_seconds += live
            lane_seconds += done
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)

    loop, lane = 60 * args.sites / loop_seconds, 60 * args.sites / lane_seconds
    print()
    print(f"plain loop, the plan's commands : {args.sites} sites in {loop_seconds:6.1f} s = {loop:6.1f} sites/min")
    print(
        f"the lane, confirm -> all live   : {args.sites} sites in {lane_live_seconds:6.1f} s "
        f"= {60 * args.sites / lane_live_seconds:6.1f} sites/min (certificates still running)"
    )
    print(f"the lane, confirm -> all done   : {args.sites} sites in {lane_seconds:6.1f} s = {lane:6.1f} sites/min")
    print(f"ratio lane / loop (all done)    : {lane / loop:6.2f}   (goal >= 0.90)")
    for name, state in (("loop", loop_state), ("lane", lane_state)):
        count, seconds = command_seconds(state)
        print(f"emulator, {name}: {count} commands, {seconds:6.1f} s inside them (after start-up and lock)")


if __name__ == "__main__":
    main()
