"""The account flows' clients (`api`, `web`: they run what a request queued after its commit)
and email helpers: invitations are tested through the sign-up they open."""

from __future__ import annotations

from accounts.tests.conftest import api, link_path, links, web  # noqa: F401 - fixtures and helpers
