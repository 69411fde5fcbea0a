from __future__ import annotations

from accounts.models import User
from conftest import committed, login


def test_the_user_list_and_filters_render(admin_client, user, other_user):
    response = admin_client.get("/admin/accounts/user/?status=active")

    assert response.status_code == 200
    assert b"alice" in response.content and b"bob" in response.content


def test_a_password_set_in_the_admin_kills_the_users_tokens(admin_client, api_client, user):
    old = login(api_client, "alice")

    response = admin_client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": "a-brand-new-passphrase-9", "password2": "a-brand-new-passphrase-9"},
    )

    assert response.status_code == 302
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert api_client.get("/api/user/me").status_code == 401
    assert login(api_client, "alice", "a-brand-new-passphrase-9")


def test_the_disable_action_disables_and_logs_out(admin_client, api_client, user):
    old = login(api_client, "alice")

    admin_client.post("/admin/accounts/user/", {"action": "disable_accounts", "_selected_action": [user.pk]})

    assert User.objects.get(pk=user.pk).status == User.Status.DISABLED
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    assert api_client.get("/api/user/me").status_code == 401


def test_staff_add_users_on_the_default_tier(admin_client, default_tier):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {"username": "erin", "display_name": "Erin", "email": "Erin@EXAMPLE.org", "tier": ""},
    )

    assert response.status_code == 302, response.content
    erin = User.objects.get(username="erin")
    assert erin.tier == default_tier
    assert erin.email == "Erin@example.org"
    assert not erin.has_usable_password()


def test_the_admin_refuses_a_name_yunohost_would_refuse(admin_client, default_tier):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {"username": "postmaster", "display_name": "Post", "email": "p@example.org"},
    )

    assert response.status_code == 200
    assert b"This username is reserved." in response.content
    assert not User.objects.filter(username="postmaster").exists()


def test_deleting_an_account_in_the_admin_queues_its_yunohost_deletion(admin_client, make_user):
    from accounts import yunohost as lane
    from provisioning.models import Operation

    dora = make_user("dora", status=User.Status.PROVISIONING, pending_password="")
    lane.account_create(user=dora)  # runs in-process against the test's emulator

    response = admin_client.post(f"/admin/accounts/user/{dora.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(username="dora").exists()
    delete = Operation.objects.get(kind="user.delete")
    assert (delete.subject, delete.args["username"], delete.user_id) == ("user:dora", "dora", None)


def test_the_bulk_delete_action_queues_each_deletion(admin_client, make_user):
    from accounts import yunohost as lane
    from provisioning.models import Operation

    users = [make_user(name, status=User.Status.PROVISIONING) for name in ("erin", "finn")]
    for account in users:
        lane.account_create(user=account)

    admin_client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [u.pk for u in users], "post": "yes"},
    )

    assert sorted(Operation.objects.filter(kind="user.delete").values_list("subject", flat=True)) == [
        "user:erin",
        "user:finn",
    ]


def test_status_and_username_are_read_only_in_the_change_form(admin_client, user):
    response = admin_client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "username": "mallory",
            "status": "disabled",
            "display_name": "Alice L",
            "email": "alice@example.org",
            "tier": user.tier_id,
            "discord_username": "",
        },
    )

    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert (user.username, user.status, user.display_name) == ("alice", User.Status.ACTIVE, "Alice L")


def test_a_profile_edit_in_the_admin_shows_in_me_at_once(admin_client, api_client, user):
    access = login(api_client, "alice")["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get("/api/user/me").json()["display_name"] == "Alice"  # cached now

    with committed():
        admin_client.post(
            f"/admin/accounts/user/{user.pk}/change/",
            {"display_name": "Alice L", "email": "alice@example.org", "tier": user.tier_id, "discord_username": ""},
        )

    assert api_client.get("/api/user/me").json()["display_name"] == "Alice L"


def test_the_approve_action_starts_provisioning_and_skips_other_states(admin_client, make_user):
    from provisioning.models import Operation

    waiting = make_user("erin", status=User.Status.PENDING_APPROVAL)
    active = make_user("finn")

    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "approve_accounts", "_selected_action": [waiting.pk, active.pk]},
        follow=True,
    )

    assert User.objects.get(pk=waiting.pk).status == User.Status.PROVISIONING
    assert User.objects.get(pk=active.pk).status == User.Status.ACTIVE
    assert list(Operation.objects.values_list("subject", flat=True)) == ["user:erin"]
    assert [str(m) for m in response.context["messages"]] == [
        "finn: Only an account waiting for approval can be approved.",
        "Approved 1 account(s).",
    ]
