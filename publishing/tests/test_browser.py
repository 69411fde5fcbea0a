"""An ssg site from request to its built page in a real browser (headless Chromium): the API
request, the emailed confirmation link, the progress page following the steps and then the
deploy (its result and log), and the Hugo-built page served from the web root the deploy
uploaded over SFTP. Screenshots under $BLAHAJ_ARTIFACTS/screenshots."""

from __future__ import annotations

import re

import pytest
import requests
from django.db import connections
from selenium.webdriver.common.by import By

from accounts.tests.conftest import screenshots_taken  # noqa: F401 - the run lists the screenshots
from accounts.tests.test_browser import browser, shoot, wait_for  # noqa: F401 - the Chromium fixture
from conftest import PASSWORD
from provisioning.locks import lane_lock
from publishing.models import Deploy
from publishing.tests.conftest import run_lane, static_server
from publishing.tests.test_deploy import HUGO_SITE
from websites.models import Website

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server, settings, tasks_inline, emulator, sftp_server, mailoutbox, monkeypatch):
    # The page polls from the server's threads: each connection closes with its request.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    settings.SITE_URL = live_server.url
    settings.YUNOHOST_LANE_WAIT = 0  # a busy lane steps aside at once (the test holds it)
    return live_server.url


def test_an_ssg_site_from_request_to_built_page(browser, site, user, mailoutbox, repository, sftp_server):  # noqa: F811
    repository.publish(HUGO_SITE)
    access = requests.post(f"{site}/api/user/login", json={"username": "alice", "password": PASSWORD}, timeout=10)
    headers = {"Authorization": f"Bearer {access.json()['access']}"}
    body = {"domain": "alice.blahaj.land", "kind": "ssg", "git_url": repository.url}
    created = requests.post(f"{site}/api/websites/", json=body, headers=headers, timeout=10)
    assert created.status_code == 202, created.text
    found = re.search(r"https?://\S+", mailoutbox[-1].body)
    assert found is not None, mailoutbox[-1].body

    # The lane is busy with something else while the page first loads: the steps wait.
    lock = lane_lock()
    assert lock.acquire(wait=5)
    try:
        browser.get(found.group(0))
        assert browser.find_element(By.TAG_NAME, "h1").text == "alice.blahaj.land"
        assert browser.find_element(By.ID, "deploy-result").text == "not yet"
        shoot(browser, "publish-01-progress")
    finally:
        lock.release()

    run_lane()  # the yunohost worker; the install's success runs the deploy (tasks in-process)

    wait_for(browser, lambda d: d.find_element(By.ID, "deploy-result").text == "ok", timeout=30)
    steps = browser.execute_script(
        "var s = {}; document.querySelectorAll('#website-steps li').forEach(function (i) {"
        " s[i.getAttribute('data-step')] = i.getAttribute('data-state'); }); return s;"
    )
    assert steps["live"] == "done" and steps["publish"] == "done"
    deploy = Deploy.objects.get()
    assert browser.find_element(By.ID, "deploy-commit").text == deploy.commit
    assert "Published:" in browser.find_element(By.ID, "deploy-log").text
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == []
    shoot(browser, "publish-02-deployed")

    app = Website.objects.get().app_id
    with static_server(sftp_server.web_root(app)) as served:
        browser.get(f"{served}/about/")
        assert browser.find_element(By.TAG_NAME, "h1").text == "About"
        browser.get(f"{served}/")
        assert "Hello from Hugo." in browser.find_element(By.TAG_NAME, "body").text
        shoot(browser, "publish-03-built-page")
