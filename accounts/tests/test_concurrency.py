"""Twenty sign-ups at once for one username (or one email): one wins, the rest get 409.

Real threads, each with its own PostgreSQL connection, so the unique constraints decide
(SQLite serialises writers, so the race only exists on the PostgreSQL pass).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from conftest import PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 20


def _register_at_once(bodies: list[dict]) -> list:
    start = threading.Barrier(len(bodies))
    responses: list = [None] * len(bodies)

    def register(index: int) -> None:
        try:
            client = APIClient()
            start.wait(timeout=30)
            responses[index] = client.post("/api/user/register", bodies[index], format="json")
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=register, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


@pytest.fixture
def racing(tasks_inline, default_tier, rates, before_account_insert):
    """Everyone passes the availability pre-check before anyone inserts.

    Without this sync point the interpreter lock spreads the threads out enough that the
    first insert commits before the others look, and only the pre-check is exercised. Here
    all of them reach the INSERT together: the unique constraints decide, and the losers'
    IntegrityError must come back as 409, never 500.
    """
    rates(register="1000/hour")
    checked_in = threading.Barrier(RACERS)
    before_account_insert(lambda user: checked_in.wait(timeout=30))


def _outcomes(responses) -> Counter:
    return Counter((r.status_code, r.json().get("code")) for r in responses)


def test_one_username_twenty_times(racing):
    bodies = [
        {"username": "dana", "display_name": "Dana", "email": f"dana{i}@example.org", "password": PASSWORD}
        for i in range(RACERS)
    ]

    outcomes = _outcomes(_register_at_once(bodies))

    assert outcomes == Counter({(201, None): 1, (409, "username_taken"): RACERS - 1})
    assert User.objects.filter(username="dana").count() == 1


def test_one_email_twenty_times(racing):
    bodies = [
        {
            "username": f"dana{i}",
            "display_name": "Dana",
            "email": "Dana@EXAMPLE.org" if i % 2 else "Dana@example.org",
            "password": PASSWORD,
        }
        for i in range(RACERS)
    ]

    outcomes = _outcomes(_register_at_once(bodies))

    assert outcomes == Counter({(201, None): 1, (409, "email_taken"): RACERS - 1})
    assert User.objects.filter(email__iexact="dana@example.org").count() == 1
