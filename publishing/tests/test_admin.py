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
