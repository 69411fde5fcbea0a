"""The websites admin: list, filters, search, and actions that go through the services."""

from __future__ import annotations

import pytest

from provisioning.models import Operation
from websites.models import Website
from websites.tests.conftest import SITE, confirmation_token, run_lane

pytestmark = pytest.mark.django_db
LIST = "/admin/websites/website/"


@pytest.fixture
def live_site(owner_api, mailoutbox, emulator) -> Website:
    created = owner_api.post("/api/websites/", {"domain": SITE}).json()
    owner_api.post(f"/api/websites/{created['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    run_lane()
    return Website.objects.get(pk=created["id"])


def test_the_list_filters_and_searches(admin_client, live_site, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        listed = admin_client.get(f"{LIST}?status=live&kind=sftp")
    searched = admin_client.get(f"{LIST}?q=alice")
    other = admin_client.get(f"{LIST}?status=failed")

    assert listed.status_code == searched.status_code == 200
    assert SITE in listed.content.decode() and SITE in searched.content.decode()
    assert other.status_code == 200 and "0 websites" in other.content.decode()


def _act(admin_client, action: str, website: Website):
    return admin_client.post(LIST, {"action": action, "_selected_action": [website.pk]}, follow=True)


def test_reset_and_delete_actions_go_through_the_lane_and_say_what_they_did(
    admin_client, live_site, emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reset = _act(admin_client, "reset", live_site)
    assert "Reset queued: alice.blahaj.land." in reset.content.decode()
    run_lane()
    assert len(emulator.log("app install")) == 2

    with django_capture_on_commit_callbacks(execute=True):
        deleted = _act(admin_client, "delete_sites", live_site)
    assert "Deletion queued: alice.blahaj.land." in deleted.content.decode()
    run_lane()
    live_site.refresh_from_db()
    assert live_site.status == Website.Status.DELETED and SITE not in emulator.state()["domains"]


def test_retry_continues_a_failed_site_and_refuses_a_live_one(
    admin_client, owner_api, mailoutbox, emulator, settings, django_capture_on_commit_callbacks
):
    settings.YUNOHOST_MAX_ATTEMPTS = 1
    emulator.add_fault(command="domain add", exit=1, stderr="Error: boom", times=1)
    created = owner_api.post("/api/websites/", {"domain": SITE}).json()
    owner_api.post(f"/api/websites/{created['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    run_lane()
    website = Website.objects.get()
    assert (website.status, website.failed_step) == ("failed", "domain.add")

    with django_capture_on_commit_callbacks(execute=True):
        retried = _act(admin_client, "retry", website)
    assert "Failed step queued again: alice.blahaj.land." in retried.content.decode()
    run_lane()
    website.refresh_from_db()
    assert website.status == "live"
    assert Operation.objects.filter(kind="domain.add").count() == 1  # the same operation, run again

    again = _act(admin_client, "retry", website)
    assert "Not done: alice.blahaj.land (This site has no failed step to retry.)" in again.content.decode()


def test_reverify_reports_what_it_found(admin_client, live_site):
    response = _act(admin_client, "reverify", live_site)

    assert "Verified: alice.blahaj.land." in response.content.decode()  # a name under the main domain
