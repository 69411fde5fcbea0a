"""Plain git sites: the repository itself published through the site's SFTP login, on an
ordinary worker queue (never the YunoHost lane), pulled again by the beat; a failed or
oversized pull keeps the last good content."""

from __future__ import annotations

import pytest
from django.test import TestCase

from provisioning.models import Operation
from publishing.models import Deploy
from publishing.tests.conftest import fetch, static_server
from publishing.tests.test_deploy import _live_site
from websites import services

pytestmark = pytest.mark.django_db


def test_a_git_site_is_published_and_pulled_by_the_beat_without_the_lane(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
):
    repository.publish({"index.html": "<h1>first</h1>", "css/site.css": "h1 {}"})
    website = _live_site(owner_api, mailoutbox, repository.url, "git")

    root = sftp_server.web_root(website.app_id)
    with static_server(root) as base:
        assert fetch(f"{base}/") == "<h1>first</h1>" and fetch(f"{base}/css/site.css") == "h1 {}"
    assert not (root / ".git").exists()
    website.refresh_from_db()
    assert website.synced_at is not None

    repository.publish({"index.html": "<h1>second</h1>", "about.html": "about"})
    (repository.work / "css" / "site.css").unlink()
    repository.publish({})
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.websites_git_pull() == 1

    assert (root / "index.html").read_text() == "<h1>second</h1>" and (root / "about.html").exists()
    assert not (root / "css").exists()  # gone from the repository, gone from the site
    assert not Operation.objects.filter(kind="webapp.git_sync").exists()  # not a YunoHost command
    assert list(Deploy.objects.filter(website=website).values_list("reason", "result")) == [
        ("pull", "ok"),
        ("install", "ok"),
    ]
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.websites_git_pull() == 0  # nothing moved: no clone, no build, no row
    assert Deploy.objects.filter(website=website).count() == 2


def test_a_failed_or_too_big_pull_keeps_the_last_good_content(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
    settings,
):
    repository.publish({"index.html": "<h1>good</h1>"})
    website = _live_site(owner_api, mailoutbox, repository.url, "git")
    root = sftp_server.web_root(website.app_id)

    settings.WEBSITES_GIT_MAX_BYTES = 10
    repository.publish({"index.html": "<h1>far too big for the limit</h1>"})
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.websites_git_pull()

    website.refresh_from_db()
    assert (root / "index.html").read_text() == "<h1>good</h1>"
    assert website.status == "live" and "bytes allowed" in website.error
    deploy = Deploy.objects.filter(website=website)[0]
    assert deploy.result == "failed" and "last content stays online" in deploy.log_tail
    body = owner_api.get(f"/api/websites/{website.pk}").json()
    assert body["deploy"]["result"] == "failed" and "bytes allowed" in body["deploy"]["log_tail"]
    assert sorted(p.name for p in root.iterdir()) == ["index.html"]  # no staging folder left


def test_a_git_site_publishes_the_same_with_yunohost_behind_its_http_api(
    owner_api, mailoutbox, http_emulator, sftp_server, repository, tasks_inline, emulator
):
    repository.publish({"index.html": "<h1>over the API</h1>"})

    website = _live_site(owner_api, mailoutbox, repository.url, "git")

    assert [e["via"] for e in emulator.log("app install")] == ["api"]  # installed through yunohost-api
    with static_server(sftp_server.web_root(website.app_id)) as base:
        assert fetch(f"{base}/") == "<h1>over the API</h1>"


def test_a_git_site_is_its_repository_and_an_ssg_site_needs_a_generator(
    owner_api, mailoutbox, emulator, sftp_server, repository, tasks_inline, settings
):
    from publishing.tests.test_deploy import HUGO_SITE

    repository.publish(HUGO_SITE)
    website = _live_site(owner_api, mailoutbox, repository.url, "git")  # a git site: nothing is built

    root = sftp_server.web_root(website.app_id)
    assert (root / "hugo.toml").exists() and (root / "content" / "_index.md").exists()
    assert Deploy.objects.get(website=website).generator == "none"

    owner_api.delete(f"/api/websites/{website.pk}")
    (repository.work / "hugo.toml").unlink()
    repository.publish({"README.md": "no generator here"})
    ssg = _live_site(owner_api, mailoutbox, repository.url, "ssg", domain=f"blog.{settings.YUNOHOST_DOMAIN}")

    deploy = Deploy.objects.get(website=ssg)
    assert deploy.result == "failed" and "No static site generator found" in deploy.log_tail
