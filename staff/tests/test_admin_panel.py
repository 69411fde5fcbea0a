"""The Django admin as the alternative panel: each action calls its service, says what it did,
and refuses clearly what it cannot do; the index shows what waits for staff; no page shows a
secret."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import services
from accounts import yunohost as accounts_lane
from accounts.models import OneTimeToken, User
from blahaj.crypto import encrypt
from blahaj.models import OutboxMessage
from conftest import login
from provisioning.models import Operation
from tiers.models import Tier

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"


def act(client, action: str, users: list[User], **extra) -> list[str]:
    response = client.post(USERS, {"action": action, "_selected_action": [u.pk for u in users], **extra}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def status_of(user: User) -> str:
    return User.objects.values_list("status", flat=True).get(pk=user.pk)


@pytest.fixture
def gold(db):
    return Tier.objects.create(slug="gold", name="Gold", max_websites=5, mailbox_quota="5G")


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks, tasks_inline):
    """Run what the request queued after its commit (emails), in this process."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --- the index -------------------------------------------------------------------------------


def test_the_index_counts_what_waits_for_staff_and_links_to_it(admin_client, make_user):
    make_user("erin", status=User.Status.PENDING_APPROVAL)
    make_user("finn", status=User.Status.PENDING_APPROVAL)
    make_user("gus", status=User.Status.PROVISIONING)
    failed_account = make_user("hal", status=User.Status.PROVISIONING_FAILED)
    Operation.objects.create(kind="user.create", subject="user:hal", sequence=1, status="failed", user=failed_account)
    # gus's account waits on the lane: queued 20 minutes ago (counted), and a step just now (not).
    long_ago = timezone.now() - timedelta(minutes=20)
    Operation.objects.create(kind="user.create", subject="user:gus", sequence=1, created_at=long_ago)
    Operation.objects.create(kind="user.update", subject="user:gus", sequence=2, status="running")
    # An email due 20 minutes ago that no worker took (counted), one due now (not), one failed.
    OutboxMessage.objects.create(task="accounts.tasks.send_account_email", due_at=long_ago, next_attempt_at=long_ago)
    OutboxMessage.objects.create(task="accounts.tasks.send_account_email", next_attempt_at=timezone.now())
    OutboxMessage.objects.create(task="blahaj.discord.post", status="failed")

    response = admin_client.get("/admin/")

    assert response.status_code == 200
    lines = {line.label: (line.count, line.url) for line in response.context["waiting"]}
    stuck = lines.pop("YunoHost operations waiting more than 15 minutes (is the lane's worker running?)")
    late = lines.pop(
        "Emails and notifications waiting more than 15 minutes (is the broker or the default worker down?)"
    )
    assert lines == {
        "Sign-ups waiting for approval": (2, f"{USERS}?status__exact=pending_approval"),
        "Accounts whose provisioning failed": (1, f"{USERS}?status__exact=provisioning_failed"),
        "Accounts still being provisioned": (1, f"{USERS}?status__exact=provisioning"),
        "Failed YunoHost operations (retry them from the list)": (
            1,
            "/admin/provisioning/operation/?status__exact=failed",
        ),
        "Emails and notifications that failed (publish them again from the list)": (
            1,
            "/admin/blahaj/outboxmessage/?status__exact=failed",
        ),
    }
    assert late[0] == 1
    listed = admin_client.get(late[1])
    assert listed.status_code == 200
    assert [m.due_at for m in listed.context["cl"].result_list] == [long_ago]
    assert stuck[0] == 1
    listed = admin_client.get(stuck[1])  # the admin list accepts the link's filters
    assert listed.status_code == 200
    assert [op.subject for op in listed.context["cl"].result_list] == ["user:gus"]
    assert [op.sequence for op in listed.context["cl"].result_list] == [1]
    page = response.content.decode()
    assert f'href="{USERS}?status__exact=pending_approval"' in page
    assert "<script>" not in page and "style=" not in page  # the CSP allows neither inline
    followed = admin_client.get(f"{USERS}?status__exact=pending_approval")
    assert [u.username for u in followed.context["cl"].result_list] == ["finn", "erin"]


# --- actions ---------------------------------------------------------------------------------


def test_reject_mails_the_applicant_and_deletes_the_sign_up(admin_client, make_user, mailoutbox, on_commit):
    erin = make_user("erin", status=User.Status.PENDING_APPROVAL, email="erin@example.org")
    alice = make_user("alice")

    with on_commit():
        messages = act(admin_client, "reject_accounts", [erin, alice])

    assert messages == ["alice: Only an account waiting for approval can be rejected.", "Rejected 1 account(s)."]
    assert not User.objects.filter(username="erin").exists()
    assert User.objects.filter(username="alice").exists()
    assert [m.to for m in mailoutbox] == [["erin@example.org"]]


