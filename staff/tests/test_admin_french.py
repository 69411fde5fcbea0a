"""The admin in French for a staff browser that asks for it (Accept-Language), English otherwise."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}


def test_the_admin_index_in_french(admin_client):
    response = admin_client.get("/admin/", **FRENCH)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr"' in page
    assert "<caption>En attente de l’équipe</caption>" in page
    assert "<caption>Serveurs YunoHost</caption>" in page
    assert "vue d’ensemble de l’équipe" in page


def test_the_admin_index_in_english_is_unchanged(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert "<caption>Waiting for staff</caption>" in page
    assert "<caption>YunoHost servers</caption>" in page
    assert "staff overview" in page


def test_the_accounts_actions_in_french(admin_client):
    page = admin_client.get("/admin/accounts/user/", **FRENCH).content.decode()

    assert "Approuver les comptes sélectionnés (l’approvisionnement commence)" in page
    assert "Déconnecter partout (révoquer tous les jetons)" in page


def test_an_action_message_in_french(admin_client, make_user):
    alice = make_user("alice")

    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "enable_accounts", "_selected_action": [alice.pk]},
        follow=True,
        **FRENCH,
    )

    page = response.content.decode()
    assert "Seul un compte désactivé peut être réactivé." in page
    assert "0 compte(s) réactivé(s)." in page
