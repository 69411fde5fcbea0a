"""Model-backed bodies take JSON types at their word too, and a list refuses query parameters
it does not know (a misspelt filter must not answer with every row)."""

from __future__ import annotations

import pytest

from tiers.models import Tier

pytestmark = pytest.mark.django_db


def test_a_tier_body_with_a_number_for_a_string_is_refused(staff_client, default_tier):
    body = {"slug": "big", "name": "Big", "max_websites": 3, "mailbox_quota": "1G", "description": 0}

    response = staff_client.post("/api/tiers/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == {"description": ["Must be a string."]}
    assert not Tier.objects.filter(slug="big").exists()


def test_a_referral_code_body_with_a_string_for_a_number_is_refused(staff_client, default_tier):
    response = staff_client.post("/api/referral-codes/", {"max_uses": "10"}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"max_uses": ["Must be a whole number."]}


def test_a_staff_user_body_with_a_wrong_type_is_refused(staff_client, default_tier):
    body = {"username": "dave", "display_name": 5, "email": "dave@example.org"}

    response = staff_client.post("/api/users/", body, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"display_name": ["Must be a string."]}


@pytest.mark.parametrize("path", ["/api/tiers/", "/api/referral-codes/", "/api/users/", "/api/operations/"])
def test_a_list_refuses_an_unknown_query_parameter(staff_client, default_tier, path):
    response = staff_client.get(path, {"stauts": "active"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert response.json()["fields"] == {"stauts": ["Unknown query parameter."]}
    assert response.json()["error"].startswith("Unknown query parameter: stauts. This list takes: ")


def test_a_page_size_is_refused_with_what_is_wrong(staff_client, default_tier):
    response = staff_client.get("/api/users/", {"page_size": 50})

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["fields"]) == ("invalid", {"page_size": ["Unknown query parameter."]})
    assert body["error"] == (
        "Unknown query parameter: page_size. Pages have a fixed size of 50 rows; the next one is ?page=2."
        " This list takes: ordering, page, search, status, tier."
    )


def test_a_bad_page_number_says_so(staff_client, default_tier):
    response = staff_client.get("/api/tiers/", {"page": 0})

    assert response.status_code == 400
    assert response.json()["error"] == "page: Must be a whole number from 1."
    assert response.json()["fields"] == {"page": ["Must be a whole number from 1."]}


def test_a_list_takes_its_own_query_parameters(staff_client, default_tier, user):
    response = staff_client.get("/api/users/", {"search": "ali", "status": "active", "page": 1})

    assert response.status_code == 200
    assert [row["username"] for row in response.json()["results"]] == ["alice"]


def test_tiers_are_public(api_client, default_tier):
    response = api_client.get("/api/tiers/")

    assert response.status_code == 200
    assert [row["slug"] for row in response.json()["results"]] == [default_tier.slug]
