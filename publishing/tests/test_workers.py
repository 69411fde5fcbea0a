"""Deploys on real Celery workers (the PostgreSQL + Redis pass): a lane worker (queue
`yunohost`) installs the site, a default worker (queue `default`) deploys it, and a deploy runs
to its end while the YunoHost lane is held by someone else: it never needs the lane."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from blahaj.celery import app as celery_app
from provisioning.locks import lane_lock
from provisioning.models import Operation
from provisioning.tests.test_workers import Workers, wait_for, workers  # noqa: F401 - the workers fixture
from publishing import services
from publishing.models import Deploy
from websites import lane
from websites.models import Website
from websites.tests.conftest import SITE

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def both(workers, sftp_server, repository, settings) -> Iterator[Workers]:  # noqa: F811
    with celery_app.connection_for_write(settings.REDIS_URL) as connection:
        connection.default_channel.queue_purge("default")  # type: ignore[attr-defined]
    port = repository.url.split("://", 1)[1].split("/", 1)[0]
    extra = {
        "WEBSITES_GIT_HOSTS": port,
        "WEBSITES_PUBLISH_SFTP_HOST": "127.0.0.1",
        "WEBSITES_PUBLISH_SFTP_PORT": str(sftp_server.port),
    }
    workers.start("lane", queue="yunohost", **extra)
    workers.start("deploys", queue="default", **extra)
    yield workers


def _provision(user, url: str) -> Website:
    """A confirmed git site whose plan is on the lane (committed: the workers take it)."""
    with transaction.atomic():
        website = Website.objects.create(
            owner=user,
            domain=SITE,
            kind=Website.Kind.GIT,
            git_url=url,
            verification_token="token",
            confirmed_at=timezone.now(),
            status=Website.Status.PROVISIONING,
        )
        lane.website_provision(website=website)
    return website


def test_a_deploy_runs_on_the_default_queue_while_the_lane_is_held(both, user, repository, sftp_server):
    repository.publish({"index.html": "<h1>first</h1>"})
    website = _provision(user, repository.url)

    root = sftp_server.web_root("my_webapp")
    index = root / "index.html"
    wait_for(lambda: index.exists() and index.read_text() == "<h1>first</h1>", timeout=60, what="the first deploy")
    wait_for(
        lambda: not Operation.objects.filter(status__in=Operation.UNFINISHED).exists(), timeout=60, what="the lane"
    )
    operations = Operation.objects.count()

    repository.publish({"index.html": "<h1>second</h1>"})
    held = lane_lock()
    assert held.acquire(wait=10)  # somebody else's long YunoHost command
    try:
        with transaction.atomic():
            services.deploy_request(website=Website.objects.get(pk=website.pk), reason="push")
        wait_for(
            lambda: Deploy.objects.filter(reason="push", result=Deploy.Result.OK).exists(),
            timeout=60,
            what="the deploy, lane held",
        )
        assert index.read_text() == "<h1>second</h1>"
    finally:
        held.release()

    assert Operation.objects.count() == operations  # nothing went through the lane
    assert list(Deploy.objects.values_list("reason", "result")) == [("push", "ok"), ("install", "ok")]


def test_ten_signed_pushes_in_a_burst_give_at_most_two_builds(both, user, repository, sftp_server):
    repository.publish({"index.html": "<h1>first</h1>"})
    website = _provision(user, repository.url)
    index = sftp_server.web_root("my_webapp") / "index.html"
    wait_for(lambda: index.exists() and index.read_text() == "<h1>first</h1>", timeout=60, what="the first deploy")
    url, secret = services.webhook_secret_rotate(website=Website.objects.get(pk=website.pk))
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]

    repository.publish({"index.html": "<h1>last push</h1>"})
    body = b'{"ref": "refs/heads/main"}'
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    client = APIClient()
    answers = [
        client.post(path, data=body, content_type="application/json", HTTP_X_GITEA_SIGNATURE=signature).status_code
        for _ in range(10)
    ]

    assert answers == [202] * 10
    wait_for(
        lambda: not Deploy.objects.filter(result__in=["", Deploy.Result.RUNNING]).exists(),
        timeout=90,
        what="the pushes' deploys",
    )
    pushes = list(Deploy.objects.filter(reason="push").values_list("result", flat=True))
    assert 1 <= len(pushes) <= 2 and set(pushes) == {"ok"}
    assert index.read_text() == "<h1>last push</h1>"
