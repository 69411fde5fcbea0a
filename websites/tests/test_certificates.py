"""The certificate step against a real DNS server on 127.0.0.1 (dnslib) and the emulator playing
Let's Encrypt (docs/yunohost.md §10.1): it waits for DNS without asking Let's Encrypt, spaces its
attempts over hours, shows the owner what it waits for, and keeps an admin's own certificate."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from dnslib import AAAA, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSServer

import yunohost_emulator as emulator_module
from provisioning.models import Operation
from websites.models import Website
from websites.tests.conftest import SITE, confirm_path, confirmation_token, run_lane

API = "/api/websites/"
SERVER_IP = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
CUSTOM = "alice.example.org"
pytestmark = pytest.mark.django_db


class Zone(BaseResolver):
    """A, AAAA and TXT records by name; a name with none is NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[str, list[tuple[str, str]]] = {}

    def set(self, name: str, *records: tuple[str, str]) -> None:
        self.records[name] = list(records)

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        rdata = {"A": A, "AAAA": AAAA, "TXT": TXT}
        for rtype, value in self.records[name]:
            if QTYPE[request.q.qtype] == rtype:
                reply.add_answer(RR(request.q.qname, getattr(QTYPE, rtype), rdata=rdata[rtype](value), ttl=60))
        return reply


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dns_zone(settings) -> Iterator[Zone]:
    """The internet's DNS, for this service and for the emulator's Let's Encrypt alike."""
    zone = Zone()
    zone.set(settings.YUNOHOST_DOMAIN, ("A", SERVER_IP))
    port = _free_udp_port()
    server = DNSServer(zone, port=port, address="127.0.0.1")
    server.start_thread()
    settings.WEBSITES_DNS_RESOLVERS = [f"127.0.0.1:{port}"]
    settings.WEBSITES_DNS_TIMEOUT = 2
    settings.YUNOHOST_CERT_DNS_CHECK = True
    settings.YUNOHOST_PUBLIC_IPS = []  # what the main domain resolves to
    settings.YUNOHOST_EMULATOR_DNS = f"127.0.0.1:{port}"
    settings.YUNOHOST_EMULATOR_PUBLIC_IPS = SERVER_IP
    try:
        yield zone
    finally:
        server.stop()
        server.server.server_close()


def _site(owner_api, mailoutbox, domain: str = SITE) -> Website:
    created = owner_api.post(API, {"domain": domain})
    assert created.status_code == 202, created.content
    confirmed = owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    assert confirmed.status_code == 202, confirmed.content
    run_lane()
    return Website.objects.get(pk=created.json()["id"])


def _cert_operation() -> Operation:
    return Operation.objects.get(kind=Operation.Kind.CERT_INSTALL)


def _later(operation: Operation) -> None:
    """Time passes until the operation is due."""
    Operation.objects.filter(pk=operation.pk).update(next_attempt_at=timezone.now())


def _seconds_until_due(operation: Operation) -> float:
    operation.refresh_from_db()
    return (operation.next_attempt_at - timezone.now()).total_seconds()


def test_the_certificate_waits_for_dns_without_asking_lets_encrypt(owner_api, emulator, dns_zone, mailoutbox):
    website = _site(owner_api, mailoutbox)
    operation = _cert_operation()

    assert website.status == Website.Status.LIVE and website.certificate == Website.Certificate.PENDING
    assert (operation.status, operation.attempts) == (Operation.Status.PENDING, 0)
    assert operation.error == (
        f"Waiting for the DNS of {SITE} to point at the server: it resolves to nothing, not to {SERVER_IP}."
    )
    assert emulator.log("domain cert install") == []  # Let's Encrypt was never asked
    assert 14 * 60 < _seconds_until_due(operation) <= 15 * 60
    detail = owner_api.get(f"{API}{website.pk}").json()["certificate_detail"]
    assert detail == {
        "state": "waiting_dns",
        "message": "Waiting for the site's address to reach our server.",
        "next_attempt_at": operation.next_attempt_at.isoformat(),
    }

    dns_zone.set(SITE, ("A", SERVER_IP))
    _later(operation)
    run_lane()

    website.refresh_from_db()
    operation.refresh_from_db()
    assert website.certificate == Website.Certificate.OK
    assert (operation.status, operation.attempts) == (Operation.Status.SUCCEEDED, 1)
    assert [entry["exit"] for entry in emulator.log("domain cert install")] == [0]
    assert owner_api.get(f"{API}{website.pk}").json()["certificate_detail"] == {
        "state": "installed",
        "message": "Your site has a Let's Encrypt certificate.",
    }


def test_a_custom_domain_owner_sees_the_records_to_set(owner_api, user, plus_tier, emulator, dns_zone, mailoutbox):
    user.tier = plus_tier
    user.save()
    created = owner_api.post(API, {"domain": CUSTOM})
    confirmed = owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    assert confirmed.status_code == 202
    website = Website.objects.get(pk=created.json()["id"])
    dns_zone.set(f"_blahaj-verify.{CUSTOM}", ("TXT", website.verification_token))
    dns_zone.set(CUSTOM, ("A", ELSEWHERE), ("AAAA", "2001:db8::9"))  # still at the old host
    assert owner_api.post(f"{API}{website.pk}/verify-domain").status_code == 200
    run_lane()

    website.refresh_from_db()
    assert website.status == Website.Status.LIVE
    body = owner_api.get(f"{API}{website.pk}").json()
    assert body["certificate_detail"]["state"] == "waiting_dns"
    assert body["certificate_detail"]["message"] == (
        "Waiting for your DNS to point at us: set these records at your DNS provider."
    )
    assert body["certificate_detail"]["records"] == [{"type": "A", "name": CUSTOM, "value": SERVER_IP}]
    assert _cert_operation().error == (
        f"Waiting for the DNS of {CUSTOM} to point at the server: it resolves to {ELSEWHERE}, 2001:db8::9, "
        f"not to {SERVER_IP}."
    )
    assert emulator.log("domain cert install") == []


