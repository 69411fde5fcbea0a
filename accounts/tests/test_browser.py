"""The public pages in a real browser (headless Chromium driven by Selenium): sign up,
follow the emailed link, log in through the API, reset the password. Each page is kept as
a screenshot under $BLAHAJ_ARTIFACTS/screenshots (the run prints the folder)."""

from __future__ import annotations

import base64
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from conftest import PASSWORD, totp_code, totp_device

from .conftest import SCREENSHOTS, STRONG, links, screenshots_taken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="blahaj-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def site(live_server, settings, tasks_inline, default_tier, mailoutbox):
    settings.SITE_URL = live_server.url  # emailed links must lead to this server
    # Every sign-up here goes through the real challenge: the page's script solves it.
    settings.SIGNUP_CHALLENGE = "altcha"
    return live_server.url


def shoot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # The whole page, not just the window (Chromium's DevTools can capture beyond it).
    height = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    width = driver.execute_script("return window.innerWidth")  # without the scrollbar's gap
    clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "clip": clip})
    path.write_bytes(base64.b64decode(shot["data"]))
    screenshots_taken.append(path)
    return path


def wait_for(driver, condition, timeout: float = 10):
    # A page that redraws itself may replace an element between finding and reading it: try again.
    wait = WebDriverWait(driver, timeout, ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])
    return wait.until(lambda d: condition(d))


def fill(driver, **values: str) -> None:
    for name, value in values.items():
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def submit(driver) -> None:
    """Press the page's first submit button and wait for the page that answers: a new document
    (every form posts to the server; an .errorlist already on the old page proves nothing)."""
    before = driver.execute_script("return performance.timeOrigin")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        driver,
        lambda d: (
            d.execute_script("return performance.timeOrigin") != before
            and d.execute_script("return document.readyState") == "complete"
        ),
    )


def heading(driver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


def path_of(url: str) -> str:
    return urlsplit(url).path


def api_login(site: str, password: str) -> requests.Response:
    return requests.post(f"{site}/api/user/login", json={"username": "dana", "password": password}, timeout=10)


def test_sign_up_confirm_log_in_and_reset_in_a_browser(browser, site, mailoutbox):
    browser.set_window_size(1280, 1000)
    browser.get(f"{site}/signup/")
    assert heading(browser) == "Join blahaj.land"
    shoot(browser, "01-signup")

    fill(browser, username="Dana S", display_name="Dana Scully", email="dana@example.org", password="password123")
    submit(browser)
    assert "Use 1 to 30 lower-case letters" in browser.find_element(By.ID, "id_username_error").text
    assert "too common" in browser.find_element(By.ID, "id_password_error").text
    assert browser.switch_to.active_element.get_attribute("name") == "username"
    shoot(browser, "02-signup-errors")

    fill(browser, username="dana", password=PASSWORD)
    hint = wait_for(
        browser,
        lambda d: d.find_element(By.ID, "strength-hint").is_displayed() and d.find_element(By.ID, "strength-hint"),
    )
    wait_for(browser, lambda d: "Strong enough." in hint.text)
    shoot(browser, "03-signup-strength-hint")
    submit(browser)
    assert path_of(browser.current_url) == "/signup/done/"
    assert heading(browser) == "Check your email"
    shoot(browser, "04-check-your-email")

    (confirmation,) = mailoutbox
    browser.get("data:text/html;charset=utf-8," + quote(confirmation.alternatives[0][0]))
    shoot(browser, "04b-confirmation-email")
    browser.get(links(confirmation)[0])
    assert heading(browser) == "Email confirmed"
    shoot(browser, "05-email-confirmed")
    assert User.objects.get(username="dana").confirmed_at is not None

    assert api_login(site, PASSWORD).status_code == 200

    browser.get(f"{site}/password-reset/")
    shoot(browser, "06-password-reset")
    fill(browser, identifier="dana@example.org")
    submit(browser)
    assert path_of(browser.current_url) == "/password-reset/sent/"
    shoot(browser, "07-password-reset-sent")

    reset_link = links(mailoutbox[-1])[0]
    browser.get(reset_link)
    assert heading(browser) == "Choose a new password"
    fill(browser, password=STRONG)
    wait_for(browser, lambda d: "Strong enough." in d.find_element(By.ID, "strength-hint").text)
    shoot(browser, "08-choose-new-password")
    submit(browser)
    assert path_of(browser.current_url) == "/password-reset/done/"
    shoot(browser, "09-password-changed")

    assert api_login(site, STRONG).status_code == 200
    assert api_login(site, PASSWORD).status_code == 401

    browser.get(reset_link)
    assert heading(browser) == "This link is invalid"
    shoot(browser, "10-link-invalid")


def test_keyboard_focus_follows_the_form_and_it_fits_a_phone(browser, site):
    browser.set_window_size(390, 844)
    browser.get(f"{site}/signup/")

    order = []
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(9):
        active = browser.switch_to.active_element
        order.append(active.get_attribute("name") or active.get_attribute("class"))
        active.send_keys(Keys.TAB)

    assert order == [
        "brand",
        "username",
        "display_name",
        "email",
        "password",
        "discord_username",
        "referral_code",
        "note",
        "button",
    ]
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    shoot(browser, "11-signup-on-a-phone")


def test_an_invited_sign_up_in_a_browser(browser, site, mailoutbox, make_user, monkeypatch):
    from invitations import services
    from provisioning import tasks

    monkeypatch.setattr(tasks.run_operation, "apply_async", lambda *args, **kwargs: None)
    carol = make_user("carol", is_staff=True)
    services.invitation_create(inviter=carol, email="dana@example.org", note="Welcome aboard!")
    (invitation,) = mailoutbox
    browser.set_window_size(1280, 1000)
    browser.get(links(invitation)[0])
    assert browser.find_element(By.ID, "invited").is_displayed()
    email = browser.find_element(By.NAME, "email")
    assert email.get_attribute("value") == "dana@example.org" and email.get_attribute("readonly")
    shoot(browser, "12-invited-signup")

    fill(browser, username="dana", display_name="Dana Scully", password=PASSWORD, note="Thanks, Carol!")
    submit(browser)
    assert heading(browser) == "Email confirmed"
    shoot(browser, "13-invited-account-being-created")
    dana = User.objects.get(username="dana")
    assert dana.referral_code is not None
    assert dana.status == User.Status.PROVISIONING and dana.referral_code.owner == carol
    assert [message.to for message in mailoutbox[1:]] == [["carol@example.org"]]  # no confirmation email

    browser.get(links(invitation)[0])
    assert "already been used" in browser.find_element(By.ID, "invitation-problem").text
    assert browser.find_element(By.NAME, "email").get_attribute("value") == ""
    shoot(browser, "14-invitation-used")


def test_the_page_solves_the_challenge_and_the_sign_up_succeeds(browser, site, settings):
    assert settings.SIGNUP_CHALLENGE == "altcha" and settings.SIGNUP_CHALLENGE_MAX_NUMBER == 100_000
    browser.set_window_size(1280, 1000)
    browser.get(f"{site}/signup/")
    field = browser.find_element(By.NAME, "challenge")
    # The default work: about a second here, well within the wait.
    wait_for(browser, lambda d: field.get_attribute("value"), timeout=30)
    assert browser.find_element(By.ID, "challenge-status").text == "Check done."

    fill(browser, username="erin", display_name="Erin", email="erin@example.org", password=PASSWORD)
    submit(browser)

    assert path_of(browser.current_url) == "/signup/done/"
    assert User.objects.filter(username="erin").exists()


def test_a_report_from_the_abuse_page(browser, site):
    from defences.models import AbuseReport

    browser.get(f"{site}/abuse/")
    assert heading(browser) == "Report abuse"
    fill(browser, target="phish.example", details="<b>A fake bank</b> @everyone")
    submit(browser)  # before the check finishes: the script sends the form once it has

    assert path_of(browser.current_url) == "/abuse/sent/"
    report = AbuseReport.objects.get()
    assert (report.target, report.reason, report.details) == ("phish.example", "spam", "<b>A fake bank</b> @everyone")
    shoot(browser, "14-abuse-report-sent")


def click(driver, selector: str) -> None:
    """Submit the form of this button and wait for the next page."""
    before = driver.current_url
    driver.find_element(By.CSS_SELECTOR, selector).click()
    wait_for(
        driver,
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and (d.current_url != before or d.find_elements(By.CSS_SELECTOR, ".errorlist, .notice"))
        ),
    )


