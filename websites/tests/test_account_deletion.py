"""A member's own deletion reaches YunoHost in order: the sites' apps and domains first, then
`user delete`; through the real lane and the YunoHost emulator (in-process runs here, real
Celery workers in accounts/tests/test_deletion_workers.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import deletion
from accounts import yunohost as accounts_lane
from accounts.models import User, UsernameQuarantine
from conftest import PASSWORD, committed
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
