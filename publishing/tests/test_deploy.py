"""git and ssg sites published for real: a repository served over https on 127.0.0.1, the lane
and the emulator, the Hugo build in the bubblewrap sandbox, the upload through the emulator's
SFTP door, and a static file server reading the web root as nginx would."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase
from rest_framework.test import APIClient

from provisioning.models import Server
from publishing import runner, sandbox, services
from publishing.models import Deploy, Publication
from publishing.tests.conftest import fetch, host_key, run_lane, static_server
from websites import emails as website_emails
from websites.models import Website
from websites.tests.conftest import SITE, confirmation_token
from yunohost_emulator.state import transaction as emulator_state

API = "/api/websites/"
pytestmark = pytest.mark.django_db

HUGO_SITE = {
    "hugo.toml": 'baseURL = "https://alice.example/"\ntitle = "Alice"\ndisableKinds = ["taxonomy", "term", "RSS"]\n',
    "content/_index.md": "---\ntitle: Home\n---\nHello from *Hugo*.\n",
    "content/about.md": "---\ntitle: About\n---\nAbout Alice.\n",
    "layouts/index.html": "<html><body>{{ .Content }}</body></html>\n",
    "layouts/_default/single.html": "<html><body><h1>{{ .Title }}</h1>{{ .Content }}</body></html>\n",
}


def _lane() -> None:
    """The lane, then what its steps queued after their commit (the deploys, run in-process)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_lane()


def _live_site(owner_api, mailoutbox, url: str, kind: str, domain: str = SITE) -> Website:
    created = owner_api.post(API, {"domain": domain, "kind": kind, "git_url": url})
    assert created.status_code == 202, created.content
    owner_api.post(f"{API}{created.json()['id']}/confirm", {"token": confirmation_token(mailoutbox)})
    _lane()
    return Website.objects.get(pk=created.json()["id"])


def _signed_post(url: str, body: bytes, **headers: Any):
    path = url.split("://", 1)[1].split("/", 1)[1]
    with TestCase.captureOnCommitCallbacks(execute=True):
        return APIClient().post("/" + path, data=body, content_type="application/json", **headers)


def _hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_an_ssg_site_is_built_published_and_redeployed_on_a_signed_push(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
):
    repository.publish(HUGO_SITE)

    website = _live_site(owner_api, mailoutbox, repository.url, "ssg")

    root = sftp_server.web_root(website.app_id)
    with static_server(root) as base:
        assert "Hello from <em>Hugo</em>." in fetch(f"{base}/")
        assert "<h1>About</h1>" in fetch(f"{base}/about/")
    body = owner_api.get(f"{API}{website.pk}").json()
    assert body["deploy"]["result"] == "ok" and len(body["deploy"]["commit"]) == 40
    assert "Published: " in body["deploy"]["log_tail"] and body["deploy"]["finished_at"]
    assert {s["name"]: s["state"] for s in body["steps"]}["publish"] == "done"
    assert body["webhook_url"].endswith(f"/hooks/websites/{website.pk}/{website.publication.webhook_id}")
    # The SFTP login the site publishes through is kept encrypted, and never mailed to the owner.
    assert website.publication.sftp_password and "Sftp" not in website.publication.sftp_password
    assert not [m for m in mailoutbox if "SFTP password" in m.subject] and website.sftp_username == ""

    secret = owner_api.post(f"{API}{website.pk}/webhook-secret").json()
    assert secret["webhook_url"] == body["webhook_url"] and len(secret["secret"]) >= 32
    repository.publish({"content/_index.md": "---\ntitle: Home\n---\nA new home page.\n"})
    payload = json.dumps({"ref": "refs/heads/main"}).encode()

    refused = _signed_post(secret["webhook_url"], payload, HTTP_X_GITEA_SIGNATURE=_hex("wrong", payload))
    assert refused.status_code == 403 and refused.json()["code"] == "signature_invalid"
    assert Deploy.objects.filter(website=website).count() == 1  # nothing queued
    accepted = _signed_post(secret["webhook_url"], payload, HTTP_X_GITEA_SIGNATURE=_hex(secret["secret"], payload))
    assert accepted.status_code == 202, accepted.content

    with static_server(root) as base:
        assert "A new home page." in fetch(f"{base}/")
    latest = Deploy.objects.filter(website=website)[0]
    assert latest.reason == "push" and latest.result == "ok" and latest.files_sent == 1  # only the home page


