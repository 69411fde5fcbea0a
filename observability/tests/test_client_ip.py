"""One answer to "who is the client?" for every per-IP limit: X-Forwarded-For counts only
where our own proxies wrote it (TRUSTED_PROXIES)."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.test import APIClient

from conftest import PASSWORD
from observability.client_ip import client_ip, parse_trusted_proxies

LOGIN = "/api/user/login"
PROXY = "10.0.0.2"
_names = itertools.count()


@pytest.fixture
def login_rate(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "20/min"},
    }


def ip_of(remote: str, forwarded: str | None = None) -> str:
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    request = RequestFactory().get("/")
    request.META.update(meta)
    return client_ip(request)


def attempt(remote: str, forwarded: str) -> int:
    """A failed login under a fresh name each time (the per-account lockout stays out of it)."""
    client = APIClient(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    body = {"username": f"nobody{next(_names)}", "password": "wrong"}
    return client.post(LOGIN, body, format="json").status_code


def test_without_proxies_a_new_forwarded_header_each_time_does_not_escape_the_limit(user, login_rate):
    statuses = [attempt("203.0.113.7", f"198.51.100.{n}") for n in range(30)]

    assert statuses[:20] == [401] * 20
    assert statuses[20:] == [429] * 10
    # Another address still has its own budget.
    assert (
        APIClient(REMOTE_ADDR="203.0.113.8")
        .post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")
        .status_code
        == 200
    )


def test_behind_one_proxy_the_hop_it_saw_is_the_client(user, login_rate, settings):
    settings.TRUSTED_PROXIES = "1"
    # The client forges a left-most entry; our proxy appends the address it really saw.
    statuses = [attempt(PROXY, f"198.51.100.{n}, 203.0.113.7") for n in range(21)]

    assert statuses[-1] == 429
    assert attempt(PROXY, "198.51.100.1, 203.0.113.9") == 401  # another real client


def test_behind_listed_proxies_the_first_untrusted_hop_from_the_right_is_the_client(user, login_rate, settings):
    settings.TRUSTED_PROXIES = "10.0.0.0/8, 127.0.0.1"
    statuses = [attempt(PROXY, f"198.51.100.{n}, 203.0.113.7, 10.9.9.9") for n in range(21)]

    assert statuses[-1] == 429
    assert attempt(PROXY, "203.0.113.9") == 401


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ("", "203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("1", PROXY, None, PROXY),
        ("1", PROXY, "203.0.113.7", "203.0.113.7"),
        ("1", PROXY, "1.1.1.1, 203.0.113.7", "203.0.113.7"),
        ("2", PROXY, "1.1.1.1, 203.0.113.7, 10.0.0.3", "203.0.113.7"),
        ("2", PROXY, "203.0.113.7", "203.0.113.7"),  # fewer hops than proxies: the furthest
        ("1", PROXY, "not-an-address", PROXY),  # garbage is never the client
        ("10.0.0.0/8", PROXY, "1.1.1.1, 203.0.113.7, 10.1.1.1", "203.0.113.7"),
        ("10.0.0.0/8", "203.0.113.7", "1.1.1.1", "203.0.113.7"),  # an untrusted peer's header
        ("10.0.0.0/8", PROXY, "10.1.1.1", "10.1.1.1"),  # all trusted: the furthest
        ("::1,10.0.0.2", "::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, client):
    settings.TRUSTED_PROXIES = trusted

    assert ip_of(remote, forwarded) == client


def test_a_malformed_trusted_proxies_setting_stops_with_a_clear_message():
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES must be"):
        parse_trusted_proxies("nginx")


def test_the_pages_share_the_limit_and_the_client_ip(db, default_tier, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "email": "2/hour"},
    }
    statuses = []
    for n in range(3):
        client = APIClient(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        statuses.append(client.post("/password-reset/", {"identifier": "someone"}).status_code)

    assert statuses == [302, 302, 429]
