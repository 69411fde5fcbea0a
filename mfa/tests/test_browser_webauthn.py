"""A security key in a real browser (headless Chromium) with Chrome's virtual authenticator
(DevTools' WebAuthn domain): a member adds a key on /account/mfa/, then logs in with the
password and the key in place of a code. The site is served on http://localhost, a secure
context for WebAuthn, whose host is the relying party id (SITE_URL's)."""

from __future__ import annotations

import pytest
from django_otp_webauthn.models import WebAuthnCredential
from selenium.webdriver.common.by import By

from accounts.tests.test_browser import browser, fill, heading, path_of, shoot, site, submit, wait_for  # noqa: F401 - fixtures
from conftest import PASSWORD
from logins.models import LoginSession

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def security_key(browser):  # noqa: F811
    browser.execute_cdp_cmd("WebAuthn.enable", {})
    options = {
        "protocol": "ctap2",
        "transport": "usb",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    authenticator = browser.execute_cdp_cmd("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]
    yield authenticator
    browser.execute_cdp_cmd("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": authenticator})
    browser.execute_cdp_cmd("WebAuthn.disable", {})


def test_a_member_adds_a_security_key_and_logs_in_with_it(browser, site, security_key, user):  # noqa: F811
    assert site.startswith("http://localhost:")
    browser.delete_all_cookies()
    browser.set_window_size(1280, 1000)
    browser.get(f"{site}/account/login/")
    fill(browser, identifier="alice", password=PASSWORD)
    submit(browser)
    assert path_of(browser.current_url) == "/account/"

    browser.get(f"{site}/account/mfa/")
    button = wait_for(browser, lambda d: d.find_elements(By.ID, "passkey-register-button"))[0]
    shoot(browser, "webauthn-01-add-a-key")
    button.click()
    # The library's script runs the ceremony with the virtual key; ours then reloads the page.
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#keys li"))
    assert "Security key 1" in browser.find_element(By.ID, "keys").text
    assert "with your security keys" in browser.find_element(By.ID, "mfa-status").text
    shoot(browser, "webauthn-02-key-added")
    credentials = browser.execute_cdp_cmd("WebAuthn.getCredentials", {"authenticatorId": security_key})["credentials"]
    assert len(credentials) == 1 and credentials[0]["rpId"] == "localhost"

    browser.delete_all_cookies()  # a new visit: the password, then the key
    browser.get(f"{site}/account/login/?next=/account/sessions/")
    fill(browser, identifier="alice", password=PASSWORD)
    submit(browser)
    assert path_of(browser.current_url) == "/account/login/code/"
    assert heading(browser) == "Enter your code"
    use = wait_for(browser, lambda d: d.find_elements(By.ID, "passkey-verification-button"))[0]
    assert use.text == "Use your security key"
    shoot(browser, "webauthn-03-code-step")
    use.click()
    wait_for(browser, lambda d: path_of(d.current_url) == "/account/sessions/")
    shoot(browser, "webauthn-04-signed-in")
    key = WebAuthnCredential.objects.get(user=user)
    assert key.last_used_at is not None and key.sign_count >= 1
    assert LoginSession.objects.filter(user=user, kind=LoginSession.Kind.PAGE, ended_at__isnull=True).count() == 2