def test_each_forge_signs_its_own_way_and_no_signature_is_refused(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
):
    repository.publish({"index.html": "<h1>plain</h1>"})
    website = _live_site(owner_api, mailoutbox, repository.url, "git")
    secret = owner_api.post(f"{API}{website.pk}/webhook-secret").json()
    url, key = secret["webhook_url"], secret["secret"]
    payload = b'{"after": "abc"}'

    assert _signed_post(url, payload).status_code == 403
    assert _signed_post(url, payload, HTTP_X_HUB_SIGNATURE_256=_hex(key, payload)).status_code == 403  # no sha256=
    assert _signed_post(url, payload, HTTP_X_GITLAB_TOKEN="not-it").status_code == 403
    assert _signed_post(url.replace(website.publication.webhook_id, "x" * 22), payload).status_code == 403
    assert Deploy.objects.filter(website=website).count() == 1
    for headers in (
        {"HTTP_X_HUB_SIGNATURE_256": "sha256=" + _hex(key, payload)},
        {"HTTP_X_GITLAB_TOKEN": key},
        {"HTTP_X_FORGEJO_SIGNATURE": _hex(key, payload)},
    ):
        answer = _signed_post(url, payload, **headers)
        assert answer.status_code == 202 and answer.json() == {"queued": True}
    assert Deploy.objects.filter(website=website, result="ok").count() == 4

    rotated = owner_api.post(f"{API}{website.pk}/webhook-secret").json()
    assert rotated["secret"] != key
    assert _signed_post(url, payload, HTTP_X_GITLAB_TOKEN=key).status_code == 403  # the old one is dead
    assert (sftp_server.web_root(website.app_id) / "index.html").read_text() == "<h1>plain</h1>"


def test_ten_pushes_while_one_deploy_runs_give_one_more_build(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
    monkeypatch,
):
    repository.publish({"index.html": "<h1>plain</h1>"})
    website = _live_site(owner_api, mailoutbox, repository.url, "git")
    sent: list[tuple] = []
    monkeypatch.setattr(services, "send_after_commit", lambda task, *args: sent.append((task, *args)))

    first = services.deploy_request(website=website, reason="push")
    for _ in range(9):
        assert services.deploy_request(website=website, reason="push") == first
    assert sent == [(services.TASK, first.pk)]
    Deploy.objects.filter(pk=first.pk).update(result=Deploy.Result.RUNNING)
    waiting = services.deploy_request(website=website, reason="push")
    for _ in range(9):
        assert services.deploy_request(website=website, reason="push") == waiting
    assert len(sent) == 1  # it starts when the running one ends
    assert Deploy.objects.filter(website=website, result__in=["", "running"]).count() == 2


def test_a_repository_symlink_to_etc_passwd_publishes_no_secret(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
):
    (repository.work / "static").mkdir()
    (repository.work / "passwd").symlink_to("/etc/passwd")
    (repository.work / "static" / "passwd").symlink_to("/etc/passwd")
    repository.publish({**HUGO_SITE})

    website = _live_site(owner_api, mailoutbox, repository.url, "ssg")

    root = sftp_server.web_root(website.app_id)
    published = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert "index.html" in published and "passwd" in published  # the link, as a plain file holding its target
    assert not [name for name, data in published.items() if b"root:" in data]
    assert not [p for p in root.rglob("*") if p.is_symlink()]


def test_a_changed_host_key_refuses_to_publish_and_staff_are_told(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
    staff_notes,
    tmp_path,
):
    repository.publish({"index.html": "<h1>first</h1>"})
    website = _live_site(owner_api, mailoutbox, repository.url, "git")
    assert website.publication.host_key == sftp_server.host_key  # learned at creation, pinned
    Publication.objects.filter(website=website).update(host_key=host_key(tmp_path, "impostor")[1])
    repository.publish({"index.html": "<h1>second</h1>"})

    answer = owner_api.post(f"{API}{website.pk}/deploy")

    assert answer.status_code == 202 and answer.json()["result"] is None  # queued; the worker runs it next
    deploy = Deploy.objects.filter(website=website)[0]
    assert deploy.result == "failed" and "not the pinned one" in deploy.log_tail
    assert (sftp_server.web_root(website.app_id) / "index.html").read_text() == "<h1>first</h1>"
    assert staff_notes[-1][0] == "website_not_published" and "pinned" in staff_notes[-1][1]


