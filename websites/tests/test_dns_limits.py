"""verify-domain looks up DNS in the request, bounded and limited (websites/dns.py): a resolver
that never answers costs each request at most WEBSITES_DNS_TIMEOUT, one look-up per site runs at
a time, at most WEBSITES_DNS_CONCURRENCY run at once in all server processes, and the others are
refused at once. The DNS server is dnslib's on 127.0.0.1, taking every question and answering
none."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from django.db import connection
from dnslib.server import BaseResolver, DNSLogger, DNSServer
from rest_framework.test import APIClient

from conftest import login
from testing import child_env, gunicorn
from websites import dns, services
from websites.models import Website
from websites.tests.test_dns import _free_udp_port

API = "/api/websites/"


class Silent(BaseResolver):
    """Takes every question and answers none (until the test ends)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.asked: list[str] = []

    def resolve(self, request, handler):
        self.asked.append(str(request.q.qname).rstrip("."))
        self.released.wait(120)
        return request.reply()


@pytest.fixture
def silent_dns(settings) -> Iterator[tuple[Silent, str]]:
    resolver = Silent()
    port = _free_udp_port()
    server = DNSServer(resolver, port=port, address="127.0.0.1", logger=DNSLogger("-request,-reply,-error"))
    server.start_thread()
    settings.WEBSITES_DNS_RESOLVERS = [f"127.0.0.1:{port}"]
    try:
        yield resolver, f"127.0.0.1:{port}"
    finally:
        resolver.released.set()
        server.stop()
        server.server.server_close()


