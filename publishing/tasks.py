"""Celery tasks of publishing: a deploy runs on the default queue, never on the YunoHost lane's."""

from __future__ import annotations

from celery import shared_task

from . import runner


@shared_task(name="publishing.tasks.deploy", ignore_result=True)
def deploy(deploy_id: int) -> None:
    runner.run(deploy_id=deploy_id)
