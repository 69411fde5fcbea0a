"""Sign-up options: terms of service (ACCOUNTS_TERMS_URL) and a note to the admins."""

from __future__ import annotations

import pytest

from accounts.models import User
from conftest import staff_access, verified_login
from testing import running_fake_discord

from .conftest import link_path

TERMS = "https://blahaj.land/terms"


@pytest.fixture
def terms(settings):
    settings.ACCOUNTS_TERMS_URL = TERMS
    settings.ACCOUNTS_TERMS_VERSION = "2026-11"


def test_without_terms_nothing_changes(api, signup_body):
    assert api.post("/api/user/register", signup_body).status_code == 201
    dana = User.objects.get(username="dana")
    assert dana.terms_accepted_at is None and dana.terms_version == ""


def test_with_terms_the_api_requires_acceptance(api, signup_body, terms):
    response = api.post("/api/user/register", signup_body)

    assert response.status_code == 400
    assert response.json()["code"] == "terms_not_accepted"
    assert "accept_terms" in response.json()["fields"]
    assert not User.objects.exists()


def test_accepted_terms_are_recorded(api, signup_body, terms):
    response = api.post("/api/user/register", {**signup_body, "accept_terms": True})

    assert response.status_code == 201
    dana = User.objects.get(username="dana")
    assert dana.terms_accepted_at is not None and dana.terms_version == "2026-11"


def test_the_page_asks_for_the_terms_with_a_link(web, signup_body, terms):
    page = web.get("/signup/")
    assert f'href="{TERMS}"' in page.content.decode()
    assert 'name="accept_terms"' in page.content.decode()

    refused = web.post("/signup/", signup_body)

    assert refused.status_code == 400
    assert (
        'id="id_accept_terms_error"' in refused.content.decode()
        or "Please accept the terms" in refused.content.decode()
    )
    assert web.post("/signup/", {**signup_body, "accept_terms": "on"}).status_code == 302
    assert User.objects.get(username="dana").terms_version == "2026-11"


def test_the_page_has_no_terms_box_without_terms(web):
    assert 'name="accept_terms"' not in web.get("/signup/").content.decode()


def test_the_terms_are_shown_in_the_admin(client, make_user, api, signup_body, terms):
    api.post("/api/user/register", {**signup_body, "accept_terms": True})
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))

    page = client.get(f"/admin/accounts/user/{User.objects.get(username='dana').pk}/change/")

    assert page.status_code == 200
    assert b"2026-11" in page.content
    assert b'name="terms_version"' not in page.content  # read-only


# --- a note to the admins ---------------------------------------------------------------------

NOTE = "Hi <b>admins</b> @everyone <@&987654321> I knit sharks."


def test_the_note_is_stored_and_capped(api, signup_body):
    assert api.post("/api/user/register", {**signup_body, "note": "x" * 501}).status_code == 400
    assert api.post("/api/user/register", {**signup_body, "note": NOTE}).status_code == 201
    assert User.objects.get(username="dana").signup_note == NOTE


def test_the_note_reaches_discord_as_text_that_pings_nobody(api, web, signup_body, settings, mailoutbox):
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    with running_fake_discord(settings) as fake:
        api.post("/api/user/register", {**signup_body, "note": NOTE})
        web.get(link_path(mailoutbox[-1]))

    (entry,) = fake.received
    content = entry["json"]["content"]
    assert content.startswith("<@&987654321> [signup_waiting] dana (Dana Scully)")
    assert content.endswith(
        "Their note: Hi <b\\>admins</b\\> @\u200beveryone <@\u200b&\u200b987654321\\> I knit sharks."
    )
    assert content.count("<@&987654321>") == 1  # the admin role, pinged once, by us
    assert entry["json"]["allowed_mentions"] == {"parse": [], "roles": ["987654321"]}


def test_the_note_is_escaped_in_the_admin_and_shown_in_the_staff_api(client, make_user, api, signup_body, staff_user):
    api.post("/api/user/register", {**signup_body, "note": NOTE})
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))

    listing = client.get("/admin/accounts/user/")
    detail = client.get(f"/admin/accounts/user/{User.objects.get(username='dana').pk}/change/")

    for page in (listing, detail):
        assert b"Hi &lt;b&gt;admins&lt;/b&gt;" in page.content
        assert b"<b>admins</b>" not in page.content
    from rest_framework.test import APIClient

    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_access(staff_user)}")
    assert staff.get("/api/users/dana").json()["signup_note"] == NOTE


def test_the_page_takes_a_note(web, signup_body):
    assert web.post("/signup/", {**signup_body, "note": NOTE}).status_code == 302
    assert User.objects.get(username="dana").signup_note == NOTE
