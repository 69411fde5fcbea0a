"""The deletion finalizer as beat runs it: real Celery workers (the default queue for the beat
task and the emails, the yunohost queue for the lane) on PostgreSQL and Redis, two finalizer
runs at once, and the emulator's log as the witness of what YunoHost was asked, in which order."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts import yunohost as accounts_lane
from accounts.models import User, UsernameQuarantine
from blahaj.celery import app as celery_app
from conftest import PASSWORD
from deletion import services as deletion
from factories import UserFactory
from provisioning.models import Operation
from provisioning.tests.conftest import emulator  # noqa: F401 - the fixture
from provisioning.tests.test_workers import wait_for, workers  # noqa: F401 - the fixture
from websites import lane as websites_lane
from websites.models import Website

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SITE = "alice.blahaj.land"


def _live_alice(emulator) -> tuple[User, Website]:  # noqa: F811
    alice = UserFactory.create(username="alice", password=PASSWORD, status=User.Status.ACTIVE)
    with transaction.atomic():
        accounts_lane.account_create(user=alice)
        website = Website.objects.create(
            owner=alice, domain=SITE, status=Website.Status.PROVISIONING, verification_token="t"
        )
        websites_lane.website_provision(website=website)
    # Two subjects, two orders of steps: the site may be live before alice's `user create` ran.
    wait_for(
        lambda: (
            Website.objects.get(pk=website.pk).status == Website.Status.LIVE and "alice" in emulator.state()["users"]
        ),
        timeout=90,
        what="the site live and alice on YunoHost",
    )
    assert emulator.state()["apps"]
    return alice, website


def test_two_beat_runs_at_once_remove_the_site_then_the_user_each_once(workers, emulator):  # noqa: F811
    workers.start("lane", queue="yunohost")
    with celery_app.connection_for_write() as broker:  # no message an earlier test left behind
        broker.default_channel.queue_purge("default")  # type: ignore[attr-defined]
    alice, _ = _live_alice(emulator)
    workers.start("beat", queue="default", concurrency=2)
    deletion.user_request_deletion(user=alice, password=PASSWORD)
    User.objects.filter(pk=alice.pk).update(deletes_at=timezone.now() - timedelta(seconds=1))

    for _ in range(2):  # two finalizers at once (two messages, two pool processes)
        celery_app.send_task("accounts.tasks.finalize_deletions")
    # No third beat run: the site's removal resumes the account's deletion (finalize_deletion).
    wait_for(lambda: "alice" not in emulator.state()["users"], timeout=90, what="the YunoHost user gone")

    assert not User.objects.filter(username="alice").exists()
    assert UsernameQuarantine.objects.filter(username="alice").exists()
    assert emulator.state()["apps"] == []
    assert Operation.objects.filter(kind="app.remove").count() == 1
    assert Operation.objects.filter(kind="user.delete").count() == 1
    log = [e for e in emulator.log() if e["lock"]]
    removed = next(e for e in log if e["argv"][:2] == ["app", "remove"])
    deleted = next(e for e in log if e["argv"][:2] == ["user", "delete"])
    assert removed["finished"] <= deleted["started"]


@pytest.mark.postgres
def test_two_finalizers_racing_on_one_account_queue_its_removal_once(transactional_db, default_tier):
    alice = UserFactory.create(username="alice", password=PASSWORD, status=User.Status.ACTIVE)
    Website.objects.create(owner=alice, domain=SITE, status=Website.Status.LIVE, verification_token="t")
    Operation.objects.create(kind="user.create", subject="user:alice", sequence=1, status="succeeded", user=alice)
    User.objects.filter(pk=alice.pk).update(deletes_at=timezone.now() - timedelta(seconds=1))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def finalize() -> None:
        try:
            start.wait(timeout=30)
            outcomes.append(deletion.deletion_finalize(user_id=alice.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=finalize) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # One took the row; the other skipped it or, coming after, found the removal under way.
    assert sorted(outcomes) in (["skipped", "waiting"], ["waiting", "waiting"])
    assert Operation.objects.filter(kind="app.remove").count() == 1
    assert Website.objects.get().status == Website.Status.DELETING
