"""The websites in French (docs/i18n.md): a member's pages and the API's errors speak the
request's language; the `code` values, field names and states stay the same."""

from __future__ import annotations

import pytest

from websites.models import Website
from websites.tests.conftest import SITE
from websites.tests.test_member_pages import LIST, NEW, Browser, _sign_in, detail, html, text

pytestmark = pytest.mark.django_db

API = "/api/websites/"
FR = {"HTTP_ACCEPT_LANGUAGE": "fr"}


@pytest.fixture
def member(user, tasks_inline, emulator) -> Browser:
    return _sign_in(user.username)


def test_the_list_and_the_form_speak_french(member):
    listed = member.get(LIST, **FR)
    form = member.get(NEW, **FR)

    assert listed.status_code == form.status_code == 200
    assert listed["Content-Language"] == "fr"
    words = text(listed)
    assert "Vos sites" in words
    assert "Votre formule" in words and "permet 1 site , chacun avec un nom sous blahaj.land" in words
    assert "Vous n’avez pas encore de site." in words
    assert "<legend>Type de site</legend>" in html(form)
    assert '<label for="id_name">Nom</label>' in html(form)
    assert "SFTP : vous envoyez vos fichiers vous-même" in text(form)


def test_a_refused_request_says_why_in_french_next_to_its_field(member):
    response = member.post(NEW, {"kind": "sftp", "name": "Alice"}, **FR)

    assert response.status_code == 400
    assert "Les noms de domaine s’écrivent en minuscules" in text(response)
    assert not Website.objects.exists()


def test_a_sites_page_speaks_french_and_keeps_its_states(member, mailoutbox):
    requested = member.post(NEW, {"kind": "sftp", "name": "alice"}, **FR)
    website = Website.objects.get()
    page = member.get(detail(website), **FR)

    assert requested.status_code == 302
    words = text(page)
    assert f"Nous vous avons envoyé par e-mail un lien pour confirmer {SITE}" in words
    assert "En attente que vous ouvriez le lien de confirmation envoyé par e-mail." in words
    assert "Demande confirmée" in words and "Fichiers envoyés par SFTP" in words
    # The states stay values for the script; the words shown are French, and handed to it.
    assert 'data-step="confirm" data-state="waiting"' in html(page)
    assert '<span class="step-state">à venir</span>' in html(page)
    assert "&quot;done&quot;: &quot;fait&quot;" in html(page)
    assert "En attente de confirmation" in text(member.get(LIST, **FR))


def test_the_same_page_in_english_is_unchanged(member, mailoutbox):
    member.post(NEW, {"kind": "sftp", "name": "alice"})
    page = member.get(detail(Website.objects.get()))

    assert '<span class="step-state">waiting</span>' in html(page)
    assert "&quot;done&quot;: &quot;done&quot;" in html(page)
    assert "Request confirmed" in text(page)


def test_an_api_error_has_the_same_code_in_french(owner_api, other_api):
    assert owner_api.post(API, {"domain": SITE}).status_code == 202

    english = other_api.post(API, {"domain": SITE})
    french = other_api.post(API, {"domain": SITE}, **FR)

    assert english.status_code == french.status_code == 409
    assert english.json() == {"error": "This domain is already taken.", "code": "domain_taken"}
    assert french.json() == {"error": "Ce domaine est déjà pris.", "code": "domain_taken"}


def test_an_api_field_error_is_french_under_the_same_field(owner_api):
    response = owner_api.post(API, {"domain": "alice.blahaj.land.", "kind": "sftp"}, **FR)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Domaine : écrivez-le sans le point final.",
        "code": "domain_invalid",
        "fields": {"domain": ["Domaine : écrivez-le sans le point final."]},
    }
