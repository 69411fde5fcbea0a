"""Every page in headless Chromium under axe-core (the axe.min.js selenium-axe-python ships):
no violation of the WCAG 2.0, 2.1 and 2.2 A and AA rules on the public pages, the member pages
and the admin pages this project adds or changes, each in the states a person meets (empty,
with errors, done). And the way through on the keyboard alone: sign up, confirm, log in and ask
for a website without a mouse."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import requests
from django.db import connections
from django.test import Client
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from accounts.models import User
from accounts.tests.conftest import links, screenshots_taken  # noqa: F401 - the run lists the screenshots
from accounts.tests.test_browser import browser, fill, heading, path_of, shoot, submit, wait_for  # noqa: F401 - the Chromium fixture
from conftest import PASSWORD, totp_code, totp_device
from provisioning.tests.conftest import emulator, run_lane  # noqa: F401 - the lane's emulator
from websites.models import Website

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = resources.files("selenium_axe_python").joinpath("axe-core/axe.min.js").read_text(encoding="utf-8")
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
STRONG = "tidal-lantern-orbit-pebble-91"


def axe_violations(driver) -> list[dict]:
    """What axe-core finds on the page as it is now: WCAG A/AA violations only."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE)
    found = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        "  .then(function (r) { done(r.violations); }, function (e) { done([{id: 'axe-error', help: String(e),"
        "    nodes: []}]); });",
        WCAG,
    )
    return found


