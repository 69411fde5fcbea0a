"""Sending an email, for every app (blahaj/mail.py): which delivery errors are worth a retry.
The retries themselves, a real SMTP server and the broker's view: accounts/tests/test_emails.py."""

from __future__ import annotations

import smtplib

import pytest
import requests
from anymail.exceptions import AnymailRecipientsRefused, AnymailRequestsAPIError

from blahaj import mail


def _api_error(status: int | None) -> AnymailRequestsAPIError:
    response = None
    if status is not None:
        response = requests.Response()
        response.status_code = status
    return AnymailRequestsAPIError("ESP said no", response=response)


@pytest.mark.parametrize(
    "error, transient",
    [
        (smtplib.SMTPServerDisconnected(), True),
        (smtplib.SMTPConnectError(421, "busy"), True),
        (smtplib.SMTPDataError(451, "try later"), True),
        (smtplib.SMTPDataError(554, "rejected"), False),
        (smtplib.SMTPSenderRefused(550, b"no", "noreply@localhost"), False),
        (smtplib.SMTPAuthenticationError(535, "bad credentials"), False),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"greylisted")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"unknown")}), False),
        (smtplib.SMTPNotSupportedError(), False),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (_api_error(None), True),
        (_api_error(429), True),
        (_api_error(502), True),
        (_api_error(400), False),
        (_api_error(401), False),
        (AnymailRecipientsRefused(), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_which_errors_are_worth_a_retry(error, transient):
    assert mail.is_transient(error) is transient