def test_a_new_site_trusts_only_the_key_the_other_sites_pinned(
    owner_api, mailoutbox, emulator, sftp_server, repository, tasks_inline, user, plus_tier, tmp_path, settings
):
    user.tier = plus_tier
    user.save(update_fields=["tier"])
    repository.publish({"index.html": "<h1>first</h1>"})
    first = _live_site(owner_api, mailoutbox, repository.url, "git")
    assert first.publication.host_key == sftp_server.host_key
    # As if the server met at the first publish had been an impostor: its key is the pinned one.
    Publication.objects.filter(website=first).update(host_key=host_key(tmp_path, "impostor")[1])

    second = _live_site(owner_api, mailoutbox, repository.url, "git", domain=f"blog.{settings.YUNOHOST_DOMAIN}")

    deploy = Deploy.objects.filter(website=second)[0]
    assert deploy.result == "failed" and "not the pinned one" in deploy.log_tail
    assert Publication.objects.get(website=second).host_key == ""  # nothing learned from this server
    assert not (sftp_server.web_root(second.app_id) / "index.html").exists()


def test_deploy_waits_for_a_live_site_and_sftp_sites_have_none(owner_api, mailoutbox, emulator):
    git = owner_api.post(API, {"domain": SITE, "kind": "git", "git_url": "https://codeberg.org/alice/site"}).json()
    assert git["deploy"] == {"commit": None, "started_at": None, "finished_at": None, "result": None, "log_tail": None}
    assert "/hooks/websites/" in git["webhook_url"]

    answer = owner_api.post(f"{API}{git['id']}/deploy")

    assert answer.status_code == 409 and answer.json()["code"] == "not_live"
    assert not Deploy.objects.exists()
    owner_api.delete(f"{API}{git['id']}")
    sftp = owner_api.post(API, {"domain": SITE}).json()
    assert "webhook_url" not in sftp and sftp["deploy"]["result"] is None
    assert owner_api.post(f"{API}{sftp['id']}/webhook-secret").json()["code"] == "no_deploy"


def test_someone_elses_site_cannot_be_deployed(owner_api, other_api, mailoutbox, emulator):
    git = owner_api.post(API, {"domain": SITE, "kind": "git", "git_url": "https://codeberg.org/alice/site"}).json()
    assert other_api.post(f"{API}{git['id']}/deploy").status_code == 404
    assert other_api.post(f"{API}{git['id']}/webhook-secret").status_code == 404


