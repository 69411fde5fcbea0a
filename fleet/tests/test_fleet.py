"""Several YunoHost servers, in this process: placement, each server's lane and line, the places
shown to the people who wait, and the fleet as staff see it.

Every server is a real emulator with its own state file (CLI; the HTTP one where the backend
matters), every command goes through the real client; the lane runs here (`run_lane`, or the
eager tasks of a request).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import yunohost as accounts_lane
from accounts.models import User
from conftest import PASSWORD, login
from fleet import health as lane_health
from fleet import services as fleet_services
from logins import tokens
from provisioning import line, servers, services
from provisioning.locks import lane_lock
from provisioning.models import Operation, Server
from provisioning.tests.conftest import Emulator, run_lane
from testing import running_fake_discord
from websites import services as websites

ME = "/api/user/me"
SERVERS = "/api/servers/"


def committing(call, *args, **kwargs):
    """A request whose on-commit work (emails, the lane's messages) runs, as a real commit's would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return call(*args, **kwargs)


@pytest.fixture
def fleet_of_three(emulator, tmp_path, settings, db):
    """main (the settings' server), b and c: three CLI emulators, three state files."""
    settings.YUNOHOST_LANE_WAIT = 0
    main = servers.server_first()
    made = {"main": main}
    for name in ("b", "c"):
        made[name] = fleet_services.server_create(
            name=name,
            main_domain=f"{name}.blahaj.test",
            backend="cli",
            emulator_state=str(tmp_path / f"{name}.json"),
        )
    return made


def emulator_of(server: Server) -> Emulator:
    return Emulator(servers.setting_for(server, "YUNOHOST_EMULATOR_STATE"))


def users_on(server: Server) -> set[str]:
    path = servers.setting_for(server, "YUNOHOST_EMULATOR_STATE")
    return set(Emulator(path).state()["users"]) if path else set()


def place_of(username: str) -> dict:
    user = User.objects.select_related("server", "tier").get(username=username)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.issue_for_user(user)['access']}")
    response = client.get(ME)
    assert response.status_code == 200, response.content
    return response.json()["provisioning"]


# --- Placement ---------------------------------------------------------------------------------


def test_a_burst_spreads_over_the_active_servers_a_draining_one_gets_none_and_each_lands_there(
    fleet_of_three, signed_up
):
    fleet_services.server_set_state(server=fleet_of_three["b"], state=Server.State.DRAINING)
    people = [signed_up(f"member{i}") for i in range(8)]

    for person in people:
        accounts_lane.account_create(user=person)
    run_lane()

    placed = dict(User.objects.filter(username__startswith="member").values_list("username", "server__name"))
    assert sorted(placed.values()) == ["c"] * 4 + ["main"] * 4  # one each in turn, b none
    for operation in Operation.objects.filter(kind="user.create"):
        assert operation.server.name == placed[operation.args["username"]]
        assert operation.status == "succeeded"
    assert users_on(fleet_of_three["b"]) == set()
    for name in ("main", "c"):
        assert users_on(fleet_of_three[name]) == {u for u, s in placed.items() if s == name}
    member = User.objects.get(username=next(u for u, s in placed.items() if s == "c"))
    assert member.mail_address == f"{member.username}@c.blahaj.test"  # the server's mail domain
    assert emulator_of(fleet_of_three["c"]).state()["users"][member.username]["mail"] == member.mail_address
    counts = dict(Server.objects.values_list("name", "accounts"))
    assert counts == {"main": 4, "b": 0, "c": 4}
    fleet_services.servers_recount()  # the recount from the records agrees
    assert dict(Server.objects.values_list("name", "accounts")) == counts