def _wait_for(condition, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _custom_sites(owner, count: int) -> list[Website]:
    return [
        Website.objects.create(owner=owner, domain=f"site{n}.example.org", verification_token=f"token-{n}")
        for n in range(count)
    ]


def _member(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(APIClient(), user.username)['access']}")
    return client


def _in_background(name: str) -> threading.Thread:
    thread = threading.Thread(target=lambda: dns.txt_values_now(name), daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db
def test_a_lookup_that_never_answers_ends_within_its_lifetime(user, silent_dns, settings):
    settings.WEBSITES_DNS_TIMEOUT = 1
    [site] = _custom_sites(user, 1)

    started = time.monotonic()
    response = _member(user).post(f"{API}{site.pk}/verify-domain")
    took = time.monotonic() - started

    assert response.status_code == 409 and response.json()["verified"] is False
    assert response.json()["code"] == "domain_not_verified"
    assert 0.9 <= took < 1.8
    assert silent_dns[0].asked == [f"_blahaj-verify.{site.domain}"]


@pytest.mark.django_db
def test_a_site_being_checked_is_not_checked_twice_at_once(user, silent_dns, settings):
    settings.WEBSITES_DNS_TIMEOUT = 2
    [site] = _custom_sites(user, 1)
    member = _member(user)
    first = _in_background(site.verification_record)
    _wait_for(lambda: len(silent_dns[0].asked) == 1)

    started = time.monotonic()
    second = member.post(f"{API}{site.pk}/verify-domain")
    took = time.monotonic() - started
    first.join(timeout=10)

    assert second.status_code == 429 and took < 1.5  # at once: a wait would last the 2 s look-up
    assert second.json() == {
        "error": "This domain is being checked right now. Try again in a few seconds.",
        "code": "verification_running",
    }
    assert second["Retry-After"] == "2"
    assert len(silent_dns[0].asked) == 1
    # Its look-up over, the site can be checked again.
    assert member.post(f"{API}{site.pk}/verify-domain").status_code == 409


@pytest.mark.django_db
def test_with_every_slot_taken_a_check_is_refused_at_once(user, silent_dns, settings):
    settings.WEBSITES_DNS_TIMEOUT, settings.WEBSITES_DNS_CONCURRENCY = 2, 2
    site, *others = _custom_sites(user, 3)
    hanging = [_in_background(other.verification_record) for other in others]
    _wait_for(lambda: len(silent_dns[0].asked) == 2)

    started = time.monotonic()
    refused = _member(user).post(f"{API}{site.pk}/verify-domain")
    took = time.monotonic() - started
    for thread in hanging:
        thread.join(timeout=10)

    assert refused.status_code == 429 and took < 1.5  # at once: a wait would last the 2 s look-up
    assert refused.json()["code"] == "verification_busy" and refused["Retry-After"] == "2"
    assert site.verification_record not in silent_dns[0].asked


@pytest.mark.django_db
def test_the_admin_says_which_sites_it_could_not_check_now(user, silent_dns, settings, admin_client):
    settings.WEBSITES_DNS_TIMEOUT, settings.WEBSITES_DNS_CONCURRENCY = 2, 1
    site, other = _custom_sites(user, 2)
    hanging = _in_background(other.verification_record)
    _wait_for(lambda: len(silent_dns[0].asked) == 1)

    page = admin_client.post(
        "/admin/websites/website/", {"action": "reverify", "_selected_action": [site.pk]}, follow=True
    )
    hanging.join(timeout=10)

    assert page.status_code == 200
    assert f"Not checked: {site.domain} (Too many domains are being checked right now." in page.content.decode()


@pytest.mark.django_db
def test_the_periodic_recheck_is_not_refused_by_the_requests_limits(user, silent_dns, settings):
    # The beat's recheck runs in a worker: it waits for its look-ups instead.
    settings.WEBSITES_DNS_TIMEOUT, settings.WEBSITES_DNS_CONCURRENCY = 1, 1
    site, other = _custom_sites(user, 2)
    Website.objects.filter(pk=site.pk).update(status=Website.Status.LIVE, verified_at="2026-01-01T00:00:00Z")
    hanging = _in_background(other.verification_record)
    _wait_for(lambda: len(silent_dns[0].asked) == 1)

    lost = services.websites_recheck_domains()
    hanging.join(timeout=10)

    assert lost == [site.domain]


# --- the whole server: one member's look-ups do not hold everyone's workers ---------------------

WORKERS = 4
ATTACKERS = 8
ATTACK_SECONDS = 6.0
LIFETIME = 2


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_hanging_lookups_do_not_delay_a_bystander(user, silent_dns):
    sites = _custom_sites(user, ATTACKERS)
    token = login(APIClient(), user.username)["access"]
    connection.close()  # the server's workers share this database
    env = child_env(
        WEBSITES_DNS_RESOLVERS=silent_dns[1],
        WEBSITES_DNS_TIMEOUT=str(LIFETIME),
        WEBSITES_DNS_CONCURRENCY="2",
        DJANGO_SECURE_SSL_REDIRECT="false",
        # Only the look-ups' own bounds are at play here, not the throttles.
        THROTTLE_LOOKUP="10000/min",
        THROTTLE_VERIFY_DOMAIN="10000/min",
        THROTTLE_VERIFY_DOMAIN_SITE="10000/min",
    )
    answers: list[tuple[int, str, float]] = []
    bystander: list[float] = []

    with gunicorn(workers=WORKERS, env=env) as url:
        requests.get(f"{url}/api/tiers/", timeout=10)  # every import done before the clock starts
        deadline = time.monotonic() + ATTACK_SECONDS

        def attack(site: Website) -> None:
            with requests.Session() as session:
                session.headers["Authorization"] = f"Bearer {token}"
                while time.monotonic() < deadline:
                    started = time.monotonic()
                    response = session.post(f"{url}{API}{site.pk}/verify-domain", timeout=30)
                    answers.append((response.status_code, response.json()["code"], time.monotonic() - started))
                    time.sleep(0.2)

        attackers = [threading.Thread(target=attack, args=(site,)) for site in sites]
        for thread in attackers:
            thread.start()
        time.sleep(0.5)  # the look-ups are hanging by now
        with requests.Session() as session:
            while time.monotonic() < deadline - 0.5:
                started = time.monotonic()
                assert session.get(f"{url}/api/tiers/", timeout=30).status_code == 200
                bystander.append(time.monotonic() - started)
                time.sleep(0.1)
        for thread in attackers:
            thread.join(timeout=60)

    outcomes = Counter((status, code) for status, code, _ in answers)
    looked_up = outcomes[(409, "domain_not_verified")]
    assert set(outcomes) <= {(409, "domain_not_verified"), (429, "verification_busy")}, outcomes
    assert looked_up >= 2 and outcomes[(429, "verification_busy")] > 0, outcomes
    # Two slots, each held LIFETIME seconds per look-up, for the attack's length (plus the last).
    assert looked_up <= 2 * (ATTACK_SECONDS / LIFETIME + 1), outcomes
    assert max(took for _, _, took in answers) < LIFETIME + 1.5
    # Without the limits every worker waits on DNS and the bystander waits LIFETIME or more.
    bystander.sort()
    assert len(bystander) >= 10 and bystander[len(bystander) // 2] < 0.25 and bystander[-1] < 1.5, bystander[-5:]
