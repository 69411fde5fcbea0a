"""An app install as a real server does it: slow, its instance listed (settings saved) before its
script has run, a failure rolled back; and the lane that never kills YunoHost mid-command, reads
the server once its lock is free after an unknown outcome, and marks a site live only when its
install has really finished (docs/yunohost.md §11)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
from django.utils import timezone

import yunohost_emulator as emulator_module
from provisioning.models import Operation, OwnedObject
from yunohost_client import ApiBackend, YunohostError, YunohostTransient, YunohostUnknownOutcome

from .conftest import API_ADMIN, API_PASSWORD, Emulator, http_emulator_process, run_lane
from .test_workers import EMULATOR_BIN, wait_for

ARGS = "domain=example.org&path=%2F&with_sftp=0&password=&init_main_permission=visitors&phpversion=none"


def _set(emulator: Emulator, **keys) -> None:
    with emulator_module.transaction(str(emulator.path)) as state:
        state.update(keys)


def _cli(emulator: Emulator, *argv: str) -> subprocess.CompletedProcess:
    env = {"YUNOHOST_EMULATOR_STATE": str(emulator.path), "PATH": "/usr/bin:/bin"}
    return subprocess.run([EMULATOR_BIN, *argv, "--output-as", "json"], env=env, capture_output=True, text=True)


def _lock(emulator: Emulator) -> Path:
    return Path(str(emulator.path) + ".lock")


@pytest.fixture
def with_domain(emulator) -> Emulator:
    assert _cli(emulator, "domain", "add", "example.org").returncode == 0
    return emulator


def _install_seen_while_locked(emulator: Emulator, install) -> tuple[list[str], object]:
    """Run `install` in a thread; what `app list` (no lock) showed while the install held the lock."""
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(install()))
    thread.start()
    wait_for(_lock(emulator).exists, timeout=20, what="the install holding the lock", every=0.05)
    wait_for(lambda: bool(emulator.state()["apps"]), timeout=20, what="the instance listed", every=0.05)
    listed = json.loads(_cli(emulator, "app", "list").stdout)["apps"]
    assert _lock(emulator).exists() and not emulator.log("app install")  # still running
    thread.join(timeout=30)
    return [app["id"] for app in listed], outcome[0]


@pytest.fixture(params=["cli", "api"])
def install(request, with_domain, tls_cert):
    """One `app install` of my_webapp, through the CLI emulator or the HTTP one."""
    if request.param == "cli":
        yield lambda: _cli(with_domain, "app", "install", "my_webapp", "--force", f"--args={ARGS}").returncode
        return
    with http_emulator_process(with_domain.path, tls=tls_cert, lock_timeout=1) as url:
        client = ApiBackend(url, f"{API_ADMIN}:{API_PASSWORD}", verify=str(tls_cert[0]), timeout=(5, 30))

        def run() -> object:
            try:
                return client.webapp_install(domain="example.org", with_sftp=False, password=None, label="Site")
            except YunohostError as e:
                return e.exit_code

        yield run


def test_a_slow_install_lists_its_instance_before_it_ends(install, with_domain):
    _set(with_domain, install_seconds=1.5)

    listed, outcome = _install_seen_while_locked(with_domain, install)

    assert listed == ["my_webapp"] and outcome in (0, "my_webapp")
    assert [e["exit"] for e in with_domain.log("app install")] == [0]
    assert [a["id"] for a in with_domain.state()["apps"]] == ["my_webapp"]


def test_a_failed_install_is_rolled_back_after_being_listed(install, with_domain):
    _set(with_domain, install_seconds=1.5)
    with_domain.add_fault(command="app install", rollback=True)

    listed, outcome = _install_seen_while_locked(with_domain, install)

    assert listed == ["my_webapp"] and outcome in (1, 500)
    assert with_domain.state()["apps"] == []
    assert [e["exit"] for e in with_domain.log("app install")] == [1]


def test_an_api_write_without_an_answer_has_an_unknown_outcome_and_a_read_stays_transient(with_domain, tls_cert):
    with http_emulator_process(with_domain.path, tls=tls_cert) as url:
        client = ApiBackend(url, f"{API_ADMIN}:{API_PASSWORD}", verify=str(tls_cert[0]), timeout=(5, 0.5))
        with_domain.add_fault(command="domain add", hang=2, status=204, body="")
        with pytest.raises(YunohostUnknownOutcome):
            client.domain_add("other.example.org")
        with_domain.add_fault(command="domain list", hang=2, status=200, body="{}", content_type="application/json")
        with pytest.raises(YunohostTransient) as exc:
            client.domain_list()
        assert not isinstance(exc.value, YunohostUnknownOutcome)


# --- The lane ---------------------------------------------------------------------------------


def _site_install(emulator: Emulator) -> Operation:
    from provisioning import services

    assert _cli(emulator, "domain", "add", "site.example.org").returncode == 0
    args = {"domain": "site.example.org", "path": "/", "with_sftp": False, "label": "Site"}
    return services.operation_create(kind="app.install", subject="site:site.example.org", args=args)


def _due_now(operation: Operation) -> None:
    Operation.objects.filter(pk=operation.pk).update(next_attempt_at=timezone.now())


@pytest.mark.django_db
def test_our_timeout_leaves_the_install_running_and_it_counts_only_once_it_has_ended(emulator, settings):
    settings.YUNOHOST_TIMEOUT = 1
    _set(emulator, install_seconds=4)
    operation = _site_install(emulator)

    run_lane()  # our 1 s pass without an answer: the install goes on, its outcome unknown
    operation.refresh_from_db()
    assert operation.status == "pending" and operation.attempts == 0 and "outcome is unknown" in operation.error
    assert [a["id"] for a in emulator.state()["apps"]] == ["my_webapp"]  # half made, listed
    assert _lock(emulator).exists()

    _due_now(operation)
    run_lane()  # the lock is still held: nothing is concluded from the half-made instance
    operation.refresh_from_db()
    assert operation.status == "pending" and operation.busy_waits == 2
    assert OwnedObject.objects.get(kind="app").state == "intended"

    wait_for(lambda: not _lock(emulator).exists(), timeout=20, what="the install's end")
    _due_now(operation)
    run_lane()

    operation.refresh_from_db()
    assert operation.status == "succeeded" and json.loads(operation.output) == {"app": "my_webapp"}
    assert [e["exit"] for e in emulator.log("app install")] == [0]  # it ran once, to its end
    record = OwnedObject.objects.get(kind="app")
    assert (record.state, record.name) == ("created", "my_webapp")
    assert record.updated_at.timestamp() >= emulator.log("app install")[0]["finished"]


@pytest.mark.django_db
def test_an_install_of_unknown_outcome_that_was_rolled_back_is_made_again(emulator, settings):
    settings.YUNOHOST_TIMEOUT = 1
    _set(emulator, install_seconds=2)
    emulator.add_fault(command="app install", rollback=True)
    operation = _site_install(emulator)

    run_lane()
    wait_for(lambda: not _lock(emulator).exists(), timeout=20, what="the failed install's end")
    assert emulator.state()["apps"] == []  # rolled back
    _set(emulator, install_seconds=0)
    _due_now(operation)
    run_lane()

    operation.refresh_from_db()
    assert operation.status == "succeeded" and json.loads(operation.output) == {"app": "my_webapp"}
    assert [e["exit"] for e in emulator.log("app install")] == [1, 0]
    assert [a["id"] for a in emulator.state()["apps"]] == ["my_webapp"]
