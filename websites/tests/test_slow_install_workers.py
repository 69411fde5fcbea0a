"""A worker killed while a slow install runs on YunoHost (real Celery workers, PostgreSQL and
Redis): YunoHost goes on (it runs in a session of its own, as `sudo` with `use_pty` runs it), the
step's re-run waits for YunoHost's lock, and the site goes live once, after the install ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import transaction

from factories import UserFactory
from provisioning import services
from provisioning.models import Operation
from provisioning.tests.conftest import emulator  # noqa: F401 - the fixture
from provisioning.tests.test_workers import EMULATOR_BIN, wait_for, workers  # noqa: F401 - the fixture
from websites import lane as websites_lane
from websites.models import Website

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SITE = "alice.blahaj.land"


def test_a_worker_killed_during_a_slow_install_leaves_it_made_once_and_the_site_live_after_it(
    workers,  # noqa: F811
    emulator,  # noqa: F811
    settings,
):
    timing = {
        "YUNOHOST_BIN": f"setsid {EMULATOR_BIN}",
        "YUNOHOST_EMULATOR_INSTALL_SECONDS": "10",
        "YUNOHOST_TIMEOUT": "5",  # the dead worker's lane lock expires after it (and the margin)
        "YUNOHOST_LANE_LOCK_MARGIN": "1",
        "YUNOHOST_HEARTBEAT_INTERVAL": "1",
        "YUNOHOST_HEARTBEAT_STALE": "3",
        "YUNOHOST_BUSY_BACKOFF": "1",
        "CELERY_VISIBILITY_TIMEOUT": "6",
    }
    workers.start("doomed", concurrency=1, **timing)
    alice = UserFactory.create(username="alice")
    with transaction.atomic():
        website = Website.objects.create(
            owner=alice, domain=SITE, status=Website.Status.PROVISIONING, verification_token="t"
        )
        websites_lane.website_provision(website=website)
    lock = Path(str(emulator.path) + ".lock")
    # The install runs: its instance is listed, its lock held.
    wait_for(lambda: bool(emulator.state()["apps"]) and lock.exists(), timeout=40, what="the install under way")

    workers.kill("doomed")
    assert lock.exists() and not emulator.log("app install")  # YunoHost goes on without the worker
    workers.start("survivor", **timing)
    settings.YUNOHOST_HEARTBEAT_STALE = 3  # this process plays beat, with the workers' timings

    def swept_and_live() -> bool:
        services.operations_sweep()
        return Website.objects.get(pk=website.pk).status == Website.Status.LIVE

    wait_for(swept_and_live, timeout=60, what="the site live", every=0.5)

    website.refresh_from_db()
    [install] = emulator.log("app install")  # one install, run to its end
    assert install["exit"] == 0 and [a["id"] for a in emulator.state()["apps"]] == ["my_webapp"]
    assert website.app_id == "my_webapp" and website.live_at is not None
    assert website.live_at.timestamp() >= install["finished"]
    step = Operation.objects.get(kind="app.install")
    assert step.attempts == 2 and step.busy_waits >= 1  # the re-run waited for the lock
    assert json.loads(step.output) == {"app": "my_webapp"}
