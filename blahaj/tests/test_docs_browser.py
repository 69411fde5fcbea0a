"""The API docs and the pages under their Content-Security-Policy, in a real browser: Swagger UI
renders the schema and Chromium reports no blocked script or style."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="blahaj-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def policy_violations(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_swagger_ui_runs_under_the_policy(browser, live_server):
    browser.get(f"{live_server.url}/api/docs/")

    title = WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    assert "blahaj.land accounts API" in title[0].text
    WebDriverWait(browser, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"))
    assert policy_violations(browser) == []


def test_the_signup_page_and_its_strength_hint_run_under_the_policy(browser, live_server, default_tier):
    browser.get(f"{live_server.url}/signup/")
    browser.find_element(By.NAME, "password").send_keys("tidal-lantern-orbit-pebble-91")

    hint = WebDriverWait(browser, 15).until(
        lambda d: d.find_element(By.ID, "strength-hint").is_displayed() and d.find_element(By.ID, "strength-hint")
    )
    assert "Strong enough." in hint.text
    assert policy_violations(browser) == []