def test_the_rule_shortest_line_then_emptiest_then_name_and_a_tier_can_pin(fleet_of_three, signed_up):
    main, b, c = (fleet_of_three[n] for n in ("main", "b", "c"))
    Server.objects.filter(pk=main.pk).update(accounts=10)
    Server.objects.filter(pk=b.pk).update(accounts=5, capacity_accounts=10)  # half full
    Server.objects.filter(pk=c.pk).update(accounts=4, capacity_accounts=5)  # 80 %: fuller than b

    def next_server(**kwargs) -> str:
        return fleet_services.server_place(**kwargs).name

    assert next_server() == "main"  # no line anywhere: the smallest share of its capacity (11 of 5000)
    accounts_lane.account_create(user=signed_up("waiting1", server=main))  # main's line: one waiting
    assert next_server() == "b"  # an empty line first: b (6 of 10) rather than main
    assert next_server() == "b"  # b (7 of 10) is still emptier than c (4 of 5)
    gold = apps.get_model("tiers", "Tier").objects.create(slug="gold", name="Gold", server=c)
    assert next_server(pinned_id=gold.server_id) == "c"  # pinned, with room: c (now 5 of 5)
    assert next_server(pinned_id=gold.server_id) == "b"  # c is full: the rule again
    Server.objects.update(capacity_accounts=1)
    assert next_server() in {"main", "b", "c"}  # every one full: the least loaded takes it (logged)
    Server.objects.update(state=Server.State.DRAINING)
    with pytest.raises(fleet_services.NoServer):
        next_server()
    assert next_server(chosen=c) == "c"  # staff's choice stands


def test_every_door_that_creates_an_account_places_it(
    fleet_of_three, settings, tasks_inline, staff_client, service_account, mailoutbox
):
    fleet_services.server_set_state(server=fleet_of_three["b"], state=Server.State.DRAINING)
    api = APIClient()
    # 1. The API's sign-up and its confirmation link.
    body = {"username": "dana", "display_name": "Dana", "email": "dana@example.org", "password": PASSWORD}
    assert committing(api.post, "/api/user/register", body, format="json").status_code == 201
    confirm = urlsplit(re.findall(r"https?://\S+", mailoutbox[-1].body)[0]).path
    assert committing(api.get, confirm).status_code == 200  # the confirm page
    # 2. The seed's /create_user, with the front end's service account.
    front = APIClient()
    seed_token = front.post("/login", {"username": service_account.username, "password": PASSWORD}, format="json")
    front.credentials(HTTP_AUTHORIZATION=f"Bearer {seed_token.json()['access_token']}")
    form = {"username": "erin", "display_name": "Erin", "recovery_email": "erin@example.org"}
    assert committing(front.post, "/create_user", form, format="json").status_code == 201
    # 3. Staff, choosing the server by hand.
    staff = {"username": "frank", "display_name": "Frank", "email": "frank@example.org", "server": "c"}
    assert committing(staff_client.post, "/api/users/", staff, format="json").status_code == 201
    # 4. An invitation.
    assert (
        committing(staff_client.post, "/api/invitations/", {"email": "gina@example.org"}, format="json").status_code
        == 201
    )
    invite = re.search(r"invite=([\w-]+)", mailoutbox[-1].body)
    assert invite is not None
    gina = {"username": "gina", "display_name": "Gina", "email": "gina@example.org", "password": PASSWORD}
    response = committing(api.post, "/api/user/register", {**gina, "invitation": invite.group(1)}, format="json")
    assert response.status_code == 201, response.content
    # 5. The import, from the server it names.
    servers.client_for(fleet_of_three["c"]).user_create(
        username="hank", fullname="Hank", password=PASSWORD, domain="c.blahaj.test", mailbox_quota="0"
    )
    call_command("yunohost_import", "--server", "c", stdout=StringIO())

    placed = dict(User.objects.filter(server__isnull=False).values_list("username", "server__name"))
    # dana: a tie, by name; erin: main is emptier; frank: staff's c; gina: main again; hank: c.
    assert placed == {"dana": "c", "erin": "main", "frank": "c", "gina": "main", "hank": "c"}
    assert users_on(fleet_of_three["c"]) == {"dana", "frank", "hank"}
    assert users_on(fleet_of_three["main"]) == {"erin", "gina"}
    assert users_on(fleet_of_three["b"]) == set()
    staff_view = staff_client.get("/api/users/hank/").json()
    assert staff_view["server"] == "c" and User.objects.get(username="hank").mail_address == "hank@c.blahaj.test"
    assert dict(Server.objects.values_list("name", "accounts")) == {"main": 2, "b": 0, "c": 3}


