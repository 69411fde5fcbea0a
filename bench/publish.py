"""Benchmark of a git/ssg site's deploy. Not a test.

Run:  .venv/bin/python bench/publish.py [--pages 200] [--rounds 5]
Needs git, bwrap and the requirements (hugo, asyncssh); no database. In a temporary folder it
makes a Hugo site of --pages pages in a bare repository served over https on 127.0.0.1 (git's
smart HTTP protocol by `git http-backend`, the tests' server), an emulator state with two
my_webapp apps, and the emulator's SFTP door. Measured in the same run, in alternating rounds:

- the deploy: publishing's own clone (shallow, limited), Hugo in the bubblewrap sandbox, and the
  SFTP sync into the first app's empty web root (hashes, staging folder, renames);
- the baseline: Hugo alone on a checkout (no sandbox) plus a plain recursive SFTP upload
  (asyncssh's `put`) of the same output into the second app's empty web root.

A first round warms up and is not counted (the sandbox's one probe, the page cache).
Reported: median seconds of each, the ratio baseline / deploy (goal >= 0.8), then a second
deploy after one page's text changed, and how many files it sent (goal: one).
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blahaj.settings")
os.environ.setdefault("BLAHAJ_TESTING", "true")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django  # noqa: E402 - after the path and settings

django.setup()

import asyncssh  # noqa: E402
from django.conf import settings  # noqa: E402

from publishing import build, clone, sftp  # noqa: E402
from publishing.tests.conftest import host_key, sftp_process  # noqa: E402
from websites.tests.test_git import _certificate, _SmartHttp  # noqa: E402
from yunohost_emulator.state import sha256, transaction  # noqa: E402

PASSWORD = "Bench-Sftp-Passw0rd!"
CONFIG = 'baseURL = "https://bench.example/"\ntitle = "Bench"\ndisableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n'
LIST = '<html><body><ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul></body></html>\n'
SINGLE = "<html><head><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1>{{ .Content }}</body></html>\n"


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_site(work: Path, pages: int) -> None:
    (work / "content" / "posts").mkdir(parents=True)
    (work / "layouts" / "_default").mkdir(parents=True)
    (work / "hugo.toml").write_text(CONFIG)
    (work / "layouts" / "index.html").write_text(LIST.replace(".Pages", ".Site.RegularPages"))
    (work / "layouts" / "_default" / "list.html").write_text(LIST)
    (work / "layouts" / "_default" / "single.html").write_text(SINGLE)
    (work / "content" / "_index.md").write_text("---\ntitle: Home\n---\n")
    paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40
    for i in range(pages):
        text = f"---\ntitle: Post {i}\n---\n\n" + "\n\n".join(f"{paragraph} ({i}.{p})" for p in range(6))
        (work / "content" / "posts" / f"post-{i:03d}.md").write_text(text)


def serve_https(root: Path, folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    cert, key = _certificate(folder)
    handler = type("Handler", (_SmartHttp,), {"project_root": str(root)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["GIT_SSL_CAINFO"] = str(cert)
    return server, server.server_address[1]


def install(state: Path, *apps: str) -> None:
    with transaction(str(state)) as data:
        for app in apps:
            settings_ = {"with_sftp": 1, "password_sha256": sha256(PASSWORD)}
            data["apps"].append({"id": app, "label": app, "domain": f"{app}.bench", "path": "/", "settings": settings_})


def empty(web_root: Path) -> None:
    if web_root.exists():
        for child in web_root.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def deploy(url: str, scratch: Path, target: sftp.Target, manifest: dict) -> tuple[float, sftp.Result]:
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-", dir=scratch))
    work.chmod(0o711)
    start = time.monotonic()
    source, output = work / "src", work / "out"
    clone.clone(url, source)
    shutil.rmtree(source / ".git")
    for path in [source, *source.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    output.mkdir()
    build.build("hugo", source=source, output=output)
    result = sftp.publish(target, output, manifest)
    elapsed = time.monotonic() - start
    shutil.rmtree(work)
    return elapsed, result


def baseline(checkout: Path, scratch: Path, port: int) -> float:
    output = Path(tempfile.mkdtemp(prefix="bench-hugo-", dir=scratch))
    start = time.monotonic()
    subprocess.run(
        [build.hugo_binary(), "build", "--source", str(checkout), "--destination", str(output), "--noBuildLock"],
        check=True,
        capture_output=True,
    )

    async def upload() -> None:
        async with (
            asyncssh.connect(
                "127.0.0.1", port, username="my_webapp__2", password=PASSWORD, known_hosts=None
            ) as connection,
            connection.start_sftp_client() as client,
        ):
            await client.put([str(p) for p in output.iterdir()], "www", recurse=True)

    asyncio.run(upload())
    elapsed = time.monotonic() - start
    shutil.rmtree(output)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o711)
        work, served, scratch = folder / "work", folder / "served", folder / "scratch"
        work.mkdir()
        scratch.mkdir()
        scratch.chmod(0o711)
        make_site(work, options.pages)
        git("init", "-q", "-b", "main", cwd=work)
        git(
            "-c",
            "user.email=b@example.org",
            "-c",
            "user.name=Bench",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "0",
            cwd=work,
        )
        git("add", "-A", cwd=work)
        git("-c", "user.email=b@example.org", "-c", "user.name=Bench", "commit", "-q", "-m", "site", cwd=work)
        served.mkdir()
        git("clone", "-q", "--bare", str(work), str(served / "site.git"), cwd=folder)
        server, https_port = serve_https(served, folder)
        settings.WEBSITES_GIT_HOSTS = [f"localhost:{https_port}"]
        url = f"https://localhost:{https_port}/site.git"
        state = folder / "yunohost.json"
        install(state, "my_webapp", "my_webapp__2")
        key_path, public = host_key(folder)
        homes = folder / "www"
        try:
            with sftp_process(state, key_path) as port:
                target = sftp.Target("127.0.0.1", port, "my_webapp", PASSWORD, host_key=public)
                deploys, baselines = [], []
                for round_ in range(options.rounds + 1):  # the first warms up (the sandbox's probe, caches)
                    empty(homes / "my_webapp" / "www")
                    seconds, result = deploy(url, scratch, target, {})
                    empty(homes / "my_webapp__2" / "www")
                    base = baseline(work, scratch, port)
                    if round_:
                        deploys.append(seconds)
                        baselines.append(base)
                files = len(result.manifest)
                (work / "content" / "posts" / "post-007.md").write_text("---\ntitle: Post 7\n---\n\nChanged.\n")
                git("-c", "user.email=b@example.org", "-c", "user.name=Bench", "commit", "-qam", "one page", cwd=work)
                git("push", "-q", str(served / "site.git"), "main", cwd=work)
                again, second = deploy(url, scratch, target, result.manifest)
        finally:
            server.shutdown()
            server.server_close()
    deploy_s, baseline_s = statistics.median(deploys), statistics.median(baselines)
    print(f"pages: {options.pages}, files published: {files}, rounds: {options.rounds}")
    print(
        f"deploy (clone + sandboxed hugo + SFTP sync): {deploy_s:.2f} s (rounds: {', '.join(f'{s:.2f}' for s in deploys)})"
    )
    print(
        f"baseline (hugo alone + plain SFTP put):      {baseline_s:.2f} s (rounds: {', '.join(f'{s:.2f}' for s in baselines)})"
    )
    print(f"ratio baseline / deploy: {baseline_s / deploy_s:.2f} (goal >= 0.8)")
    print(
        f"second deploy, one page changed: {again:.2f} s, files sent: {len(second.sent)} {second.sent}, removed: {len(second.removed)}"
    )


if __name__ == "__main__":
    main()
