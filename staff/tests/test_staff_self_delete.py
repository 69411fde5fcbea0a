"""Staff cannot delete their own account, and nothing removes or demotes the last active
superuser (docs/api.md §3): each door answers a clear 409 or its form's error, and the account
stays as it was."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from accounts.models import User
from conftest import PASSWORD, CommittingAPIClient, staff_access
from legacy import service_accounts

pytestmark = pytest.mark.django_db

SELF = {
    "error": "Staff cannot delete their own account: another admin can, once you no longer need it.",
    "code": "cannot_delete_self",
}
LAST = {"error": "This is the last active superuser: make another account a superuser first.", "code": "last_superuser"}


def bearer(user: User) -> CommittingAPIClient:
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_access(user)}")
    return client


def untouched(user: User) -> None:
    user.refresh_from_db()
    assert (user.deletes_at, user.status, user.is_staff) == (None, User.Status.ACTIVE, True)


# Staff and their own account.


def test_staff_cannot_delete_their_own_account_over_the_staff_api(staff_user):
    response = bearer(staff_user).delete(f"/api/users/{staff_user.username}/")

    assert response.status_code == 409
    assert response.json() == SELF
    untouched(staff_user)


def test_staff_cannot_schedule_their_own_deletion_over_the_member_api(staff_user):
    response = bearer(staff_user).post("/api/user/delete", {"password": PASSWORD}, format="json")

    assert response.status_code == 409
    assert response.json() == SELF
    untouched(staff_user)


def test_staff_cannot_delete_their_own_account_on_the_page(staff_user):
    client = Client()
    client.force_login(staff_user)

    response = client.post("/account/delete/", {"password": PASSWORD})

    assert SELF["error"] in response.content.decode()
    untouched(staff_user)


def test_the_admin_offers_no_deletion_of_one_s_own_account(admin_client, admin_user, staff_user):
    assert admin_client.get(f"/admin/accounts/user/{admin_user.pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/accounts/user/{admin_user.pk}/delete/", {"post": "yes"}).status_code == 403

    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [admin_user.pk], "post": "yes"},
        follow=True,
    )

    assert f"Admin: {SELF['error']}" in response.content.decode()  # the admin capitalises
    untouched(admin_user)


def test_staff_still_delete_another_account(staff_user, user):
    response = bearer(staff_user).delete(f"/api/users/{user.username}/")

    assert response.status_code == 202
    assert not User.objects.filter(pk=user.pk).exists() or User.objects.get(pk=user.pk).deletes_at is not None


# The last active superuser.


def test_the_last_superuser_cannot_be_deleted_or_disabled_over_the_api(admin_user, staff_user):
    staff = bearer(staff_user)

    deleted = staff.delete(f"/api/users/{admin_user.username}/")
    disabled = staff.patch(f"/api/users/{admin_user.username}/", {"status": "disabled"}, format="json")

    assert (deleted.status_code, deleted.json()) == (409, LAST)
    assert (disabled.status_code, disabled.json()) == (409, LAST)
    untouched(admin_user)


def test_the_last_superuser_cannot_be_demoted_in_the_admin(admin_client, admin_user):
    response = admin_client.post(
        f"/admin/accounts/user/{admin_user.pk}/change/",
        {"display_name": "Admin", "email": admin_user.email, "tier": admin_user.tier_id, "discord_username": ""},
    )

    assert response.status_code == 200  # the form again
    assert LAST["error"] in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_superuser and admin_user.is_staff


def test_the_last_superuser_cannot_be_deleted_or_disabled_in_the_admin(client, admin_user, make_user):
    other_staff = make_user("dora", is_staff=True)
    other_staff.user_permissions.add(*_user_permissions())
    from conftest import verified_login

    verified_login(client, other_staff)

    assert client.get(f"/admin/accounts/user/{admin_user.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/accounts/user/",
        {"action": "disable_accounts", "_selected_action": [admin_user.pk]},
        follow=True,
    )

    assert LAST["error"] in response.content.decode()
    untouched(admin_user)


def test_the_last_superuser_cannot_become_a_service_account(admin_user):
    with pytest.raises(services.LastSuperuser):
        service_accounts.service_account_convert(username=admin_user.username)

    admin_user.refresh_from_db()
    assert admin_user.is_superuser and not admin_user.is_service_account


def test_with_another_active_superuser_one_of_them_may_go(admin_user, make_user, staff_user):
    make_user("root2", is_staff=True, is_superuser=True)

    response = bearer(staff_user).delete(f"/api/users/{admin_user.username}/")

    assert response.status_code == 202


def test_a_disabled_superuser_does_not_count(admin_user, make_user, staff_user):
    make_user("root2", is_staff=True, is_superuser=True, status=User.Status.DISABLED)

    response = bearer(staff_user).delete(f"/api/users/{admin_user.username}/")

    assert (response.status_code, response.json()) == (409, LAST)


def _user_permissions():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="accounts", content_type__model="user")