def test_a_member_logs_in_ends_a_session_and_changes_the_password_in_a_browser(browser, site, make_user):
    browser.set_window_size(1280, 1000)
    make_user("dana", email="dana@example.org")
    elsewhere = api_login(site, PASSWORD).json()
    assert requests.get(f"{site}/api/user/me", headers={"Authorization": f"Bearer {elsewhere['access']}"}, timeout=10)

    browser.get(f"{site}/account/sessions/")
    assert path_of(browser.current_url) == "/account/login/"
    assert heading(browser) == "Log in to your account"
    fill(browser, identifier="dana", password=PASSWORD)
    shoot(browser, "20-account-login")
    submit(browser)
    assert path_of(browser.current_url) == "/account/sessions/"
    assert "this browser" in browser.page_source
    shoot(browser, "21-account-sessions")

    click(browser, "form[action$='/end/'] button")
    assert "The session is ended" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    me = requests.get(f"{site}/api/user/me", headers={"Authorization": f"Bearer {elsewhere['access']}"}, timeout=10)
    assert me.status_code == 401
    shoot(browser, "22-account-session-ended")

    browser.get(f"{site}/account/password/")
    fill(browser, current_password=PASSWORD, new_password=STRONG)
    wait_for(browser, lambda d: "Strong enough." in d.find_element(By.ID, "strength-hint").text)
    shoot(browser, "23-account-password")
    click(browser, "form[novalidate] button[type=submit]")
    assert path_of(browser.current_url) == "/account/"
    assert "Your password is changed" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    shoot(browser, "24-account-password-changed")

    assert api_login(site, STRONG).status_code == 200
    assert api_login(site, PASSWORD).status_code == 401
    browser.get(f"{site}/account/email/")  # still signed in after the change
    assert heading(browser) == "Change your recovery email"


def test_the_admin_asks_staff_for_a_totp_code(browser, site, make_user):
    root = make_user("root", is_staff=True, is_superuser=True)
    device = totp_device(root)
    browser.delete_all_cookies()
    browser.get(f"{site}/admin/")
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    wait_for(browser, lambda d: path_of(d.current_url) == "/admin/mfa/")
    shoot(browser, "25-admin-totp-step")

    browser.find_element(By.NAME, "code").send_keys("000000", Keys.ENTER)
    wait_for(browser, lambda d: d.find_elements(By.ID, "mfa-error"))
    assert "wrong" in browser.find_element(By.ID, "mfa-error").text
    browser.find_element(By.NAME, "code").send_keys(totp_code(device), Keys.ENTER)

    wait_for(browser, lambda d: path_of(d.current_url) == "/admin/")
    assert browser.find_element(By.ID, "site-name").is_displayed()
    shoot(browser, "26-admin-after-totp")