def test_resend_confirmation_only_for_unconfirmed_accounts(admin_client, make_user, mailoutbox, on_commit):
    dana = make_user("dana", status=User.Status.PENDING_CONFIRMATION, email="dana@example.org")
    alice = make_user("alice")

    with on_commit():
        messages = act(admin_client, "resend_confirmation", [dana, alice])

    assert messages == [
        "alice: Only an account waiting for its email confirmation gets a new link.",
        "Sent a confirmation link to 1 account(s).",
    ]
    assert [m.to for m in mailoutbox] == [["dana@example.org"]]
    assert "/confirm" in mailoutbox[0].body


def test_send_reset_link_refuses_a_disabled_account(admin_client, make_user, mailoutbox, on_commit):
    alice = make_user("alice", email="alice@example.org")
    zed = make_user("zed", status=User.Status.DISABLED)

    with on_commit():
        messages = act(admin_client, "send_reset_link", [alice, zed])

    assert messages == ["zed: A disabled account cannot reset its password.", "Sent a reset link to 1 account(s)."]
    assert [m.to for m in mailoutbox] == [["alice@example.org"]]
    assert "/password-reset/" in mailoutbox[0].body


def test_change_tier_asks_which_tier_then_moves_and_queues_the_quota(admin_client, make_user, gold):
    alice, bob = make_user("alice"), make_user("bob")

    page = admin_client.post(USERS, {"action": "change_tier", "_selected_action": [alice.pk, bob.pk]})

    assert page.status_code == 200
    assert b'name="tier"' in page.content and b"Gold" in page.content
    assert User.objects.filter(tier=gold).count() == 0
    messages = act(admin_client, "change_tier", [alice, bob], apply="1", tier=gold.pk)
    assert messages == ["Moved to Gold: 2 account(s)."]
    assert User.objects.filter(tier=gold).count() == 2
    assert sorted(Operation.objects.filter(kind="user.update").values_list("subject", "args__mailbox_quota")) == [
        ("user:alice", "5G"),
        ("user:bob", "5G"),
    ]


def test_change_tier_without_a_valid_tier_shows_the_form_again(admin_client, make_user, default_tier):
    alice = make_user("alice")

    page = admin_client.post(
        USERS, {"action": "change_tier", "_selected_action": [alice.pk], "apply": "1", "tier": "99999"}
    )

    assert page.status_code == 200
    assert b"Select a valid choice" in page.content
    assert User.objects.get(pk=alice.pk).tier == default_tier


def test_revoke_tokens_logs_the_account_out(admin_client, api_client, user):
    access = login(api_client, "alice")["access"]

    messages = act(admin_client, "revoke_tokens", [user])

    assert messages == ["Revoked the tokens of 1 account(s)."]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get("/api/user/me").status_code == 401


def test_disable_locks_yunohost_and_refuses_an_account_already_disabled(admin_client, make_user):
    alice = make_user("alice", status=User.Status.PROVISIONING)
    accounts_lane.account_create(user=alice)
    zed = make_user("zed", status=User.Status.DISABLED)

    messages = act(admin_client, "disable_accounts", [alice, zed])

    assert messages == ["zed: This account is already disabled.", "Disabled 1 account(s)."]
    assert status_of(alice) == User.Status.DISABLED
    update = Operation.objects.get(kind="user.update", subject="user:alice")
    assert update.args == {"username": "alice"} and update.secret_args


def test_enable_gives_back_the_status_and_refuses_an_enabled_account(admin_client, make_user, mailoutbox, on_commit):
    alice = make_user("alice", status=User.Status.PROVISIONING, email="alice@example.org")
    accounts_lane.account_create(user=alice)
    services.user_disable(user=alice)
    bob = make_user("bob")

    with on_commit():
        messages = act(admin_client, "enable_accounts", [alice, bob])

    assert messages == ["bob: Only a disabled account can be enabled.", "Enabled 1 account(s)."]
    assert status_of(alice) == User.Status.PROVISIONING
    assert [m.to for m in mailoutbox] == [["alice@example.org"]]  # a reset link: a new password


def test_an_action_that_does_nothing_says_so(admin_client, make_user):
    alice = make_user("alice")

    messages = act(admin_client, "approve_accounts", [alice])

    assert messages == ["alice: Only an account waiting for approval can be approved.", "Approved 0 account(s)."]


