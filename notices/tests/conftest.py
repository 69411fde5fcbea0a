"""The account flows' clients and fixtures: staff notices are tested through the events that
make them (a sign-up waiting for approval, a failed provisioning)."""

from __future__ import annotations

from accounts.tests.conftest import api, link_path, registered, signup_body, web  # noqa: F401 - fixtures and helpers
