"""A private slapd shaped like YunoHost's directory, for the tests and bench/auth.py.

``PrivateSlapd().start()`` runs Debian's ``slapd`` (package ``slapd``) as a subprocess with its
own configuration and database in a temporary directory, on a free port of 127.0.0.1 (never
389), with the schemas YunoHost uses (core, cosine, inetorgperson, nis) and YunoHost's tree:
``dc=yunohost,dc=org``, ``ou=users``, ``ou=groups`` and the admin ``cn=admin,dc=yunohost,dc=org``.
Members are ``uid=<username>,ou=users,dc=yunohost,dc=org`` (inetOrgPerson + posixAccount), as
``yunohost user create`` writes them. ``stop()`` ends it and removes the directory. It is never
used by the running service.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import ldap3

from .ldap_mirror import ssha, user_dn

BASE_DN = "dc=yunohost,dc=org"
ADMIN_DN = f"cn=admin,{BASE_DN}"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"


def _close(connection: ldap3.Connection) -> None:
    """Unbind and close the socket: ldap3 leaves it open when the connection failed."""
    try:
        connection.unbind()
    finally:
        if connection.socket is not None:
            connection.socket.close()


class SlapdError(RuntimeError):
    """slapd is missing or did not start."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(directory: str, admin_password: str) -> str:
    includes = "\n".join(f"include {SCHEMA_DIR}/{name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {directory}/slapd.pid
modulepath {MODULE_DIR}
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {admin_password}
directory {directory}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"""


class PrivateSlapd:
    def __init__(self, *, admin_password: str = "admin-Passw0rd-for-tests") -> None:  # noqa: S107 - a throwaway test directory's
        self.admin_password = admin_password
        self.port = 0
        self.directory = ""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 20) -> PrivateSlapd:
        slapd = shutil.which("slapd") or ("/usr/sbin/slapd" if os.path.exists("/usr/sbin/slapd") else None)
        if slapd is None:
            raise SlapdError("slapd is not installed: apt-get install slapd ldap-utils (scripts/test does it)")
        self.directory = tempfile.mkdtemp(prefix="blahaj-slapd-")
        os.mkdir(os.path.join(self.directory, "db"))
        conf = os.path.join(self.directory, "slapd.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(_config(self.directory, self.admin_password))
        self.port = free_port()
        log = open(os.path.join(self.directory, "slapd.log"), "wb")  # noqa: SIM115 - kept for the error message
        with log:
            self.process = subprocess.Popen(
                [slapd, "-d", "0", "-h", f"{self.uri}/", "-f", conf],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                time.sleep(0.1)
                continue
            self._add_tree()
            return self
        output = self._log()
        self.stop()
        raise SlapdError(f"slapd did not start on 127.0.0.1 within {timeout:.0f} s:\n{output}")

    def _log(self) -> str:
        try:
            with open(os.path.join(self.directory, "slapd.log"), encoding="utf-8", errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    @contextmanager
    def admin(self) -> Iterator[ldap3.Connection]:
        """A connection bound as the admin, closed at the end of the block."""
        server = ldap3.Server(self.uri, connect_timeout=2, get_info=ldap3.NONE)
        # Not ldap3's own `with`: it leaves open a connection that was bound before it.
        connection = ldap3.Connection(server, ADMIN_DN, self.admin_password, receive_timeout=5, raise_exceptions=True)
        try:
            connection.bind()
            yield connection
        finally:
            _close(connection)

    def add_user(self, username: str, password: str, *, uid_number: int = 1001) -> None:
        """A member as ``yunohost user create`` writes one (the emulator's mirror does the same)."""
        with self.admin() as c:
            c.add(
                user_dn(username),
                ["inetOrgPerson", "posixAccount"],
                {
                    "uid": username,
                    "cn": username,
                    "sn": username,
                    "mail": f"{username}@example.org",
                    "uidNumber": uid_number,
                    "gidNumber": uid_number,
                    "homeDirectory": f"/home/{username}",
                    "loginShell": "/bin/bash",
                    "userPassword": ssha(password),
                },
            )

    def _add_tree(self) -> None:
        with self.admin() as c:
            c.add(BASE_DN, ["top", "dcObject", "organization"], {"dc": "yunohost", "o": "yunohost.org"})
            c.add(f"ou=users,{BASE_DN}", ["top", "organizationalUnit"], {"ou": "users"})
            c.add(f"ou=groups,{BASE_DN}", ["top", "organizationalUnit"], {"ou": "groups"})

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = ""
