"""The account emails: content, links, retries, a real SMTP server, and what the broker sees."""

from __future__ import annotations

import base64
import email
import json
import logging
import smtplib
from datetime import UTC, datetime
from email import policy

import pytest
import requests
from aiosmtpd.controller import Controller
from anymail.exceptions import AnymailRequestsAPIError
from django.core.mail.backends.base import BaseEmailBackend

from accounts import emails, tasks
from accounts.models import OneTimeToken, User
from blahaj import mail, site
from blahaj.models import SiteSettings
from conftest import PASSWORD
from testing import free_port

from .conftest import link_path, link_token, links

# --- content -------------------------------------------------------------------------------


def test_the_confirmation_email_has_subject_text_and_html(registered, settings):
    _, message = registered

    assert message.subject == "Confirm your email for blahaj.land"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Hi Dana Scully," in message.body
    assert "for 48 hours" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{links(message)[0]}"' in html
    assert "#181825" in html


def test_links_come_from_site_url_never_from_the_host_header(api, signup_body, mailoutbox, settings):
    settings.SITE_URL = "https://accounts.blahaj.example"

    api.post("/api/user/register", signup_body, HTTP_HOST="127.0.0.1")

    assert links(mailoutbox[0])[0].startswith("https://accounts.blahaj.example/confirm/")
    assert "127.0.0.1" not in mailoutbox[0].body


