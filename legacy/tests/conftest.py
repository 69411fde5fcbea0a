"""The legacy routes' tests borrow the accounts kit (committing clients) and the websites kit
(members' committing clients, the lane's emulator and runner). The front end's own fixture,
`front_end`, is in the root conftest: the accounts tests use it too."""

from __future__ import annotations

from accounts.tests.conftest import api, web  # noqa: F401 - fixtures
from websites.tests.conftest import emulator, other_api, owner_api, staff_api  # noqa: F401 - fixtures
