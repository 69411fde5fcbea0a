"""What a hostile client sends is refused at the edge, in the envelope, never a 500: lone
surrogates and NUL in any string (JSON body, query string, path), ids that are not ASCII digits,
input echoed in an error message, a refusal of the database, an error nobody expected."""

from __future__ import annotations

import base64
import json

import jsonschema_rs
import pytest
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError
from django.test import Client
from django.urls import resolve
from rest_framework.test import APIClient

from accounts.models import User
from blahaj.exception_handler import exception_handler
from conftest import PASSWORD, totp_device
from defences.models import AbuseReport
from invitations.models import Invitation
from tiers.models import ReferralCode
from websites.models import Website

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"  # a lone high surrogate: JSON carries it as the escape \\ud800
NUL = "\x00"
UNREADABLE = {
    "error": "The request holds a NUL character or a lone surrogate, which no field accepts.",
    "code": "invalid_characters",
}


def raw(client: APIClient | Client, method: str, path: str, body: dict):
    # json.dumps escapes what the test client's own encoder (UTF-8, unescaped) cannot encode.
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def report(**fields) -> AbuseReport:
    defaults = {"target": "phish.example", "reason": "phishing", "details": "A fake bank login."}
    return AbuseReport.objects.create(**{**defaults, **fields})


# Lone surrogates and NUL, wherever they are.


@pytest.mark.parametrize("text", [SURROGATE, NUL, "a" + NUL + "b", "\udfff\ud800"])
def test_a_refresh_token_with_an_unreadable_character_is_refused(api_client, text):
    response = raw(api_client, "post", "/api/user/refresh", {"refresh": text})

    assert response.status_code == 400
    assert response.json() == UNREADABLE


def test_an_abuse_report_with_a_lone_surrogate_is_refused(api_client, default_tier):
    body = {"target": "phish.example", "reason": "phishing", "details": f"x{SURROGATE}y"}

    response = raw(api_client, "post", "/api/abuse-reports/", body)

    assert response.status_code == 400
    assert response.json() == UNREADABLE
    assert not AbuseReport.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {SURROGATE: "x"},  # a key
        {"domain": "a.example", "extra": [{"deep": [NUL]}]},  # deep in a list
    ],
)
def test_an_unreadable_key_or_nested_string_is_refused(auth_client, body):
    response = raw(auth_client, "post", "/api/websites/", body)

    assert response.status_code == 400
    assert response.json() == UNREADABLE


def test_a_website_kind_with_a_lone_surrogate_is_refused(auth_client):
    response = raw(auth_client, "post", "/api/websites/", {"domain": "alice.blahaj.land", "kind": SURROGATE})

    assert response.status_code == 400
    assert response.json() == UNREADABLE


@pytest.mark.parametrize("path", ["/api/users/?search=a%00b", "/api/users/?status=%00", "/api/users/?a%00=1"])
def test_a_nul_in_the_query_string_is_refused(staff_client, path):
    response = staff_client.get(path)

    assert response.status_code == 400
    assert response.json() == UNREADABLE


@pytest.mark.parametrize("path", ["/api/users/a%00b/", "/api/tiers/st%00arter/", "/api/referral-codes/%00/"])
def test_a_nul_in_the_path_is_refused(staff_client, path):
    response = staff_client.get(path)

    assert response.status_code == 400
    assert response.json() == UNREADABLE


def test_a_nul_in_a_page_path_is_a_plain_400(client, db):
    response = client.get("/confirm/a%00b/")

    assert response.status_code == 400
    assert "NUL" not in response.content.decode()


# Ids that are not ASCII digits.


@pytest.mark.parametrize("pk", ["%C2%B9", "%D9%A3", "%EF%BC%91", "1%C2%B9"])
@pytest.mark.parametrize(
    ("method", "action"),
    [("get", ""), ("delete", ""), ("post", "reset/"), ("post", "sftp-password/"), ("post", "verify-domain/")],
)
def test_a_website_id_that_is_not_ascii_digits_is_a_404(auth_client, pk, method, action):
    response = getattr(auth_client, method)(f"/api/websites/{pk}/{action}")

    assert response.status_code == 404
    assert response.json() == {"error": "Website not found.", "code": "website_not_found"}


