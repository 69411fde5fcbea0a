"""The accounts' clients that run what a request queued (its emails), and a sign-up's body."""

from __future__ import annotations

from accounts.tests.conftest import api, signup_body, web  # noqa: F401 - fixtures