def test_a_members_sites_land_on_their_server(fleet_of_three, user, tasks_inline, mailoutbox):
    c = fleet_of_three["c"]
    User.objects.filter(pk=user.pk).update(server=c)
    owner = APIClient()
    owner.credentials(HTTP_AUTHORIZATION=f"Bearer {login(APIClient(), user.username)['access']}")

    created = committing(owner.post, "/api/websites/", {"domain": "alice.blahaj.land"}, format="json")
    assert created.status_code == 202, created.content
    link = [m for m in mailoutbox if "Confirm your website" in m.subject][-1]
    url = urlsplit(re.findall(r"https?://\S+", link.body)[0])
    committing(APIClient().get, f"{url.path}?{url.query}")
    run_lane()

    site = owner.get(f"/api/websites/{created.json()['id']}").json()
    assert site["status"] == "live"
    assert site["provisioning"] == {"state": "done", "server": "c", "position": None, "estimated_start": None}
    on_c = emulator_of(c).state()
    assert "alice.blahaj.land" in on_c["domains"]
    assert [app["settings"]["domain"] for app in on_c["apps"]] == ["alice.blahaj.land"]
    assert "alice.blahaj.land" not in emulator_of(fleet_of_three["main"]).state()["domains"]
    kinds = set(Operation.objects.filter(subject="site:alice.blahaj.land").values_list("kind", "server__name"))
    assert kinds == {("domain.add", "c"), ("app.install", "c")}
    fleet_services.servers_recount()
    assert Server.objects.get(pk=c.pk).sites == 1


# --- The line ------------------------------------------------------------------------------------


def test_twenty_waiting_members_see_places_1_to_20_that_move_as_the_lane_runs(fleet_of_three, signed_up):
    main = fleet_of_three["main"]
    Server.objects.filter(pk=main.pk).update(command_seconds=6.0)
    people = [signed_up(f"waiting{i:02d}", server=main) for i in range(20)]
    for person in people:
        accounts_lane.account_create(user=person)

    places = [place_of(person.username) for person in people]
    assert [place["position"] for place in places] == list(range(1, 21))
    assert {(place["state"], place["server"]) for place in places} == {("waiting", "main")}
    starts = [place["estimated_start"] for place in places]
    assert starts == sorted(starts)  # ISO times, later down the line: 6 s a command
    gap = datetime.fromisoformat(starts[10]) - datetime.fromisoformat(starts[0])
    assert timedelta(seconds=59) <= gap <= timedelta(seconds=61)

    first_five = Operation.objects.filter(kind="user.create").order_by("ticket")[:5]
    for operation in first_five:
        services.operation_run(operation_id=operation.pk)  # YUNOHOST_LANE_DRAIN: it goes on
    done = [p for p in people if place_of(p.username)["state"] == "done"]
    waiting = [place_of(p.username)["position"] for p in people if p not in done]
    assert len(done) >= 5 and waiting == list(range(1, 21 - len(done)))


def test_the_confirm_page_and_the_progress_page_say_the_place_in_line(fleet_of_three, signed_up, client):
    main = fleet_of_three["main"]
    ahead = signed_up("ahead", server=main)
    accounts_lane.account_create(user=ahead)
    from accounts import services as accounts_services
    from accounts.models import OneTimeToken

    dana = signed_up("dana", status=User.Status.PENDING_CONFIRMATION, server=main)
    raw = accounts_services.one_time_token_issue(user=dana, purpose=OneTimeToken.Purpose.CONFIRM)
    page = client.get(f"/confirm/{raw}/")

    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.content.decode())
    assert "You are number 2 in line on main, less than a minute." in text