@pytest.mark.parametrize("pk", ["%C2%B9", "%D9%A3"])
def test_confirming_a_website_id_that_is_not_ascii_digits_is_token_invalid(api_client, db, pk):
    response = api_client.post(f"/api/websites/{pk}/confirm/", {"token": "x"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "token_invalid"


@pytest.mark.parametrize("path", ["/api/abuse-reports/%C2%B9/", "/api/operations/%D9%A3/", "/api/invitations/%C2%B9/"])
def test_other_ids_that_are_not_ascii_digits_are_a_404(staff_client, path):
    response = staff_client.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# Error messages do not echo what was sent.


@pytest.mark.parametrize("value", ["<b>nope</b>", "\u00e9t\u00e9"])
def test_a_bad_choice_is_refused_without_echoing_it(staff_client, user, value):
    response = staff_client.patch(f"/api/users/{user.username}/", {"status": value}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"status": ["Not one of the allowed values."]}
    assert value not in response.content.decode()


def test_a_lone_surrogate_in_a_choice_is_refused(staff_client, user):
    response = raw(staff_client, "patch", f"/api/users/{user.username}/", {"status": SURROGATE})

    assert response.status_code == 400
    assert response.json() == UNREADABLE


def test_a_lone_surrogate_in_a_report_status_is_refused(staff_client):
    pk = report().pk

    response = raw(staff_client, "patch", f"/api/abuse-reports/{pk}/", {"status": SURROGATE})

    assert response.status_code == 400
    assert response.json() == UNREADABLE


def test_an_unknown_slug_is_refused_without_echoing_it(staff_client, user):
    response = staff_client.put(f"/api/users/{user.username}/tier/", {"tier": "<i>gold</i>"}, format="json")

    assert response.status_code == 400
    assert "<i>gold</i>" not in response.content.decode()


# NUL in a slug: PostgreSQL refuses it, so it must never reach it.


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/api/users/alice/tier/", {"tier": f"star{NUL}ter"}),
        (
            "post",
            "/api/users/",
            {"username": "dave", "display_name": "Dave", "email": "d@example.org", "tier": NUL},
        ),
        ("post", "/api/invitations/", {"email": "dana@example.org", "tier": f"x{NUL}"}),
        ("patch", "/api/abuse-reports/{report}/", {"assignee": f"car{NUL}ol"}),
    ],
)
def test_a_nul_in_a_slug_is_refused(staff_client, user, method, path, body):
    path = path.format(report=report().pk)

    response = raw(staff_client, method, path, body)

    assert response.status_code == 400
    assert response.json() == UNREADABLE


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["/api/users/?tier=a%00", "/api/abuse-reports/?assignee=a%00"])
def test_a_nul_in_a_slug_filter_never_reaches_postgresql(staff_client, path):
    assert staff_client.get(path).status_code == 400


# Wrong types and out-of-range values.


@pytest.mark.parametrize("tier", [0, True, ["starter"], {"slug": "starter"}])
def test_a_tier_that_is_not_a_string_is_refused(staff_client, user, tier):
    response = staff_client.put(f"/api/users/{user.username}/tier/", {"tier": tier}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"tier": ["Must be a string."]}


@pytest.mark.parametrize(
    "path",
    [
        "/api/audit/?door=nowhere",
        "/api/audit/?door=",
        "/api/users/?status=",
        "/api/abuse-reports/?status=",
        "/api/users/?page=",
        "/api/users/?status=asleep",
        "/api/abuse-reports/?status=pending",
        "/api/users/?page=0",
        "/api/users/?page=-1",
        "/api/users/?page=two",
        "/api/users/?page=%C2%B9",
        "/api/tiers/?page=last",
        "/api/websites/?page=0",
        "/api/invitations/?page=x",
        "/api/invitations/?state=",
    ],
)
def test_an_out_of_range_query_value_is_refused(staff_client, path):
    response = staff_client.get(path)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


# The database's refusals.


def test_a_referral_code_behind_an_invitation_cannot_be_deleted(staff_client, staff_user, default_tier):
    created = staff_client.post("/api/invitations/", {"email": "dana@example.org"}, format="json")
    assert created.status_code == 201
    code = Invitation.objects.get().referral_code.code

    response = staff_client.delete(f"/api/referral-codes/{code}/")

    assert response.status_code == 409
    assert response.json() == {
        "error": "This code belongs to an invitation: cancel the invitation instead.",
        "code": "code_in_use",
    }
    assert ReferralCode.objects.filter(code=code).exists()


def test_an_unexpected_error_on_an_api_path_is_the_envelope(staff_user, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    viewset = resolve("/api/users/").func.cls  # type: ignore[attr-defined]  # DRF's as_view() sets it; the stubs do not say
    monkeypatch.setattr(viewset, "list", broken)
    client = Client(raise_request_exception=False)
    response = client.get("/api/users/", HTTP_AUTHORIZATION=f"Bearer {_access(staff_user)}")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "Something went wrong on our side. Please try again later.",
        "code": "server_error",
    }


