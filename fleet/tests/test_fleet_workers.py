"""Three YunoHost servers with real Celery workers, one per server queue at concurrency 1 (the
PostgreSQL + Redis pass): `main` and `b` are CLI emulators, `c` the HTTP emulator, each with its
own state file. The emulators' logs are the witnesses of what ran where, and when.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.db import transaction
from rest_framework.test import APIClient

import yunohost_emulator as emulator_module
from accounts import yunohost as accounts_lane
from accounts.models import User
from blahaj.celery import app as celery_app
from blahaj.crypto import encrypt
from factories import UserFactory
from fleet import services as fleet_services
from logins import tokens
from provisioning import servers, services
from provisioning.locks import LOCK_KEY, lane_lock
from provisioning.models import Operation, Server
from provisioning.tests.conftest import API_ADMIN, API_PASSWORD, Emulator, http_emulator_process
from provisioning.tests.test_workers import Workers, wait_for
from websites import services as websites

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

QUEUES = {"main": "yunohost", "b": "yunohost.b", "c": "yunohost.c"}
# Short enough for a test to see a dead worker's command taken back (as test_workers.py does).
QUICK_RECOVERY = {
    "YUNOHOST_TIMEOUT": "4",
    "YUNOHOST_LANE_LOCK_MARGIN": "1",
    "YUNOHOST_HEARTBEAT_INTERVAL": "1",
    "YUNOHOST_HEARTBEAT_STALE": "3",
    "CELERY_VISIBILITY_TIMEOUT": "6",
}


def _purge(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete(LOCK_KEY, *(f"{LOCK_KEY}:server:{name}" for name in ("b", "c")))
    with celery_app.connection_for_write(redis_url) as connection:
        for queue in QUEUES.values():
            connection.default_channel.queue_purge(queue)  # type: ignore[attr-defined]


@pytest.fixture
def three(transactional_db, default_tier, emulator, tmp_path, tls_cert, monkeypatch) -> Iterator[dict]:
    """The three servers, and workers for them (started by the test: `start("main", "c")`)."""
    for name in ("b", "c"):  # each state file made with its server's main domain
        with monkeypatch.context() as env:
            env.setenv("YUNOHOST_DOMAIN", f"{name}.blahaj.test")
            with emulator_module.transaction(str(tmp_path / f"{name}.json")):
                pass
    with http_emulator_process(tmp_path / "c.json", tls=tls_cert, lock_timeout=1) as url:
        made: dict[str, Any] = {
            "main": servers.server_first(),
            "b": fleet_services.server_create(
                name="b", main_domain="b.blahaj.test", backend="cli", emulator_state=str(tmp_path / "b.json")
            ),
            "c": fleet_services.server_create(
                name="c",
                main_domain="c.blahaj.test",
                backend="api",
                api_url=url,
                api_password=f"{API_ADMIN}:{API_PASSWORD}",
                api_ca_bundle=str(tls_cert[0]),
            ),
        }
        lanes = Workers(tmp_path, emulator)
        _purge(lanes.redis_url)
        made["workers"] = lanes
        made["emulators"] = {
            "main": emulator,
            "b": Emulator(tmp_path / "b.json"),
            "c": Emulator(tmp_path / "c.json"),
        }
        yield made
        print(lanes.logs())
        lanes.stop_all()


def start(fleet: dict, *names: str, **env: str) -> None:
    for name in names:
        fleet["workers"].start(name, concurrency=1, queue=QUEUES[name], YUNOHOST_LOCK_TIMEOUT="1", **env)


def signed_up(prefix: str, count: int, **fields) -> list[User]:
    return [
        UserFactory.create(
            username=f"{prefix}{i:02d}",
            password=f"password of {prefix} {i}!",
            status=User.Status.PROVISIONING,
            pending_password=encrypt(f"password of {prefix} {i}!"),
            **fields,
        )
        for i in range(count)
    ]


def queue_creations(people: list[User]) -> list[Operation]:
    operations = []
    for person in people:
        with transaction.atomic():  # one confirmation each, committed: its message goes out
            operations.append(accounts_lane.account_create(user=person))
    return operations


def finished(operations: list[Operation]) -> bool:
    ids = [op.pk for op in operations]
    return not Operation.objects.filter(pk__in=ids, status__in=Operation.UNFINISHED).exists()


def users_of(fleet: dict, name: str) -> set[str]:
    return set(fleet["emulators"][name].state()["users"])


def positions(people: list[User]) -> list[int | None]:
    found = []
    for person in people:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.issue_for_user(person)['access']}")
        found.append(client.get("/api/user/me").json()["provisioning"]["position"])
    return found


def test_sign_ups_spread_a_draining_server_gets_none_sites_follow_and_places_move(three):
    fleet_services.server_set_state(server=three["b"], state=Server.State.DRAINING)
    start(three, "main", "c")

    members = signed_up("member", 6)
    creations = queue_creations(members)
    wait_for(lambda: finished(creations), timeout=60, what="six sign-ups", every=0.3)

    placed = dict(User.objects.filter(username__startswith="member").values_list("username", "server__name"))
    assert sorted(placed.values()) == ["c"] * 3 + ["main"] * 3
    assert users_of(three, "main") == {u for u, s in placed.items() if s == "main"}
    assert users_of(three, "c") == {u for u, s in placed.items() if s == "c"}
    assert users_of(three, "b") == set()  # draining: no one
    assert set(Operation.objects.values_list("status", flat=True)) == {"succeeded"}

    # Their websites go to their server.
    owners = {
        server: User.objects.get(username=next(u for u, s in placed.items() if s == server)) for server in ("main", "c")
    }
    sites = {}
    for server, owner in owners.items():
        site = websites.website_request(owner=owner, domain=f"{owner.username}.blahaj.land")
        websites.website_confirm(token=websites.website_confirmation_issue(website=site))
        sites[server] = site
    site_operations = lambda: list(Operation.objects.filter(subject__startswith="site:"))  # noqa: E731
    wait_for(
        lambda: (
            {op.kind for op in site_operations() if op.status == "succeeded"} >= {"domain.add", "app.install"}
            and finished(site_operations())
        ),
        timeout=60,
        what="two sites",
        every=0.3,
    )
    for server, site in sites.items():
        state = three["emulators"][server].state()
        other = three["emulators"]["c" if server == "main" else "main"].state()
        assert site.domain in state["domains"] and site.domain not in other["domains"]
        assert [app["settings"]["domain"] for app in state["apps"]] == [site.domain]
    assert {(op.subject, op.server.name) for op in site_operations()} == {
        (f"site:{site.domain}", server) for server, site in sites.items()
    }

    # Twenty members waiting on b (staff's choice: b drains): places 1..20, moving as b's lane runs.
    with emulator_module.transaction(str(three["emulators"]["b"].path)) as state:
        state["delays"] = {"user create": 0.3}
    waiting = signed_up("waiting", 20, server=three["b"])
    queue_creations(waiting)
    assert positions(waiting) == list(range(1, 21))
    start(three, "b", YUNOHOST_LANE_DRAIN="0")  # one command per hold of the lane: many snapshots
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        hold = lane_lock("b")  # between two commands: nobody claims while the places are read
        assert hold.acquire(wait=20)
        try:
            now = positions(waiting)
        finally:
            hold.release()
        left = [p for p in now if p is not None]
        assert left == list(range(1, len(left) + 1)), now  # always 1..k
        assert now[len(now) - len(left) :] == left, now  # in the order they came: the first ones leave first
        seen.append(len(left))
        if not left:
            break
        time.sleep(0.2)
    assert seen[-1] == 0 and seen == sorted(seen, reverse=True) and len(set(seen)) > 3
    assert users_of(three, "b") == {person.username for person in waiting}


def _elapsed_until_done(operations: list[Operation], started: float) -> float:
    wait_for(lambda: finished(operations), timeout=90, what="the operations", every=0.1)
    return time.monotonic() - started


def test_a_hung_server_slows_no_other_and_a_killed_worker_loses_nothing(three, settings):
    start(three, "main", "b", "c", **QUICK_RECOVERY)
    for name in ("main", "b", "c"):  # a real server's pace: about half a second a command
        with emulator_module.transaction(str(three["emulators"][name].path)) as state:
            state["delays"] = {"user create": 0.5}

    def round_of(prefix: str) -> tuple[dict[str, list[Operation]], float]:
        queued = {
            name: queue_creations(signed_up(f"{prefix}{name}", 4, server=three[name])) for name in ("main", "b", "c")
        }
        return queued, time.monotonic()

    # Without a hang: how long four creations take on main and c.
    queued, started = round_of("calm")
    calm = _elapsed_until_done(queued["main"] + queued["c"], started)
    wait_for(lambda: finished(queued["b"]), timeout=30, what="b's calm round")

    # b hangs (each command sleeps for two minutes, as a stuck `yunohost` would).
    with emulator_module.transaction(str(three["emulators"]["b"].path)) as state:
        state["delays"] = {"user create": 120}
    queued, started = round_of("hang")
    hung = _elapsed_until_done(queued["main"] + queued["c"], started)
    assert hung < calm * 1.5 + 1.0, (calm, hung)  # as fast as without it
    on_b = Operation.objects.filter(pk__in=[op.pk for op in queued["b"]])
    assert set(on_b.values_list("status", flat=True)) <= {"pending", "running"}
    assert not users_of(three, "b") & {f"hangb{i:02d}" for i in range(4)}

    # c's worker is killed in the middle of a command; main goes on as if nothing happened.
    with emulator_module.transaction(str(three["emulators"]["c"].path)) as state:
        state["delays"] = {"user create": 2}
    on_c = queue_creations(signed_up("killc", 2, server=three["c"]))
    wait_for(lambda: Operation.objects.filter(pk=on_c[0].pk, status="running").exists(), timeout=20, what="c's claim")
    three["workers"].kill("c")
    queued_main = queue_creations(signed_up("aftermain", 4, server=three["main"]))
    started = time.monotonic()
    assert _elapsed_until_done(queued_main, started) < calm * 1.5 + 1.0

    start(three, "c", **QUICK_RECOVERY)  # a new worker for c; the beat's sweep takes back the command
    settings.YUNOHOST_HEARTBEAT_STALE = 3  # this process plays beat, with the workers' timings

    def swept_and_done() -> bool:
        services.operations_sweep(server=three["c"])
        return finished(on_c)

    wait_for(swept_and_done, timeout=60, what="c's recovery", every=0.5)
    assert set(Operation.objects.filter(pk__in=[op.pk for op in on_c]).values_list("status", flat=True)) == {
        "succeeded"
    }
    made = [
        name for entry in three["emulators"]["c"].log("user create") if entry["exit"] == 0
        for name in entry["argv"] if name.startswith("killc")
    ]  # fmt: skip
    assert sorted(made) == ["killc00", "killc01"]  # each made once, none lost
    assert {"killc00", "killc01"} <= users_of(three, "c")
