"""The deploys in the admin: staff read them, nobody changes them."""

from __future__ import annotations

import pytest

from publishing.models import Deploy
from websites.models import Website

pytestmark = pytest.mark.django_db


def test_staff_read_a_deploy_and_its_log_but_cannot_change_it(admin_client, make_user):
    owner = make_user("bob")
    website = Website.objects.create(owner=owner, domain="bob.blahaj.land", kind="ssg", verification_token="t")
    deploy = Deploy.objects.create(website=website, reason="push", result="failed", log_tail="ERROR template loop")

    listing = admin_client.get("/admin/publishing/deploy/?result=failed")
    page = admin_client.get(f"/admin/publishing/deploy/{deploy.pk}/change/")

    assert listing.status_code == 200 and b"bob.blahaj.land" in listing.content
    assert page.status_code == 200 and b"ERROR template loop" in page.content
    assert admin_client.post(f"/admin/publishing/deploy/{deploy.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Deploy.objects.filter(pk=deploy.pk).exists()


def test_staff_choose_a_sites_generator_and_never_see_its_secrets(admin_client, make_user):
    from blahaj.crypto import encrypt
    from publishing.models import Publication

    website = Website.objects.create(
        owner=make_user("bob"), domain="bob.blahaj.land", kind="git", verification_token="t"
    )
    publication = Publication.objects.create(
        website=website, webhook_id="hook-id", sftp_password=encrypt("Secret-Sftp-1"), webhook_secret=encrypt("w")
    )
    url = f"/admin/publishing/publication/{publication.pk}/change/"

    page = admin_client.get(url)
    assert page.status_code == 200 and b"hook-id" in page.content
    assert publication.sftp_password.encode() not in page.content and b"Secret-Sftp-1" not in page.content
    saved = admin_client.post(url, {"generator": "hugo", "host_key": ""})
    assert saved.status_code == 302
    publication.refresh_from_db()
    assert publication.generator == "hugo" and publication.webhook_id == "hook-id"
