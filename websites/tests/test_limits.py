"""One member cannot slow everyone: a site's reset and new SFTP password are queued once while
one waits on the lane, whichever door asks; reset, sftp-password and verify-domain are limited
per member and per site (429 in the envelope, with Retry-After)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from conftest import login
from factories import TierFactory
from provisioning.models import Operation
from provisioning.tests.conftest import sha256
from websites import services
from websites.models import Website
from websites.tests.conftest import SITE, confirmation_token, run_lane

API = "/api/websites/"
ADMIN_LIST = "/admin/websites/website/"
pytestmark = pytest.mark.django_db


def _rates(settings, **rates: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def _live(owner_api, mailoutbox, domain: str = SITE) -> Website:
    created = owner_api.post(API, {"domain": domain})
    assert created.status_code == 202, created.content
    owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    run_lane()
    website = Website.objects.get(pk=created.json()["id"])
    assert website.status == Website.Status.LIVE
    return website


def _waiting_client(username: str) -> APIClient:
    """A member's client whose requests commit nothing to the lane's workers: what it queues
    waits, as it would behind a busy lane."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(APIClient(), username)['access']}")
    return client


def _queued(kind: str, website: Website) -> int:
    return Operation.objects.filter(kind=kind, args__website_id=website.pk).count()


# --- one action waiting per site ----------------------------------------------------------------


def test_thirty_resets_in_a_row_queue_one(owner_api, user, mailoutbox, emulator, settings):
    _rates(settings, website_action="1000/hour", website_action_site="1000/hour")
    website = _live(owner_api, mailoutbox)
    member = _waiting_client(user.username)

    answers = [member.post(f"{API}{website.pk}/reset") for _ in range(30)]

    assert {a.status_code for a in answers} == {202}
    assert all(a.json()["id"] == website.pk and a.json()["status"] == "live" for a in answers)
    assert _queued(Operation.Kind.WEBAPP_RESET, website) == 1
    run_lane()
    assert len(emulator.log("app install")) == 2  # the install, and one reset

    # Once it has run, a reset is a new one.
    assert member.post(f"{API}{website.pk}/reset").status_code == 202
    assert _queued(Operation.Kind.WEBAPP_RESET, website) == 2


def test_thirty_new_sftp_passwords_in_a_row_queue_one_and_mail_the_one_that_was_set(
    owner_api, user, mailoutbox, emulator, settings, django_capture_on_commit_callbacks
):
    _rates(settings, website_action="1000/hour", website_action_site="1000/hour")
    website = _live(owner_api, mailoutbox)
    member = _waiting_client(user.username)
    before = len(mailoutbox)

    answers = [member.post(f"{API}{website.pk}/sftp-password") for _ in range(30)]
    with django_capture_on_commit_callbacks(execute=True):
        run_lane()

    assert {a.status_code for a in answers} == {202}
    assert _queued(Operation.Kind.APP_CONFIG_SET, website) == 1
    [mail] = mailoutbox[before:]
    password = mail.body.split("is:\n\n", 1)[1].split("\n", 1)[0]
    [app] = emulator.state()["apps"]
    assert app["settings"]["password_sha256"] == sha256(password)


def test_the_admin_reset_action_does_not_queue_a_second_reset(
    owner_api, user, mailoutbox, emulator, admin_client, settings
):
    website = _live(owner_api, mailoutbox)
    services.website_reset(website=website)  # waiting on the lane (nothing runs it here)

    answer = admin_client.post(ADMIN_LIST, {"action": "reset", "_selected_action": [website.pk]}, follow=True)

    assert f"Reset queued: {SITE}." in answer.content.decode()
    assert _queued(Operation.Kind.WEBAPP_RESET, website) == 1


# --- throttles ----------------------------------------------------------------------------------


def test_reset_and_sftp_password_are_limited_per_site(owner_api, user, mailoutbox, emulator, settings):
    _rates(settings, website_action="100/hour", website_action_site="3/hour")
    website = _live(owner_api, mailoutbox)
    member = _waiting_client(user.username)

    statuses = [
        member.post(f"{API}{website.pk}/{action}").status_code for action in ("reset", "sftp-password", "reset")
    ]
    refused = member.post(f"{API}{website.pk}/sftp-password")

    assert statuses == [202, 202, 202]
    assert refused.status_code == 429
    assert refused.json() == {"error": refused.json()["error"], "code": "throttled"}
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert _queued(Operation.Kind.APP_CONFIG_SET, website) == 1


def test_reset_is_limited_per_member_across_their_sites(user, mailoutbox, emulator, owner_api, settings):
    user.tier = TierFactory.create(slug="plus", max_websites=3, custom_domains=True)
    user.save()
    _rates(settings, website_action="5/hour", website_action_site="3/hour")
    first = _live(owner_api, mailoutbox, f"one.{settings.YUNOHOST_DOMAIN}")
    second = _live(owner_api, mailoutbox, f"two.{settings.YUNOHOST_DOMAIN}")
    member = _waiting_client(user.username)

    on_first = [member.post(f"{API}{first.pk}/reset").status_code for _ in range(4)]
    on_second = [member.post(f"{API}{second.pk}/reset").status_code for _ in range(2)]

    assert on_first == [202, 202, 202, 429]  # the site's limit
    # The member's: every request the member's limit let through counts, 4 + 1.
    assert on_second == [202, 429]
    assert member.post(f"{API}{second.pk}/reset").json()["code"] == "throttled"


def test_another_member_cannot_spend_a_sites_limit(user, other_user, mailoutbox, emulator, owner_api, settings):
    _rates(settings, website_action="100/hour", website_action_site="2/hour")
    website = _live(owner_api, mailoutbox)
    intruder = _waiting_client(other_user.username)

    assert [intruder.post(f"{API}{website.pk}/reset").status_code for _ in range(5)] == [404] * 5
    assert _waiting_client(user.username).post(f"{API}{website.pk}/reset").status_code == 202


def test_staff_are_not_limited(owner_api, user, staff_user, mailoutbox, emulator, settings):
    _rates(settings, website_action="1/hour", website_action_site="1/hour")
    website = _live(owner_api, mailoutbox)
    staff = _waiting_client(staff_user.username)

    assert [staff.post(f"{API}{website.pk}/reset").status_code for _ in range(3)] == [202] * 3
    assert _queued(Operation.Kind.WEBAPP_RESET, website) == 1


def test_verify_domain_is_limited_per_site_and_per_member(user, settings):
    user.tier = TierFactory.create(slug="plus", max_websites=3, custom_domains=True)
    user.save()
    # A domain under the main one: verified without a look-up, so only the limits are at play.
    first = services.website_request(owner=user, domain=f"one.{settings.YUNOHOST_DOMAIN}")
    second = services.website_request(owner=user, domain=f"two.{settings.YUNOHOST_DOMAIN}")
    _rates(settings, verify_domain="4/min", verify_domain_site="2/min")
    member = _waiting_client(user.username)

    on_first = [member.post(f"{API}{first.pk}/verify-domain").status_code for _ in range(3)]
    on_second = [member.post(f"{API}{second.pk}/verify-domain") for _ in range(2)]

    assert on_first == [200, 200, 429]  # the site's limit
    # The member's: every request the member's limit let through counts, 3 + 1.
    assert [r.status_code for r in on_second] == [200, 429]
    assert on_second[1].json()["code"] == "throttled" and int(on_second[1]["Retry-After"]) <= 60