def test_a_held_lane_holds_only_its_own_server(fleet_of_three, signed_up):
    b, c = fleet_of_three["b"], fleet_of_three["c"]
    on_b = accounts_lane.account_create(user=signed_up("bea", server=b))
    on_c = accounts_lane.account_create(user=signed_up("cid", server=c))
    held = lane_lock("b")
    assert held.acquire(wait=1)
    try:
        with pytest.raises(services.LaneBusy) as busy:
            services.operation_run(operation_id=on_b.pk)
        assert busy.value.queue == "yunohost.b"
        services.operation_run(operation_id=on_c.pk)  # c's lane is free
    finally:
        held.release()
    on_b.refresh_from_db()
    on_c.refresh_from_db()
    assert (on_b.status, on_c.status) == ("pending", "succeeded")
    assert users_on(c) == {"cid"} and users_on(b) == set()


def test_the_progress_page_of_a_waiting_site_says_its_place(fleet_of_three, user, signed_up, client):
    c = fleet_of_three["c"]
    accounts_lane.account_create(user=signed_up("ahead", server=c))  # one command before it on c
    User.objects.filter(pk=user.pk).update(server=c)
    site = websites.website_request(owner=User.objects.get(pk=user.pk), domain="alice.blahaj.land")
    websites.website_confirm(token=websites.website_confirmation_issue(website=site))

    client.force_login(user)
    progress = client.get(f"/websites/{site.pk}/progress").json()
    assert progress["provisioning"]["position"] == 2 and progress["provisioning"]["server"] == "c"
    assert progress["line"] == "You are number 2 in line on c, less than a minute."
    page = re.sub(r"\s+", " ", client.get(f"/websites/{site.pk}/").content.decode())
    assert '<p id="website-line">You are number 2 in line on c, less than a minute.</p>' in page


