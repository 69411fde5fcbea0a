"""The audit log's admin list in headless Chromium, 1280 px wide with the navigation sidebar
open: every column is on the screen, long values wrap in their cells, nothing scrolls sideways.
Screenshot under $BLAHAJ_ARTIFACTS/screenshots."""

from __future__ import annotations

import pytest
from django.db import connections
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from accounts.tests.conftest import screenshots_taken  # noqa: F401 - the run lists the screenshots
from accounts.tests.test_browser import browser, path_of, shoot, wait_for  # noqa: F401 - the Chromium fixture
from audit.models import AuditEntry
from conftest import PASSWORD, totp_code, totp_device

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLUMNS = ["at", "actor", "door", "action", "object", "ip", "result", "detail"]


@pytest.fixture
def rows(db):
    long_detail = (
        "operation 4821 failed for good: Could not install my_webapp on averylongmembername.blahaj.land: "
        "the app's install script ended with exit code 1 (gave up after 5 attempts)"
    )
    for i in range(3):
        AuditEntry.objects.create(
            actor="command:ensure_demo_staff",
            door="command",
            action="user.password.set",
            object="user:demo_staff",
            detail="demo staff account (development only)",
        )
        AuditEntry.objects.create(
            actor="carol_the_staff_member_with_a_long_name",
            door="api",
            action="website.suspend",
            object=f"site:averylongmembername{i}.blahaj.land",
            ip="2001:db8:85a3:1234:5678:8a2e:370:7334",
            result="failed",
            detail=long_detail,
        )


def test_the_audit_list_fits_1280_pixels(browser, live_server, make_user, rows, monkeypatch):  # noqa: F811
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    root = make_user("root", is_staff=True, is_superuser=True)
    device = totp_device(root)
    browser.set_window_size(1280, 1000)
    browser.get(f"{live_server.url}/admin/login/?next=/admin/audit/auditentry/")
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD, Keys.ENTER)
    wait_for(browser, lambda d: path_of(d.current_url) == "/admin/mfa/")
    browser.find_element(By.NAME, "code").send_keys(totp_code(device), Keys.ENTER)
    wait_for(browser, lambda d: path_of(d.current_url) == "/admin/audit/auditentry/")
    assert browser.execute_script("return window.innerWidth") == 1280
    assert browser.find_element(By.ID, "nav-sidebar").is_displayed()

    layout = browser.execute_script(
        """
        const results = document.querySelector('#changelist .results');
        const table = document.getElementById('result_list');
        const column = th => [...th.classList].find(name => name.startsWith('column-'));
        const headers = [...table.querySelectorAll('thead th')].filter(column);
        return {
            page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
            results: [results.scrollWidth, results.clientWidth],
            tableRight: table.getBoundingClientRect().right,
            columns: headers.map(th => [column(th), Math.round(th.getBoundingClientRect().right)]),
        };
        """
    )
    shoot(browser, "audit-list-1280")

    assert layout["results"][0] <= layout["results"][1], layout  # the list does not scroll sideways
    assert layout["page"][0] <= layout["page"][1], layout
    assert [name for name, _ in layout["columns"]] == [f"column-{name}" for name in COLUMNS]
    assert all(right <= 1280 for _, right in layout["columns"]), layout
    assert layout["tableRight"] <= 1280
