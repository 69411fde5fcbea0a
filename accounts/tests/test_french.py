"""The account pages and the account API in French (docs/i18n.md): a request that asks for French
reads French sentences; the API's `code` and field names stay what they are in English."""

from __future__ import annotations

import re

from accounts.models import User

SIGNUP = "/signup/"
REGISTER = "/api/user/register"
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.9"}


def test_the_signup_page_speaks_french(web):
    response = web.get(SIGNUP, **FRENCH)

    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="fr">' in page
    assert "<h1>Rejoindre " in page
    assert '<label for="id_username">Nom d’utilisateur</label>' in page
    assert '<label for="id_display_name">Nom affiché</label>' in page
    assert (
        '<label for="id_discord_username">Nom d’utilisateur Discord <span class="optional">(facultatif)</span>' in page
    )
    assert "Au moins 10 caractères, et difficile à deviner" in page
    assert 'data-strong="Assez robuste." data-weak="Pas encore assez robuste."' in page  # for strength.js
    assert '<button class="button" type="submit">Créer mon compte</button>' in page
    assert "Create my account" not in page


def test_a_french_sign_up_gets_its_errors_in_french_next_to_their_fields(web, signup_body):
    form = {**signup_body, "username": "Not Valid", "password": "password123"}

    response = web.post(SIGNUP, form, **FRENCH)

    page = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<ul class="errorlist" id="id_username_error"><li>Utilisez 1 à 30 lettres minuscules', page)
    # Django's own password validators speak French too.
    assert re.search(r'<ul class="errorlist" id="id_password_error"><li>Ce mot de passe est trop courant.', page)
    assert '<p class="error-summary-title">Veuillez corriger les champs signalés ci-dessous.</p>' in page
    assert '<a href="#id_username">Nom d’utilisateur: Utilisez 1 à 30 lettres minuscules' in page
    assert not User.objects.exists()


def test_a_taken_username_is_refused_in_french_with_the_same_code(api, signup_body, user):
    body = {**signup_body, "username": user.username}

    french = api.post(REGISTER, body, **FRENCH)
    english = api.post(REGISTER, body)

    assert french.status_code == english.status_code == 409
    assert french.json() == {"error": "Nom d’utilisateur déjà pris", "code": "username_taken"}
    assert english.json() == {"error": "Username already taken", "code": "username_taken"}
    assert french["Content-Language"] == "fr"


def test_field_errors_of_the_api_are_french_under_the_same_field_names(api, signup_body):
    body = {**signup_body, "username": "Not Valid", "display_name": "Dana -- Scully!"}

    response = api.post(REGISTER, body, **FRENCH)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Certains champs sont invalides.",
        "code": "invalid",
        "fields": {
            "username": ["Utilisez 1 à 30 lettres minuscules, chiffres, points ou tirets bas."],
            "display_name": [
                "Utilisez des lettres et des chiffres, séparés par de simples espaces, virgules, points, "
                "apostrophes ou traits d’union."
            ],
        },
    }


def test_a_weak_password_is_explained_in_french(api, signup_body):
    response = api.post("/api/user/password-strength", {"password": "aaaaaaaaaaaa"}, **FRENCH)

    assert response.status_code == 200
    body = response.json()
    assert body["strong"] is False
    # The policy's own sentence, and zxcvbn's hint (English in zxcvbn, French from our catalogue).
    assert (
        "Ce mot de passe est trop facile à deviner. Les répétitions comme « aaa » sont faciles à deviner."
        in (body["feedback"])
    )
