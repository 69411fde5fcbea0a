"""The https git server of the tests (git's smart HTTP protocol by `git http-backend`, on
127.0.0.1, with a self-signed certificate that git is told to trust). git and ssg sites are
cloned, built and published off the lane: publishing/tests."""

from __future__ import annotations

import datetime
import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


class Repository:
    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url
        self.work = root / "work"
        self.work.mkdir()
        _git("init", "-q", "-b", "main", cwd=self.work)
        _git("config", "user.email", "test@example.org", cwd=self.work)
        _git("config", "user.name", "Test", cwd=self.work)

    def publish(self, files: dict[str, str]) -> None:
        for name, text in files.items():
            (self.work / name).parent.mkdir(parents=True, exist_ok=True)
            (self.work / name).write_text(text)
        _git("add", "-A", cwd=self.work)
        _git("commit", "-q", "-m", "content", cwd=self.work)
        bare = self.root / "served" / "site.git"
        if not bare.exists():
            bare.parent.mkdir(parents=True)
            _git("clone", "-q", "--bare", str(self.work), str(bare), cwd=self.root)
        else:
            _git("push", "-q", str(bare), "main", cwd=self.work)
        _git("update-server-info", cwd=bare)


def _split_cgi(out: bytes) -> tuple[bytes, bytes]:
    """A CGI answer's headers and body: split at the first blank line (the body is binary)."""
    ends = [(out.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if out.find(sep) >= 0]
    if not ends:
        return out, b""
    index, sep = min(ends)
    return out[:index], out[index + len(sep) :]


class _SmartHttp(http.server.BaseHTTPRequestHandler):
    """git's smart HTTP protocol (what GitHub and the others speak), by `git http-backend`."""

    project_root = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._backend()

    def do_POST(self) -> None:
        self._backend()

    def _backend(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        env = {
            "GIT_PROJECT_ROOT": self.project_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_LENGTH": str(length),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "PATH": "/usr/bin:/bin",
        }
        body = self.rfile.read(length) if length else b""
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False).stdout
        head, payload = _split_cgi(out)
        status, headers = 200, []
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def repository(tmp_path, settings, monkeypatch) -> Iterator[Repository]:
    cert, key = _certificate(tmp_path)
    served = tmp_path / "served"
    served.mkdir()
    handler = type("Handler", (_SmartHttp,), {"project_root": str(served)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    monkeypatch.setenv("GIT_SSL_CAINFO", str(cert))  # git trusts this server's certificate only
    settings.WEBSITES_GIT_HOSTS = [f"localhost:{port}"]
    served.rmdir()  # Repository.publish makes it
    try:
        yield Repository(tmp_path, f"https://localhost:{port}/site.git")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
