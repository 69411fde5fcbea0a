"""Staff notifications against a real HTTP server on 127.0.0.1 standing in for Discord."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from blahaj import discord


class FakeDiscord:
    """Answers each POST with the next scripted (status, body, headers); records what came."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict, dict]] = []
        self.received: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                fake.received.append({"path": self.path, "json": json.loads(self.rfile.read(length))})
                status, body, headers = fake.script.pop(0) if fake.script else (204, {}, {})
                payload = json.dumps(body).encode() if body else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/webhooks/123/s3cret-token"


@pytest.fixture
def fake_discord(settings) -> Iterator[FakeDiscord]:
    fake = FakeDiscord()
    thread = threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    settings.DISCORD_WEBHOOK_URL = fake.url
    settings.DISCORD_ADMIN_ROLE_ID = "987654321"
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_the_message_pings_the_admin_role_only(fake_discord):
    discord.post_to_discord.apply(args=["operation_failed", "user.create for @everyone failed"])

    assert fake_discord.received == [{
        "path": "/api/webhooks/123/s3cret-token",
        "json": {
            "content": "<@&987654321> [operation_failed] user.create for @everyone failed",
            "allowed_mentions": {"parse": [], "roles": ["987654321"]},
        },
    }]


def test_without_a_role_nobody_is_pinged(fake_discord, settings):
    settings.DISCORD_ADMIN_ROLE_ID = ""
    discord.deliver(event="account_created", message="alice now has a YunoHost account.")

    assert fake_discord.received[0]["json"] == {
        "content": "[account_created] alice now has a YunoHost account.",
        "allowed_mentions": {"parse": [], "roles": []},
    }


def test_a_long_message_is_cut_to_discords_limit(fake_discord):
    discord.deliver(event="operation_failed", message="x" * 5000)

    assert len(fake_discord.received[0]["json"]["content"]) == discord.MAX_CONTENT


def test_a_rate_limit_is_retried_after_discords_retry_after(fake_discord):
    fake_discord.script = [(429, {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}, {})]

    with pytest.raises(discord.RetryLater) as caught:
        discord.deliver(event="e", message="m")

    assert caught.value.after == 1.5


def test_a_rate_limit_without_a_body_uses_the_retry_after_header(fake_discord):
    fake_discord.script = [(429, {}, {"Retry-After": "7"})]

    with pytest.raises(discord.RetryLater) as caught:
        discord.deliver(event="e", message="m")

    assert caught.value.after == 7


def test_server_errors_and_rate_limits_are_retried_until_delivered(fake_discord):
    fake_discord.script = [(503, {}, {}), (429, {"retry_after": 0.01}, {}), (204, {}, {})]

    discord.post_to_discord.apply(args=["operation_failed", "boom"])

    assert len(fake_discord.received) == 3
    assert fake_discord.script == []


def test_retries_are_bounded(fake_discord, caplog):
    fake_discord.script = [(500, {}, {})] * (discord.MAX_RETRIES + 3)

    discord.post_to_discord.apply(args=["operation_failed", "boom"])

    assert len(fake_discord.received) == discord.MAX_RETRIES + 1
    assert "Dropped the operation_failed notification" in caplog.text


def test_a_refused_webhook_is_not_retried(fake_discord, caplog):
    fake_discord.script = [(404, {"message": "Unknown Webhook"}, {})]

    discord.post_to_discord.apply(args=["operation_failed", "boom"])

    assert len(fake_discord.received) == 1
    assert "HTTP 404" in caplog.text


def test_an_unreachable_discord_is_retried_and_the_url_never_logged(fake_discord, settings, caplog):
    fake_discord.server.shutdown()
    fake_discord.server.server_close()

    with pytest.raises(discord.RetryLater):
        discord.deliver(event="e", message="m")
    discord.post_to_discord.apply(args=["e", "m"])

    assert "s3cret-token" not in caplog.text


def test_without_a_webhook_nothing_is_queued(settings, django_capture_on_commit_callbacks):
    settings.DISCORD_WEBHOOK_URL = ""

    with django_capture_on_commit_callbacks() as callbacks:
        discord.notify_staff(event="operation_failed", message="boom")

    assert callbacks == []


@pytest.mark.django_db
def test_with_a_webhook_the_post_is_queued_after_commit(fake_discord, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        discord.notify_staff(event="operation_failed", message="boom")

    assert len(callbacks) == 1