def test_lets_encrypt_failures_are_spaced_over_hours_then_the_step_fails(
    owner_api, emulator, dns_zone, mailoutbox, settings, staff_notes
):
    settings.YUNOHOST_CERT_RETRY_SCHEDULE = [900, 3600]
    settings.YUNOHOST_EMULATOR_PUBLIC_IPS = "192.0.2.1"  # Let's Encrypt cannot reach us (a firewall, say)
    dns_zone.set(SITE, ("A", SERVER_IP))
    website = _site(owner_api, mailoutbox)
    operation = _cert_operation()

    waits = []
    for _ in range(2):
        operation.refresh_from_db()
        assert operation.status == Operation.Status.PENDING
        waits.append(round(_seconds_until_due(operation) / 60))
        assert owner_api.get(f"{API}{website.pk}").json()["certificate_detail"]["state"] == "retrying"
        _later(operation)
        run_lane()

    operation.refresh_from_db()
    website.refresh_from_db()
    assert waits == [15, 60]
    assert (operation.status, operation.attempts) == (Operation.Status.FAILED, 3)
    assert operation.error.endswith("(gave up after 3 attempts)")
    assert "Let's Encrypt certificate install failed for" in operation.error
    assert website.status == Website.Status.LIVE and website.certificate == Website.Certificate.FAILING
    assert len(emulator.log("domain cert install")) == 3
    assert len(emulator.state()["letsencrypt_failures"][SITE]) == 3  # within Let's Encrypt's 5 an hour
    assert owner_api.get(f"{API}{website.pk}").json()["certificate_detail"]["state"] == "failing"
    assert [event for event, _ in staff_notes] == ["website_requested", "website_live", "operation_failed"]
    assert f"cert:{SITE}" in staff_notes[-1][1]


def test_a_staff_retry_checks_dns_before_spending_an_attempt(
    owner_api, staff_api, emulator, dns_zone, mailoutbox, settings
):
    settings.YUNOHOST_CERT_RETRY_SCHEDULE = [900]
    settings.YUNOHOST_EMULATOR_PUBLIC_IPS = "192.0.2.1"
    dns_zone.set(SITE, ("A", SERVER_IP))
    _site(owner_api, mailoutbox)
    operation = _cert_operation()
    _later(operation)
    run_lane()
    operation.refresh_from_db()
    assert operation.status == Operation.Status.FAILED
    dns_zone.set(SITE, ("A", ELSEWHERE))  # the member moved the name away meanwhile

    assert staff_api.post(f"/api/operations/{operation.pk}/retry").status_code in (200, 202)
    run_lane()

    operation.refresh_from_db()
    assert (operation.status, operation.attempts) == (Operation.Status.PENDING, 0)
    assert json.loads(operation.output)["waiting"] == "dns"
    assert len(emulator.log("domain cert install")) == 2  # none for the retry


def test_an_admins_own_certificate_is_kept(owner_api, emulator, dns_zone, mailoutbox):
    created = owner_api.post(API, {"domain": SITE})
    owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    run_lane()  # live; the certificate waits for the name's DNS
    with emulator_module.transaction(str(emulator.path)) as state:
        state["domains"][SITE]["cert"] = "other"  # meanwhile an admin put a certificate of theirs on it
    _later(_cert_operation())
    run_lane()
    website = Website.objects.get(pk=created.json()["id"])

    operation = _cert_operation()
    assert (operation.status, website.certificate) == (Operation.Status.SUCCEEDED, Website.Certificate.OK)
    assert emulator.log("domain cert install") == []
    assert owner_api.get(f"{API}{website.pk}").json()["certificate_detail"] == {
        "state": "own",
        "message": "The server's administrators installed a certificate for this site.",
    }


def test_the_progress_page_shows_what_the_certificate_waits_for(owner_api, emulator, dns_zone, mailoutbox):
    created = owner_api.post(API, {"domain": SITE})
    path = confirm_path(mailoutbox)
    opened = Client().get(path)
    run_lane()
    page = Client().get(opened["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and created.status_code == 202
    assert (
        '<span id="website-certificate-detail">Waiting for the site&#x27;s address to reach our server.</span>' in html
    )
    key = opened["Location"].split("site=", 1)[1].split("&", 1)[0]
    progress = Client().get(f"/websites/{created.json()['id']}/progress?key={key}")
    assert progress.json()["certificate_detail"]["state"] == "waiting_dns"


def test_the_dns_check_waits_longer_the_longer_it_waits(owner_api, emulator, dns_zone, mailoutbox, settings):
    _site(owner_api, mailoutbox)
    operation = _cert_operation()
    Operation.objects.filter(pk=operation.pk).update(
        created_at=timezone.now() - timedelta(days=3), next_attempt_at=timezone.now()
    )
    run_lane()
    assert _seconds_until_due(operation) == pytest.approx(settings.YUNOHOST_CERT_DNS_RECHECK_MAX, abs=5)
    assert operation.attempts == 0
