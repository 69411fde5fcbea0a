"""The website emails speak their owner's language (docs/i18n.md), rendered by blahaj.mail."""

from __future__ import annotations

import pytest

from websites import emails, tasks
from websites.models import Website

# Each website email: its subject in English and in French, and a sentence of its French body.
WEBSITE_EMAILS = [
    (
        emails.CONFIRMATION,
        "Confirm your website site.example.org",
        "Confirmez votre site web site.example.org",
        "Vous avez demandé le site web site.example.org sur blahaj.land.",
    ),
    (
        emails.LIVE,
        "Your website site.example.org is online",
        "Votre site web site.example.org est en ligne",
        "Votre site web est en ligne : https://site.example.org/",
    ),
    (
        emails.FAILED,
        "Your website site.example.org could not be set up yet",
        "Votre site web site.example.org n’a pas encore pu être mis en place",
        "site.example.org : nous n’avons pas pu installer l’espace web de votre site.",
    ),
    (
        emails.DELETED,
        "Your website site.example.org was deleted",
        "Votre site web site.example.org a été supprimé",
        "Le nom est de nouveau libre.",
    ),
    (
        emails.SFTP_PASSWORD,
        "The SFTP password of site.example.org",
        "Le mot de passe SFTP de site.example.org",
        "C’est le seul e-mail qui contient ce mot de passe",
    ),
    (
        emails.SUSPENDED,
        "Your website site.example.org was suspended",
        "Votre site web site.example.org a été suspendu",
        "Motif : Phishing",
    ),
    (
        emails.UNSUSPENDED,
        "Your website site.example.org is public again",
        "Votre site web site.example.org est de nouveau public",
        "il est de nouveau public à l’adresse https://site.example.org/",
    ),
]


def _site(owner, domain: str = "site.example.org") -> Website:
    return Website.objects.create(
        owner=owner,
        domain=domain,
        verification_token=f"token-{domain}",
        sftp_username="alice_site",
        failed_step="app.install",
        suspension_reason="Phishing",
    )


@pytest.mark.parametrize("kind, english, french, sentence", WEBSITE_EMAILS, ids=[kind for kind, *_ in WEBSITE_EMAILS])
def test_each_website_email_speaks_its_owners_language(make_user, kind, english, french, sentence):
    fr = _site(make_user("alice", language="fr"))
    en = _site(make_user("bob", language="en"), domain="bob.example.org")

    french_email = emails.render(kind, website=fr, link="https://blahaj.example/confirm", password="pw-123")
    english_email = emails.render(kind, website=en, link="https://blahaj.example/confirm", password="pw-123")

    assert french_email.to == ["alice@blahaj.land", "alice@example.org"]
    assert french_email.subject == french
    assert french_email.extra_headers["Content-Language"] == "fr"
    assert french_email.body.startswith("Bonjour Alice,\n\n")
    assert sentence in french_email.body
    html = str(french_email.alternatives[0][0])
    assert '<html lang="fr">' in html and "Bonjour Alice," in html and "Hi " not in html

    assert english_email.subject == english.replace("site.example.org", "bob.example.org")
    assert english_email.extra_headers["Content-Language"] == "en"
    assert english_email.body.startswith("Hi Bob,\n\n")
    assert '<html lang="en">' in str(english_email.alternatives[0][0])


def test_the_failed_email_names_the_step_in_english_for_an_english_owner(make_user):
    website = _site(make_user("bob"))

    message = emails.render(emails.FAILED, website=website)

    assert "something went wrong with your website site.example.org: we could not install the web space" in message.body


def test_the_task_sends_in_the_owners_language(make_user, mailoutbox):
    website = _site(make_user("alice", language="fr"))
    Website.objects.filter(pk=website.pk).update(status=Website.Status.LIVE)

    tasks.send_website_email.apply(args=(emails.LIVE, website.pk))

    (message,) = mailoutbox
    assert message.subject == "Votre site web site.example.org est en ligne"
    assert message.extra_headers["Content-Language"] == "fr"
    assert "La page de votre site : http" in message.body
