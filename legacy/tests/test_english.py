"""The legacy routes answer in English whatever the request's language (docs/i18n.md): the front
end shows `error` as it is, and relies on it being ASCII."""

from __future__ import annotations

from rest_framework.test import APIClient

from conftest import FRONT_END_FORM, legacy_login


def _front_end_client() -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="fr")
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {legacy_login(client, 'signup_frontend').json()['access_token']}",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    return client


def test_create_user_in_french_answers_the_same_english(service_account, default_tier):
    response = _front_end_client().post("/create_user", FRONT_END_FORM, format="json")

    assert response.status_code == 201
    assert response.json() == {"message": "User created successfully"}
    assert response["Content-Language"] == "en"


def test_create_user_in_french_names_the_missing_field_in_english(service_account, default_tier):
    response = _front_end_client().post("/create_user", {"username": "dana", "display_name": "Dana"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "Recovery email: this field is required."


def test_a_bad_login_in_french_is_the_same_english_401(user):
    response = legacy_login(APIClient(HTTP_ACCEPT_LANGUAGE="fr"), "alice", "wrong-password-x")

    assert response.status_code == 401
    assert response.json() == {
        "msg": "Bad username or password",
        "error": "Invalid username or password.",
        "code": "invalid_credentials",
    }