def test_a_git_site_installed_without_sftp_gets_a_login_through_the_lane_then_deploys(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
):
    repository.publish({"index.html": "<h1>old site</h1>"})
    website = _live_site(owner_api, mailoutbox, repository.url, "git")
    # As a site installed before publishing went through SFTP: no login, no password kept.
    Publication.objects.filter(website=website).update(sftp_password="", host_key="", manifest={})
    with emulator_state(str(emulator.path)) as state:
        state["apps"][0]["settings"].update(with_sftp=0, password_sha256="")

    with TestCase.captureOnCommitCallbacks(execute=True):
        services.deploy_request(website=website, reason="pull")
    _lane()

    # The deploy queued app.config_set (SFTP on, a new password); its success deployed again.
    failed, published = Deploy.objects.filter(website=website, reason__in=["pull", "sftp"]).order_by("id")
    assert failed.result == "failed" and "being set up" in failed.log_tail
    assert published.result == "ok" and published.reason == "sftp"
    assert emulator.state()["apps"][0]["settings"]["with_sftp"] == 1
    assert emulator.log("app config set")
    assert not [m for m in mailoutbox if "SFTP password" in m.subject]


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def build_dir():
    """A clone and an output folder where the sandbox's `nobody` can reach them, as a deploy's."""
    folder = Path(tempfile.mkdtemp(prefix="blahaj-test-build-"))
    folder.chmod(0o711)

    def make(files: dict[str, str]):
        base = Path(tempfile.mkdtemp(dir=folder))
        base.chmod(0o711)
        source, output = base / "src", base / "out"
        for name, text in files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_text(text)
        output.mkdir()
        for path in [source, *source.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        return source, output

    yield make
    shutil.rmtree(folder)


def test_a_build_that_loops_for_ever_is_stopped_by_the_time_limit(build_dir):
    from publishing import build

    looping = "{{ range seq 2000 }}{{ range seq 2000 }}{{ range seq 2000 }}{{ end }}{{ end }}{{ end }}\n"
    source, output = build_dir({**HUGO_SITE, "layouts/index.html": looping})
    limits = sandbox.Limits(timeout=2, memory=4 << 30, processes=256, max_bytes=50 << 20)

    with pytest.raises(sandbox.BuildFailed, match="more than 2 s") as failed:
        build.build("hugo", source=source, output=output, limits=limits)
    assert "Start building sites" in failed.value.log


def test_a_build_that_tries_the_network_fails_and_reaches_nothing(build_dir, tmp_path):
    from publishing import build

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits = []
    address = f"http://127.0.0.1:{server.server_address[1]}/leak"
    # Hugo's own policy allows every URL here: only the sandbox stands in the way.
    config = HUGO_SITE["hugo.toml"] + "[security.http]\nurls = ['.*']\n"
    page = f'{{{{ $r := resources.GetRemote "{address}" }}}}{{{{ with $r }}}}{{{{ .Content }}}}{{{{ end }}}}'
    source, output = build_dir({**HUGO_SITE, "hugo.toml": config, "layouts/index.html": page})
    try:
        # The control, by hand and outside any sandbox: the same site reaches the server.
        control = tmp_path / "control"
        hugo = [build.hugo_binary(), "build", "--source", str(source), "--destination", str(control), "--noBuildLock"]
        done = subprocess.run([*hugo, "--cacheDir", str(tmp_path / "cache")], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert _Recorder.hits == ["/leak"] and "ok" in (control / "index.html").read_text()

        with pytest.raises(sandbox.BuildFailed) as failed:
            build.build("hugo", source=source, output=output)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert _Recorder.hits == ["/leak"]  # nothing more: the sandboxed build reached nothing
    assert "Start building sites" in failed.value.log and "/leak" in failed.value.log, failed.value.log
    assert "network is unreachable" in failed.value.log or "connection refused" in failed.value.log.lower(), (
        failed.value.log
    )


def test_the_sandbox_shows_no_host_file_no_network_and_only_its_output_is_writable(build_dir):
    source, output = build_dir({"index.md": "hello"})
    script = (
        "id -u; ls /; test -e /etc/passwd || echo no-etc; cat /proc/net/dev | tail -n +3 | cut -d: -f1; "
        "touch /src/x 2>/dev/null || echo src-read-only; echo built > /out/index.html; "
        "touch /usr/x 2>/dev/null || echo usr-read-only"
    )

    log = sandbox.run(["/bin/sh", "-c", script], source=source, output=output, binds={})

    lines = [line.strip() for line in log.splitlines()]
    assert lines[0] == "65534" and "home" not in lines and "root" not in lines and "etc" not in lines
    assert "no-etc" in lines and "src-read-only" in lines and "usr-read-only" in lines
    assert "lo" in lines and "eth0" not in lines  # a network namespace of its own: loopback only
    assert (output / "index.html").read_text() == "built\n" and sorted(p.name for p in source.iterdir()) == ["index.md"]


def test_the_sandbox_limits_processes_output_size_and_memory(build_dir):
    source, output = build_dir({"index.md": "hello"})
    limits = sandbox.Limits(timeout=20, memory=1 << 30, processes=20, max_bytes=1 << 20)

    forks = "for i in $(seq 60); do sleep 5 & done 2>&1; wait; echo done"
    with pytest.raises(sandbox.BuildFailed) as forked:
        sandbox.run(["/bin/sh", "-c", forks + "; exit 3"], source=source, output=output, binds={}, limits=limits)
    assert "fork" in forked.value.log.lower() or "resource" in forked.value.log.lower()

    with pytest.raises(sandbox.BuildFailed, match="exit status"):
        sandbox.run(
            ["/bin/sh", "-c", "head -c 3000000 /dev/zero > /out/big"],
            source=source,
            output=output,
            binds={},
            limits=limits,
        )
    assert (output / "big").stat().st_size <= 1 << 20

    from publishing import build

    hugo_source, hugo_output = build_dir(HUGO_SITE)
    small = sandbox.Limits(timeout=20, memory=32 << 20, processes=256, max_bytes=1 << 20)
    with pytest.raises(sandbox.BuildFailed, match="exit status"):
        build.build("hugo", source=hugo_source, output=hugo_output, limits=small)  # 32 MiB of address space
    assert not (hugo_output / "index.html").exists()


def test_no_sandbox_no_build_and_staff_are_told(
    owner_api,
    mailoutbox,
    emulator,
    sftp_server,
    repository,
    tasks_inline,
    settings,
    staff_notes,
):
    settings.WEBSITES_BWRAP = "/nonexistent/bwrap"
    sandbox.unavailable.cache_clear()
    repository.publish(HUGO_SITE)
    try:
        website = _live_site(owner_api, mailoutbox, repository.url, "ssg")
    finally:
        sandbox.unavailable.cache_clear()

    deploy = Deploy.objects.get(website=website)
    assert deploy.result == "failed" and "bubblewrap" in deploy.log_tail
    root = sftp_server.web_root(website.app_id)
    assert not root.exists() or not any(root.iterdir())  # nothing built, nothing sent
    assert staff_notes[-1][0] == "website_not_published"


def test_a_clone_is_limited_while_it_runs(repository, settings, tmp_path):
    from publishing import clone

    repository.publish({"big.bin": "x" * 300_000})
    settings.WEBSITES_GIT_MAX_BYTES = 100_000
    with pytest.raises(clone.CloneFailed, match="bytes allowed"):
        clone.clone(repository.url, tmp_path / "one")

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    port = silent.getsockname()[1]
    settings.WEBSITES_GIT_HOSTS = [f"localhost:{port}"]
    settings.WEBSITES_GIT_TIMEOUT = 2
    try:
        with pytest.raises(clone.CloneFailed, match="more than 2 s"):
            clone.clone(f"https://localhost:{port}/site.git", tmp_path / "two")
    finally:
        silent.close()
    for url in ("http://localhost/x.git", "file:///etc", "ext::sh -c id", "https://evil.example/x.git"):
        with pytest.raises(clone.CloneFailed):
            clone.clone(url, tmp_path / "three")


def test_a_site_publishes_through_its_own_servers_sftp_door_and_trusts_only_that_servers_key(make_user, settings):
    first_owner = make_user("alice")
    second = Server.objects.create(name="ynh2", queue="yunohost.ynh2", main_domain="ynh2.example.org")
    second_owner = make_user("dana", server=second)
    on_first = Website.objects.create(owner=first_owner, domain="alice.blahaj.land", kind="git", verification_token="a")
    on_second = Website.objects.create(
        owner=second_owner, domain="dana.blahaj.land", kind="git", verification_token="d"
    )
    Publication.objects.create(website=on_first, webhook_id="first", host_key="ssh-ed25519 KEYOFTHEFIRST")

    assert runner._sftp_host(on_second) == "ynh2.example.org"
    assert website_emails.sftp_host(on_second) == "ynh2.example.org"  # what its owner is told
    assert runner._sftp_host(on_first) == (
        settings.WEBSITES_PUBLISH_SFTP_HOST or settings.WEBSITES_SFTP_HOST or settings.YUNOHOST_DOMAIN
    )
    # The first server's key is no key of the second: the second's first publish learns its own.
    fresh = Publication.objects.create(website=on_second, webhook_id="second")
    assert runner._pinned(fresh, on_second) == ""
    another = Website.objects.create(owner=first_owner, domain="blog.blahaj.land", kind="git", verification_token="b")
    assert runner._pinned(Publication.objects.create(website=another, webhook_id="third"), another) == (
        "ssh-ed25519 KEYOFTHEFIRST"
    )
