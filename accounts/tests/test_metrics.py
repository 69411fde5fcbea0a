"""GET /metrics: who may read it, what it counts, and two gunicorn workers adding up."""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from accounts import yunohost as accounts_lane
from accounts.models import User
from blahaj.crypto import encrypt
from conftest import CommittingAPIClient, committed
from provisioning.models import Operation
from provisioning.tests.conftest import emulator, run_lane  # noqa: F401 - fixture and helper
from testing import ROOT, child_env, gunicorn
from websites.models import Website


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def scrape() -> str:
    response = Client().get("/metrics")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_loopback_reads_the_metrics_and_others_get_a_403_envelope(db, settings):
    assert "blahaj_http_requests_total" in scrape()
    for remote in ("10.0.0.5", "2001:db8::1"):
        refused = Client(REMOTE_ADDR=remote).get("/metrics")
        assert refused.status_code == 403
        assert refused.json() == {"error": "You may not read the metrics.", "code": "forbidden"}


def test_a_forged_forwarded_for_does_not_open_the_metrics(db, settings):
    settings.TRUSTED_PROXIES = ""
    assert Client(REMOTE_ADDR="10.0.0.5").get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403
    settings.TRUSTED_PROXIES = "127.0.0.1"  # behind our nginx: the client it names is judged
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


def test_the_bearer_token_opens_the_metrics_from_anywhere(db, settings):
    settings.METRICS_TOKEN = "scrape-token-of-prometheus-0123456789"
    outside = Client(REMOTE_ADDR="203.0.113.9")
    assert outside.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}").status_code == 200
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert outside.get("/metrics").status_code == 403
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert outside.get("/metrics").status_code == 200


def test_requests_logins_and_sign_ups_are_counted(user, settings):
    before = scrape()
    client = CommittingAPIClient()
    client.post("/api/user/login", {"username": "alice", "password": "wrong password!"}, format="json")
    client.post("/api/user/login", {"username": "alice", "password": "correct horse battery staple"}, format="json")
    client.get("/api/websites/42/")
    for username in ("marina", "alice"):  # one new account, one taken name
        client.post(
            "/api/user/register",
            {
                "username": username,
                "display_name": "M",
                "email": f"{username}@example.org",
                "password": "Tr0pical-Mango-91",
            },
            format="json",
        )
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("blahaj_logins_total", result="invalid_credentials") == 2  # the factory's password is another
    assert grew("blahaj_signups_total", outcome="ok") == 1
    assert sum(grew("blahaj_signups_total", outcome=o) for o in ("username_taken", "email_taken")) == 1
    assert grew("blahaj_http_requests_total", route="/api/user/login", method="POST", status="401") == 2
    assert grew("blahaj_http_requests_total", route="/api/websites/<pk>", method="GET", status="401") == 1
    assert grew("blahaj_http_request_duration_seconds_count", route="/api/user/login", method="POST") == 2
    assert not any("42" in dict(labels).get("route", "") for _, labels in samples(after))


def test_the_lane_and_websites_gauges_are_read_from_the_database(user, settings):
    Operation.objects.create(kind="user.create", subject="user:a", sequence=1, status="pending")
    Operation.objects.create(kind="user.create", subject="user:b", sequence=1, status="running")
    Operation.objects.create(kind="user.create", subject="user:c", sequence=1, status="failed")
    Website.objects.create(owner=user, domain="a.blahaj.land", status="live", certificate="failing")
    Website.objects.create(owner=user, domain="b.blahaj.land", status="live", certificate="ok")
    text = scrape()
    assert value(text, "blahaj_lane_depth", server="main", status="pending") == 1
    assert value(text, "blahaj_lane_depth", server="main", status="running") == 1
    assert value(text, "blahaj_lane_failed_operations", server="main") == 1
    assert value(text, "blahaj_lane_oldest_pending_seconds", server="main") >= 0
    assert ("blahaj_lane_oldest_pending_seconds", (("server", "main"),)) in samples(text)
    assert value(text, "blahaj_websites", status="live") == 2
    assert value(text, "blahaj_certificates_failing") == 1
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_gunicorn_workers_add_up(tmp_path, default_tier):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = child_env(PROMETHEUS_MULTIPROC_DIR=str(directory))
    with gunicorn(workers=2, env=env) as url:
        # Sync workers, one connection per request, many at once: both workers answer some.
        def hit(_: int) -> int:
            return requests.get(f"{url}/healthz", headers={"Connection": "close"}, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(hit, range(200))) == {200}
        text = requests.get(f"{url}/metrics", timeout=10).text
    pids = {name.rsplit("_", 1)[1] for name in os.listdir(directory) if name.startswith("counter_")}
    assert len(pids) == 2, pids  # each worker wrote its own counters
    assert value(text, "blahaj_http_requests_total", route="/healthz", method="GET", status="200") == 200
    assert value(text, "blahaj_http_request_duration_seconds_count", route="/healthz", method="GET") == 200


def test_lane_commands_operations_and_emails_are_counted(make_user, emulator, tasks_inline):  # noqa: F811
    before = scrape()
    alice = make_user("alice", status=User.Status.PROVISIONING, pending_password=encrypt("Sign-up pw 4 alice!"))
    with committed():
        accounts_lane.account_create(user=alice)
    run_lane()
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("blahaj_lane_operations_total", server="main", kind="user.create", result="succeeded") == 1
    assert grew("blahaj_lane_command_duration_seconds_count", server="main", kind="user.create") == 1
    assert grew("blahaj_emails_total", result="sent") >= 1  # the welcome email


def test_the_shipped_alert_rules_and_dashboard_name_only_metrics_that_exist(user, settings):
    Operation.objects.create(kind="user.create", subject="user:a", sequence=1, status="pending")
    CommittingAPIClient().post("/api/user/login", {"username": "alice", "password": "wrong password!"}, format="json")
    exposed = {family.name for family in text_string_to_metric_families(scrape())}
    exposed |= {name for name, _ in samples(scrape())}
    # Counters and histograms whose first sample may not exist yet in this process.
    exposed |= {"blahaj_emails_total", "blahaj_signups_total", "blahaj_lane_operations_total"}
    exposed |= {"blahaj_lane_command_duration_seconds_bucket"}
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "blahaj-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "blahaj-dashboard.json").read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    named = {name for expr in exprs for name in re.findall(r"\bblahaj_[a-z_]+", expr)}
    assert named and named <= exposed, named - exposed
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"BlahajLaneStuck", "BlahajHigh5xxRate", "BlahajEmailFailures", "BlahajCertificatesFailing"} <= alerts
