"""The outbox (blahaj/outbox.py) in this process, driven by the account emails: what a change
queues is a row of its transaction, sent once; the sweeper, the claim, the prune and the admin.
The broker outages, with a real Redis that stops and real workers, are in
test_outbox_workers.py."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta

import pytest
from celery import states
from django.db import connection, transaction
from django.utils import timezone

from accounts import emails, tasks
from accounts.models import User
from accounts.tests.test_emails import FlakyBackend
from audit.models import AuditEntry
from blahaj import outbox
from blahaj.models import OutboxMessage
from conftest import PASSWORD, committed
from notices import services as notice_services
from notices.models import StaffNotice

REGISTER = "/api/user/register"
SIGNUP = {"username": "dana", "display_name": "Dana Scully", "email": "dana@example.org", "password": PASSWORD}


def _message() -> OutboxMessage:
    (message,) = OutboxMessage.objects.all()
    return message


def test_in_process_a_sign_up_sends_its_email_at_the_commit(
    api_client, default_tier, tasks_inline, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as after_commit:
        response = api_client.post(REGISTER, SIGNUP, format="json")

    assert response.status_code == 201
    message = _message()
    dana = User.objects.get(username="dana")
    assert (message.task, message.args) == ("accounts.tasks.send_account_email", [emails.CONFIRMATION, dana.pk])
    assert (message.status, mailoutbox) == (OutboxMessage.Status.WAITING, [])

    for callback in after_commit:  # the commit
        callback()

    (sent,) = mailoutbox
    assert sent.to == ["dana@example.org"] and sent.subject == "Confirm your email for blahaj.land"
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT and message.sent_at is not None
    assert message.next_attempt_at is None and message.claimed_by.startswith(f"outbox-{message.pk}-")
    assert message.args == []  # a sent message keeps no arguments


def test_a_sent_message_keeps_nothing_of_an_erased_account(user, tasks_inline, mailoutbox):
    with committed():
        emails.send_account_deleted(user=user)
        assert _message().args == [
            "account_deleted",
            {"username": "alice", "display_name": "Alice", "email": "alice@example.org", "language": "en"},
            "",
        ]

    (sent,) = mailoutbox
    assert sent.to == ["alice@example.org"]
    assert _message().args == []


def test_the_message_is_written_in_the_changes_transaction(user, tasks_inline, mailoutbox):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        emails.send_password_changed(user=user)
        assert OutboxMessage.objects.count() == 1
        raise RuntimeError("the change fails after queueing its email")

    assert not OutboxMessage.objects.exists()
    assert mailoutbox == []


def test_only_an_outbox_task_can_be_queued(db):
    with pytest.raises(TypeError, match=r"accounts\.tasks\.prune_sessions cannot go through the outbox"):
        outbox.enqueue("accounts.tasks.prune_sessions")

    assert not OutboxMessage.objects.exists()


def test_a_message_published_twice_sends_one_email(user, mailoutbox):
    emails.send_password_changed(user=user)  # not committed: nothing published yet
    message = _message()

    first = tasks.send_account_email.apply(args=message.args, task_id=f"outbox-{message.pk}-first")
    second = tasks.send_account_email.apply(args=message.args, task_id=f"outbox-{message.pk}-second")

    assert [str(first.state), str(second.state)] == [states.SUCCESS, states.IGNORED]
    assert len(mailoutbox) == 1
    message.refresh_from_db()
    assert (message.status, message.claimed_by) == (OutboxMessage.Status.SENT, f"outbox-{message.pk}-first")


def test_a_publication_of_a_message_that_is_gone_sends_nothing(user, mailoutbox):
    result = tasks.send_account_email.apply(args=(emails.PASSWORD_CHANGED, user.pk), task_id="outbox-987654-x")

    assert str(result.state) == states.IGNORED
    assert mailoutbox == []


def test_a_celery_retry_of_the_publication_that_took_it_still_sends(user, settings):
    settings.EMAIL_BACKEND = "accounts.tests.test_emails.FlakyBackend"
    FlakyBackend.errors, FlakyBackend.attempts, FlakyBackend.sent = [smtplib.SMTPServerDisconnected("gone")], 0, []
    emails.send_password_changed(user=user)
    message = _message()

    # The retry keeps the task id: the claim lets it through.
    tasks.send_account_email.apply(args=message.args, task_id=f"outbox-{message.pk}-only")

    assert FlakyBackend.attempts == 2
    assert [m.to for m in FlakyBackend.sent] == [["alice@example.org"]]


def test_in_process_a_delayed_message_waits_for_the_sweeper(staff_user, settings, tasks_inline, mailoutbox):
    settings.STAFF_DIGEST_WINDOW = 300
    with committed():
        notice_services.staff_notice_record(kind=StaffNotice.Kind.PENDING_REQUEST, text="dana waits for approval.")

    message = _message()
    assert mailoutbox == [] and message.status == OutboxMessage.Status.WAITING
    assert message.next_attempt_at == message.due_at == message.created_at + timedelta(seconds=300)
    assert outbox.outbox_sweep() == 0  # not due yet

    assert outbox.outbox_sweep(now=message.due_at) == 1

    (digest,) = mailoutbox
    assert digest.subject == "blahaj.land: 1 event for staff"
    assert _message().status == OutboxMessage.Status.SENT


def test_a_message_naming_no_task_fails_and_stays_for_staff(db, caplog):
    OutboxMessage.objects.create(task="accounts.tasks.renamed_since", args=[1], next_attempt_at=timezone.now())

    assert outbox.outbox_sweep() == 0

    message = _message()
    assert (message.status, message.last_error, message.next_attempt_at) == ("failed", "unknown task", None)
    assert "names no outbox task (accounts.tasks.renamed_since)" in caplog.text


def test_staff_retry_sends_a_failed_message(user, tasks_inline, mailoutbox):
    emails.send_password_changed(user=user)
    OutboxMessage.objects.update(status=OutboxMessage.Status.FAILED, next_attempt_at=None, attempts=20)

    assert outbox.outbox_retry(message=_message()) is True

    assert len(mailoutbox) == 1
    assert _message().status == OutboxMessage.Status.SENT
    assert outbox.outbox_retry(message=_message()) is False  # sent: nothing to retry
    assert len(mailoutbox) == 1


def test_the_prune_removes_sent_messages_older_than_the_retention(db, settings):
    settings.OUTBOX_RETENTION = 3600
    now = timezone.now()
    sent = OutboxMessage.Status.SENT
    old = OutboxMessage.objects.create(task="t", status=sent, sent_at=now - timedelta(seconds=3601))
    recent = OutboxMessage.objects.create(task="t", status=sent, sent_at=now - timedelta(seconds=3599))
    waiting = OutboxMessage.objects.create(task="t", created_at=now - timedelta(days=30), next_attempt_at=now)

    assert outbox.outbox_prune(now=now) == 1

    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()


def test_staff_list_the_failed_messages_and_publish_one_again(admin_client, user, tasks_inline, mailoutbox):
    emails.send_password_changed(user=user)
    OutboxMessage.objects.update(status=OutboxMessage.Status.FAILED, next_attempt_at=None, last_error="unknown task")
    message = _message()

    page = admin_client.get("/admin/blahaj/outboxmessage/?status__exact=failed")
    assert page.status_code == 200
    assert b"accounts.tasks.send_account_email" in page.content and b"unknown task" in page.content
    with committed():
        response = admin_client.post(
            "/admin/blahaj/outboxmessage/", {"action": "retry", "_selected_action": [message.pk]}, follow=True
        )

    assert [str(m) for m in response.context["messages"]] == ["Published 1 message(s) again."]
    assert len(mailoutbox) == 1
    assert _message().status == OutboxMessage.Status.SENT
    entry = AuditEntry.objects.get(action="outbox.retry")
    assert (entry.actor, entry.door, entry.object, entry.result, entry.detail) == (
        "admin",
        "admin",
        f"outbox:{message.pk}",
        "ok",
        "accounts.tasks.send_account_email",
    )


def test_the_outbox_admin_changes_nothing_by_hand(admin_client, user):
    emails.send_password_changed(user=user)
    message = _message()

    assert admin_client.get("/admin/blahaj/outboxmessage/add/").status_code == 403
    assert admin_client.post(f"/admin/blahaj/outboxmessage/{message.pk}/delete/").status_code == 403
    edit = admin_client.post(f"/admin/blahaj/outboxmessage/{message.pk}/change/", {"task": "other"})
    assert edit.status_code == 403
    assert _message().task == "accounts.tasks.send_account_email"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_message_another_sweep_holds_is_skipped(make_user, tasks_inline, mailoutbox):
    alice = make_user("alice")
    held, free = (
        OutboxMessage.objects.create(
            task="accounts.tasks.send_account_email",
            args=[emails.PASSWORD_CHANGED, alice.pk],
            next_attempt_at=timezone.now(),
        )
        for _ in range(2)
    )
    locked, release = threading.Event(), threading.Event()

    def other_sweep() -> None:
        try:
            with transaction.atomic():
                OutboxMessage.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sweep)
    thread.start()
    try:
        assert locked.wait(10)
        assert outbox.outbox_sweep() == 1  # at once: no waiting for the other sweep's row
    finally:
        release.set()
        thread.join()

    assert OutboxMessage.objects.get(pk=held.pk).status == OutboxMessage.Status.WAITING
    assert OutboxMessage.objects.get(pk=free.pk).status == OutboxMessage.Status.SENT
    assert len(mailoutbox) == 1
