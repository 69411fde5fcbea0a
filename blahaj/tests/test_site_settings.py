"""The words staff control: one SiteSettings row, edited in the admin, cached, its Markdown
rendered and sanitized; the service's name and contact in every page and email."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import TestCase

from blahaj import site
from blahaj.models import SiteSettings
from conftest import verified_login


@pytest.fixture
def admin_client(client, make_user):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))
    return client


def save(**fields) -> SiteSettings:
    row = SiteSettings.objects.filter(pk=1).first() or SiteSettings()
    for name, value in fields.items():
        setattr(row, name, value)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return site.site_settings_save(site_settings=row)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "**Be kind.** See [rules](https://blahaj.land/rules).",
            '<p><strong>Be kind.</strong> See <a href="https://blahaj.land/rules" rel="noopener noreferrer nofollow">rules</a>.</p>',
        ),
        ("<script>alert(1)</script>hello", "<p>hello</p>"),
        ('<img src=x onerror="alert(1)">', "<p></p>"),
        ("[click](javascript:alert(1))", '<p><a rel="noopener noreferrer nofollow">click</a></p>'),
        ("# Big\n\n- one\n- two", "Big\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),  # no headings
    ],
)
def test_markdown_is_a_safe_subset(text, html):
    assert site.render_markdown(text).strip() == html


def test_defaults_without_a_row(db):
    current = site.current()
    assert current.service_name == "blahaj.land" and current.contact_email == "" and current.signup_html == ""


def test_the_sign_up_page_shows_the_texts_and_the_name(client, default_tier, settings):
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    save(
        service_name="Shark Club",
        contact_email="help@shark.example",
        signup_text="Read *this* <b onclick=x>first</b>.",
        approval_criteria="Friends of friends.",
    )

    html = client.get("/signup/").content.decode()

    assert "<h1>Join Shark Club</h1>" in html and "<title>Sign up · Shark Club</title>" in html
    assert "<p>Read <em>this</em> first.</p>" in html and "onclick" not in html
    assert "Friends of friends." in html
    assert 'href="mailto:help@shark.example"' in html


def test_saving_clears_the_cache(db):
    assert site.current().service_name == "blahaj.land"  # cached now
    save(service_name="Shark Club")
    assert site.current().service_name == "Shark Club"
    assert cache.get(site.CACHE_KEY) is not None


def test_the_admin_edits_the_single_row(admin_client, django_capture_on_commit_callbacks):
    assert admin_client.get("/admin/blahaj/sitesettings/")["Location"].endswith("/add/")
    assert site.current().signup_html == ""  # cached
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/blahaj/sitesettings/add/",
            {"service_name": "Shark Club", "contact_email": "", "signup_text": "Hi", "approval_criteria": ""},
        )
    assert response.status_code == 302
    assert site.current().signup_html == "<p>Hi</p>"  # the cache was cleared by the service
    assert admin_client.get("/admin/blahaj/sitesettings/")["Location"].endswith("/1/change/")
    assert admin_client.get("/admin/blahaj/sitesettings/add/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/blahaj/sitesettings/1/change/",
            {
                "service_name": "Shark Club",
                "contact_email": "a@b.example",
                "signup_text": "Bye",
                "approval_criteria": "",
            },
        )
    assert response.status_code == 302
    assert site.current().signup_html == "<p>Bye</p>" and SiteSettings.objects.count() == 1
    assert admin_client.post("/admin/blahaj/sitesettings/1/delete/", {"post": "yes"}).status_code == 403
    assert get_user_model().objects.filter(username="root").exists()


def test_pages_render_with_the_defaults_when_the_row_cannot_be_read(client, default_tier, monkeypatch, caplog):
    from django.db import DatabaseError

    def unreadable(*args, **kwargs):
        raise DatabaseError("no such table: accounts_sitesettings")

    monkeypatch.setattr(SiteSettings.objects, "filter", unreadable)

    page = client.get("/signup/")

    assert page.status_code == 200 and "<h1>Join blahaj.land</h1>" in page.content.decode()
    assert cache.get(site.CACHE_KEY) is None
    assert "could not be read" in caplog.text
