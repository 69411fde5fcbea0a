"""Email domains at sign-up: the throwaway list, staff blocks (also matched against the domain's
mail servers), and the can-receive-mail check against a real DNS server on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest
from dnslib import MX, QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

from accounts.models import User
from defences import mail_domains, services
from defences.models import EmailDomainBlock

REGISTER = "/api/user/register"
SIGNUP = "/signup/"
BLOCKS = "/api/email-domain-blocks/"

ZONE: dict[str, list] = {
    "good.example": [MX("mx.good.example", 10)],
    "mx.good.example": [A("192.0.2.10")],
    "aonly.example": [A("192.0.2.11")],
    "nullmx.example": [MX(".", 0)],
    "fresh-throwaway.example": [MX("mx.trash-host.example", 10)],
}


class Zone(BaseResolver):
    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name == "servfail.example":
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name not in ZONE:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for rdata in ZONE[name]:
            rtype = QTYPE.MX if isinstance(rdata, MX) else QTYPE.A
            if rtype == request.q.qtype:
                reply.add_answer(RR(request.q.qname, rtype, rdata=rdata, ttl=60))
        return reply


@pytest.fixture(scope="module")
def dns_server():
    server = DNSServer(
        Zone(),
        address="127.0.0.1",
        port=0,
        logger=DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False),
    )
    server.start_thread()
    yield f"127.0.0.1:{server.server.server_address[1]}"
    server.stop()
    server.server.server_close()


@pytest.fixture
def dns(settings, dns_server):
    settings.SIGNUP_CHECK_MX = True
    settings.SIGNUP_DNS_RESOLVERS = [dns_server]
    settings.SIGNUP_DNS_TIMEOUT = 2.0
    return dns_server


@pytest.fixture
def silent_dns(settings):
    """A resolver that never answers: a UDP socket nobody reads."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        settings.SIGNUP_CHECK_MX = True
        settings.SIGNUP_DNS_RESOLVERS = [f"127.0.0.1:{sink.getsockname()[1]}"]
        settings.SIGNUP_DNS_TIMEOUT = 0.3
        yield


@pytest.mark.parametrize(
    ("domain", "hosts"),
    [
        ("good.example", ("mx.good.example",)),
        ("aonly.example", ("aonly.example",)),
        ("nullmx.example", ()),
        ("nowhere.example", ()),
    ],
)
def test_mail_hosts_from_a_real_dns_server(dns, domain, hosts):
    assert mail_domains.mail_hosts(domain) == hosts


def test_a_dns_failure_is_neither_yes_nor_no(dns):
    with pytest.raises(mail_domains.DnsUnavailable):
        mail_domains.mail_hosts("servfail.example")


def test_a_mistyped_resolver_setting_is_a_dns_failure(dns, settings):
    settings.SIGNUP_DNS_RESOLVERS = ["127.0.0.1:notaport"]
    with pytest.raises(mail_domains.DnsUnavailable):
        mail_domains.mail_hosts("good.example")


def test_the_answer_is_cached(dns, settings):
    assert mail_domains.mail_hosts("good.example") == ("mx.good.example",)
    settings.SIGNUP_DNS_RESOLVERS = ["127.0.0.1:9"]  # nothing there: only the cache can answer
    assert mail_domains.mail_hosts("good.example") == ("mx.good.example",)


def body(signup_body, email: str) -> dict:
    return {**signup_body, "email": email}


@pytest.mark.parametrize("email", ["dana@mailinator.com", "dana@sub.mailinator.com"])
def test_a_throwaway_domain_is_refused(api, signup_body, email):
    response = api.post(REGISTER, body(signup_body, email))
    assert response.status_code == 400
    assert response.json() == {"error": services.EmailDomainBlocked.message, "code": "email_domain_blocked"}
    assert not User.objects.filter(username="dana").exists()


