"""The tiers tests borrow the accounts kit (committing clients, rates) and the lane's kit
(the emulator, `run_lane`)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tests.conftest import (  # noqa: F401 - fixtures
    api,
    rates,
    signup_body,
)
from provisioning.tests.conftest import emulator, signed_up  # noqa: F401 - fixtures


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def gold(db):
    from tiers.models import Tier

    return Tier.objects.create(slug="gold", name="Gold", max_websites=5, custom_domains=True, mailbox_quota="5G")
