"""Asking for a website: the contract's rules, refused before anything is recorded or queued."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.models import Operation
from websites.models import Website
from websites.tests.conftest import SITE, confirmation_token, run_lane

API = "/api/websites/"
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("domain", "code", "words"),
    [
        ("Alice.blahaj.land", "domain_invalid", "lower case"),
        ("alice.blahaj.land.", "domain_invalid", "trailing dot"),
        ("*.blahaj.land", "domain_invalid", "wildcard"),
        ("xmpp-upload.alice.org", "domain_invalid", "xmpp-upload"),
        ("alice..blahaj.land", "domain_invalid", "not a valid domain"),
        ("-alice.blahaj.land", "domain_invalid", "not a valid domain"),
        ("alice.example.org", "domain_not_allowed", "tier allows only"),
        ("a.b.blahaj.land", "domain_not_allowed", "one label"),
        ("blahaj.land", "domain_not_allowed", "tier allows only"),
        ("www.blahaj.land", "domain_not_allowed", "reserved"),
    ],
)
def test_a_domain_the_tier_or_yunohost_refuses_is_a_400_and_nothing_is_queued(owner_api, domain, code, words):
    response = owner_api.post(API, {"domain": domain})

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and words in body["error"].lower()
    assert not Website.objects.exists() and not Operation.objects.exists()


@pytest.mark.parametrize(
    ("git_url", "words"),
    [
        ("http://github.com/a/b", "https"),
        ("git@github.com:a/b.git", "https"),
        ("https://user:secret@github.com/a/b", "credentials"),
        ("https://github.com/a/b?x=1", "query"),
        ("https://github.com/a/b#main", "query"),
        ("https://evil.example/a/b", "one of"),
        ("https://github.com:8443/a/b", "one of"),
        ("https://github.com", "path"),
        ("", "needs one"),
    ],
)
def test_a_git_url_outside_the_rules_is_a_400(owner_api, git_url, words):
    response = owner_api.post(API, {"domain": SITE, "kind": "git", "git_url": git_url})

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "git_url_invalid" and words in response.json()["error"].lower()
    assert "secret" not in response.content.decode()
    assert not Website.objects.exists()


def test_an_idn_is_stored_as_punycode(owner_api, user, plus_tier):
    user.tier = plus_tier
    user.save()

    response = owner_api.post(API, {"domain": "bücher.example"})

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["domain"] == "xn--bcher-kva.example"
    assert body["verification"]["record"] == "_blahaj-verify.xn--bcher-kva.example"
    assert body["status"] == "pending_confirmation"


def test_the_starter_tier_allows_one_site_and_a_deleted_one_does_not_count(owner_api, emulator):
    first = owner_api.post(API, {"domain": SITE})
    second = owner_api.post(API, {"domain": "alice2.blahaj.land"})

    assert first.status_code == 202
    assert second.status_code == 409 and second.json()["code"] == "website_limit_reached"
    assert owner_api.delete(f"{API}{first.json()['id']}").status_code == 202  # not confirmed: at once
    assert owner_api.post(API, {"domain": "alice2.blahaj.land"}).status_code == 202


def test_a_taken_domain_is_a_409_whoever_asks(owner_api, other_api):
    assert owner_api.post(API, {"domain": SITE}).status_code == 202

    response = other_api.post(API, {"domain": SITE})

    assert response.status_code == 409 and response.json()["code"] == "domain_taken"


def test_owners_see_their_own_sites_and_staff_see_all(owner_api, other_api, staff_api):
    mine = owner_api.post(API, {"domain": SITE}).json()
    other_api.post(API, {"domain": "bob.blahaj.land"})

    assert [w["domain"] for w in owner_api.get(API).json()["results"]] == [SITE]
    assert other_api.get(f"{API}{mine['id']}").status_code == 404
    assert other_api.delete(f"{API}{mine['id']}").status_code == 404
    assert other_api.post(f"{API}{mine['id']}/reset").status_code == 404
    assert sorted(w["domain"] for w in staff_api.get(API).json()["results"]) == ["alice.blahaj.land", "bob.blahaj.land"]
    fields = set(owner_api.get(f"{API}{mine['id']}").json())
    assert {"id", "domain", "kind", "git_url", "status", "sftp_username", "verification", "created_at"} <= fields


def test_a_confirmation_link_works_once(owner_api, mailoutbox, emulator):
    created = owner_api.post(API, {"domain": SITE}).json()
    token = confirmation_token(mailoutbox)
    confirm = f"{API}{created['id']}/confirm"

    assert owner_api.post(confirm, {"token": "nope"}).status_code == 400
    first = owner_api.post(confirm, {"token": token})
    second = owner_api.post(confirm, {"token": token})

    assert first.status_code == second.status_code == 202
    assert Operation.objects.filter(kind="domain.add").count() == 1


def test_an_expired_confirmation_link_is_a_410(owner_api, mailoutbox, time_machine):
    created = owner_api.post(API, {"domain": SITE}).json()
    token = confirmation_token(mailoutbox)
    time_machine.move_to(timezone.now() + timedelta(seconds=2 * 3600 + 1))

    response = owner_api.post(f"{API}{created['id']}/confirm", {"token": token})

    assert response.status_code == 410 and response.json()["code"] == "token_expired"
    assert not Operation.objects.exists()


def test_reset_and_password_need_a_live_site(owner_api):
    created = owner_api.post(API, {"domain": SITE}).json()

    for action in ("reset", "sftp-password"):
        response = owner_api.post(f"{API}{created['id']}/{action}")
        assert response.status_code == 409 and response.json()["code"] == "website_not_live"


def test_an_ssg_site_is_installed_with_an_sftp_login_kept_for_its_deploys(
    owner_api, mailoutbox, emulator, staff_notes, settings
):
    settings.DISCORD_WEBHOOK_URL = "https://discord.example/hook"
    created = owner_api.post(API, {"domain": SITE, "kind": "ssg", "git_url": "https://codeberg.org/alice/site"})
    assert created.status_code == 202, created.content
    owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    run_lane()

    website = Website.objects.get()
    assert website.status == "live" and website.sftp_username == ""  # the owner is given no SFTP login
    assert emulator.state()["apps"][0]["settings"]["with_sftp"] == 1  # the deploys publish through it
    assert website.publication.sftp_password and website.pending_password == ""
    events = [event for event, _ in staff_notes]
    assert events[:1] == ["website_requested"] and "ssg_setup_needed" not in events and "website_live" in events
    assert not [m for m in mailoutbox if "SFTP password" in m.subject]


def test_a_token_confirms_only_its_own_site(owner_api, other_api, mailoutbox):
    mine = owner_api.post(API, {"domain": SITE}).json()
    token = confirmation_token(mailoutbox)
    theirs = other_api.post(API, {"domain": "bob.blahaj.land"}).json()

    response = owner_api.post(f"{API}{theirs['id']}/confirm", {"token": token})

    assert response.status_code == 400 and response.json()["code"] == "token_invalid"
    assert Website.objects.get(pk=mine["id"]).confirmed_at is None
    assert not Operation.objects.exists()
