"""The SFTP sync publisher against the emulator's SFTP door (a real SSH server, chrooted)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from publishing import sftp
from publishing.tests.conftest import host_key, sftp_process
from yunohost_emulator.state import sha256, transaction

PASSWORD = "Sftp-Passw0rd-for-tests"


def _install(state: Path, app: str = "my_webapp", password: str = PASSWORD, with_sftp: int = 1) -> None:
    with transaction(str(state)) as data:
        data["apps"].append(
            {
                "id": app,
                "label": "site",
                "domain": "alice.example.org",
                "path": "/",
                "settings": {"with_sftp": with_sftp, "password_sha256": sha256(password)},
            }
        )


def _target(server, **fields) -> sftp.Target:
    values = {"host": "127.0.0.1", "port": server.port, "username": "my_webapp", "password": PASSWORD}
    return sftp.Target(**{**values, **fields})


def _tree(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_a_publish_sends_what_changed_removes_what_went_and_pins_the_key(sftp_server, tmp_path):
    _install(sftp_server.state)
    build = _tree(tmp_path / "build", {"index.html": "one", "a/b/page.html": "page", "old.html": "old"})

    first = sftp.publish(_target(sftp_server), build, {})

    root = sftp_server.web_root("my_webapp")
    assert (root / "index.html").read_text() == "one" and (root / "a/b/page.html").read_text() == "page"
    assert sorted(first.sent) == ["a/b/page.html", "index.html", "old.html"]
    assert first.host_key == sftp_server.host_key
    assert oct(os.stat(root / "a/b/page.html").st_mode & 0o777) == "0o644"
    assert oct(os.stat(root / "a/b").st_mode & 0o777) == "0o755"

    (build / "old.html").unlink()
    _tree(build, {"index.html": "two"})
    second = sftp.publish(_target(sftp_server, host_key=first.host_key), build, first.manifest)

    assert second.sent == ["index.html"] and second.removed == ["old.html"]
    assert (root / "index.html").read_text() == "two" and not (root / "old.html").exists()
    assert sorted(p.name for p in root.iterdir()) == ["a", "index.html"]  # no staging folder left


def test_a_file_lost_on_the_server_is_sent_again_and_a_folder_can_become_a_file(sftp_server, tmp_path):
    _install(sftp_server.state)
    build = _tree(tmp_path / "build", {"index.html": "one", "docs/x.html": "x"})
    first = sftp.publish(_target(sftp_server), build, {})
    (sftp_server.web_root("my_webapp") / "index.html").unlink()  # e.g. a reset of the site
    (build / "docs/x.html").unlink()
    (build / "docs").rmdir()
    _tree(build, {"docs": "now a file"})

    second = sftp.publish(_target(sftp_server, host_key=first.host_key), build, first.manifest)

    root = sftp_server.web_root("my_webapp")
    assert sorted(second.sent) == ["docs", "index.html"]
    assert (root / "docs").read_text() == "now a file" and (root / "index.html").read_text() == "one"


def test_a_changed_host_key_refuses_to_publish(sftp_server, tmp_path):
    _install(sftp_server.state)
    build = _tree(tmp_path / "build", {"index.html": "one"})
    _key, other = host_key(tmp_path, "other")

    with pytest.raises(sftp.HostKeyChanged, match="not the pinned one"):
        sftp.publish(_target(sftp_server, host_key=other), build, {})
    assert not (sftp_server.web_root("my_webapp") / "index.html").exists()


def test_a_known_hosts_file_wins_over_learning(sftp_server, tmp_path):
    _install(sftp_server.state)
    build = _tree(tmp_path / "build", {"index.html": "one"})
    _key, other = host_key(tmp_path, "other")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sftp_server.port} {other}\n")

    with pytest.raises(sftp.HostKeyChanged):
        sftp.publish(_target(sftp_server, known_hosts=str(known)), build, {})
    known.write_text(f"[127.0.0.1]:{sftp_server.port} {sftp_server.host_key}\n")
    assert sftp.publish(_target(sftp_server, known_hosts=str(known)), build, {}).sent == ["index.html"]


def test_the_door_wants_the_sites_password_and_sftp_on(sftp_server, tmp_path):
    _install(sftp_server.state)
    _install(sftp_server.state, app="my_webapp__2", with_sftp=0)
    build = _tree(tmp_path / "build", {"index.html": "one"})

    with pytest.raises(sftp.PublishFailed, match="refused the site's login"):
        sftp.publish(_target(sftp_server, password="wrong-Passw0rd-xx"), build, {})
    with pytest.raises(sftp.PublishFailed, match="refused the site's login"):
        sftp.publish(_target(sftp_server, username="my_webapp__2"), build, {})


def test_the_chroot_allows_writes_only_inside_the_web_root(sftp_server, tmp_path):
    import asyncio

    import asyncssh

    _install(sftp_server.state)

    async def attempt() -> list[str]:
        refused = []
        async with (
            asyncssh.connect(
                "127.0.0.1", sftp_server.port, username="my_webapp", password=PASSWORD, known_hosts=None
            ) as connection,
            connection.start_sftp_client() as client,
        ):
            assert sorted(set(await client.listdir("/")) - {".", ".."}) == ["www"]
            for action in (
                client.mkdir("/www.new"),
                client.rename("/www", "/www.old"),
                client.rmdir("/www"),
                client.mkdir("/../../escape"),
                client.symlink("/etc/passwd", "/www/passwd"),
            ):
                try:
                    await action
                except asyncssh.SFTPError as error:
                    refused.append(type(error).__name__)
        return refused

    assert len(asyncio.run(attempt())) == 5
    home = sftp_server.home("my_webapp")
    assert sorted(p.name for p in home.iterdir()) == ["www"] and not (home.parent.parent / "escape").exists()


def test_a_second_process_with_another_key_is_another_server(emulator, tmp_path):
    _install(emulator.path)
    key_path, public = host_key(tmp_path, "second")
    with sftp_process(emulator.path, key_path) as port:
        build = _tree(tmp_path / "build", {"index.html": "one"})
        result = sftp.publish(sftp.Target("127.0.0.1", port, "my_webapp", PASSWORD), build, {})
    assert result.host_key == public
