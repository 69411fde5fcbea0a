"""Benchmark of several YunoHost servers (the fleet). Not a test.

Run:  .venv/bin/python bench/fleet.py [--accounts 32] [--sites 8] [--delay 3] [--waiting 10000]
                                      [--backend api|cli]
Needs PostgreSQL and Redis on 127.0.0.1 (scripts/test starts them). It (re)creates the database
`blahaj_bench_fleet`, uses Redis database 11 (flushed), and runs four emulated servers (`main`,
`s2`, `s3`, `s4`), each with its own state file and its own real Celery worker (its queue,
concurrency 1). Every locking command (`user create`, `domain add`, `app install`, `domain cert
install`) sleeps --delay seconds while it holds the server's lock, as a real server spends its
time in LDAP, regen-conf and hooks: about 3 s a `user create` on a small YunoHost (the default).
The servers are the HTTP emulator by default (`--backend api`: a process each, as yunohost-api
is); `--backend cli` starts the emulator's interpreter for every command, whose start-up (a
real server's own CPU) then runs on this machine's cores for all four servers at once, which a
small machine feels. Measured in the same run:

(a) the same burst on one server (the three others draining) and on four: --accounts sign-ups
    queued one confirmation (transaction) each, until every account is active; then --sites
    websites of those members confirmed at once, until every site is live with its certificate.
    Accounts and sites per minute on 1 and on 4 servers, and the ratios (goal >= 3.6).
(b) --waiting accounts queued while no lane runs (the workers stopped): the time to queue each
    tenth of them (placement, ticket, row; it must not grow with the queue: linear), then the
    median and p95 of `GET /api/user/me` (its `provisioning.position` included) for members
    anywhere in the line, and of the confirm page (`/confirm/<token>/`: the confirmation,
    placement, queueing and the page with its place), in this process through Django's test
    client (no network, no gunicorn): the server's own time. Goal: medians under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import lane  # noqa: E402 - after the path

DB_NAME = "blahaj_bench_fleet"
REDIS_DB = 11
NAMES = ["main", "s2", "s3", "s4"]
SLOW = ("user create", "domain add", "app install", "domain cert install")


API_PASSWORD = "bench-admin-Secret-1"


def start_api(tmp: Path, name: str) -> tuple[subprocess.Popen, str]:
    """The HTTP emulator on the server's state file; its process and its base URL."""
    argv = [sys.executable, "-m", "yunohost_emulator.http", "--state", str(tmp / f"{name}.json"), "--port", "0"]
    env = {**os.environ, "YUNOHOST_EMULATOR_API_PASSWORD": API_PASSWORD, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("listening on "):
        raise SystemExit(f"the HTTP emulator of {name} did not start: {line!r}")
    return process, line.split()[-1]


def bench_env(state: Path, api_url: str = "") -> dict[str, str]:
    api = {"YUNOHOST_BACKEND": "api", "YUNOHOST_API_URL": api_url, "YUNOHOST_API_PASSWORD": f"admin:{API_PASSWORD}"}
    return {
        **lane.bench_env(state, db_name=DB_NAME, redis_db=REDIS_DB),
        **(api if api_url else {}),
        "DJANGO_ALLOWED_HOSTS": "testserver,localhost",
        "YUNOHOST_LOCK_TIMEOUT": "30",
        "THROTTLE_LOOKUP": "100000/min",  # one client address opens every confirm link here
    }


def start_worker(env: dict[str, str], queue: str, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "celery", "-A", "blahaj", "worker", "-Q", queue, "-c", "1", "--pool", "prefork"]
    argv += ["-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
    with log.open("w") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process


def wait_ready(process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while " ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"a worker did not start:\n{log.read_text()}")
        time.sleep(0.2)


def set_delays(tmp: Path, delay: float) -> None:
    """Each state file made with its server's main domain, and the delay of its slow commands."""
    import yunohost_emulator as emulator

    main_domain = os.environ.get("YUNOHOST_DOMAIN")
    try:
        for name in NAMES:
            os.environ["YUNOHOST_DOMAIN"] = "blahaj.land" if name == "main" else f"{name}.blahaj.test"
            with emulator.transaction(str(tmp / f"{name}.json")) as state:
                state["delays"] = dict.fromkeys(SLOW, delay)
    finally:
        os.environ.pop("YUNOHOST_DOMAIN")
        if main_domain is not None:
            os.environ["YUNOHOST_DOMAIN"] = main_domain


def make_fleet(tmp: Path, urls: dict[str, str]) -> dict:
    from fleet import services as fleet_services
    from provisioning import servers

    made = {"main": servers.server_first()}
    for name in NAMES[1:]:
        if urls:
            made[name] = fleet_services.server_create(
                name=name,
                main_domain=f"{name}.blahaj.test",
                backend="api",
                api_url=urls[name],
                api_password=f"admin:{API_PASSWORD}",
            )
        else:
            made[name] = fleet_services.server_create(
                name=name, main_domain=f"{name}.blahaj.test", backend="cli", emulator_state=str(tmp / f"{name}.json")
            )
    return made


def only(fleet: dict, active: list[str]) -> None:
    from fleet import services as fleet_services
    from provisioning.models import Server

    for name, server in fleet.items():
        state = Server.State.ACTIVE if name in active else Server.State.DRAINING
        fleet_services.server_set_state(server=server, state=state)


def wait_finished(subject_prefixes: tuple[str, ...], timeout: float) -> None:
    from django.db.models import Q

    from provisioning.models import Operation

    match = Q()
    for prefix in subject_prefixes:
        match |= Q(subject__startswith=prefix)
    deadline = time.monotonic() + timeout
    while Operation.objects.filter(match, status__in=Operation.UNFINISHED).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the lanes did not finish in time")
        time.sleep(0.2)
    failed = Operation.objects.filter(match, status="failed").first()
    if failed is not None:
        raise SystemExit(f"operation {failed.pk} ({failed.kind}) failed: {failed.error}")


def lanes_report(tmp: Path, prefix: str) -> str:
    """Per server: the commands of this burst, and the time they held its lock (the emulator's log)."""
    import yunohost_emulator as emulator

    parts = []
    for name in NAMES:
        entries = [
            entry
            for entry in emulator.read_state(str(tmp / f"{name}.json"))["log"]
            if entry["lock"] and any(prefix in arg for arg in entry["argv"])
        ]
        if entries:
            busy = sum(entry["finished"] - entry["started"] for entry in entries)
            parts.append(f"{name} {len(entries)} cmds, {busy:.1f} s in YunoHost")
    return "; ".join(parts)


def accounts_burst(prefix: str, n: int) -> float:
    """n members' confirmations, one transaction each; seconds until every account is active."""
    from django.db import transaction

    from accounts import yunohost as accounts_lane

    users = lane.make_users(prefix, 0, n)
    started = time.monotonic()
    for user in users:
        with transaction.atomic():
            accounts_lane.account_create(user=user)
    wait_finished((f"user:{prefix}",), timeout=60 + n * 10)
    return time.monotonic() - started


def sites_burst(prefix: str, n: int) -> float:
    """n websites of the members `prefix*` (taken in turn from each server), confirmed at once;
    seconds until every one is live with its certificate."""
    from django.db import transaction

    from accounts.models import User
    from websites import services as websites

    members = list(User.objects.filter(username__startswith=prefix).select_related("server").order_by("username"))
    by_server: dict[str, list] = {}
    for member in members:
        by_server.setdefault(str(member.server), []).append(member)
    groups = list(by_server.values())  # in turn from each server: main, s2, s3, s4, main, ...
    owners = [groups[i % len(groups)][i // len(groups)] for i in range(n)]
    sites = [websites.website_request(owner=owner, domain=f"{owner.username}.blahaj.land") for owner in owners]
    tokens = [websites.website_confirmation_issue(website=site) for site in sites]
    started = time.monotonic()
    with transaction.atomic():
        for token in tokens:
            websites.website_confirm(token=token)
    wait_finished((f"site:{prefix}", f"cert:{prefix}"), timeout=60 + n * 40)
    return time.monotonic() - started


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


@dataclass
class Line:
    tenths: list[float]  # ms to queue one account, in each tenth of the line
    spread: dict[str, int]
    me: tuple[float, float]  # median, p95 (ms)
    me_queries: int
    positions: tuple[int, int]
    confirm: tuple[float, float]


def waiting_line(n: int, requests: int) -> Line:
    """Queue n accounts with no lane running; the queueing time of each tenth, then /me and the
    confirm page's times."""
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test import Client

    from accounts import services as accounts_services
    from accounts import yunohost as accounts_lane
    from accounts.models import OneTimeToken, User
    from logins import tokens

    users = lane.make_users("wait", 0, n)
    tenths = []
    step = max(1, n // 10)
    for first in range(0, n, step):
        started = time.monotonic()
        for user in users[first : first + step]:
            with transaction.atomic():
                accounts_lane.account_create(user=user)
        tenths.append((time.monotonic() - started) / len(users[first : first + step]) * 1000)
    spread = dict(User.objects.filter(username__startswith="wait").values_list("server__name").annotate(n=Count("id")))

    client = Client()
    sample = random.Random(7).sample(users, min(requests, n))
    me_times, positions = [], []
    for user in sample:
        fresh = User.objects.select_related("tier", "server").get(pk=user.pk)
        header = {"Authorization": f"Bearer {tokens.issue_for_user(fresh)['access']}"}
        client.get("/api/user/me", headers=header)  # the first call fills the user cache, as a session's does
        started = time.perf_counter()
        response = client.get("/api/user/me", headers=header)
        me_times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
        positions.append(response.json()["provisioning"]["position"])
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):  # the request's own queries (its user is cached)
        client.get("/api/user/me", headers=header)

    pending = lane.make_users("late", 0, requests)
    User.objects.filter(username__startswith="late").update(status=User.Status.PENDING_CONFIRMATION)
    links = [accounts_services.one_time_token_issue(user=u, purpose=OneTimeToken.Purpose.CONFIRM) for u in pending]
    confirm_times = []
    for raw in links:
        started = time.perf_counter()
        response = client.get(f"/confirm/{raw}/")
        confirm_times.append(time.perf_counter() - started)
        assert response.status_code == 200 and b"in line on" in response.content, response.content[:500]
    return Line(
        tenths=tenths,
        spread=spread,
        me=percentiles(me_times),
        me_queries=len(queries),
        positions=(min(positions), max(positions)),
        confirm=percentiles(confirm_times),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=32)
    parser.add_argument("--sites", type=int, default=8)
    parser.add_argument("--delay", type=float, default=3.0, help="seconds each locking command sleeps")
    parser.add_argument("--backend", choices=["api", "cli"], default="api")
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    set_delays(tmp, args.delay)
    emulators = {name: start_api(tmp, name) for name in NAMES} if args.backend == "api" else {}
    urls = {name: url for name, (_, url) in emulators.items()}
    env = bench_env(tmp / "main.json", urls.get("main", ""))
    lane.prepare(env, db_name=DB_NAME, redis_db=REDIS_DB)
    os.environ.update(env)
    import django

    django.setup()

    fleet = make_fleet(tmp, urls)
    queues = {name: server.queue for name, server in fleet.items()}
    workers = {name: start_worker(env, queues[name], tmp / f"worker-{name}.log") for name in NAMES}
    try:
        for name, process in workers.items():
            wait_ready(process, tmp / f"worker-{name}.log")
        print(
            f"4 servers ({args.backend}), a {args.delay} s delay per locking command; "
            f"{args.accounts} sign-ups, {args.sites} sites"
        )
        only(fleet, ["main"])
        one_accounts = accounts_burst("one", args.accounts)
        print(
            f"  1 server : {args.accounts} accounts in {one_accounts:6.1f} s ({lanes_report(tmp, 'one')})", flush=True
        )
        only(fleet, NAMES)
        four_accounts = accounts_burst("four", args.accounts)
        print(
            f"  4 servers: {args.accounts} accounts in {four_accounts:6.1f} s ({lanes_report(tmp, 'four')})", flush=True
        )
        one_sites = sites_burst("one", args.sites)
        print(f"  1 server : {args.sites} sites in {one_sites:6.1f} s", flush=True)
        four_sites = sites_burst("four", args.sites)
        print(f"  4 servers: {args.sites} sites in {four_sites:6.1f} s", flush=True)
    finally:
        for process in workers.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in workers.values():
            process.wait(timeout=60)
        for process, _ in emulators.values():
            process.terminate()
            process.wait(timeout=30)

    print(f"\n{args.waiting} accounts waiting (no lane running) ...", flush=True)
    line = waiting_line(args.waiting, args.requests)

    rate = lambda count, seconds: count / seconds * 60  # noqa: E731 - per minute
    print()
    print(f"{'burst':<34}{'1 server':>14}{'4 servers':>14}{'ratio':>8}")
    for label, count, one, four in (
        ("accounts (per minute)", args.accounts, one_accounts, four_accounts),
        ("sites, live + certificate (per min)", args.sites, one_sites, four_sites),
    ):
        print(f"{label:<34}{rate(count, one):>14.1f}{rate(count, four):>14.1f}{one / four:>8.2f}")
    print("goal: ratio >= 3.6\n")
    tenths = line.tenths
    print("queueing one account (placement + ticket + rows), ms, each tenth of the line:")
    print("  " + " ".join(f"{ms:5.1f}" for ms in tenths))
    print(f"  last tenth / first tenth: {tenths[-1] / tenths[0]:.2f} (linear: about 1)")
    print(f"  placed: {line.spread}")
    print(f"GET /api/user/me, positions {line.positions[0]}..{line.positions[1]}:")
    print(f"  median {line.me[0]:.1f} ms, p95 {line.me[1]:.1f} ms, {line.me_queries} queries")
    print(
        "the confirm page (confirmation, placement, queueing, its place): "
        f"median {line.confirm[0]:.1f} ms, p95 {line.confirm[1]:.1f} ms"
    )
    print("goal: medians under 50 ms")


if __name__ == "__main__":
    main()
