"""Twenty website requests at once from one starter member: exactly one site, the rest 409.

Real threads, each with its own PostgreSQL connection and its own request, all released
together: the lock on the owner's row must count them one after the other.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from conftest import login
from websites.models import Website

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 20


def test_twenty_concurrent_requests_of_a_starter_member_make_exactly_one_site(user, tasks_inline):
    access = login(APIClient(), user.username)["access"]
    start = threading.Barrier(RACERS)
    responses: list = [None] * RACERS

    def request(index: int) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
            start.wait(timeout=30)
            # Different names: the tier's limit decides, not the domain's uniqueness.
            responses[index] = client.post("/create_website", {"domain": f"site{index}.blahaj.land"}, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    outcomes = Counter((r.status_code, r.json().get("code")) for r in responses)
    assert outcomes == {(200, None): 1, (409, "website_limit_reached"): RACERS - 1}
    assert Website.objects.filter(owner=user).count() == 1


def test_twenty_concurrent_requests_for_one_domain_make_one_site(make_user, tasks_inline):
    members = [make_user(f"racer{i}") for i in range(RACERS)]
    tokens = [login(APIClient(), member.username)["access"] for member in members]
    start = threading.Barrier(RACERS)
    responses: list = [None] * RACERS

    def request(index: int) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[index]}")
            start.wait(timeout=30)
            responses[index] = client.post("/api/websites/", {"domain": "shared.blahaj.land"}, format="json")
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    outcomes = Counter((r.status_code, r.json().get("code")) for r in responses)
    assert outcomes == {(202, None): 1, (409, "domain_taken"): RACERS - 1}
    assert Website.objects.count() == 1
