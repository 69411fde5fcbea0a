"""The OpenAPI schema is the truth: schemathesis sends generated requests, valid and invalid,
to every operation under /api/ (in-process, through the WSGI app) and checks each answer
against the schema: no server error, only documented statuses, bodies, headers and content
types, and input that breaks the schema (a string for an integer, a missing field) refused.
Bounded: a few examples per operation, no shrinking; operations added later are covered
as soon as the schema lists them."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def settings_override(settings):
    # Generous limits: the run is about the contract, not about being throttled at once.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: "100000/min" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
    }


@pytest.fixture
def tasks_inline():
    # Emails and YunoHost operations the requests queue run here, not on a broker no worker reads.
    from blahaj.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_api_operation_keeps_to_the_schema(case, settings_override, staff_user, tasks_inline, default_tier):
    # A fresh token each time: some operations (logout-all, revoke-access) revoke it.
    token = AccessToken.for_user(staff_user)
    # Every check but "schema-valid data is accepted": the schema carries the shape of the
    # rules, not all of them (a strong password, a free username, a live token).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance]
    )
