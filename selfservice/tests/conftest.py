"""The account tests' clients and helpers: a member signs in through the accounts' doors before
using their own account's."""

from __future__ import annotations

from accounts.tests.conftest import (  # noqa: F401 - fixtures and helpers
    STRONG,
    Committing,
    api,
    link_path,
    member,
    rates,
    web,
)
