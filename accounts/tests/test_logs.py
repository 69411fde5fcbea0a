"""LOG_FORMAT=json, the request id, and what never reaches a log line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
from django.core import mail
from django.test import Client

from accounts import yunohost as accounts_lane
from accounts.models import User
from blahaj.celery import app as celery_app
from blahaj.crypto import encrypt
from conftest import CommittingAPIClient, committed, login
from observability import logs
from provisioning.tests.conftest import emulator, run_lane  # noqa: F401 - fixture and helper
from websites.tests.conftest import confirmation_token


class Lines(logging.Handler):
    """Every record, formatted as the json handler would write it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logs.JsonFormatter())
        self.addFilter(logs.ContextFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines(settings) -> Iterator[list[str]]:
    settings.LOG_FORMAT = "json"
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_every_answer_carries_a_request_id(db):
    client = Client()
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123_DEF.4")
    assert kept["X-Request-ID"] == "abc-123_DEF.4"
    for bad in ("", "x" * 65, "a b", "<script>", "é"):
        replaced = client.get("/api/user/me", HTTP_X_REQUEST_ID=bad)
        assert re.fullmatch(r"[0-9a-f]{32}", replaced["X-Request-ID"]), bad
    assert Client().get("/no/such/page")["X-Request-ID"]
    first, second = client.get("/healthz")["X-Request-ID"], client.get("/healthz")["X-Request-ID"]
    assert first != second


def test_a_json_line_per_request_with_its_route_status_user_and_duration(user, json_lines):
    client = CommittingAPIClient()
    access = login(client, "alice")["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = client.get("/api/user/me", HTTP_X_REQUEST_ID="probe-1")

    requests = [line for line in parsed(json_lines) if line["logger"] == "blahaj.request"]
    me = [line for line in requests if line.get("request_id") == "probe-1"]
    assert len(me) == 1, requests
    assert me[0]["route"] == "/api/user/me" and me[0]["status"] == 200 and me[0]["method"] == "GET"
    assert me[0]["user_id"] == user.pk
    assert isinstance(me[0]["duration_ms"], float)
    assert {"timestamp", "level", "logger", "message"} <= set(me[0])
    assert response["X-Request-ID"] == "probe-1"


def test_a_token_in_the_path_is_logged_as_its_route(db, json_lines):
    Client().get("/password-reset/SECRET-TOKEN-in-the-path/")
    line = [line for line in parsed(json_lines) if line["logger"] == "blahaj.request"][-1]
    assert line["route"] == "/password-reset/<str:token>/"
    assert not any("SECRET-TOKEN" in line for line in json_lines)


def test_the_lane_s_lines_name_the_operation_and_the_request_that_queued_it(signed_up_alice, json_lines):
    logs_token = logs._context.set({"request_id": "req-lane"})
    try:
        with committed():
            accounts_lane.account_create(user=signed_up_alice)
        run_lane()
    finally:
        logs._context.reset(logs_token)
    lane = [line for line in parsed(json_lines) if line.get("operation_kind") == "user.create"]
    assert lane and all(line["operation_id"] and line["request_id"] == "req-lane" for line in lane)


def test_a_task_s_message_carries_the_request_id_and_a_worker_binds_it(settings):
    seen: dict = {}
    headers: dict = {}
    with logs.bound(request_id="req-task"):
        logs._publish_request_id(headers=headers)
    assert headers == {logs.TASK_HEADER: "req-task"}

    class Request:
        blahaj_request_id = "req-task"

    class Task:
        request = Request()

    logs._bind_request_id(task_id="t1", task=Task())
    seen["inside"] = logs.request_id()
    logs._unbind_request_id(task_id="t1")
    assert seen == {"inside": "req-task"} and logs.request_id() is None


@pytest.fixture
def signed_up_alice(make_user):
    return make_user("alice", status=User.Status.PROVISIONING, pending_password=encrypt("Sign-up pw 4 alice!"))


SIGNUP_PASSWORD = "Tr0pical-Mango-Seashell-91"
RESET_PASSWORD = "Quiet-Harbor-Lantern-58"
CHANGED_PASSWORD = "Velvet-Comet-Orchard-73"


def _link_token(prefix: str) -> str:
    body = str(mail.outbox[-1].body)
    found = re.search(re.escape(prefix) + r"([A-Za-z0-9_\-:.]+)", body)
    assert found is not None, body
    return found.group(1)


@pytest.mark.django_db
def test_a_full_run_logs_no_password_token_cookie_or_secret(default_tier, emulator, json_lines, settings):  # noqa: F811
    settings.DJANGO_DEBUG = False
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    secrets: list[str] = [SIGNUP_PASSWORD, RESET_PASSWORD, CHANGED_PASSWORD, settings.SECRET_KEY]
    try:
        api = CommittingAPIClient()
        registered = api.post(
            "/api/user/register",
            {
                "username": "marina",
                "display_name": "Marina",
                "email": "marina@example.org",
                "password": SIGNUP_PASSWORD,
            },
            format="json",
        )
        assert registered.status_code == 201, registered.content
        confirm = _link_token("/confirm/")
        secrets.append(confirm)
        assert api.get(f"/api/user/confirm/{confirm}").status_code == 302
        run_lane()
        assert User.objects.get(username="marina").status == User.Status.ACTIVE

        tokens = login(api, "marina", SIGNUP_PASSWORD)
        secrets += [tokens["access"], tokens["refresh"]]
        refreshed = api.post("/api/user/refresh", {"refresh": tokens["refresh"]}, format="json").json()
        secrets.append(refreshed["access"])

        assert api.post("/api/user/request-reset", {"username": "marina"}, format="json").status_code == 200
        reset = _link_token("/password-reset/")
        secrets.append(reset)
        done = api.post("/api/user/confirm-reset", {"token": reset, "password": RESET_PASSWORD}, format="json")
        assert done.status_code == 200, done.content
        run_lane()

        tokens = login(api, "marina", RESET_PASSWORD)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
        secrets += [tokens["access"], tokens["refresh"]]
        changed = api.post(
            "/api/user/change-password",
            {"current_password": RESET_PASSWORD, "new_password": CHANGED_PASSWORD},
            format="json",
        )
        assert changed.status_code == 200, changed.content
        secrets += [changed.json()["access"], changed.json()["refresh"]]
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {changed.json()['access']}")
        run_lane()

        created = api.post("/api/websites/", {"domain": "marina.blahaj.land"}, format="json")
        assert created.status_code in (201, 202), created.content
        website_token = confirmation_token(mail.outbox)
        secrets.append(website_token)
        confirmed = api.post(f"/api/websites/{created.json()['id']}/confirm", {"token": website_token}, format="json")
        assert confirmed.status_code == 202, confirmed.content
        run_lane()

        page = Client()
        assert page.post("/account/login/", {"identifier": "marina", "password": CHANGED_PASSWORD}).status_code == 302
        secrets += [page.cookies["sessionid"].value, page.cookies["csrftoken"].value]
        assert page.get("/account/").status_code == 200
    finally:
        celery_app.conf.task_always_eager = before

    assert len(json_lines) > 30  # the run did log: requests, the lane, tasks
    assert {line["logger"] for line in parsed(json_lines)} >= {"blahaj.request", "provisioning.yunohost"}
    for secret in secrets:
        assert secret and len(secret) >= 16
        leaking = [line for line in json_lines if secret in line]
        assert not leaking, (secret[:6], leaking[:3])
