"""The embedded defaults run the lane in-process: opening a website's confirmation link runs
every step there and then, and answers in seconds with the site live and its certificate
installed. Real commits (not a test transaction), so each step's outcome queues the next one at
once, inside the run that holds the lane, as on `scripts/dev`."""

from __future__ import annotations

import logging
import time

import pytest
from django.test import Client

from provisioning.models import Operation
from websites import services
from websites.models import Website
from websites.tests.conftest import SITE, confirm_path

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("drain", [5, 0], ids=["drain", "no-drain"])
def test_the_confirmation_link_runs_every_step_at_once(
    user, tasks_inline, emulator, mailoutbox, caplog, settings, drain
):
    # No drain: the run that holds the lane stops after one operation, so the steps queued
    # meanwhile (the next step, and the certificate under a subject of its own) must be run
    # once it lets the lane go.
    settings.YUNOHOST_LANE_DRAIN = drain
    caplog.set_level(logging.INFO)
    website = services.website_request(owner=user, domain=SITE)

    started = time.monotonic()
    response = Client().get(confirm_path(mailoutbox))
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    website.refresh_from_db()
    assert (website.status, website.certificate) == (Website.Status.LIVE, Website.Certificate.OK)
    steps = list(Operation.objects.order_by("id").values_list("kind", "status"))
    assert steps == [("domain.add", "succeeded"), ("app.install", "succeeded"), ("cert.install", "succeeded")]
    assert "Lane busy" not in caplog.text
    # Each step waited for the lane held by its own thread before: YUNOHOST_LANE_WAIT each.
    assert elapsed < settings.YUNOHOST_LANE_WAIT
