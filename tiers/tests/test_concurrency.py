"""Fifty sign-ups at once with a ten-use code: ten accounts, forty clear refusals, no 5xx.

Real threads, each with its own PostgreSQL connection, so the claim's conditional UPDATE
decides (SQLite serialises writers: the race only exists on the PostgreSQL pass).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from conftest import PASSWORD
from tiers.models import ReferralCode, Tier

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 50
USES = 10


def _register_at_once(bodies: list[dict]) -> list:
    start = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def register(index: int) -> None:
        try:
            start.wait(timeout=30)
            responses[index] = APIClient().post("/api/user/register", bodies[index], format="json")
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=register, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return responses


@pytest.fixture
def racing(monkeypatch):
    """Everyone has passed validation before anyone claims a use: all fifty reach the claim's
    UPDATE together, instead of being spread out by the password checks."""
    from accounts.services import registration

    checked_in = threading.Barrier(RACERS)
    real_taken = registration.user_taken

    def taken(user):
        answer = real_taken(user)
        checked_in.wait(timeout=60)
        return answer

    monkeypatch.setattr(registration, "user_taken", taken)


def test_a_ten_use_code_admits_exactly_ten_of_fifty_racers(racing, tasks_inline, default_tier, gold, rates):
    rates(register="1000/hour")
    ReferralCode.objects.create(code="TEN-SEATS", tier=gold, max_uses=USES)
    bodies = [
        {
            "username": f"racer{i}",
            "display_name": "Racer",
            "email": f"racer{i}@example.org",
            "password": PASSWORD,
            "referral_code": "TEN-SEATS",
        }
        for i in range(RACERS)
    ]

    responses = _register_at_once(bodies)

    outcomes = Counter((r.status_code, r.json().get("code")) for r in responses)
    assert outcomes == Counter({(201, None): USES, (400, "referral_code_invalid"): RACERS - USES})
    refusal = next(r.json() for r in responses if r.status_code == 400)
    assert refusal == {"error": "This referral code is invalid, expired or used up.", "code": "referral_code_invalid"}
    assert User.objects.filter(username__startswith="racer").count() == USES
    assert User.objects.filter(referral_code__code="TEN-SEATS", tier=gold).count() == USES
    assert ReferralCode.objects.get(code="TEN-SEATS").uses == USES


def test_concurrent_default_moves_leave_exactly_one_default(default_tier):
    from tiers import services

    tiers = [default_tier] + [Tier.objects.create(slug=f"t{i}", name=f"T{i}") for i in range(9)]
    start = threading.Barrier(len(tiers))
    errors: list[BaseException] = []

    def make_default(tier: Tier) -> None:
        try:
            start.wait(timeout=30)
            services.tier_make_default(tier=tier)
        except BaseException as error:  # noqa: BLE001 - any failure fails the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=make_default, args=(tier,)) for tier in tiers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert Tier.objects.filter(is_default=True).count() == 1
