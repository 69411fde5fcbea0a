"""A website from request to live in a real browser (headless Chromium): the API request, the
emailed confirmation link, the progress page that follows the lane's steps by itself, and the
address and SFTP access once live; and the same asked for on the member's pages
(/account/websites/). Screenshots under $BLAHAJ_ARTIFACTS/screenshots."""

from __future__ import annotations

import re

import pytest
import requests
from django.db import connections
from selenium.webdriver.common.by import By

from accounts.tests.conftest import screenshots_taken  # noqa: F401 - the run lists the screenshots
from accounts.tests.test_browser import browser, fill, heading, path_of, shoot, submit, wait_for  # noqa: F401 - the Chromium fixture
from conftest import PASSWORD
from provisioning.locks import lane_lock
from websites.models import Website
from websites.tests.conftest import run_lane

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server, settings, tasks_inline, emulator, mailoutbox, monkeypatch):
    # The page polls: each poll may be served by a new server thread, whose connection must
    # close with its request, or the test database could not be dropped at the end.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    settings.SITE_URL = live_server.url
    settings.YUNOHOST_LANE_WAIT = 0  # a busy lane steps aside at once (the test holds it below)
    return live_server.url


def _steps(driver) -> dict[str, str]:
    # Read in one script: the page redraws the list every poll, so elements found first and read
    # afterwards could already be gone (a stale element).
    return driver.execute_script(
        "var steps = {};"
        " document.querySelectorAll('#website-steps li').forEach(function (item) {"
        "   steps[item.getAttribute('data-step')] = item.getAttribute('data-state'); });"
        " return steps;"
    )


def test_request_confirm_follow_the_progress_and_see_the_site_live(browser, site, user, mailoutbox):  # noqa: F811
    access = requests.post(f"{site}/api/user/login", json={"username": "alice", "password": PASSWORD}, timeout=10)
    headers = {"Authorization": f"Bearer {access.json()['access']}"}
    created = requests.post(f"{site}/create_website", json={"domain": "alice.blahaj.land"}, headers=headers, timeout=10)
    assert created.status_code == 200, created.text
    found = re.search(r"https?://\S+", mailoutbox[-1].body)
    assert found is not None, mailoutbox[-1].body
    link = found.group(0)
    assert link.startswith(f"{site}/confirm_site?token=")

    # The lane is busy with something else while the page first loads: the steps wait.
    lock = lane_lock()
    assert lock.acquire(wait=5)
    try:
        browser.get(link)
        assert "/website_being_made?site=" in browser.current_url
        assert browser.find_element(By.TAG_NAME, "h1").text == "alice.blahaj.land"
        steps = _steps(browser)
        assert steps["confirm"] == "done" and steps["domain.add"] == "pending" and steps["live"] == "waiting"
        assert not browser.find_element(By.ID, "website-access").is_displayed()
        shoot(browser, "website-01-progress")
    finally:
        lock.release()

    run_lane()  # what the yunohost worker does; the page polls and redraws by itself

    wait_for(browser, lambda d: _steps(d).get("live") == "done", timeout=20)
    wait_for(browser, lambda d: d.find_element(By.ID, "website-access").is_displayed())
    assert browser.find_element(By.ID, "website-url").text == "https://alice.blahaj.land/"
    assert browser.find_element(By.ID, "sftp-username").text == "my_webapp"
    assert browser.find_element(By.ID, "sftp-port").text == "22"
    assert browser.find_element(By.ID, "website-status").text == "Your website is online."
    wait_for(browser, lambda d: d.find_element(By.ID, "website-certificate").text == "ok", timeout=20)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert errors == []  # no script error, no refused inline code (CSP)
    shoot(browser, "website-02-live")
    assert Website.objects.get().status == Website.Status.LIVE

    browser.get(link)  # the link again: already confirmed, nothing queued twice
    assert "already confirmed" in browser.find_element(By.ID, "already-confirmed").text
    shoot(browser, "website-03-already-confirmed")


def _request(driver) -> None:
    """Press the request form's button (not the first on the page: the navigation's "Log out")."""
    before = driver.current_url
    driver.find_element(By.CSS_SELECTOR, "#website-form button[type=submit]").click()
    wait_for(
        driver,
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and (d.current_url != before or d.find_elements(By.CSS_SELECTOR, ".errorlist"))
        ),
    )


def test_a_member_requests_a_site_on_the_pages_and_follows_it_to_live(browser, site, user, mailoutbox):  # noqa: F811
    browser.get(f"{site}/account/websites/")
    assert path_of(browser.current_url) == "/account/login/"  # signed in only: the login first
    fill(browser, identifier="alice", password=PASSWORD)
    submit(browser)
    assert path_of(browser.current_url) == "/account/websites/"
    assert heading(browser) == "Your websites"
    assert "allows 1 website" in browser.find_element(By.ID, "website-allowance").text
    shoot(browser, "website-member-01-list")

    browser.find_element(By.ID, "website-new").click()
    assert heading(browser) == "Request a website"
    fill(browser, name="Alice")
    _request(browser)
    assert "lower case" in browser.find_element(By.ID, "id_name_error").text  # named next to its field
    assert browser.switch_to.active_element.get_attribute("name") == "name"
    shoot(browser, "website-member-02-form-error")
    fill(browser, name="alice")
    _request(browser)

    website = Website.objects.get()
    assert path_of(browser.current_url) == f"/account/websites/{website.pk}/"
    assert heading(browser) == "alice.blahaj.land"
    assert "We emailed you a link to confirm" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    assert browser.find_element(By.ID, "website-status").get_attribute("data-status") == "pending_confirmation"
    shoot(browser, "website-member-03-requested")

    found = re.search(r"https?://\S+", mailoutbox[-1].body)
    assert found is not None, mailoutbox[-1].body
    browser.get(found.group(0))  # the emailed link: the site is confirmed
    run_lane()
    browser.get(f"{site}/account/websites/{website.pk}/")
    assert browser.find_element(By.ID, "website-status").text == "Your website is online."
    assert browser.find_element(By.ID, "sftp-username").text == "my_webapp"
    assert browser.find_element(By.ID, "website-reset").is_displayed()
    errors = [
        e
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and "favicon" not in e["message"] and "status of 400" not in e["message"]
    ]
    assert errors == []  # no script error, no refused inline code (CSP); the form's 400 was meant
    shoot(browser, "website-member-04-live")
