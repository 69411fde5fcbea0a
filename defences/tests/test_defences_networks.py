"""Network blocks: staff block an address or range from signing up, until it expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from defences import services
from defences.models import NetworkBlock

REGISTER = "/api/user/register"
SIGNUP = "/signup/"
BLOCKS = "/api/network-blocks/"


@pytest.mark.parametrize(
    ("network", "ip", "blocked"),
    [
        ("203.0.113.7", "203.0.113.7", True),
        ("203.0.113.7", "203.0.113.8", False),
        ("203.0.113.0/24", "203.0.113.200", True),
        ("203.0.113.9/24", "203.0.112.1", False),  # host bits are dropped: 203.0.113.0/24
        ("2001:db8::/32", "2001:db8:1::5", True),
        ("2001:db8::/32", "203.0.113.1", False),
    ],
)
def test_an_address_in_a_live_block_is_blocked(db, network, ip, blocked):
    services.network_block_create(network=network)
    assert services.network_blocked(ip=ip) is blocked


def test_an_expired_block_blocks_nothing(db):
    services.network_block_create(network="203.0.113.0/24", expires_at=timezone.now() - timedelta(seconds=1))
    assert services.network_blocked(ip="203.0.113.5") is False


def test_the_api_refuses_a_sign_up_from_a_blocked_network(api, signup_body):
    services.network_block_create(network="10.66.0.0/16", reason="bot farm")
    api.client.defaults["REMOTE_ADDR"] = "10.66.1.2"

    response = api.post(REGISTER, signup_body)

    assert response.status_code == 403
    assert response.json() == {"error": services.NetworkBlocked.message, "code": "network_blocked"}
    assert not User.objects.filter(username="dana").exists()


def test_the_block_reads_the_trusted_proxy_address(api, signup_body, settings):
    settings.TRUSTED_PROXIES = "1"
    services.network_block_create(network="198.51.100.4")

    response = api.post(REGISTER, signup_body, HTTP_X_FORWARDED_FOR="198.51.100.4")

    assert response.status_code == 403
    assert response.json()["code"] == "network_blocked"


def test_the_page_refuses_a_sign_up_from_a_blocked_network(web, signup_body):
    services.network_block_create(network="127.0.0.1")
    form = {key: value for key, value in signup_body.items() if key != "accept_terms"}

    response = web.post(SIGNUP, form)

    assert response.status_code == 403
    assert "Sign-ups from your network are blocked" in response.content.decode()
    assert not User.objects.filter(username="dana").exists()


def test_staff_manage_blocks_through_the_api(staff_client, staff_user):
    created = staff_client.post(BLOCKS, {"network": "203.0.113.9/24", "reason": "spam"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["network"], body["reason"], body["expires_at"], body["created_by"]) == (
        "203.0.113.0/24",
        "spam",
        None,
        staff_user.username,
    )

    again = staff_client.post(BLOCKS, {"network": "203.0.113.0/24"}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "network_block_exists"

    bad = staff_client.post(BLOCKS, {"network": "not an address"}, format="json")
    assert bad.status_code == 400
    assert "network" in bad.json()["fields"]

    listed = staff_client.get(BLOCKS)
    assert [row["network"] for row in listed.json()["results"]] == ["203.0.113.0/24"]

    expires = (timezone.now() + timedelta(days=1)).isoformat()
    changed = staff_client.patch(f"{BLOCKS}{body['id']}/", {"expires_at": expires}, format="json")
    assert changed.status_code == 200
    assert NetworkBlock.objects.get().expires_at is not None

    assert staff_client.delete(f"{BLOCKS}{body['id']}/").status_code == 204
    assert not NetworkBlock.objects.exists()


def test_members_cannot_see_blocks(auth_client, api_client):
    assert auth_client.get(BLOCKS).status_code == 403
    assert api_client.get(BLOCKS).status_code == 401


def test_staff_add_a_block_in_the_admin(admin_client, admin_user):
    client = admin_client
    response = client.post("/admin/defences/networkblock/add/", {"network": " 192.0.2.1 ", "reason": "x"})
    assert response.status_code == 302
    block = NetworkBlock.objects.get()
    assert (block.network, block.created_by) == ("192.0.2.1/32", admin_user)
    listing = client.get("/admin/defences/networkblock/?live=yes")
    assert "192.0.2.1/32" in listing.content.decode()
