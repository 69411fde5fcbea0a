"""The account's `language` (docs/i18n.md): chosen at sign-up from the page's language, changed
with PATCH /api/user/me or the switcher, read by the API when a request names no language."""

from __future__ import annotations

import pytest

from accounts.models import User

ME = "/api/user/me"


def test_a_sign_up_keeps_the_language_it_was_made_in(api, signup_body):
    response = api.post("/api/user/register", signup_body, HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.8")

    assert response.status_code == 201
    assert User.objects.get(username="dana").language == "fr"


def test_a_sign_up_without_a_language_is_english(api, signup_body):
    api.post("/api/user/register", signup_body)

    assert User.objects.get(username="dana").language == "en"


def test_me_shows_and_changes_the_language(auth_client, user):
    assert auth_client.get(ME).json()["language"] == "en"

    response = auth_client.patch(ME, {"language": "fr"}, format="json")

    assert response.status_code == 200
    assert response.json()["language"] == "fr"
    user.refresh_from_db()
    assert user.language == "fr"


@pytest.mark.parametrize("body", [{"language": "de"}, {"language": ""}, {}, {"language": ["fr"]}])
def test_me_refuses_a_language_it_does_not_speak(auth_client, user, body):
    response = auth_client.patch(ME, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "language" in response.json()["fields"]
    user.refresh_from_db()
    assert user.language == "en"


def test_the_api_speaks_the_accounts_language_unless_the_request_names_one(
    auth_client, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # every process's cached copy follows
        auth_client.patch(ME, {"language": "fr"}, format="json")

    french = auth_client.patch(ME, {"language": "de"}, format="json").json()
    english = auth_client.patch(ME, {"language": "de"}, format="json", HTTP_ACCEPT_LANGUAGE="en").json()

    assert french["code"] == english["code"] == "invalid"
    assert list(french["fields"]) == list(english["fields"]) == ["language"]
    assert french["error"] == french["fields"]["language"][0] == "Aucune des valeurs permises."
    assert english["error"] == "Not one of the allowed values."


def test_the_switcher_saves_a_signed_in_members_choice(client, user):
    client.force_login(user)

    response = client.post("/language/", {"language": "fr", "next": "/account/"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "fr"