def test_retry_reports_operations_it_cannot_retry(admin_client, make_user):
    alice = make_user("alice", status=User.Status.PROVISIONING_FAILED)
    failed = Operation.objects.create(kind="user.create", subject="user:alice", sequence=1, status="failed", user=alice)
    done = Operation.objects.create(
        kind="user.update", subject="user:alice", sequence=2, status="succeeded", user=alice
    )

    response = admin_client.post(
        "/admin/provisioning/operation/", {"action": "retry", "_selected_action": [failed.pk, done.pk]}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Queued 1 operation(s) again.",
        "Skipped 1 operation(s) that had not failed.",
    ]
    failed.refresh_from_db()
    assert failed.status == Operation.Status.PENDING


# --- the add form ----------------------------------------------------------------------------


def test_the_add_form_creates_through_the_service(admin_client, default_tier, mailoutbox, on_commit):
    with on_commit():
        response = admin_client.post(
            f"{USERS}add/",
            {"username": "erin", "display_name": "Erin", "email": "erin@example.org", "tier": "", "is_staff": "on"},
            follow=True,
        )

    assert response.status_code == 200
    erin = User.objects.get(username="erin")
    # The lane ran inline on the emulator: created there.
    assert (erin.status, erin.is_staff, erin.tier) == (User.Status.ACTIVE, True, default_tier)
    assert erin.confirmed_at is not None and not erin.has_usable_password()
    create = Operation.objects.get(kind="user.create")
    assert (create.subject, create.args["fullname"]) == ("user:erin", "Erin")
    assert create.status == Operation.Status.SUCCEEDED
    assert mailoutbox[0].to == ["erin@example.org"]
    assert "/password-reset/" in mailoutbox[0].body  # choose your password
    assert any("a link to choose a password was mailed" in str(m) for m in response.context["messages"])


def test_the_add_form_shows_a_taken_email_next_to_the_field(admin_client, user):
    response = admin_client.post(
        f"{USERS}add/", {"username": "erin", "display_name": "Erin", "email": user.email.upper()}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"email": ["Email already in use"]}
    assert not User.objects.filter(username="erin").exists()
    assert not Operation.objects.exists()


def test_the_add_form_refuses_an_upper_case_username(admin_client, default_tier):
    response = admin_client.post(f"{USERS}add/", {"username": "Erin", "display_name": "Erin", "email": "e@example.org"})

    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors
    assert not User.objects.filter(username__iexact="erin").exists()


# --- no secret on any page -------------------------------------------------------------------


def test_no_secret_shows_on_the_change_and_list_pages(admin_client, api_client, make_user):
    password = "a-sign-up-passphrase-42"
    sealed = encrypt(password)
    alice = make_user("alice", status=User.Status.PENDING_APPROVAL, pending_password=sealed)
    accounts_lane.account_create(user=alice)  # an operation with a secret
    operation = Operation.objects.get()
    raw_reset = services.one_time_token_issue(user=alice, purpose=OneTimeToken.Purpose.RESET)
    token = OneTimeToken.objects.get()
    make_user("bob")
    refresh = login(api_client, "bob")["refresh"]
    outstanding = OutstandingToken.objects.get(user__username="bob")
    BlacklistedToken.objects.create(token=outstanding)
    secrets = [password, sealed, operation.secret_args, raw_reset, token.digest, refresh]
    assert all(secrets)

    pages = [
        f"{USERS}{alice.pk}/change/",
        USERS,
        f"/admin/provisioning/operation/{operation.pk}/change/",
        "/admin/provisioning/operation/",
        f"/admin/accounts/onetimetoken/{token.pk}/change/",
        "/admin/accounts/onetimetoken/",
        f"/admin/token_blacklist/outstandingtoken/{outstanding.pk}/change/",
        "/admin/token_blacklist/outstandingtoken/",
        "/admin/token_blacklist/blacklistedtoken/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        body = response.content.decode()
        assert not [secret for secret in secrets if secret in body], page


def test_tokens_and_links_are_read_only(admin_client, user):
    assert admin_client.get("/admin/accounts/onetimetoken/add/").status_code == 403
    assert admin_client.get("/admin/token_blacklist/outstandingtoken/add/").status_code == 403


# --- search ----------------------------------------------------------------------------------


def test_the_admin_and_the_api_search_alike_in_any_case_and_see_a_new_name(admin_client, staff_client, make_user):
    make_user("alice", display_name="Alice", email="alice@example.org", discord_username="rabbit_hole")
    make_user("bob", display_name="Bob", email="bob@example.org")
    services.user_update(user=User.objects.get(username="bob"), display_name="Robert Wonder")

    for term, expected in [("WONDER", ["bob"]), ("Rabbit", ["alice"]), ("E@EXAMPLE.org", ["alice"]), ("zzz", [])]:
        listed = admin_client.get(USERS, {"q": term}).context["cl"].result_list
        assert sorted(u.username for u in listed) == expected, term
        found = staff_client.get("/api/users/", {"search": term}).json()["results"]
        assert sorted(row["username"] for row in found) == expected, term