def test_the_place_in_line_speaks_the_pages_language(fleet_of_three, user, signed_up, client):
    c = fleet_of_three["c"]
    accounts_lane.account_create(user=signed_up("ahead", server=c))
    User.objects.filter(pk=user.pk).update(server=c)
    site = websites.website_request(owner=User.objects.get(pk=user.pk), domain="alice.blahaj.land")
    websites.website_confirm(token=websites.website_confirmation_issue(website=site))

    client.force_login(user)
    progress = client.get(f"/websites/{site.pk}/progress", HTTP_ACCEPT_LANGUAGE="fr").json()
    page = re.sub(r"\s+", " ", client.get(f"/websites/{site.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode())

    assert progress["provisioning"]["state"] == "waiting" and progress["provisioning"]["position"] == 2
    line = "Vous êtes numéro 2 dans la file d’attente de c, moins d’une minute."
    assert progress["line"] == line
    assert f'<p id="website-line">{line}</p>' in page


def test_readyz_checks_each_servers_lane_but_a_down_one(fleet_of_three, settings):
    from observability import health

    settings.READY_CACHE_SECONDS, settings.YUNOHOST_PING_INTERVAL = 0, 0
    health.reset()
    lane_health.forget_pings()
    lane_health._Beater({"yunohost", "yunohost.b", "yunohost.c"}).beat()  # a worker of each queue
    checks = APIClient().get("/readyz").json()["checks"]
    assert {name for name in checks if name.startswith("lane:")} == {"lane:main", "lane:b", "lane:c"}
    assert all(checks[name]["ok"] for name in ("lane:main", "lane:b", "lane:c")), checks

    fleet_services.server_set_state(server=fleet_of_three["b"], state=Server.State.DOWN)
    health.reset()
    checks = APIClient().get("/readyz").json()["checks"]
    assert {name for name in checks if name.startswith("lane:")} == {"lane:main", "lane:c"}


def test_staff_add_a_server_in_the_admin_and_its_credentials_stay_hidden(fleet_of_three, admin_client):
    form = {
        "name": "d", "main_domain": "d.blahaj.test", "backend": "api", "api_url": "https://d.blahaj.test/yunohost/api",
        "api_password_new": "admin:very-secret-words", "version": "12", "capacity_accounts": "100",
        "capacity_sites": "10", "state": "active",
    }  # fmt: skip
    assert admin_client.post("/admin/provisioning/server/add/", form).status_code == 302
    added = Server.objects.get(name="d")
    assert (added.queue, added.capacity_accounts) == ("yunohost.d", 100)
    assert servers.server_api_password(added) == "admin:very-secret-words"
    page = admin_client.get(f"/admin/provisioning/server/{added.pk}/change/").content.decode()
    assert "very-secret-words" not in page and added.api_password not in page
    refused = admin_client.post("/admin/provisioning/server/add/", {**form, "name": "e", "api_password_new": ""})
    assert (
        refused.status_code == 200
        and "The API backend needs the URL and the admin credentials." in refused.content.decode()
    )


# --- Staff ---------------------------------------------------------------------------------------


def test_staff_list_add_and_change_servers_and_never_see_a_secret(fleet_of_three, staff_client, client, user):
    listed = staff_client.get(SERVERS)
    assert listed.status_code == 200
    rows = {row["name"]: row for row in listed.json()["results"]}
    assert set(rows) == {"main", "b", "c"}
    assert rows["main"]["main_domain"] == "blahaj.land" and rows["main"]["queue"] == "yunohost"
    assert set(rows["c"]) >= {
        "name", "main_domain", "backend", "version", "state", "capacity_accounts", "capacity_sites",
        "accounts", "sites", "queue_depth", "oldest_waiting_at",
    }  # fmt: skip

    body = {
        "name": "d",
        "main_domain": "d.blahaj.test",
        "backend": "api",
        "api_url": "https://d.blahaj.test/yunohost/api",
        "api_password": "admin:very-secret-words",
        "capacity_accounts": 300,
    }
    created = staff_client.post(SERVERS, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["queue"] == "yunohost.d" and created.json()["capacity_accounts"] == 300
    changed = staff_client.patch(f"{SERVERS}d/", {"state": "draining", "capacity_sites": 7}, format="json")
    assert (changed.status_code, changed.json()["state"], changed.json()["capacity_sites"]) == (200, "draining", 7)
    for answer in (listed, created, changed, staff_client.get(f"{SERVERS}d/")):
        assert "very-secret-words" not in answer.content.decode()
    stored = Server.objects.get(name="d")
    assert "very-secret-words" not in stored.api_password
    assert servers.server_api_password(stored) == "admin:very-secret-words"

    assert staff_client.post(SERVERS, body, format="json").json()["code"] == "server_exists"
    bad = staff_client.post(SERVERS, {**body, "name": "E!", "backend": "cli"}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()["fields"]
    no_way = staff_client.post(SERVERS, {"name": "f", "main_domain": "f.test", "backend": "cli"}, format="json")
    assert (no_way.status_code, list(no_way.json()["fields"])) == (400, ["cli_command"])
    assert staff_client.patch(f"{SERVERS}d/", {"capacity_accounts": "many"}, format="json").status_code == 400
    assert staff_client.get(f"{SERVERS}nowhere/").status_code == 404
    member = APIClient()
    member.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.issue_for_user(user)['access']}")
    assert member.get(SERVERS).status_code == 403


def test_a_key_rotation_keeps_the_servers_credentials(fleet_of_three, settings):
    fleet_services.server_create(
        name="d", main_domain="d.blahaj.test", backend="api", api_url="https://d.blahaj.test/yunohost/api",
        api_password="admin:very-secret-words",
    )  # fmt: skip
    old = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "y" * 40, [old]
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    settings.SECRET_KEY_FALLBACKS = []  # the rotation's last step

    assert "the API credentials of 1 YunoHost server(s)" in out.getvalue()
    assert servers.server_api_password(Server.objects.get(name="d")) == "admin:very-secret-words"


def test_the_server_command_adds_lists_drains_and_undrains(fleet_of_three, tmp_path):
    out = StringIO()
    call_command(
        "server", "add", "e", "--domain", "e.blahaj.test", "--backend", "cli",
        "--emulator-state", str(tmp_path / "e.json"), "--capacity-accounts", "40", stdout=out,
    )  # fmt: skip
    assert "systemctl enable --now blahaj-lane@e" in out.getvalue()
    call_command("server", "drain", "e", stdout=out)
    assert Server.objects.get(name="e").state == "draining"
    call_command("server", "undrain", "e", stdout=out)
    listing = StringIO()
    call_command("server", "list", stdout=listing)
    assert re.search(r"^e  active  cli  e\.blahaj\.test  yunohost\.e  0/40", listing.getvalue(), re.M)


def test_a_stuck_lane_is_flagged_for_staff_and_pinged_once(
    fleet_of_three, signed_up, settings, admin_client, tasks_inline
):
    c = fleet_of_three["c"]
    operation = accounts_lane.account_create(user=signed_up("stuck", server=c))
    long_ago = timezone.now() - timedelta(seconds=settings.STAFF_LANE_STUCK_AFTER + 60)
    Operation.objects.filter(pk=operation.pk).update(created_at=long_ago)
    Server.objects.filter(pk=c.pk).update(last_command_at=long_ago)

    with running_fake_discord(settings) as discord:
        with TestCase.captureOnCommitCallbacks(execute=True):
            told = lane_health.servers_check_stuck()
        with TestCase.captureOnCommitCallbacks(execute=True):
            again = lane_health.servers_check_stuck()
        index = admin_client.get("/admin/")
        assert (told, again) == (["c"], [])
        messages = [entry["json"]["content"] for entry in discord.received]
        assert len(messages) == 1 and "[lane_stuck] The YunoHost lane of server c has not moved" in messages[0]
        page = index.content.decode()
        assert 'data-server="c"' in page and "stuck: no command for" in page

        services.operation_run(operation_id=operation.pk)  # the lane moves
        assert lane_health.servers_check_stuck() == []
        assert Server.objects.get(pk=c.pk).stuck_since is None


# --- The upgrade ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_the_settings_server_the_first_and_numbers_what_waits(settings, default_tier):
    settings.YUNOHOST_SERVER_NAME = "ynh1"
    executor = MigrationExecutor(connection)
    before = [("provisioning", "0005_owned_object_user"), ("accounts", "0018_user_email_undeliverable")]
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps
        old_user = old.get_model("accounts", "User")
        tier_id = old.get_model("tiers", "Tier").objects.get(is_default=True).pk
        alice = old_user.objects.create(username="alice", email="a@example.org", status="active", tier_id=tier_id)
        old_user.objects.create(username="dana", email="d@example.org", status="pending_confirmation", tier_id=tier_id)
        old_operation = old.get_model("provisioning", "Operation")
        done, running, retrying, waiting = (
            old_operation.objects.create(kind="user.create", subject=f"user:{name}", sequence=1, status=status, **extra)
            for name, status, extra in (
                ("alice", "succeeded", {"attempts": 1}),
                ("bob", "running", {"attempts": 1}),
                ("carl", "pending", {"attempts": 1}),
                ("erin", "pending", {}),
            )
        )
        old.get_model("provisioning", "OwnedObject").objects.create(
            kind="user", name="alice", domain="blahaj.land", state="created", operation_id=done.pk
        )

        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        first = Server.objects.get()
        assert (first.name, first.queue, first.uses_settings, first.main_domain) == ("ynh1", "yunohost", True, "")
        assert (first.accounts, first.tickets) == (1, 3)
        rows = {op.subject: (op.server_id, op.ticket, op.in_line) for op in Operation.objects.all()}
        assert rows == {
            "user:alice": (first.pk, None, False),  # finished: out of every line
            "user:bob": (first.pk, 1, False),
            "user:carl": (first.pk, 2, False),  # ran once: waits for its retry, not in line
            "user:erin": (first.pk, 3, True),
        }
        assert dict(User.objects.values_list("username", "server_id")) == {"alice": first.pk, "dana": None}
        assert alice.pk and line.line_position(Operation.objects.get(pk=waiting.pk), first.pk) == 1
        assert {running.pk, retrying.pk} <= set(Operation.objects.values_list("pk", flat=True))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
