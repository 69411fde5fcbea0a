"""The defences refuse in French to a request that asks for it, with the same `code`."""

from __future__ import annotations

from accounts.models import User
from defences import services
from defences.models import EmailDomainBlock

REGISTER = "/api/user/register"
FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}


def test_a_blocked_network_is_refused_in_french(api, signup_body):
    services.network_block_create(network="10.66.0.0/16")
    api.client.defaults["REMOTE_ADDR"] = "10.66.1.2"

    response = api.post(REGISTER, signup_body, **FRENCH)

    assert response.status_code == 403
    assert response.json() == {
        "error": "Les inscriptions depuis votre réseau sont bloquées pour le moment. "
        "S’il s’agit d’une erreur, écrivez à l’équipe.",
        "code": "network_blocked",
    }
    assert not User.objects.filter(username="dana").exists()


def test_a_blocked_email_domain_is_refused_in_french_next_to_the_email_field(web, signup_body):
    EmailDomainBlock.objects.create(domain="example.org")

    response = web.post("/signup/", signup_body, **FRENCH)

    page = response.content.decode()
    assert response.status_code == 400
    assert (
        '<ul class="errorlist" id="id_email_error"><li>Nous n’acceptons pas les inscriptions avec une adresse de '
        "ce domaine. Veuillez utiliser une autre adresse e-mail.</li></ul>"
    ) in page
    assert not User.objects.filter(username="dana").exists()


def test_the_abuse_page_speaks_french(web):
    response = web.get("/abuse/", **FRENCH)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Signaler un abus</h1>" in page
    assert '<label for="id_target">Adresse du site ou nom d’utilisateur</label>' in page
    assert '<option value="phishing">Hameçonnage ou fraude</option>' in page
    assert '<button class="button" type="submit">Envoyer le signalement</button>' in page
