"""A request's id in a real lane worker's JSON log lines, carried by the task's message."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from accounts import yunohost as accounts_lane
from observability import logs
from provisioning.models import Operation

from .test_workers import _signed_up, wait_for, workers  # noqa: F401 - fixture

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_request_id_and_the_operation_are_on_the_worker_s_json_lines(workers):  # noqa: F811
    (user,) = _signed_up(1, prefix="logged")
    worker = workers.start("json", concurrency=1, LOG_FORMAT="json")
    with logs.bound(request_id="req-from-the-web-1"), transaction.atomic():
        accounts_lane.account_create(user=user)  # queued when this commits, inside the request
    wait_for(lambda: Operation.objects.filter(status="succeeded").exists(), timeout=60, what="the operation")
    operation = Operation.objects.get()

    log = workers.running["json"][1].read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    command = [line for line in lines if line["message"].startswith("yunohost user create: exit 0")]
    assert len(command) == 1, log[-3000:]
    assert command[0]["request_id"] == "req-from-the-web-1"
    assert (command[0]["operation_id"], command[0]["operation_kind"]) == (operation.pk, "user.create")
    assert {"timestamp", "level", "logger"} <= set(command[0])
    assert worker.poll() is None
