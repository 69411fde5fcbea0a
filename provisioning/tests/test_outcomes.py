"""The registry through which the lane tells the apps above it what became of their operations."""

from __future__ import annotations

import pytest

from accounts import services as accounts_services
from accounts import yunohost as accounts_lane
from conftest import committed, login
from provisioning import outcomes, services
from provisioning.models import Operation

from .conftest import run_lane

pytestmark = pytest.mark.django_db


def test_accounts_owns_the_outcomes_of_user_create():
    assert outcomes.registered(Operation.Kind.USER_CREATE) == outcomes.Callbacks(
        on_succeeded=accounts_services.user_provisioned,
        on_failed=accounts_services.user_provisioning_failed,
        on_retried=accounts_services.user_provisioning_retried,
    )
    assert outcomes.registered(Operation.Kind.USER_DELETE) == outcomes.Callbacks()


def test_a_second_owner_of_a_kind_is_refused_and_the_first_stays():
    with pytest.raises(ValueError, match="registered already"):
        outcomes.register(Operation.Kind.USER_CREATE, on_succeeded=lambda *, operation: None)

    assert outcomes.registered(Operation.Kind.USER_CREATE).on_succeeded == accounts_services.user_provisioned
    # The same owner registering again (AppConfig.ready run twice) is harmless.
    outcomes.register(
        Operation.Kind.USER_CREATE,
        on_succeeded=accounts_services.user_provisioned,
        on_failed=accounts_services.user_provisioning_failed,
        on_retried=accounts_services.user_provisioning_retried,
    )


def test_a_status_the_lane_reports_shows_in_me_at_once(emulator, signed_up, api_client, welcomes):
    alice = signed_up("alice")
    access = login(api_client, "alice")["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get("/api/user/me").json()["status"] == "provisioning"  # cached now

    accounts_lane.account_create(user=alice)
    with committed():  # the outcome's commit drops the cached copies of alice
        run_lane()

    assert api_client.get("/api/user/me").json()["status"] == "active"


def test_failure_and_retry_move_the_account_and_the_welcome_waits_for_success(
    emulator, signed_up, welcomes, staff_notes
):
    alice = signed_up("alice", display_name="Alice Liddell")
    emulator.add_fault(
        command="user create", exit=1, stderr="ERROR This e-mail address is reserved for the admins group"
    )
    operation = accounts_lane.account_create(user=alice)

    run_lane()
    alice.refresh_from_db()
    assert (alice.status, welcomes) == ("provisioning_failed", [])

    services.operation_retry(operation=operation)
    alice.refresh_from_db()
    assert alice.status == "provisioning"

    run_lane()
    alice.refresh_from_db()
    assert (alice.status, welcomes) == ("active", ["alice"])
    assert [event for event, _ in staff_notes] == ["provisioning_failed", "account_created"]
