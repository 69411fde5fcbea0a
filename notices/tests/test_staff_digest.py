"""Staff told by email too: pending requests and failed provisionings are queued and sent as
one digest per STAFF_DIGEST_WINDOW, to STAFF_NOTIFY_EMAILS or every active staff account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts import tasks as account_tasks
from accounts.models import User
from blahaj.models import OutboxMessage
from notices import services, tasks
from notices.models import StaffNotice

from .conftest import link_path


@pytest.fixture
def scheduled(db):
    """The digests the events asked for: the outbox's messages (the task and its countdown).
    The test's transaction never commits, so none is published."""

    def read() -> list[tuple[str, float]]:
        messages = OutboxMessage.objects.order_by("id")
        return [(m.task, (m.due_at - m.created_at).total_seconds()) for m in messages]

    return read


def test_a_burst_of_100_pending_requests_makes_one_email(db, staff_user, make_user, settings, scheduled, mailoutbox):
    settings.STAFF_DIGEST_WINDOW = 120
    make_user("erin", is_staff=True, status=User.Status.DISABLED)  # a disabled staff account hears nothing
    for number in range(100):
        services.staff_notice_record(kind=StaffNotice.Kind.PENDING_REQUEST, text=f"user{number} waits for approval.")

    assert scheduled() == [("accounts.tasks.send_staff_digest", 120)]
    tasks.send_staff_digest()

    (digest,) = mailoutbox
    assert digest.to == ["carol@example.org"]
    assert digest.subject == "blahaj.land: 100 events for staff"
    assert digest.body.count("Sign-up waiting for approval: user") == 100
    assert "user99 waits for approval." in digest.body
    assert not StaffNotice.objects.filter(sent_at__isnull=True).exists()
    tasks.send_staff_digest()
    assert len(mailoutbox) == 1  # nothing new: no empty digest


def test_the_configured_addresses_get_it(db, settings, scheduled, mailoutbox):
    settings.STAFF_NOTIFY_EMAILS = ["ops@example.org", "boss@example.org"]
    services.staff_notice_record(kind=StaffNotice.Kind.PROVISIONING_FAILED, text="<b>dana</b> failed")

    assert services.staff_digest_send() == 1

    (digest,) = mailoutbox
    assert digest.to == ["ops@example.org", "boss@example.org"]
    html = digest.alternatives[0][0]
    assert "&lt;b&gt;dana&lt;/b&gt;" in html and "<b>dana</b>" not in html


def test_a_pending_request_is_queued_for_the_digest(registered, web, settings, mailoutbox, staff_user):
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    _dana, confirmation = registered
    web.get(link_path(confirmation))

    (notice,) = StaffNotice.objects.all()
    assert notice.kind == StaffNotice.Kind.PENDING_REQUEST
    assert notice.text == "dana (Dana Scully) waits for approval."


def test_a_failed_provisioning_is_queued_for_the_digest(db, user, scheduled):
    from provisioning.models import Operation

    # The lane's outcome callback gets the failed row; only these columns are read.
    operation = Operation(
        pk=7,
        kind=Operation.Kind.USER_CREATE,
        subject="user:alice",
        user=user,
        args={"username": "alice"},
        attempts=3,
        error="YunoHost said no",
    )

    account_services.user_provisioning_failed(operation=operation)

    (notice,) = StaffNotice.objects.all()
    assert notice.kind == StaffNotice.Kind.PROVISIONING_FAILED
    assert "alice" in notice.text and "YunoHost said no" in notice.text


def test_notices_sent_long_ago_are_pruned_with_the_sessions(db, staff_user, settings, scheduled, mailoutbox):
    settings.ACCOUNTS_SESSION_RETENTION = 3600
    for name in ("old", "recent", "queued"):
        services.staff_notice_record(kind=StaffNotice.Kind.PENDING_REQUEST, text=f"{name} waits for approval.")
    now = timezone.now()
    StaffNotice.objects.filter(text__startswith="old").update(sent_at=now - timedelta(hours=2))
    StaffNotice.objects.filter(text__startswith="recent").update(sent_at=now - timedelta(minutes=5))

    assert account_tasks.prune_sessions() == 1

    # Sent within the retention, or not sent yet (the next digest carries it): kept.
    assert sorted(StaffNotice.objects.values_list("text", flat=True)) == [
        "queued waits for approval.",
        "recent waits for approval.",
    ]


def test_each_staff_member_reads_the_digest_in_their_language(db, staff_user, make_user, mailoutbox):
    make_user("dominique", is_staff=True, language="fr")
    make_user("erin", is_staff=True, language="fr", email="Erin@Example.org")
    services.staff_notice_record(kind=StaffNotice.Kind.PENDING_REQUEST, text="dana (Dana) waits for approval.")
    services.staff_notice_record(kind=StaffNotice.Kind.PENDING_REQUEST, text="eve (Eve) waits for approval.")

    assert services.staff_digest_send() == 2

    english, french = mailoutbox
    assert english.to == ["carol@example.org"]
    assert english.subject == "blahaj.land: 2 events for staff"
    assert english.extra_headers["Content-Language"] == "en"
    assert english.body.startswith("Hello staff,\n\n2 events since the last digest:\n")
    assert french.to == ["Erin@example.org", "dominique@example.org"]
    assert french.subject == "blahaj.land : 2 événements pour l’équipe"
    assert french.extra_headers["Content-Language"] == "fr"
    assert french.body.startswith("Bonjour à l’équipe,\n\n2 événements depuis le dernier récapitulatif :\n")
    assert "dana (Dana) waits for approval." in french.body and "eve (Eve) waits for approval." in french.body
    html = french.alternatives[0][0]
    assert '<html lang="fr">' in html and "Vous recevez cet e-mail en tant que membre de l’équipe blahaj.land." in html


def test_a_configured_address_reads_its_accounts_language_or_english(db, settings, make_user, mailoutbox):
    make_user("dominique", is_staff=True, language="fr")
    settings.STAFF_NOTIFY_EMAILS = ["ops@example.org", "DOMINIQUE@example.org"]
    services.staff_notice_record(kind=StaffNotice.Kind.PROVISIONING_FAILED, text="dana failed")

    assert services.staff_digest_send() == 1

    english, french = mailoutbox
    assert (english.to, english.subject) == (["ops@example.org"], "blahaj.land: 1 event for staff")
    assert (french.to, french.subject) == (["DOMINIQUE@example.org"], "blahaj.land : 1 événement pour l’équipe")
