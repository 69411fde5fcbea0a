"""An account's deletion reaches YunoHost in order: the sites' apps and domains first, then
`user delete`; a member's own and a staff delete alike (one erasure), through the real lane and
the YunoHost emulator (in-process runs here, real Celery workers in
accounts/tests/test_deletion_workers.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import yunohost as accounts_lane
from accounts.models import User, UsernameQuarantine
from audit.models import AuditEntry
from conftest import PASSWORD, committed, verified_login
from deletion import services as deletion
from provisioning.locks import lane_lock
from provisioning.models import Operation
from websites.models import Website
from websites.tests.conftest import SITE, confirmation_token, run_lane

pytestmark = pytest.mark.django_db


def _live_site(owner_api, mailoutbox) -> Website:
    created = owner_api.post("/api/websites/", {"domain": SITE})
    assert created.status_code == 202, created.content
    owner_api.post(f"/api/websites/{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    run_lane()
    website = Website.objects.get(pk=created.json()["id"])
    assert website.status == Website.Status.LIVE
    return website


@pytest.fixture
def on_yunohost(user, emulator):
    """Alice has her YunoHost user (created through the lane)."""
    with committed():
        accounts_lane.account_create(user=user)
    run_lane()
    assert "alice" in emulator.state()["users"]
    return user


def test_the_finalizer_removes_the_sites_then_the_yunohost_user_then_the_account(
    on_yunohost, owner_api, emulator, mailoutbox
):
    website = _live_site(owner_api, mailoutbox)
    requested = owner_api.post("/api/user/delete", {"password": PASSWORD})
    assert requested.status_code == 202
    # The grace period: the site and the mailbox stay.
    assert deletion.deletions_finalize().waiting == []
    assert Website.objects.get(pk=website.pk).status == Website.Status.LIVE
    User.objects.filter(pk=on_yunohost.pk).update(deletes_at=timezone.now() - timedelta(seconds=1))

    first = deletion.deletions_finalize()  # nothing runs until run_lane
    # The site's removal is queued; the account waits for it.
    assert (first.deleted, first.waiting) == ([], ["alice"])
    assert Website.objects.get(pk=website.pk).status == Website.Status.DELETING
    assert not Operation.objects.filter(kind="user.delete").exists()
    run_lane()
    assert Website.objects.get(pk=website.pk).status == Website.Status.DELETED

    with committed():
        second = deletion.deletions_finalize()
    run_lane()

    assert second.deleted == ["alice"]
    state = emulator.state()
    assert "alice" not in state["users"]
    assert state["apps"] == [] and SITE not in state["domains"]
    order = [
        " ".join(e["argv"][:2]) for e in emulator.log() if e["argv"][:2] in (["app", "remove"], ["user", "delete"])
    ]
    assert order == ["app remove", "user delete"]
    assert not User.objects.filter(username="alice").exists()
    assert UsernameQuarantine.objects.filter(username="alice").exists()
    # The lane's record stays (its user emptied), the site's row went with the account.
    assert not Website.objects.exists()
    operations = Operation.objects.filter(subject__in=["user:alice", f"site:{SITE}"])
    assert operations.count() >= 5 and set(operations.values_list("user_id", flat=True)) == {None}
    assert set(operations.values_list("status", flat=True)) == {"succeeded"}
    assert mailoutbox[-1].subject == "Your blahaj.land account was deleted"


def test_a_site_whose_removal_failed_holds_the_account_back_without_queueing_it_again(
    on_yunohost, owner_api, emulator, mailoutbox, settings
):
    settings.YUNOHOST_MAX_ATTEMPTS = 1
    website = _live_site(owner_api, mailoutbox)
    owner_api.post("/api/user/delete", {"password": PASSWORD})
    User.objects.filter(pk=on_yunohost.pk).update(deletes_at=timezone.now() - timedelta(seconds=1))
    emulator.add_fault(command="app remove", exit=1, stderr="Error: boom", times=1)

    deletion.deletions_finalize()
    run_lane()
    assert Website.objects.get(pk=website.pk).status == Website.Status.FAILED
    with committed():
        again = deletion.deletions_finalize()

    assert again.waiting == ["alice"]
    assert Operation.objects.filter(kind="app.remove").count() == 1
    assert User.objects.filter(username="alice").exists()
    assert "alice" in emulator.state()["users"]


def test_a_member_cancelling_keeps_the_sites_up(on_yunohost, owner_api, emulator, mailoutbox):
    website = _live_site(owner_api, mailoutbox)
    owner_api.post("/api/user/delete", {"password": PASSWORD})
    token = [m for m in mailoutbox if "will be deleted" in m.subject][-1].body.split("/account/delete/cancel/")[1]

    cancelled = APIClient().post("/api/user/delete/cancel", {"token": token.split("/")[0]}, format="json")

    assert cancelled.status_code == 200
    assert deletion.deletions_finalize().deleted == []
    assert Website.objects.get(pk=website.pk).status == Website.Status.LIVE
    assert not Operation.objects.filter(kind__in=["user.delete", "app.remove"]).exists()


# --- staff delete: the same erasure, due at once ------------------------------------------------


def _assert_erased(emulator) -> None:
    state = emulator.state()
    assert "alice" not in state["users"]
    assert state["apps"] == [] and SITE not in state["domains"]
    done = [e for e in emulator.log() if e["exit"] == 0]
    order = [" ".join(e["argv"][:2]) for e in done if e["argv"][:2] in (["app", "remove"], ["user", "delete"])]
    assert order == ["app remove", "user delete"]
    assert not User.objects.filter(username="alice").exists()
    assert UsernameQuarantine.objects.filter(username="alice").exists()


def test_a_staff_delete_through_the_api_removes_the_site_then_the_yunohost_user_then_the_account(
    on_yunohost, owner_api, staff_api, emulator, mailoutbox
):
    _live_site(owner_api, mailoutbox)

    response = staff_api.delete("/api/users/alice/")

    # In-process tasks: the lane removes the site within the request, and its removal resumes
    # the account's deletion at once (test_a_staff_delete_waits_for_its_sites shows the wait).
    assert response.status_code == 202 and response.json() == {"status": "success"}
    assert owner_api.get("/api/user/me").status_code == 401
    run_lane()
    _assert_erased(emulator)
    assert not Website.objects.exists()
    audit_rows = list(AuditEntry.objects.filter(object="user:alice").values_list("action", "actor", "door"))
    assert ("user.delete", "carol", "api") in audit_rows
    assert ("user.erase", "system", "task") in audit_rows
    # Nobody asked: no "as you asked" email.
    assert not [m for m in mailoutbox if "account was deleted" in m.subject]


def test_a_staff_delete_waits_for_its_sites_and_finishes_as_soon_as_the_last_is_removed(
    on_yunohost, owner_api, staff_api, emulator, mailoutbox, settings
):
    _live_site(owner_api, mailoutbox)
    settings.YUNOHOST_LANE_WAIT = 0  # a busy lane steps aside at once: its work stays queued
    lock = lane_lock()
    assert lock.acquire(wait=5)
    try:
        response = staff_api.delete("/api/users/alice/")
    finally:
        lock.release()

    assert response.status_code == 202
    # Shut out at once: the owner's token is refused, the row waits for its site's removal.
    assert owner_api.get("/api/user/me").status_code == 401
    pending = User.objects.get(username="alice")
    assert pending.deletes_at is not None and not pending.is_active
    assert staff_api.get("/api/users/alice/").json()["deletes_at"] is not None
    assert pending.deletion_requested_at is None  # the owner did not ask
    assert Website.objects.get().status == Website.Status.DELETING

    with committed():  # the lane's transactions commit, as a worker's do; no beat run follows
        run_lane()
        assert Website.objects.get().status == Website.Status.DELETED
        run_lane()  # the `user delete` that the resumed finalizer queued

    _assert_erased(emulator)
    assert not User.objects.filter(username="alice").exists()
    assert UsernameQuarantine.objects.filter(username="alice").exists()


def test_a_removed_site_does_not_hurry_an_account_whose_deletion_is_not_due(
    on_yunohost, owner_api, staff_api, emulator, mailoutbox
):
    website = _live_site(owner_api, mailoutbox)
    assert owner_api.post("/api/user/delete", {"password": PASSWORD}).status_code == 202  # 7 days' grace

    assert staff_api.delete(f"/api/websites/{website.pk}/").status_code in (200, 202, 204)
    with committed():
        run_lane()

    assert Website.objects.get(pk=website.pk).status == Website.Status.DELETED
    deletes_at = User.objects.get(username="alice").deletes_at
    assert deletes_at is not None and deletes_at > timezone.now()
    assert "alice" in emulator.state()["users"]
    assert not Operation.objects.filter(kind="user.delete").exists()


def test_a_staff_delete_in_the_admin_says_it_is_under_way_and_ends_the_same_way(
    on_yunohost, owner_api, emulator, mailoutbox, client, staff_user
):
    _live_site(owner_api, mailoutbox)
    verified_login(client, staff_user)
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])

    with committed():
        response = client.post(f"/admin/accounts/user/{on_yunohost.pk}/delete/", {"post": "yes"}, follow=True)

    assert response.status_code == 200
    assert "The deletion of alice is under way" in response.content.decode()
    run_lane()  # in-process tasks: the site's removal resumed the deletion already

    _assert_erased(emulator)
    assert not User.objects.filter(username="alice").exists()


def test_a_staff_delete_waits_for_a_failed_removal_and_is_safe_to_repeat(
    on_yunohost, owner_api, staff_api, emulator, mailoutbox, settings
):
    settings.YUNOHOST_MAX_ATTEMPTS = 1
    _live_site(owner_api, mailoutbox)
    emulator.add_fault(command="app remove", exit=1, stderr="Error: boom", times=1)

    assert staff_api.delete("/api/users/alice/").status_code == 202
    run_lane()
    assert Website.objects.get().status == Website.Status.FAILED

    # Again, from either door, and the beat: nothing is queued twice, the account stays.
    assert staff_api.delete("/api/users/alice/").status_code == 202
    with committed():
        assert deletion.deletions_finalize().waiting == ["alice"]
    assert Operation.objects.filter(kind="app.remove").count() == 1
    assert "alice" in emulator.state()["users"]

    failed = Operation.objects.get(kind="app.remove", status="failed")
    # The retried removal succeeds, and the account's deletion resumes with it (no beat run).
    assert staff_api.post(f"/api/operations/{failed.pk}/retry").status_code in (200, 202)
    run_lane()

    _assert_erased(emulator)
    assert Operation.objects.filter(kind="user.delete").count() == 1
    assert staff_api.delete("/api/users/alice/").status_code == 404
