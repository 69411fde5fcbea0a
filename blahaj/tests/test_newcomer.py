"""A newcomer follows the README in Chromium, on the real `scripts/dev` (its embedded defaults: SQLite,
in-process tasks, the YunoHost emulator, emails on the console): sign up, open the emailed link,
log in, request a website, open its link, see it live; then the admin with what `scripts/dev`
printed and the code `scripts/manage demo_staff_code` gives. Nothing here is patched: the service
is the process the README starts, in a folder of its own."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By

from accounts.tests.test_browser import browser, fill, heading, path_of, submit, wait_for  # noqa: F401 - the Chromium fixture
from conftest import PASSWORD
from testing import ROOT, free_port

pytestmark = pytest.mark.browser


class Dev:
    """`scripts/dev` running in `folder`, its console in `console.log`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.console = folder / "console.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BLAHAJ_", "REDIS_", "DATABASE_"))}
        env.pop("SITE_URL", None)
        env.update(
            PORT=str(self.port),
            SITE_URL=self.url,
            BLAHAJ_DATA_DIR=str(folder),
            DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
            WEBSITES_PUBLISH_SFTP_PORT=str(free_port()),
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        with self.console.open("wb") as out:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "dev")],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_up(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"scripts/dev did not answer in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def link(self, path_prefix: str, after: int = 0) -> str:
        """The newest emailed link to `path_prefix` printed on the console after offset `after`."""
        found = re.findall(rf"{re.escape(self.url)}{re.escape(path_prefix)}[^\s\"'<>]+", self.output()[after:])
        assert found, f"no link to {path_prefix} on the console:\n{self.output()[-3000:]}"
        return found[-1]

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [str(ROOT / "scripts" / "manage"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def dev(tmp_path) -> Iterator[Dev]:
    service = Dev(tmp_path)
    try:
        service.wait_until_up()
        yield service
    finally:
        service.stop()


def _until(driver, condition, timeout: float) -> None:
    wait_for(driver, condition, timeout=timeout)


def press(driver, words: str = "", css: str = "") -> None:
    """Press the button that says `words` (or matches `css`) and wait for the next page."""
    before = driver.execute_script("return performance.timeOrigin")
    if css:
        driver.find_element(By.CSS_SELECTOR, css).click()
    else:
        driver.find_element(By.XPATH, f"//button[normalize-space()='{words}']").click()
    wait_for(
        driver,
        lambda d: (
            d.execute_script("return performance.timeOrigin") != before
            and d.execute_script("return document.readyState") == "complete"
        ),
    )


def test_a_newcomer_follows_the_readme_to_a_live_site_and_into_the_admin(browser, dev):  # noqa: F811
    browser.set_window_size(1280, 1000)
    browser.delete_all_cookies()
    printed = dev.output()
    credentials = re.search(r"username '(demo_staff)', password '([^']+)'", printed)
    assert credentials, printed
    assert "scripts/manage demo_staff_code" in printed

    # 1-2. Sign up, open the confirmation link printed on the console.
    browser.get(f"{dev.url}/signup/")
    fill(browser, username="newt", display_name="Newt Scamander", email="newt@example.org", password=PASSWORD)
    submit(browser)
    assert path_of(browser.current_url) == "/signup/done/"
    browser.get(dev.link("/confirm/"))
    assert heading(browser) == "Email confirmed"

    # Log in on the member pages, ask for a website.
    browser.get(f"{dev.url}/account/login/")
    fill(browser, identifier="newt", password=PASSWORD)
    submit(browser)
    assert path_of(browser.current_url) == "/account/"
    browser.get(f"{dev.url}/account/websites/new/")
    fill(browser, name="newt")
    before_email = len(dev.output())
    press(browser, "Request the website")
    site_page = browser.current_url
    assert re.fullmatch(r"/account/websites/\d+/", path_of(site_page)), site_page
    assert heading(browser) == "newt.blahaj.land"

    # The website's confirmation link, then the site's page until it is live.
    confirm = dev.link("/confirm_site?token=", after=before_email)
    clicked = time.monotonic()
    browser.get(confirm)
    browser.get(site_page)
    _until(
        browser,
        lambda d: (
            (d.get(site_page) or True)
            and d.find_element(By.ID, "website-status").get_attribute("data-status") == "live"
        ),
        timeout=60,
    )
    to_live = time.monotonic() - clicked
    assert to_live < 30, f"{to_live:.1f} s from the confirmation link to a live site"
    access = browser.find_element(By.ID, "website-access")
    assert "newt.blahaj.land" in access.text
    _report(f"confirmation link to live site on scripts/dev: {to_live:.1f} s")

    # 9. The admin, with the printed account and the code scripts/manage prints.
    browser.delete_all_cookies()
    browser.get(f"{dev.url}/admin/")
    fill(browser, username=credentials[1], password=credentials[2])
    press(browser, css="#content [type=submit]")
    assert path_of(browser.current_url) == "/admin/mfa/"
    code = dev.manage("demo_staff_code").strip().splitlines()[-1]
    assert re.fullmatch(r"\d{6}", code), code
    fill(browser, code=code)
    press(browser, css="#content [type=submit]")
    assert path_of(browser.current_url) == "/admin/"
    assert "blahaj.land administration" in browser.page_source
    assert browser.find_elements(By.ID, "fleet")  # the index, with the servers' health


def _report(line: str) -> None:
    folder = Path(os.environ.get("BLAHAJ_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "newcomer.txt").open("a") as out:
        out.write(line + "\n")
