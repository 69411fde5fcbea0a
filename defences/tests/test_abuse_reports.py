"""Abuse reports: the public page and API, staff told on Discord, assigned and resolved in
the staff API and the admin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from defences.models import AbuseReport
from factories import UserFactory
from testing import FakeDiscord, running_fake_discord

from .test_defences_challenge import fresh, solved

REPORTS = "/api/abuse-reports/"
PAGE = "/abuse/"
NASTY = "<script>alert(1)</script> @everyone <@&42> **bold**"


@pytest.fixture
def fake_discord(settings) -> Iterator[FakeDiscord]:
    with running_fake_discord(settings) as fake:
        yield fake


def report_body(**changes: str) -> dict:
    return {"target": "phish.example", "reason": "phishing", "details": "A fake bank login.", **changes}


def test_anyone_files_a_report_and_staff_hear_of_it(api, fake_discord):
    response = api.post(REPORTS, report_body(details=NASTY, reply_to="me@example.org"))

    assert response.status_code == 201
    assert response.json() == {"status": "success"}
    report = AbuseReport.objects.get()
    assert (report.target, report.reason, report.details, report.reply_to, report.status) == (
        "phish.example",
        "phishing",
        NASTY,
        "me@example.org",
        "open",
    )
    (posted,) = fake_discord.received
    content = posted["json"]["content"]
    assert f"Abuse report #{report.pk} (Phishing or fraud) about phish.example:" in content
    # Neutralised: the reporter's words ping nobody and carry no Markdown.
    assert "@everyone" not in content and "<@&42>" not in content and "\\*\\*bold\\*\\*" in content
    assert posted["json"]["allowed_mentions"]["parse"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (report_body(reason="boring"), "reason"),
        (report_body(details=""), "details"),
        (report_body(reply_to="not-an-address"), "reply_to"),
        ({"reason": "spam", "details": "x"}, "target"),
    ],
)
def test_a_bad_report_is_a_400(api, body, field):
    response = api.post(REPORTS, body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not AbuseReport.objects.exists()


def test_a_flood_of_reports_from_one_address_is_a_429(api, rates):
    rates(abuse_report="2/hour")
    assert [api.post(REPORTS, report_body()).status_code for _ in range(3)] == [201, 201, 429]
    assert AbuseReport.objects.count() == 2


def test_the_api_asks_for_the_challenge_when_told(api, settings):
    settings.SIGNUP_CHALLENGE = "altcha"
    settings.SIGNUP_CHALLENGE_API = True
    settings.SIGNUP_CHALLENGE_MAX_NUMBER = 2000
    refused = api.post(REPORTS, report_body())
    assert refused.status_code == 400
    assert refused.json()["code"] == "challenge_failed"
    assert api.post(REPORTS, report_body(challenge=solved(fresh(api)))).status_code == 201
    assert AbuseReport.objects.count() == 1


def test_the_page_files_a_report_with_the_challenge(web, api, settings):
    settings.SIGNUP_CHALLENGE = "altcha"
    settings.SIGNUP_CHALLENGE_MAX_NUMBER = 2000
    page = web.get(PAGE).content.decode()
    assert 'data-challenge=""' in page and "needs JavaScript" in page and "csrfmiddlewaretoken" in page

    refused = web.post(PAGE, report_body())
    assert refused.status_code == 400
    assert not AbuseReport.objects.exists()

    response = web.post(PAGE, report_body(challenge=solved(fresh(api))))
    assert response.status_code == 302
    assert response["Location"] == "/abuse/sent/"
    assert AbuseReport.objects.get().target == "phish.example"


def test_the_page_honeypot_keeps_nothing(web):
    response = web.post(PAGE, report_body(homepage="http://spam.example"))
    assert response.status_code == 302
    assert not AbuseReport.objects.exists()


def test_the_page_needs_the_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    assert client.post(PAGE, report_body()).status_code == 403
    assert not AbuseReport.objects.exists()


def test_the_page_escapes_what_it_shows_back(web):
    response = web.post(PAGE, report_body(target=NASTY, reply_to="bad"))
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert "&lt;script&gt;" in response.content.decode()


def test_staff_list_assign_and_resolve(staff_client, staff_user, api):
    api.post(REPORTS, report_body())
    api.post(REPORTS, report_body(target="bob", reason="spam"))
    spam = AbuseReport.objects.get(reason="spam")

    listed = staff_client.get(REPORTS, {"status": "open", "reason": "spam"})
    assert listed.status_code == 200
    assert [row["target"] for row in listed.json()["results"]] == ["bob"]
    assert staff_client.get(REPORTS, {"colour": "red"}).status_code == 400

    assigned = staff_client.patch(f"{REPORTS}{spam.pk}/", {"assignee": staff_user.username}, format="json")
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == staff_user.username
    assert [row["id"] for row in staff_client.get(REPORTS, {"assignee": staff_user.username}).json()["results"]] == [
        spam.pk
    ]

    member = UserFactory.create(username="mallory")
    refused = staff_client.patch(f"{REPORTS}{spam.pk}/", {"assignee": member.username}, format="json")
    assert refused.status_code == 400 and "assignee" in refused.json()["fields"]

    resolved = staff_client.patch(
        f"{REPORTS}{spam.pk}/", {"status": "resolved", "staff_note": "Site removed."}, format="json"
    )
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["status"], body["staff_note"]) == ("resolved", "Site removed.")
    assert body["resolved_at"] is not None
    assert staff_client.get(f"{REPORTS}{spam.pk}/").json()["status"] == "resolved"


def test_only_staff_read_reports(auth_client, api_client, api):
    api.post(REPORTS, report_body())
    pk = AbuseReport.objects.get().pk
    assert auth_client.get(REPORTS).status_code == 403
    assert api_client.get(REPORTS).status_code == 401
    assert auth_client.patch(f"{REPORTS}{pk}/", {"status": "resolved"}, format="json").status_code == 403
    assert AbuseReport.objects.get().status == "open"


def test_the_admin_lists_escapes_assigns_and_resolves(admin_client, admin_user, api):
    api.post(REPORTS, report_body(target=NASTY))
    report = AbuseReport.objects.get()

    listing = admin_client.get("/admin/defences/abusereport/?status__exact=open").content.decode()
    assert "&lt;script&gt;" in listing and "<script>alert(1)</script>" not in listing

    admin_client.post("/admin/defences/abusereport/", {"action": "assign_to_me", "_selected_action": [report.pk]})
    admin_client.post("/admin/defences/abusereport/", {"action": "resolve", "_selected_action": [report.pk]})
    report.refresh_from_db()
    assert (report.assignee, report.status) == (admin_user, "resolved")
    assert report.resolved_at is not None


def test_the_admin_change_form_assigns_and_resolves(admin_client, admin_user, api):
    api.post(REPORTS, report_body())
    report = AbuseReport.objects.get()

    response = admin_client.post(
        f"/admin/defences/abusereport/{report.pk}/change/",
        {"status": "resolved", "assignee": admin_user.pk, "staff_note": "Taken down."},
    )

    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.assignee, report.staff_note) == ("resolved", admin_user, "Taken down.")
    assert report.resolved_at is not None
    assert report.details == "A fake bank login."  # the reporter's words stay as sent
