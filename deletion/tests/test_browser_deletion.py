"""The /account/delete/ page in a real browser (headless Chromium): a member signed in by a
session cookie gets the form, a wrong password shown next to the field, then the page saying
when the deletion happens; the emailed link's page cancels it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from selenium.webdriver.common.by import By

from accounts.models import User
from accounts.tests.conftest import links
from accounts.tests.test_browser import browser, fill, heading, shoot, site, wait_for  # noqa: F401 - fixtures
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(driver, base: str, user: User) -> None:
    client = Client()
    client.force_login(user)
    driver.get(f"{base}/")
    driver.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "path": "/"}
    )


def _press(driver, expected_heading: str) -> None:
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(
        driver,
        lambda d: d.execute_script("return document.readyState") == "complete" and heading(d) == expected_heading,
    )


def test_delete_my_account_then_keep_it_in_a_browser(browser, site, user, mailoutbox):  # noqa: F811
    browser.set_window_size(1280, 1000)
    browser.get(f"{site}/account/delete/")
    assert "/account/login/" in browser.current_url  # not signed in: sent to the member login

    _sign_in(browser, site, user)
    browser.get(f"{site}/account/delete/")
    assert heading(browser) == "Delete my account"
    assert "alice@blahaj.land" in browser.page_source
    shoot(browser, "30-delete-account")

    fill(browser, password="not my password")
    _press(browser, "Delete my account")
    assert browser.find_element(By.ID, "id_password_error").text == "The password is not right."
    assert browser.switch_to.active_element.get_attribute("name") == "password"
    shoot(browser, "31-delete-account-wrong-password")

    fill(browser, password=PASSWORD)
    _press(browser, "Your account will be deleted")
    assert "We emailed you a link that cancels the deletion" in browser.page_source
    shoot(browser, "32-deletion-scheduled")
    assert User.objects.get(pk=user.pk).deletes_at is not None
    browser.get(f"{site}/account/delete/")
    assert "/account/login/" in browser.current_url  # the session ended with the request

    [message] = [m for m in mailoutbox if "will be deleted" in m.subject]
    browser.get(links(message)[0])
    assert heading(browser) == "Keep my account"
    shoot(browser, "33-keep-my-account")
    _press(browser, "Your account stays")
    shoot(browser, "34-deletion-cancelled")
    assert User.objects.get(pk=user.pk).deletes_at is None
