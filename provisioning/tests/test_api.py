"""Staff see and steer the lane: /api/operations/ (docs/api.md §3) and the Operation admin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from blahaj.crypto import encrypt
from conftest import login, totp_device, verified_login
from factories import OperationFactory
from provisioning.models import Operation

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 5, 1, 12, 0, 3, tzinfo=UTC)


@pytest.fixture
def failed(db) -> Operation:
    return OperationFactory.create(
        kind="user.create",
        subject="user:alice",
        status="failed",
        attempts=1,
        args={"username": "alice"},
        secret_args=encrypt('{"password": "hunter2-but-longer"}'),
        output="",
        error="Domain 'elsewhere.example' unknown",
        created_at=T0,
        started_at=T0,
        finished_at=T1,
    )


@pytest.fixture
def succeeded(db) -> Operation:
    return OperationFactory.create(
        kind="user.delete",
        subject="user:bob",
        status="succeeded",
        attempts=1,
        args={"username": "bob", "purge": True},
        output='{"note": "nothing to delete"}',
        created_at=T0,
        started_at=T0,
        finished_at=T1,
    )


def _listed(operation: Operation) -> dict:
    return {
        "id": operation.pk,
        "kind": operation.kind,
        "subject": operation.subject,
        "status": operation.status,
        "attempts": operation.attempts,
        "created_at": "2026-05-01T12:00:00Z",
        "started_at": "2026-05-01T12:00:00Z",
        "finished_at": "2026-05-01T12:00:03Z",
        "error": operation.error,
    }


def test_staff_list_the_operations_newest_first(staff_client, failed, succeeded):
    response = staff_client.get("/api/operations/")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [_listed(succeeded), _listed(failed)],
    }


@pytest.mark.parametrize("query, expected", [("status=failed", "failed"), ("kind=user.delete", "succeeded")])
def test_staff_filter_by_status_and_kind(staff_client, failed, succeeded, query, expected):
    response = staff_client.get(f"/api/operations/?{query}")

    assert [row["status"] for row in response.json()["results"]] == [expected]


def test_an_unknown_filter_value_is_a_400(staff_client):
    response = staff_client.get("/api/operations/?status=exploded")

    assert response.status_code == 400
    assert response.json() == {
        "error": "Not one of the allowed values.",
        "code": "invalid",
        "fields": {"status": ["Not one of the allowed values."]},
    }


def test_staff_read_one_operation_with_its_output_and_never_its_secret(staff_client, succeeded, failed):
    response = staff_client.get(f"/api/operations/{succeeded.pk}")
    secretive = staff_client.get(f"/api/operations/{failed.pk}/")

    assert response.status_code == 200
    assert response.json() == {**_listed(succeeded), "output": '{"note": "nothing to delete"}'}
    assert "secret_args" not in secretive.json() and "hunter2" not in secretive.content.decode()


def test_staff_retry_a_failed_operation(staff_client, failed):
    response = staff_client.post(f"/api/operations/{failed.pk}/retry")

    failed.refresh_from_db()
    assert response.status_code == 202
    assert response.json() == {**_listed(failed), "status": "pending", "attempts": 0, "finished_at": None}
    assert (failed.status, failed.attempts) == ("pending", 0)


def test_retrying_an_operation_that_has_not_failed_is_a_409(staff_client, succeeded):
    response = staff_client.post(f"/api/operations/{succeeded.pk}/retry/")

    assert response.status_code == 409
    assert response.json() == {"error": "Only a failed operation can be retried.", "code": "not_failed"}


def test_retrying_an_unknown_operation_is_a_404(staff_client):
    response = staff_client.post("/api/operations/999999/retry")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/operations/"),
        ("get", "/api/operations/{id}"),
        ("post", "/api/operations/{id}/retry"),
    ],
)
def test_a_user_who_is_not_staff_gets_403(auth_client, failed, method, path):
    response = getattr(auth_client, method)(path.format(id=failed.pk))

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_anonymous_gets_401(api_client, failed):
    response = api_client.get("/api/operations/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- Admin -----------------------------------------------------------------------------------


@pytest.fixture
def admin_browser(client, make_user):
    verified_login(client, make_user("root_staff", is_staff=True, is_superuser=True))
    return client


def test_the_admin_lists_operations_filtered_by_status_and_kind(admin_browser, failed, succeeded):
    page = admin_browser.get("/admin/provisioning/operation/?status__exact=failed&kind__exact=user.create&q=alice")

    assert page.status_code == 200
    assert list(page.context["cl"].queryset) == [failed]


def test_the_admin_shows_output_and_error_read_only_and_never_the_secret(admin_browser, failed):
    page = admin_browser.get(f"/admin/provisioning/operation/{failed.pk}/change/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "Domain &#x27;elsewhere.example&#x27; unknown" in html
    assert "secret" not in html.lower() and failed.secret_args not in html
    assert 'name="error"' not in html  # read-only: no input


def test_the_admin_retry_action_uses_the_same_service(admin_browser, failed, succeeded):
    page = admin_browser.post(
        "/admin/provisioning/operation/",
        {"action": "retry", "_selected_action": [failed.pk, succeeded.pk]},
        follow=True,
    )

    failed.refresh_from_db()
    succeeded.refresh_from_db()
    assert (failed.status, succeeded.status) == ("pending", "succeeded")
    messages = [str(m) for m in page.context["messages"]]
    assert messages == ["Queued 1 operation(s) again.", "Skipped 1 operation(s) that had not failed."]


def test_the_admin_cannot_add_or_delete_operations(admin_browser, failed):
    assert admin_browser.get("/admin/provisioning/operation/add/").status_code == 403
    assert admin_browser.get(f"/admin/provisioning/operation/{failed.pk}/delete/").status_code == 403


def test_a_staff_token_from_login_works_on_the_api(make_user, failed):
    totp_device(make_user("dora", is_staff=True))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(client, 'dora')['access']}")

    response = client.get("/api/operations/")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], [op["id"] for op in body["results"]]) == (1, [failed.pk])