class Sweep:
    """The pages checked, and what axe found on each."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.checked: list[str] = []
        self.problems: list[str] = []

    def check(self, label: str) -> None:
        wait_for(self.driver, lambda d: d.execute_script("return document.readyState") == "complete")
        self.checked.append(label)
        for violation in axe_violations(self.driver):
            targets = "; ".join(
                " ".join(str(part) for part in node.get("target", []))
                + (f" ({node['failureSummary'].splitlines()[-1].strip()})" if node.get("failureSummary") else "")
                for node in violation.get("nodes", [])[:5]
            )
            self.problems.append(
                f"{label} [{path_of(self.driver.current_url)}]: {violation['id']}: {violation['help']} -> {targets}"
            )

    def visit(self, url: str, label: str) -> None:
        self.driver.get(url)
        self.check(label)

    def assert_clean(self) -> None:
        assert self.problems == [], f"{len(self.problems)} axe violation(s):\n" + "\n".join(self.problems)


@pytest.fixture
def site(live_server, settings, tasks_inline, emulator, mailoutbox, monkeypatch, default_tier):  # noqa: F811
    # Pages that poll may be served by a new server thread each time: its connection must close
    # with the request, or the test database could not be dropped at the end.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    settings.SITE_URL = live_server.url  # emailed links lead to this server
    settings.YUNOHOST_LANE_WAIT = 0
    return live_server.url


def _press(driver, selector: str = "button[type=submit]") -> None:
    """Press a button that sends a form, and wait for the answer."""
    before = driver.execute_script("return performance.timeOrigin")
    driver.find_element(By.CSS_SELECTOR, selector).click()
    wait_for(
        driver,
        lambda d: (
            d.execute_script("return performance.timeOrigin") != before
            and d.execute_script("return document.readyState") == "complete"
        ),
    )


def _session_cookie(driver, base: str, client: Client) -> None:
    from django.conf import settings

    driver.delete_all_cookies()
    driver.get(f"{base}/healthz")
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    driver.add_cookie({"name": settings.SESSION_COOKIE_NAME, "value": value, "path": "/"})


def test_every_public_page_passes_axe(browser, site, settings, mailoutbox):  # noqa: F811
    browser.set_window_size(1280, 1000)
    browser.delete_all_cookies()
    sweep = Sweep(browser)
    sweep.visit(f"{site}/", "home")

    settings.SIGNUP_CHALLENGE = "altcha"  # the robot check's widget is on the page
    sweep.visit(f"{site}/signup/", "sign-up")
    field = browser.find_element(By.NAME, "challenge")
    wait_for(browser, lambda d: field.get_attribute("value"), timeout=30)
    sweep.check("sign-up, robot check done")
    fill(browser, username="Dana S", display_name="Dana Scully", email="dana@example.org", password="password123")
    submit(browser)
    assert browser.find_elements(By.ID, "error-summary")
    sweep.check("sign-up with errors")
    fill(browser, username="dana", password=PASSWORD)
    wait_for(browser, lambda d: browser.find_element(By.NAME, "challenge").get_attribute("value"), timeout=30)
    _press(browser)  # not submit(): the page with errors already has an .errorlist
    assert path_of(browser.current_url) == "/signup/done/"
    sweep.check("sign-up done")

    confirmation = links(mailoutbox[-1])[0]
    sweep.visit(confirmation, "email confirmed")
    sweep.visit(confirmation, "confirmation link used")
    sweep.visit(f"{site}/link-invalid/?reason=token_expired", "confirmation link expired")
    sweep.visit(f"{site}/resend-confirmation/", "resend confirmation")
    submit(browser)
    sweep.check("resend confirmation, field missing")

    sweep.visit(f"{site}/password-reset/", "password reset")
    fill(browser, identifier="dana@example.org")
    submit(browser)
    assert path_of(browser.current_url) == "/password-reset/sent/"
    sweep.check("password reset sent")
    sweep.visit(links(mailoutbox[-1])[0], "choose a new password")
    fill(browser, password="password123")
    submit(browser)
    sweep.check("choose a new password, too weak")
    fill(browser, password=STRONG)
    _press(browser)
    assert path_of(browser.current_url) == "/password-reset/done/"
    sweep.check("password changed")

    sweep.visit(f"{site}/account/login/", "member login")
    fill(browser, identifier="dana", password="not it")
    submit(browser)
    sweep.check("member login, wrong password")
    sweep.visit(f"{site}/account/delete/cancel/nope/", "deletion cancel link invalid")

    sweep.visit(f"{site}/abuse/", "abuse report")
    submit(browser)
    sweep.check("abuse report, fields missing")
    fill(browser, target="phish.example", details="A fake bank")
    _press(browser)
    assert path_of(browser.current_url) == "/abuse/sent/"
    sweep.check("abuse report sent")

    access = requests.post(f"{site}/api/user/login", json={"username": "dana", "password": STRONG}, timeout=10)
    headers = {"Authorization": f"Bearer {access.json()['access']}"}
    created = requests.post(f"{site}/create_website", json={"domain": "dana.blahaj.land"}, headers=headers, timeout=10)
    assert created.status_code == 200, created.text
    found = re.search(r"https?://\S+", mailoutbox[-1].body)
    assert found is not None
    sweep.visit(found.group(0), "website progress")
    run_lane()
    wait_for(browser, lambda d: d.find_element(By.ID, "website-access").is_displayed(), timeout=20)
    sweep.check("website progress, live")
    sweep.visit(f"{site}/website_being_made", "website progress, no site named")
    sweep.visit(f"{site}/confirm_site?token=nope", "website confirmation link invalid")

    sweep.visit(f"{site}/api/docs/", "API docs")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"), timeout=20)
    sweep.check("API docs, rendered")

    settings.ACCOUNTS_REGISTRATION_OPEN = False
    sweep.visit(f"{site}/signup/", "sign-up closed")

    print("axe checked:", *sweep.checked, sep="\n  ")
    sweep.assert_clean()


def test_every_member_page_passes_axe(browser, site, make_user, mailoutbox):  # noqa: F811
    browser.set_window_size(1280, 1000)
    browser.delete_all_cookies()
    make_user("alice")
    sweep = Sweep(browser)
    browser.get(f"{site}/account/login/")
    fill(browser, identifier="alice", password=PASSWORD)
    submit(browser)
    sweep.check("account overview")
    sweep.visit(f"{site}/account/password/", "change password")
    fill(browser, current_password="wrong", new_password="x")
    _press(browser, "form[novalidate] button[type=submit]")
    sweep.check("change password, errors")
    sweep.visit(f"{site}/account/email/", "change email")
    fill(browser, email="alice-new@example.org", password=PASSWORD)
    _press(browser, "form[novalidate] button[type=submit]")
    sweep.check("change email, link sent")
    change = [m for m in mailoutbox if "alice-new@example.org" in m.to][-1]
    sweep.visit(links(change)[0], "change email, confirm link")
    sweep.visit(f"{site}/account/sessions/", "sessions")
    sweep.visit(f"{site}/account/mfa/", "second factor")

    sweep.visit(f"{site}/account/websites/", "websites, none yet")
    sweep.visit(f"{site}/account/websites/new/", "request a website")
    fill(browser, name="Alice")
    _press(browser, "#website-form button[type=submit]")
    sweep.check("request a website, errors")
    fill(browser, name="alice")
    _press(browser, "#website-form button[type=submit]")
    website = Website.objects.get()
    sweep.check("website, waiting for its confirmation")
    found = re.search(r"https?://\S+", mailoutbox[-1].body)
    assert found is not None
    browser.get(found.group(0))
    run_lane()
    sweep.visit(f"{site}/account/websites/{website.pk}/", "website, live")
    sweep.visit(f"{site}/account/websites/", "websites, one")
    sweep.visit(f"{site}/account/websites/{website.pk}/sftp-password/", "website, new SFTP password?")
    sweep.visit(f"{site}/account/websites/{website.pk}/reset/", "website, reset?")
    sweep.visit(f"{site}/account/websites/{website.pk}/delete/", "website, delete?")
    sweep.visit(f"{site}/account/websites/{website.pk + 1}/", "website, not found")

    sweep.visit(f"{site}/account/delete/", "delete my account")
    fill(browser, password="not it")
    submit(browser)
    sweep.check("delete my account, wrong password")
    fill(browser, password=PASSWORD)
    _press(browser)
    assert heading(browser) == "Your account will be deleted"
    sweep.check("account deletion scheduled")
    [message] = [m for m in mailoutbox if "will be deleted" in m.subject]
    sweep.visit(links(message)[0], "keep my account")
    _press(browser)
    sweep.check("account deletion cancelled")

    bob = make_user("bob")
    totp_device(bob)
    browser.delete_all_cookies()
    browser.get(f"{site}/account/login/")
    fill(browser, identifier="bob", password=PASSWORD)
    submit(browser)
    assert path_of(browser.current_url) == "/account/login/code/"
    sweep.check("member login, second step")

    print("axe checked:", *sweep.checked, sep="\n  ")
    sweep.assert_clean()


def test_the_pages_in_french_pass_axe_and_name_their_language(browser, site, make_user, mailoutbox):  # noqa: F811
    """The switcher at the foot of a page turns the pages French; each then says so (`<html lang>`),
    and axe finds them as clean as the English ones (longer words, the same layout)."""
    browser.set_window_size(1280, 1000)
    browser.delete_all_cookies()
    make_user("alice")
    sweep = Sweep(browser)
    browser.get(f"{site}/signup/")
    Select(browser.find_element(By.ID, "language-choice")).select_by_value("fr")
    _press(browser, ".language button[type=submit]")
    assert path_of(browser.current_url) == "/signup/"
    french = []

    def check(label: str) -> None:
        sweep.check(label)
        if browser.execute_script("return document.documentElement.lang") != "fr":
            french.append(label)

    check("inscription")
    fill(browser, username="Dana S", display_name="Dana Scully", email="dana@example.org", password="password123")
    submit(browser)
    check("inscription, erreurs")
    assert "Veuillez corriger les champs signalés" in browser.find_element(By.ID, "error-summary").text
    for path, label in [
        ("/", "accueil"),
        ("/password-reset/", "mot de passe oublié"),
        ("/resend-confirmation/", "renvoyer la confirmation"),
        ("/abuse/", "signalement"),
        ("/account/login/", "connexion"),
    ]:
        browser.get(f"{site}{path}")
        check(label)
    fill(browser, identifier="alice", password=PASSWORD)
    submit(browser)
    check("vue d’ensemble du compte")
    for path, label in [
        ("/account/password/", "mot de passe"),
        ("/account/email/", "adresse e-mail"),
        ("/account/sessions/", "sessions"),
        ("/account/mfa/", "second facteur"),
        ("/account/websites/", "sites web"),
        ("/account/websites/new/", "demander un site"),
        ("/account/delete/", "supprimer mon compte"),
    ]:
        browser.get(f"{site}{path}")
        check(label)

    print("axe checked (fr):", *sweep.checked, sep="\n  ")
    assert french == [], f"pages not in French: {french}"
    sweep.assert_clean()


def test_the_admin_pages_we_add_or_change_pass_axe(browser, site, make_user):  # noqa: F811
    browser.set_window_size(1280, 1000)
    browser.delete_all_cookies()
    root = make_user("root", is_staff=True, is_superuser=True)
    device = totp_device(root)
    alice = make_user("alice")
    sweep = Sweep(browser)
    sweep.visit(f"{site}/admin/login/", "admin login")
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    wait_for(browser, lambda d: path_of(d.current_url) == "/admin/mfa/")
    sweep.check("admin second step")
    browser.find_element(By.NAME, "code").send_keys(totp_code(device), Keys.ENTER)
    wait_for(browser, lambda d: path_of(d.current_url) == "/admin/")
    sweep.check("admin index")
    sweep.visit(f"{site}/admin/accounts/user/", "admin user list")
    sweep.visit(f"{site}/admin/accounts/user/{alice.pk}/change/", "admin user change")
    browser.get(f"{site}/admin/accounts/user/")
    browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{alice.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("change_tier")
    _press(browser, "button[name=index]")
    assert "Change the tier" in browser.page_source
    sweep.check("admin action: change the tier")
    sweep.visit(f"{site}/admin/audit/auditentry/", "admin audit list")
    sweep.visit(f"{site}/admin/blahaj/sitesettings/", "admin site settings")

    carol = make_user("carol", is_staff=True)
    client = Client()
    client.force_login(carol)
    _session_cookie(browser, site, client)
    sweep.visit(f"{site}/admin/", "admin second factor set-up")
    assert path_of(browser.current_url) == "/admin/mfa/setup/"

    print("axe checked:", *sweep.checked, sep="\n  ")
    sweep.assert_clean()


def _keys(driver, *keys: str) -> None:
    """Type on the keyboard, into whatever has the focus."""
    ActionChains(driver).send_keys(*keys).perform()


def _tab_to(driver, name: str, limit: int = 40):
    """Press Tab until the control named `name` (its name, id or words) has the focus."""
    for _ in range(limit):
        _keys(driver, Keys.TAB)
        active = driver.switch_to.active_element
        if name in (active.get_attribute("name"), active.get_attribute("id"), active.text.strip()):
            return active
    raise AssertionError(f"Tab never reached {name!r} on {driver.current_url}")


def _enter_and_wait(driver, path: str) -> None:
    _keys(driver, Keys.ENTER)
    wait_for(
        driver,
        lambda d: path_of(d.current_url) == path and d.execute_script("return document.readyState") == "complete",
    )


def test_sign_up_confirm_log_in_and_ask_for_a_site_with_the_keyboard_only(browser, site, mailoutbox):  # noqa: F811
    browser.set_window_size(1280, 1000)
    browser.delete_all_cookies()
    browser.get(f"{site}/signup/")
    for name, value in {"username": "dana", "display_name": "Dana Scully", "email": "dana@example.org"}.items():
        _tab_to(browser, name)
        _keys(browser, value)
    _tab_to(browser, "password")
    _keys(browser, "short")
    _tab_to(browser, "Create my account")
    _keys(browser, Keys.ENTER)
    # The form comes back: the summary on top names the error and links to its field.
    summary = wait_for(browser, lambda d: d.find_element(By.ID, "error-summary"))
    assert summary.get_attribute("role") == "alert"
    assert browser.switch_to.active_element.get_attribute("name") == "password"  # the focus is on it
    link = summary.find_element(By.CSS_SELECTOR, "a[href='#id_password']")
    assert link.text.startswith("Password: ")
    _keys(browser, PASSWORD)
    _tab_to(browser, "Create my account")
    _enter_and_wait(browser, "/signup/done/")
    assert heading(browser) == "Check your email"

    browser.get(links(mailoutbox[-1])[0])  # the emailed link
    assert heading(browser) == "Email confirmed"
    run_lane()
    assert User.objects.get(username="dana").status == User.Status.ACTIVE

    browser.get(f"{site}/account/login/")
    _tab_to(browser, "identifier")
    _keys(browser, "dana")
    _tab_to(browser, "password")
    _keys(browser, PASSWORD)
    _enter_and_wait(browser, "/account/")

    _tab_to(browser, "Websites")
    _enter_and_wait(browser, "/account/websites/")
    _tab_to(browser, "website-new")
    _enter_and_wait(browser, "/account/websites/new/")
    _tab_to(browser, "name")
    _keys(browser, "dana")
    _tab_to(browser, "Request the website")
    _keys(browser, Keys.ENTER)
    website = wait_for(browser, lambda d: Website.objects.filter(owner__username="dana").first())
    wait_for(browser, lambda d: path_of(d.current_url) == f"/account/websites/{website.pk}/")
    assert heading(browser) == website.domain == "dana.blahaj.land"
    assert website.status == Website.Status.PENDING_CONFIRMATION
