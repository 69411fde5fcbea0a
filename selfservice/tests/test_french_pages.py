"""The /account/ pages in French for a French browser (Accept-Language), English otherwise."""

from __future__ import annotations

import pytest

from conftest import PASSWORD, totp_device

pytestmark = pytest.mark.django_db

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}


def html(response) -> str:
    return response.content.decode()


def test_the_login_page_in_french(web):
    page = html(web.get("/account/login/", **FRENCH))

    assert '<html lang="fr"' in page
    assert "<h1>Connectez-vous à votre compte</h1>" in page
    assert "Mot de passe oublié ?" in page
    assert "Log in to your account" not in page


def test_the_login_page_in_english_is_unchanged(web):
    page = html(web.get("/account/login/"))

    assert "<h1>Log in to your account</h1>" in page
    assert "Forgot your password?" in page


def test_a_wrong_password_on_the_page_in_french(web, user):
    response = web.post("/account/login/", {"identifier": "alice", "password": "wrong-password-x"}, **FRENCH)

    assert response.status_code == 401
    assert "Nom d’utilisateur ou mot de passe incorrect." in html(response)


def test_the_sessions_page_in_french(member):
    page = html(member.get("/account/sessions/", **FRENCH))

    assert "<h1>Où vous êtes connecté</h1>" in page
    assert "Firefox on Linux" in page  # the client's name, as stored
    assert "Pages du compte · depuis 127.0.0.1 · ouverte le" in page
    assert '<span class="badge">ce navigateur</span>' in page
    assert "Se déconnecter partout (ce navigateur aussi)" in page


def test_the_second_step_page_in_french(web, user):
    totp_device(user)
    login = web.post("/account/login/", {"identifier": "alice", "password": PASSWORD}, **FRENCH)
    assert (login.status_code, login["Location"]) == (302, "/account/login/code/?next=%2Faccount%2F")

    page = html(web.get(login["Location"], **FRENCH))

    assert "<h1>Saisissez votre code</h1>" in page
    assert "Code de votre application d’authentification (ou un code de secours)" in page


def test_a_wrong_code_on_the_second_step_in_french(web, user):
    totp_device(user)
    web.post("/account/login/", {"identifier": "alice", "password": PASSWORD}, **FRENCH)

    response = web.post("/account/login/code/", {"code": "000000"}, **FRENCH)

    assert response.status_code == 400
    assert "Le code est faux ou a déjà été utilisé." in html(response)