def test_a_staff_block_covers_subdomains(api, signup_body):
    services.email_domain_block_create(domain="Spam.Example.")
    response = api.post(REGISTER, body(signup_body, "dana@mail.spam.example"))
    assert response.status_code == 400
    assert response.json()["code"] == "email_domain_blocked"


def test_a_block_matches_the_domain_mail_server(api, signup_body, dns):
    services.email_domain_block_create(domain="trash-host.example")
    response = api.post(REGISTER, body(signup_body, "dana@fresh-throwaway.example"))
    assert response.status_code == 400
    assert response.json()["code"] == "email_domain_blocked"
    assert not User.objects.exists()


@pytest.mark.parametrize("email", ["dana@nowhere.example", "dana@nullmx.example"])
def test_a_domain_without_mail_is_refused(api, signup_body, dns, email):
    response = api.post(REGISTER, body(signup_body, email))
    assert response.status_code == 400
    assert response.json() == {
        "error": "This email domain cannot receive mail. Check the address, or use another one.",
        "code": "email_domain_blocked",
    }


@pytest.mark.parametrize("email", ["dana@good.example", "dana@aonly.example"])
def test_a_domain_with_mail_is_accepted_unflagged(api, signup_body, dns, email):
    response = api.post(REGISTER, body(signup_body, email))
    assert response.status_code == 201
    assert User.objects.get(username="dana").email_domain_unverified is False


def test_a_dns_failure_accepts_and_flags(api, signup_body, dns):
    response = api.post(REGISTER, body(signup_body, "dana@servfail.example"))
    assert response.status_code == 201
    assert User.objects.get(username="dana").email_domain_unverified is True


def test_a_dns_timeout_accepts_and_flags(api, signup_body, silent_dns):
    response = api.post(REGISTER, body(signup_body, "dana@slow.example"))
    assert response.status_code == 201
    assert User.objects.get(username="dana").email_domain_unverified is True


def test_existing_accounts_are_not_touched(api, signup_body, user):
    domain = user.email.rpartition("@")[2]
    services.email_domain_block_create(domain=domain)
    user.refresh_from_db()
    assert user.email.endswith(domain) and user.status == User.Status.ACTIVE
    assert api.post(REGISTER, body(signup_body, f"dana@{domain}")).status_code == 400


def test_the_page_shows_the_refusal_on_the_email_field(web, signup_body):
    form = {key: value for key, value in body(signup_body, "dana@mailinator.com").items() if key != "accept_terms"}
    response = web.post(SIGNUP, form)
    assert response.status_code == 400
    assert 'id="id_email_error"' in response.content.decode()
    assert "We do not accept sign-ups with addresses at this domain." in response.content.decode()


def test_staff_manage_domain_blocks_through_the_api(staff_client, staff_user):
    created = staff_client.post(BLOCKS, {"domain": "Throwaway.Example", "reason": "bots"}, format="json")
    assert created.status_code == 201, created.json()
    assert (created.json()["domain"], created.json()["created_by"]) == ("throwaway.example", staff_user.username)
    assert staff_client.post(BLOCKS, {"domain": "throwaway.example"}, format="json").json()["code"] == (
        "email_domain_block_exists"
    )
    bad = staff_client.post(BLOCKS, {"domain": "not a domain"}, format="json")
    assert bad.status_code == 400 and "domain" in bad.json()["fields"]
    pk = created.json()["id"]
    assert staff_client.patch(f"{BLOCKS}{pk}/", {"reason": "more bots"}, format="json").json()["reason"] == "more bots"
    assert staff_client.delete(f"{BLOCKS}{pk}/").status_code == 204
    assert not EmailDomainBlock.objects.exists()


def test_members_cannot_touch_domain_blocks(auth_client):
    assert auth_client.get(BLOCKS).status_code == 403


def test_the_admin_filters_flagged_accounts(admin_client, user, other_user):
    User.objects.filter(pk=user.pk).update(email_domain_unverified=True)
    page = admin_client.get("/admin/accounts/user/?email_domain_unverified__exact=1").content.decode()
    assert user.username in page and other_user.username not in page
