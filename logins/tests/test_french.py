"""A French request reads the login's sentences in French; the `code` stays the same."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_wrong_password_in_french_keeps_its_code(user):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="fr").post(
        "/api/user/login", {"username": "alice", "password": "wrong-password-x"}, format="json"
    )

    assert response.status_code == 401
    assert response.json() == {"error": "Nom d’utilisateur ou mot de passe incorrect.", "code": "invalid_credentials"}
    assert response["Content-Language"] == "fr"


def test_a_wrong_password_in_english_is_unchanged(user):
    response = APIClient().post("/api/user/login", {"username": "alice", "password": "wrong-password-x"}, format="json")

    assert response.json() == {"error": "Invalid username or password.", "code": "invalid_credentials"}


def test_the_lockout_in_french_keeps_its_code(user, settings):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="fr")
    for _ in range(settings.ACCOUNTS_LOGIN_MAX_FAILURES):
        client.post("/api/user/login", {"username": "alice", "password": "wrong-password-x"}, format="json")

    response = client.post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 429
    assert response.json() == {
        "error": "Trop de tentatives de connexion échouées. Réessayez plus tard.",
        "code": "too_many_attempts",
    }


@pytest.mark.parametrize(
    ("language", "sentence"),
    [("en", "A refresh token is required."), ("fr", "Un jeton de rafraîchissement est requis.")],
)
def test_a_refresh_without_a_token_in_either_language(db, language, sentence):
    response = APIClient(HTTP_ACCEPT_LANGUAGE=language).post("/api/user/refresh", {}, format="json")

    assert response.status_code == 401
    assert response.json() == {"error": sentence, "code": "token_not_valid"}
