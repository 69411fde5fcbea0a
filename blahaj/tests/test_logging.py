"""The dev server's console: one line per request, each once, with a timestamp; no warning
about a broker embedded mode does not use."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time

import requests
from django.conf import settings

from blahaj.celery import app
from notifications.discord import post_to_discord
from testing import ROOT, free_port


def test_the_dev_server_logs_each_request_once_with_a_timestamp():
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_DEBUG="true", PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        # One thread: each request is logged before the next is served (see the last request).
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    static_logged = threading.Event()

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)
            if "GET /static/site.css" in line:
                static_logged.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the dev server did not start"
                time.sleep(0.1)
        requests.get(f"http://127.0.0.1:{port}/static/site.css", timeout=5)
        # The server logs a request once it has closed it, which may be after the client
        # has read the whole answer: wait for the line rather than racing it.
        static_logged.wait(timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=20)
        reader.join(timeout=5)
        if server.stdout is not None:
            server.stdout.close()
    output = "".join(lines)

    request_lines = [line for line in output.splitlines() if '"GET / HTTP/1.1" 200' in line]
    assert len(request_lines) == 1, output
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ INFO django.server ", request_lines[0])
    assert sum('"GET /static/site.css HTTP/1.1" 200' in line for line in output.splitlines()) == 1
    assert "No hostname was supplied" not in output


def test_an_eager_task_does_not_warn_about_the_broker(caplog, settings):
    settings.DISCORD_WEBHOOK_URL = ""  # the task runs and posts nothing
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with caplog.at_level(logging.WARNING, logger="kombu"):
            post_to_discord.apply_async(args=("test", "hello"), retry=False)
    finally:
        app.conf.task_always_eager = before

    assert [r for r in caplog.records if r.name.startswith("kombu")] == []


def test_embedded_mode_names_a_broker_host():
    if not settings.REDIS_URL:
        assert settings.CELERY_BROKER_URL == "memory://localhost/"
