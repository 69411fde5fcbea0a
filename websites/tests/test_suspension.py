"""Suspending a website: through the real lane, client and YunoHost emulator, the site's `main`
permission loses `visitors` and allows the owner and the admins; unsuspending puts it back.
Disabling an account suspends its sites (accounts' signal); enabling it lifts only those."""

from __future__ import annotations

import pytest
from django.test import TestCase

from accounts import services as account_services
from provisioning.commands import execute
from provisioning.models import Operation
from websites import services
from websites.models import Website
from websites.tests.conftest import SITE, confirmation_token, run_lane
from yunohost_client import get_client

pytestmark = pytest.mark.django_db
API = "/api/websites/"
LIST = "/admin/websites/website/"
PASSWORD = "Tr0ub4dor&3x-long"


def _allowed(emulator, app: str = "my_webapp") -> list[str]:
    [found] = [a for a in emulator.state()["apps"] if a["id"] == app]
    return found.get("allowed", [found["settings"]["init_main_permission"]])


@pytest.fixture
def live_site(owner_api, user, mailoutbox, emulator, settings) -> Website:
    # The owner exists on YunoHost, as every member with a site does.
    get_client().user_create(
        username=user.username, fullname="Alice Liddell", password=PASSWORD, domain=settings.YUNOHOST_DOMAIN
    )
    created = owner_api.post(API, {"domain": SITE}).json()
    owner_api.post(f"{API}{created['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    run_lane()
    website = Website.objects.get(pk=created["id"])
    assert website.status == Website.Status.LIVE and _allowed(emulator) == ["visitors"]
    return website


def test_staff_suspend_and_unsuspend_through_the_lane_with_emails(
    staff_api, owner_api, live_site, emulator, mailoutbox
):
    suspended = staff_api.post(f"{API}{live_site.pk}/suspend", {"reason": "Phishing pages <b>for a bank</b>."})
    assert suspended.status_code == 202, suspended.content
    body = suspended.json()
    assert body["status"] == "live" and body["suspended_at"] and body["suspension_reason"].startswith("Phishing")
    run_lane()

    assert _allowed(emulator) == ["admins", "alice"]
    assert [e["argv"][:5] for e in emulator.log("user permission remove")] == [
        ["user", "permission", "remove", "my_webapp.main", "visitors"]
    ]
    [step] = Operation.objects.filter(kind="webapp.access")
    assert (step.subject, step.status, step.args["state"]) == (f"site:{SITE}", "succeeded", "suspended")
    mail = mailoutbox[-1]
    assert mail.subject == f"Your website {SITE} was suspended"
    assert "Why: Phishing pages <b>for a bank</b>." in mail.body
    assert "&lt;b&gt;for a bank" in mail.alternatives[0][0]
    # The owner sees it; the site still counts against the tier (a second request is refused).
    assert owner_api.get(f"{API}{live_site.pk}").json()["suspension_reason"].startswith("Phishing")
    assert owner_api.post(API, {"domain": "alice2.blahaj.land"}).json()["code"] == "website_limit_reached"
    # The owner cannot reset a suspended site back to a public install.
    assert owner_api.post(f"{API}{live_site.pk}/reset").json()["code"] == "website_suspended"

    again = staff_api.post(f"{API}{live_site.pk}/suspend", {"reason": "Again"})
    assert again.status_code == 202 and Operation.objects.filter(kind="webapp.access").count() == 1

    lifted = staff_api.post(f"{API}{live_site.pk}/unsuspend")
    assert lifted.status_code == 202 and lifted.json()["suspended_at"] is None
    run_lane()
    assert _allowed(emulator) == ["visitors"]
    assert mailoutbox[-1].subject == f"Your website {SITE} is public again"
    assert Operation.objects.filter(kind="webapp.access", status="succeeded").count() == 2


def test_unsuspend_keeps_access_that_was_granted_before_the_suspension(staff_api, live_site, emulator):
    get_client().permission_add("my_webapp.main", ["alice"])
    staff_api.post(f"{API}{live_site.pk}/suspend", {"reason": "Spam"})
    run_lane()
    assert sorted(_allowed(emulator)) == ["admins", "alice"]
    staff_api.post(f"{API}{live_site.pk}/unsuspend")
    run_lane()
    assert sorted(_allowed(emulator)) == ["alice", "visitors"]


def test_the_owner_and_members_get_403_and_a_reason_is_required(owner_api, staff_api, live_site, emulator):
    for call in (
        owner_api.post(f"{API}{live_site.pk}/suspend", {"reason": "mine"}),
        owner_api.post(f"{API}{live_site.pk}/unsuspend"),
    ):
        assert call.status_code == 403 and call.json()["code"]
    blank = staff_api.post(f"{API}{live_site.pk}/suspend", {"reason": "  "})
    assert blank.status_code == 400 and "reason" in blank.json()["fields"]
    live_site.refresh_from_db()
    assert live_site.suspended_at is None and not Operation.objects.filter(kind="webapp.access").exists()


def test_a_permission_error_fails_the_step_not_the_site(staff_api, live_site, emulator, staff_notes, settings):
    settings.YUNOHOST_MAX_ATTEMPTS = 1
    get_client().user_delete("alice")  # the owner's group is gone: YunoHost's own refusal
    staff_api.post(f"{API}{live_site.pk}/suspend", {"reason": "Spam"})
    run_lane()
    [step] = Operation.objects.filter(kind="webapp.access")
    assert step.status == "failed" and step.error == "The group 'alice' is unknown"
    live_site.refresh_from_db()
    assert live_site.status == Website.Status.LIVE and live_site.error == "The group 'alice' is unknown"
    assert [event for event, _ in staff_notes][-1] == "website_failed"


def test_a_site_suspended_before_its_app_exists_is_suspended_once_installed(
    owner_api, staff_user, user, emulator, mailoutbox, settings
):
    get_client().user_create(
        username="alice", fullname="Alice Liddell", password=PASSWORD, domain=settings.YUNOHOST_DOMAIN
    )
    created = owner_api.post(API, {"domain": SITE}).json()
    owner_api.post(f"{API}{created['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.website_suspend(website=Website.objects.get(pk=created["id"]), reason="Spam", actor=staff_user)
    run_lane()
    assert Website.objects.get(pk=created["id"]).status == Website.Status.LIVE
    assert _allowed(emulator) == ["admins", "alice"]


def test_disabling_the_account_suspends_its_sites_and_enabling_lifts_only_those(
    owner_api, user, staff_user, live_site, emulator, mailoutbox
):
    with TestCase.captureOnCommitCallbacks(execute=True):
        account_services.user_disable(user=user)
    run_lane()
    live_site.refresh_from_db()
    assert live_site.suspended_with_account and live_site.suspension_reason == services.ACCOUNT_REASON
    assert _allowed(emulator) == ["admins", "alice"]
    assert f"Your website {SITE} was suspended" in [m.subject for m in mailoutbox]

    with TestCase.captureOnCommitCallbacks(execute=True):
        account_services.user_enable(user=user)
    run_lane()
    live_site.refresh_from_db()
    assert live_site.suspended_at is None and _allowed(emulator) == ["visitors"]

    # A site suspended for itself stays suspended when the account comes back.
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.website_suspend(website=live_site, reason="Malware", actor=staff_user)
        account_services.user_disable(user=user)
        account_services.user_enable(user=user)
    run_lane()
    live_site.refresh_from_db()
    assert live_site.suspension_reason == "Malware" and not live_site.suspended_with_account
    assert _allowed(emulator) == ["admins", "alice"]


def test_admin_actions_ask_for_a_reason_then_say_what_they_did(admin_client, live_site, emulator, mailoutbox):
    form = admin_client.post(LIST, {"action": "suspend", "_selected_action": [live_site.pk]})
    assert form.status_code == 200 and "Suspend them" in form.content.decode() and SITE in form.content.decode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        done = admin_client.post(
            LIST, {"action": "suspend", "_selected_action": [live_site.pk], "apply": "1", "reason": "Spam"}, follow=True
        )
    assert f"Suspended: {SITE}." in done.content.decode()
    run_lane()
    assert _allowed(emulator) == ["admins", "alice"] and mailoutbox[-1].subject.endswith("was suspended")
    listed = admin_client.get(f"{LIST}?suspended_at__isnull=False")
    assert SITE in listed.content.decode()

    with TestCase.captureOnCommitCallbacks(execute=True):
        lifted = admin_client.post(LIST, {"action": "unsuspend", "_selected_action": [live_site.pk]}, follow=True)
    assert f"Unsuspended: {SITE}." in lifted.content.decode()
    run_lane()
    assert _allowed(emulator) == ["visitors"]


def test_the_access_step_run_again_after_a_crash_ends_in_the_same_state(live_site, emulator):
    args = {"website_id": live_site.pk, "domain": SITE, "path": "/", "state": "suspended", "owner": "alice"}
    first = execute("webapp.access", args, {})
    second = execute("webapp.access", args, {})
    assert first == {"app": "my_webapp", "added": ["admins", "alice"]} and second["app"] == "my_webapp"
    assert _allowed(emulator) == ["admins", "alice"]
    public = {**args, "state": "public", "suspension": None}
    assert execute("webapp.access", public, {}) == execute("webapp.access", public, {})
    assert _allowed(emulator) == ["admins", "alice", "visitors"]  # no record of the suspension: nothing revoked
