"""Invitations by email: staff and, with REFERRALS_USER_CODES, members
invite an address; the emailed link opens the sign-up page for it, confirms it, skips approval
and records the referral; it expires, is used once and can be cancelled."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from conftest import PASSWORD, login, verified_login
from invitations.models import Invitation
from provisioning.models import Operation
from testing import running_fake_discord
from tiers.models import ReferralCode, Tier

from .conftest import link_path, links

INVITATIONS = "/api/invitations/"


@pytest.fixture
def fake_discord(settings):
    with running_fake_discord(settings) as fake:
        yield fake


@pytest.fixture
def lane_off(monkeypatch):
    from provisioning import tasks

    monkeypatch.setattr(tasks.run_operation, "apply_async", lambda *args, **kwargs: None)


def signed_in(api, username: str):
    tokens = login(api.client, username)
    api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return api


@pytest.fixture
def staff_api(api, staff_user):
    return signed_in(api, "carol")


def invite(client, email: str = "dana@example.org", **body):
    return client.post(INVITATIONS, {"email": email, **body})


def token_of(message) -> str:
    return parse_qs(urlsplit(links(message)[0]).query)["invite"][0]


def dana_body(token: str, **extra) -> dict:
    return {
        "username": "dana",
        "display_name": "Dana Scully",
        "email": "dana@example.org",
        "password": PASSWORD,
        "invitation": token,
        **extra,
    }


def test_staff_invite_and_the_invitee_gets_a_one_time_link(staff_api, mailoutbox, settings):
    response = invite(staff_api, note="Welcome!")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "dana@example.org" and body["state"] == "pending" and body["inviter"] == "carol"
    (message,) = mailoutbox
    assert message.to == ["dana@example.org"]
    assert "Welcome!" in message.body
    assert link_path(message).startswith("/signup/?invite=")
    invitation = Invitation.objects.get()
    token = token_of(message)
    assert invitation.digest == Invitation.digest_of(token) and token not in invitation.digest
    assert invitation.expires_at - invitation.created_at == timedelta(seconds=settings.INVITATIONS_TTL)
    owner = invitation.referral_code.owner
    assert invitation.referral_code.max_uses == 1 and owner is not None and owner.username == "carol"


def test_the_invited_sign_up_needs_no_confirmation_nor_approval(
    staff_api, api, mailoutbox, settings, fake_discord, lane_off
):
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    gold = Tier.objects.create(slug="gold", name="Gold")
    invite(staff_api, tier="gold")
    token = token_of(mailoutbox[-1])
    mailoutbox.clear()
    api.client.credentials()

    response = api.post("/api/user/register", dana_body(token))

    assert response.status_code == 201, response.content
    dana = User.objects.get(username="dana")
    assert dana.status == User.Status.PROVISIONING and dana.confirmed_at is not None
    assert dana.tier == gold
    invitation = Invitation.objects.get()
    assert dana.referral_code == invitation.referral_code  # who invited whom: the referral
    assert invitation.invitee == dana and invitation.used_at is not None
    assert Operation.objects.filter(subject="user:dana").exists()
    # No confirmation email; the inviter hears of it, staff on Discord.
    (told,) = mailoutbox
    assert told.to == ["carol@example.org"] and "dana" in told.body
    assert [entry["json"]["content"] for entry in fake_discord.received] == [
        "<@&987654321> [invitation_used] dana signed up with an invitation from carol."
    ]


def test_an_invitation_works_once(staff_api, api, mailoutbox, lane_off):
    invite(staff_api)
    token = token_of(mailoutbox[-1])
    assert api.post("/api/user/register", dana_body(token)).status_code == 201

    again = api.post("/api/user/register", dana_body(token, username="dana2", email="dana@example.org"))

    assert again.status_code == 400
    assert again.json()["code"] == "invitation_used"


def test_the_invitation_is_for_its_address_only(staff_api, api, mailoutbox):
    invite(staff_api)

    response = api.post("/api/user/register", dana_body(token_of(mailoutbox[-1]), email="eve@example.org"))

    assert response.status_code == 400
    assert "another address" in response.json()["fields"]["email"][0]
    assert not User.objects.filter(username="dana").exists()


def test_an_invitation_code_cannot_be_typed_as_a_referral_code(staff_api, api, mailoutbox):
    invite(staff_api)
    code = Invitation.objects.get().referral_code.code

    response = api.post("/api/user/register", {**dana_body(""), "referral_code": code})

    assert response.status_code == 400
    assert response.json()["code"] == "referral_code_invalid"


def test_an_expired_invitation_is_refused(staff_api, api, mailoutbox, settings):
    invite(staff_api)
    token = token_of(mailoutbox[-1])

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.INVITATIONS_TTL + 1)):
        response = api.post("/api/user/register", dana_body(token))

    assert response.status_code == 400
    assert response.json()["code"] == "invitation_expired"


def test_cancelling_kills_the_link_and_its_code(staff_api, api, mailoutbox):
    invite(staff_api)
    invitation = Invitation.objects.get()

    response = staff_api.post(f"{INVITATIONS}{invitation.pk}/cancel")

    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assert not ReferralCode.objects.get(pk=invitation.referral_code_id).is_active
    refused = api.post("/api/user/register", dana_body(token_of(mailoutbox[-1])))
    assert refused.json()["code"] == "invitation_cancelled"
    assert staff_api.client.delete(f"{INVITATIONS}{invitation.pk}/").status_code == 409


def test_delete_cancels_too(staff_api):
    invite(staff_api)
    invitation = Invitation.objects.get()

    assert staff_api.client.delete(f"{INVITATIONS}{invitation.pk}/").status_code == 204
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None


def test_inviting_a_known_address_is_a_conflict_that_names_nobody(staff_api, user, mailoutbox):
    response = invite(staff_api, email="ALICE@example.org")

    assert response.status_code == 409
    assert response.json() == {"error": "An account already uses this address.", "code": "email_taken"}
    assert mailoutbox == []


def test_staff_list_and_filter_by_state(staff_api):
    invite(staff_api)
    invite(staff_api, email="eve@example.org")
    staff_api.post(f"{INVITATIONS}{Invitation.objects.get(email='eve@example.org').pk}/cancel")

    pending = staff_api.get(INVITATIONS, {"state": "pending"}).json()["results"]

    assert [row["email"] for row in pending] == ["dana@example.org"]
    assert staff_api.get(INVITATIONS).json()["count"] == 2
    assert staff_api.get(INVITATIONS, {"state": "bogus"}).status_code == 400


def test_members_cannot_invite_unless_referrals_are_on(api, user):
    member = signed_in(api, "alice")

    assert invite(member).status_code == 403


def test_members_invite_within_their_tier_cap(api, user, other_user, settings, mailoutbox):
    settings.REFERRALS_USER_CODES = True
    Tier.objects.filter(pk=user.tier_id).update(max_referral_codes=2)
    member = signed_in(api, "alice")

    assert invite(member, email="a@example.org").status_code == 201
    assert invite(member, email="b@example.org").status_code == 201
    third = invite(member, email="c@example.org")

    assert third.status_code == 429
    assert third.json()["code"] == "invitation_limit"
    assert invite(member, email="d@example.org", tier="starter").status_code == 403
    # A member sees only their own.
    assert member.get(INVITATIONS).json()["count"] == 2
    signed_in(api, "bob")
    assert api.get(INVITATIONS).json()["count"] == 0


def test_members_are_rate_limited(api, user, settings):
    settings.REFERRALS_USER_CODES = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "invite": "1/hour"},
    }
    member = signed_in(api, "alice")

    assert invite(member, email="a@example.org").status_code == 201
    assert invite(member, email="b@example.org").status_code == 429


# --- the page ---------------------------------------------------------------------------------


def test_the_link_opens_a_pre_filled_form(staff_api, web, mailoutbox):
    invite(staff_api)

    page = web.get(link_path(mailoutbox[-1]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="dana@example.org"' in html and "readonly" in html
    assert "You were invited" in html


def test_the_invited_page_sign_up_goes_straight_to_provisioning(staff_api, web, mailoutbox, lane_off):
    invite(staff_api)
    token = token_of(mailoutbox[-1])

    page = web.post("/signup/", dana_body(token))

    assert page.status_code == 302, page.content
    assert "We are creating your account now" in web.get(page["Location"]).content.decode()
    assert User.objects.get(username="dana").status == User.Status.PROVISIONING


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        ("cancel", "was cancelled"),
        ("use", "already been used"),
        ("expire", "has expired"),
        ("typo", "not valid"),
    ],
)
def test_a_dead_link_says_why_and_offers_the_normal_sign_up(staff_api, web, mailoutbox, spoil, words):
    invite(staff_api)
    token = token_of(mailoutbox[-1])
    invitation = Invitation.objects.get()
    if spoil == "cancel":
        invitation.cancelled_at = timezone.now()
    elif spoil == "use":
        invitation.used_at = timezone.now()
    elif spoil == "expire":
        invitation.expires_at = timezone.now()
    else:
        token += "x"
    invitation.save()

    page = web.get(f"/signup/?invite={token}")

    html = page.content.decode()
    assert page.status_code == 200
    assert words in html
    assert 'name="email"' in html and "readonly" not in html


# --- languages --------------------------------------------------------------------------------


def test_an_invitation_speaks_the_language_of_the_request_that_sent_it(staff_api, mailoutbox):
    staff_api.post(INVITATIONS, {"email": "dana@example.org", "note": "Bienvenue !"}, HTTP_ACCEPT_LANGUAGE="fr")
    staff_api.post(INVITATIONS, {"email": "erin@example.org"}, HTTP_ACCEPT_LANGUAGE="en")

    french, english = mailoutbox
    assert french.to == ["dana@example.org"]
    assert french.subject == "Vous êtes invité·e sur blahaj.land"
    assert french.extra_headers["Content-Language"] == "fr"
    assert french.body.startswith("Bonjour,\n\nL’équipe blahaj.land vous invite à créer un compte sur blahaj.land")
    assert "Note jointe : Bienvenue !" in french.body
    html = french.alternatives[0][0]
    assert '<html lang="fr">' in html and "Créer mon compte" in html
    assert link_path(french).startswith("/signup/?invite=")

    assert english.subject == "You are invited to blahaj.land"
    assert english.extra_headers["Content-Language"] == "en"
    assert english.body.startswith("Hello,\n\nThe blahaj.land team invites you to create an account on blahaj.land")


def test_the_invitation_task_carries_the_language_code_and_no_secret(staff_api, django_capture_on_commit_callbacks):
    from blahaj.models import OutboxMessage

    with django_capture_on_commit_callbacks(execute=False):
        staff_api.client.post(INVITATIONS, {"email": "dana@example.org"}, format="json", HTTP_ACCEPT_LANGUAGE="fr")

    (message,) = OutboxMessage.objects.filter(task="accounts.tasks.send_invitation")
    assert message.args == [Invitation.objects.get().pk, "fr"]


def test_an_invitation_queued_without_a_language_is_english(
    staff_api, mailoutbox, tasks_inline, django_capture_on_commit_callbacks
):
    from invitations import tasks

    with django_capture_on_commit_callbacks(execute=False):  # queued, not sent
        staff_api.client.post(INVITATIONS, {"email": "dana@example.org"}, format="json", HTTP_ACCEPT_LANGUAGE="fr")
    tasks.send_invitation.apply(args=(Invitation.objects.get().pk,))  # a message from before the language

    (message,) = mailoutbox
    assert message.subject == "You are invited to blahaj.land"


# --- the admin --------------------------------------------------------------------------------


def test_staff_invite_and_cancel_from_the_admin(
    client, make_user, mailoutbox, django_capture_on_commit_callbacks, tasks_inline
):
    admin_user = make_user("root", is_staff=True, is_superuser=True)
    verified_login(client, admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/invitations/invitation/add/", {"email": "dana@example.org", "note": "hi", "tier": ""}
        )

    assert response.status_code == 302, response.content
    invitation = Invitation.objects.get()
    assert invitation.inviter == admin_user and len(mailoutbox) == 1
    listing = client.get("/admin/invitations/invitation/")
    assert listing.status_code == 200 and b"dana@example.org" in listing.content

    response = client.post(
        "/admin/invitations/invitation/",
        {"action": "cancel_invitations", "_selected_action": [invitation.pk]},
    )

    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == "cancelled"


def test_the_admin_refuses_an_address_with_an_account(client, make_user, user):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))

    response = client.post("/admin/invitations/invitation/add/", {"email": "alice@example.org", "note": "", "tier": ""})

    assert response.status_code == 200
    assert b"An account already uses this address." in response.content
    assert not Invitation.objects.exists()
