"""Two languages (docs/i18n.md): the French catalogues are complete, and a page speaks the
language its request names (the switcher's cookie, then Accept-Language), English by default."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

from languages import translations


def test_the_french_catalogues_are_complete_and_compiled(tmp_path):
    """makemessages over a copy of the checkout finds no string without French, no fuzzy guess,
    and no catalogue that the code has moved on from; every .mo is compiled from its .po."""
    assert translations.check(Path(settings.BASE_DIR), tmp_path) == []


def test_the_check_fails_on_a_missing_french_string(tmp_path):
    """The check above can fail: a new marked string, and an emptied translation, are both found."""
    checkout = tmp_path / "checkout-before"
    import shutil

    shutil.copytree(settings.BASE_DIR, checkout, ignore=translations.NOT_COPIED)
    template = checkout / "templates" / "base.html"
    template.write_text(
        template.read_text().replace("{% block content %}", '{% translate "A brand new sentence" %}{% block content %}')
    )
    catalogue_path = checkout / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    catalogue = polib.pofile(str(catalogue_path))
    catalogue.find("Language").msgstr = ""
    catalogue.save(str(catalogue_path))

    found = translations.check(checkout, tmp_path / "work")

    assert any("no French for 'A brand new sentence'" in line for line in found), found
    assert any("no French for 'Language'" in line for line in found), found
    assert any("out of date with the code" in line for line in found), found


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "language", "word"),
    [("", "en", "Language"), ("fr-FR,fr;q=0.9,en;q=0.5", "fr", "Langue"), ("de", "en", "Language")],
)
def test_a_page_speaks_the_language_its_request_asks_for(client, header, language, word):
    response = client.get("/signup/", HTTP_ACCEPT_LANGUAGE=header)

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(rf'<html lang="{language}">', page)
    assert f'<label for="language-choice">{word}</label>' in page
    assert response["Content-Language"] == language


@pytest.mark.django_db
def test_the_switcher_keeps_its_choice_over_the_browsers(client):
    response = client.post("/language/", {"language": "fr", "next": "/signup/"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response["Location"] == "/signup/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "fr"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    page = client.get("/signup/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr">' in page


@pytest.mark.django_db
def test_the_switcher_sends_nobody_to_another_site(client):
    response = client.post("/language/", {"language": "fr", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


@pytest.mark.django_db
def test_the_switcher_names_each_language_in_itself(client):
    page = client.get("/signup/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<option value="en" lang="en">English</option>' in page
    assert '<option value="fr" lang="fr" selected>Français</option>' in page