def test_the_welcome_email_tells_the_mail_address_and_the_portal(
    user, tasks_inline, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.YUNOHOST_PORTAL_URL = "https://blahaj.land/yunohost/sso/"
    with django_capture_on_commit_callbacks(execute=True):
        emails.send_welcome(user=user)

    (message,) = mailoutbox
    assert message.subject == "Your blahaj.land account is ready"
    assert message.to == ["alice@example.org"]
    assert "alice@blahaj.land" in message.body
    assert "https://blahaj.land/yunohost/sso/" in message.body
    assert "alice@blahaj.land" in message.alternatives[0][0]


def test_an_email_is_sent_only_once_the_transaction_commits(
    user, tasks_inline, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        emails.send_password_changed(user=user)
        assert mailoutbox == []

    assert len(queued) == 1
    queued[0]()
    assert [m.subject for m in mailoutbox] == ["Your blahaj.land password was changed"]


def test_a_late_confirmation_email_for_a_confirmed_account_is_not_sent(user, mailoutbox):
    tasks.send_account_email.apply(args=(emails.CONFIRMATION, user.pk))

    assert mailoutbox == []
    assert not OneTimeToken.objects.exists()


def test_an_email_for_a_deleted_account_is_dropped(mailoutbox, db):
    tasks.send_account_email.apply(args=(emails.WELCOME, 12345))

    assert mailoutbox == []


def test_no_password_or_token_reaches_the_logs(api, web, signup_body, mailoutbox, caplog):
    caplog.set_level(logging.DEBUG)
    api.post("/api/user/register", signup_body)
    confirm_token = link_token(mailoutbox[-1])
    web.get(link_path(mailoutbox[-1]))
    api.post("/api/user/request-reset", {"username": "dana"})
    reset_token = link_token(mailoutbox[-1])
    api.post("/api/user/confirm-reset", {"token": reset_token, "password": "new-" + PASSWORD})

    assert caplog.records  # the flow did log (requests, tasks)
    for secret in (PASSWORD, "new-" + PASSWORD, confirm_token, reset_token):
        assert secret not in caplog.text


def test_emails_carry_the_name_and_contact(db, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        site.site_settings_save(
            site_settings=SiteSettings(service_name="Shark Club", contact_email="help@shark.example")
        )

    message = emails.render(emails.WELCOME, user=user)

    assert message.subject == "Your Shark Club account is ready"
    assert "help@shark.example" in message.body
    assert "help@shark.example" in str(message.alternatives[0][0])


# --- retries -------------------------------------------------------------------------------


class FlakyBackend(BaseEmailBackend):
    """Fails with the queued errors first, then delivers."""

    errors: list[Exception] = []
    attempts = 0
    sent: list = []

    def send_messages(self, messages):
        FlakyBackend.attempts += 1
        if FlakyBackend.errors:
            raise FlakyBackend.errors.pop(0)
        FlakyBackend.sent.extend(messages)
        return len(messages)


@pytest.fixture
def flaky(settings, user):
    settings.EMAIL_BACKEND = "accounts.tests.test_emails.FlakyBackend"
    FlakyBackend.errors, FlakyBackend.attempts, FlakyBackend.sent = [], 0, []
    return FlakyBackend


def _api_error(status: int | None) -> AnymailRequestsAPIError:
    response = None
    if status is not None:
        response = requests.Response()
        response.status_code = status
    return AnymailRequestsAPIError("ESP said no", response=response)


def test_a_transient_error_is_retried_until_delivered(flaky, user):
    flaky.errors = [smtplib.SMTPServerDisconnected("gone"), _api_error(503)]

    tasks.send_account_email.apply(args=(emails.PASSWORD_CHANGED, user.pk))

    assert flaky.attempts == 3
    assert [m.to for m in flaky.sent] == [["alice@example.org"]]


def test_each_retry_of_a_link_email_issues_a_fresh_token(flaky, user):
    flaky.errors = [ConnectionRefusedError()]

    tasks.send_account_email.apply(args=(emails.PASSWORD_RESET, user.pk))

    (message,) = flaky.sent
    assert OneTimeToken.objects.get(user=user).digest == OneTimeToken.digest_of(link_token(message))


def test_a_permanent_error_is_not_retried(flaky, user, caplog):
    flaky.errors = [smtplib.SMTPRecipientsRefused({"alice@example.org": (550, b"no such user")})]

    tasks.send_account_email.apply(args=(emails.PASSWORD_CHANGED, user.pk))

    assert flaky.attempts == 1
    assert flaky.sent == []
    assert "Sending the password_changed email to user" in caplog.text
    assert "failed for good (SMTPRecipientsRefused)" in caplog.text


def test_retries_are_bounded(flaky, user, caplog):
    flaky.errors = [smtplib.SMTPServerDisconnected()] * 20

    tasks.send_account_email.apply(args=(emails.WELCOME, user.pk))

    assert flaky.attempts == mail.MAX_RETRIES + 1
    assert "failed for good (SMTPServerDisconnected)" in caplog.text


# --- a real SMTP server ----------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@pytest.fixture
def smtp_inbox(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    yield inbox
    controller.stop()


def test_sign_up_and_confirm_through_a_real_smtp_server(api, web, signup_body, smtp_inbox):
    api.post("/api/user/register", signup_body)

    (received,) = smtp_inbox.messages
    assert received["To"] == "dana@example.org"
    assert received["Subject"] == "Confirm your email for blahaj.land"
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "Confirm my email" in html

    class Sent:  # what link_path reads
        body = text

    response = web.get(link_path(Sent))
    assert response.status_code == 200
    assert "Email confirmed" in response.content.decode()
    assert User.objects.get(username="dana").confirmed_at is not None


# --- the broker -----------------------------------------------------------------------------


@pytest.mark.redis
def test_the_broker_gets_the_kind_and_the_user_id_only(
    signup_body, default_tier, django_capture_on_commit_callbacks, settings
):
    import redis
    from rest_framework.test import APIClient

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/api/user/register", signup_body, format="json")
    assert response.status_code == 201

    raw = next(m for m in broker.lrange("default", 0, -1) if b"accounts.tasks.send_account_email" in m)
    broker.lrem("default", 1, raw)  # type: ignore[arg-type]  # redis-py takes bytes values too
    message = json.loads(raw)
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    user = User.objects.get(username="dana")
    assert (args, kwargs) == (["confirmation", user.pk], {})
    assert PASSWORD.encode() not in raw
    assert not OneTimeToken.objects.exists()  # the token is made by the worker, later


# --- languages ------------------------------------------------------------------------------

# Each account email, what it needs of the account, and its subject in English and in French.
ACCOUNT_EMAILS = [
    (
        emails.send_confirmation,
        {"status": User.Status.PENDING_CONFIRMATION},
        "Confirm your email for blahaj.land",
        "Confirmez votre adresse e-mail pour blahaj.land",
    ),
    (emails.send_password_reset, {}, "Reset your blahaj.land password", "Réinitialisez votre mot de passe blahaj.land"),
    (
        emails.send_password_changed,
        {},
        "Your blahaj.land password was changed",
        "Votre mot de passe blahaj.land a été changé",
    ),
    (emails.send_welcome, {}, "Your blahaj.land account is ready", "Votre compte blahaj.land est prêt"),
    (
        emails.send_set_password,
        {},
        "Choose the password of your blahaj.land account",
        "Choisissez le mot de passe de votre compte blahaj.land",
    ),
    (
        emails.send_password_refused,
        {"status": User.Status.PROVISIONING_FAILED},
        "Choose another password for your blahaj.land account",
        "Choisissez un autre mot de passe pour votre compte blahaj.land",
    ),
    (emails.send_approved, {}, "Your blahaj.land account was approved", "Votre compte blahaj.land a été validé"),
    (emails.send_rejected, {}, "Your blahaj.land sign-up", "Votre inscription à blahaj.land"),
    (
        emails.send_deletion_scheduled,
        {"deletes_at": datetime(2030, 3, 5, 14, 30, tzinfo=UTC)},
        "Your blahaj.land account will be deleted",
        "Votre compte blahaj.land va être supprimé",
    ),
    (emails.send_deletion_cancelled, {}, "Your blahaj.land account stays", "Votre compte blahaj.land est conservé"),
    (
        emails.send_account_deleted,
        {},
        "Your blahaj.land account was deleted",
        "Votre compte blahaj.land a été supprimé",
    ),
]


@pytest.mark.parametrize(
    "send, fields, english, french", ACCOUNT_EMAILS, ids=[send.__name__ for send, *_ in ACCOUNT_EMAILS]
)
def test_each_account_email_speaks_its_recipients_language(
    make_user, tasks_inline, mailoutbox, django_capture_on_commit_callbacks, send, fields, english, french
):
    fr = make_user("alice", language="fr", **fields)
    en = make_user("bob", language="en", **fields)
    with django_capture_on_commit_callbacks(execute=True):
        send(user=fr)
        send(user=en)

    french_email, english_email = mailoutbox
    assert french_email.to == ["alice@example.org"]
    assert french_email.subject == french
    assert french_email.extra_headers["Content-Language"] == "fr"
    assert french_email.body.startswith("Bonjour Alice,\n\n")
    html = french_email.alternatives[0][0]
    assert '<html lang="fr">' in html and "Bonjour Alice," in html and "Hi " not in html
    assert "Vous recevez cet e-mail en raison d’un compte sur" in html

    assert english_email.subject == english
    assert english_email.extra_headers["Content-Language"] == "en"
    assert english_email.body.startswith("Hi Bob,\n\n")
    html = english_email.alternatives[0][0]
    assert '<html lang="en">' in html and "You get this email because of an account on" in html


def test_an_email_speaks_the_accounts_language_not_the_requests(api, signup_body, mailoutbox):
    api.post("/api/user/register", signup_body, HTTP_ACCEPT_LANGUAGE="fr")  # a French account
    api.post("/api/user/request-reset", {"username": "dana"}, HTTP_ACCEPT_LANGUAGE="en")

    confirmation, reset = mailoutbox
    assert confirmation.subject == "Confirmez votre adresse e-mail pour blahaj.land"
    assert reset.subject == "Réinitialisez votre mot de passe blahaj.land"
    assert reset.extra_headers["Content-Language"] == "fr"