def _access(user: User) -> str:
    from conftest import staff_access

    return staff_access(user)


def test_a_request_django_refuses_before_any_view_is_the_envelope_on_an_api_path(staff_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    query = "&".join(f"f{n}=1" for n in range(11))

    response = staff_client.get(f"/api/users/?{query}")

    assert response.status_code == 400
    assert response.json() == {"error": "The request could not be read.", "code": "bad_request"}


def test_an_error_outside_the_views_on_an_api_path_is_the_envelope(db, monkeypatch):
    from rest_framework import renderers

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    # Raised while rendering, after DRF's own handler: Django's handler500 answers.
    monkeypatch.setattr(renderers.JSONRenderer, "render", broken)
    client = Client(raise_request_exception=False)
    response = client.post("/api/user/login", json.dumps({"username": "a"}), content_type="application/json")

    assert response.status_code == 500
    assert response.json() == {
        "error": "Something went wrong on our side. Please try again later.",
        "code": "server_error",
    }
    assert "secret detail" not in response.content.decode()


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            ProtectedError("protected", set()),
            409,
            {"error": "Other records still refer to this one, so it cannot be deleted.", "code": "protected"},
        ),
        (
            IntegrityError("duplicate key value violates unique constraint, Key (email)=(a@b.c)"),
            409,
            {"error": "The change conflicts with the data already stored.", "code": "conflict"},
        ),
        (
            DataError("value too long for type character varying(16)"),
            400,
            {"error": "A value does not fit what the database can store.", "code": "invalid"},
        ),
    ],
)
def test_a_refusal_of_the_database_is_the_envelope(exc, status, body):
    response = exception_handler(exc, {})

    assert response.status_code == status
    assert response.data == body


# The schema and the answers agree on empty optional values.


def _property_schema(client: APIClient, component: str, name: str) -> dict:
    schema = client.get("/api/schema/?format=json").json()
    return schema["components"]["schemas"][component]["properties"][name]


def test_an_sftp_site_s_empty_git_url_keeps_to_the_schema(auth_client, user):
    website = Website.objects.create(owner=user, domain="alice.blahaj.land", verification_token="t")

    body = auth_client.get(f"/api/websites/{website.pk}/").json()

    assert body["git_url"] == ""
    # As schemathesis checks it: formats on.
    assert jsonschema_rs.Draft4Validator(
        _property_schema(auth_client, "Website", "git_url"), validate_formats=True
    ).is_valid("")


def test_a_report_s_empty_reply_to_keeps_to_the_schema(staff_client):
    pk = report().pk

    body = staff_client.get(f"/api/abuse-reports/{pk}/").json()

    assert body["reply_to"] == ""
    validator = jsonschema_rs.Draft4Validator(
        _property_schema(staff_client, "AbuseReport", "reply_to"), validate_formats=True
    )
    assert validator.is_valid("")
    assert validator.is_valid("me@example.org")
    assert not validator.is_valid("not an address")


# Digits that are not ASCII, wherever a number is read from the client.

NOT_ASCII_DIGITS = "\u00b9\u00b9\u00b9\u00b9\u00b9\u00b9"  # "¹¹¹¹¹¹": str.isdigit() says yes, int() says no


def test_a_second_factor_code_of_superscript_digits_is_a_wrong_code(api_client, user):
    totp_device(user)
    challenge = api_client.post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json").json()

    response = api_client.post(
        "/api/user/login/mfa", {"mfa_token": challenge["mfa_token"], "code": NOT_ASCII_DIGITS}, format="json"
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_code"


def test_a_challenge_whose_expiry_is_not_ascii_digits_fails(api_client, default_tier, settings):
    settings.SIGNUP_CHALLENGE = "altcha"
    settings.SIGNUP_CHALLENGE_API = True
    solution = {"algorithm": "SHA-256", "challenge": "c", "number": 1, "salt": "s?expires=\u00b9", "signature": "x"}
    body = {
        "target": "phish.example",
        "reason": "phishing",
        "details": "A fake bank login.",
        "challenge": base64.b64encode(json.dumps(solution).encode()).decode(),
    }

    response = api_client.post("/api/abuse-reports/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "challenge_failed"


def test_a_key_id_that_is_not_ascii_digits_is_no_key(client, user):
    client.force_login(user)

    response = client.post("/account/mfa/", {"action": "key-remove", "key": "\u00b9"})

    assert response.status_code == 400  # the page, with the refusal's sentence
    assert "Pass your second step first" in response.content.decode()
