"""The legacy website routes: /create_website, /confirm_site, /website_being_made."""

from __future__ import annotations

import pytest
from django.test import Client

from provisioning.models import Operation
from websites.models import Website
from websites.tests.conftest import SITE, confirm_path, run_lane

pytestmark = pytest.mark.django_db
OK = {"message": "Website setup confirmation link sent"}


def test_create_website_answers_the_seeds_message_and_mails_both_addresses(owner_api, user, mailoutbox):
    response = owner_api.post("/create_website", {"domain": SITE, "sftp_access": True})

    assert response.status_code == 200 and response.json() == OK
    [mail] = mailoutbox
    assert set(mail.to) == {user.email, "alice@blahaj.land"}
    assert "/confirm_site?token=" in mail.body and "2 hours" in mail.body
    assert Website.objects.get().kind == "sftp"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"domain": "alice.example.org"}, 468, "domain_not_allowed"),
        ({"domain": SITE, "git_url": "http://github.com/a/b"}, 400, "git_url_invalid"),
        ({"domain": SITE, "git_url": "https://github.com/a/b?token=1"}, 400, "git_url_invalid"),
        ({"domain": "ALICE.blahaj.land"}, 400, "domain_invalid"),
        ({}, 400, "invalid"),
        ({"domain": 5}, 400, "invalid"),
    ],
)
def test_create_website_refusals_have_the_seeds_codes(owner_api, body, status, code):
    response = owner_api.post("/create_website", body)

    assert response.status_code == status, response.content
    assert response.json()["code"] == code and response.json()["error"].isascii()
    assert not Website.objects.exists()


def test_create_website_limit_reached_is_a_409(owner_api):
    assert owner_api.post("/create_website", {"domain": SITE}).status_code == 200

    response = owner_api.post("/create_website", {"domain": "alice2.blahaj.land"})

    assert response.status_code == 409 and response.json()["code"] == "website_limit_reached"


def test_staff_may_name_the_owner_and_a_member_may_not(staff_api, other_api, user):
    assert staff_api.post("/create_website", {"domain": SITE, "username": "alice"}).json() == OK
    assert Website.objects.get().owner == user

    missing = staff_api.post("/create_website", {"domain": "x.blahaj.land", "username": "nobody"})
    assert missing.status_code == 404 and missing.json()["error"] == "User not found"
    refused = other_api.post("/create_website", {"domain": "y.blahaj.land", "username": "alice"})
    assert refused.status_code == 403


def test_create_website_needs_a_token_and_answers_json(api_client):
    response = api_client.post("/create_website", {"domain": SITE}, format="json")

    assert response.status_code == 401 and response["Content-Type"] == "application/json"


def test_confirm_site_redirects_queues_once_and_a_second_use_says_already_confirmed(owner_api, mailoutbox, emulator):
    owner_api.post("/create_website", {"domain": SITE})
    path = confirm_path(mailoutbox)

    first = Client().get(path)
    second = Client().get(path)

    assert first.status_code == second.status_code == 302
    assert first["Location"].startswith("/website_being_made?site=") and "already" not in first["Location"]
    assert "already=1" in second["Location"]
    assert Operation.objects.filter(kind="domain.add").count() == 1
    run_lane()
    assert Website.objects.get().status == "live"


def test_confirm_site_without_or_with_a_bad_token(db):
    missing = Client().get("/confirm_site")
    bad = Client().get("/confirm_site?token=nope")

    assert missing.status_code == 400 and missing.json()["error"] == "Token not provided"
    assert bad.status_code == 400 and "This link is invalid" in bad.content.decode()


def test_website_being_made_without_a_site_says_where_to_look(db):
    response = Client().get("/website_being_made")

    assert response.status_code == 200 and "confirmation email" in response.content.decode()
