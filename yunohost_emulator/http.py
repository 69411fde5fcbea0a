"""yunohost-api for the emulator: the same state file, lock and commands over HTTP.

``python -m yunohost_emulator.http --state FILE --port N --password SECRET`` serves
``http://127.0.0.1:N/yunohost/api/`` (``https://`` with ``--tls-cert``/``--tls-key``), as nginx
publishes yunohost-api on a server (docs/yunohost.md §5). It binds to 127.0.0.1 only. Port 0
picks a free port; the first line on stdout says which (``listening on <url>``).

What it reproduces: ``POST /login`` with a form field ``credentials`` (``<admin>:<password>``),
the ``yunohost.admin`` session cookie (``Path=/yunohost/api`` as in 12; ``Secure`` only over
TLS, since a client keeps a Secure cookie off plain HTTP), ``GET /logout``, ``GET /installed``,
the ``X-Requested-With`` requirement on form POSTs (``403 CSRF protection``), form-encoded
parameters named after the CLI's argparse dests (flags count as set whenever present; a JSON
body replaces the form *and* the path parameters, in 12 only), the routes of §5.4 for users,
domains, certificates and apps, the status codes and bodies of §5.5, session expiry after
``--session-ttl`` seconds without use, and the global lock: a writer waits up to
``--lock-timeout`` seconds (30 as yunohost-api) for another writer, CLI or HTTP, then answers
``500`` with the lock text.

Every route is turned into the CLI's argv (``user create alice --fullname=...``) and goes through
the same parser, checks, handlers, faults, delays and log as ``yunohost`` (``yunohost_emulator/bin``),
so both interfaces agree; the log entry's ``argv`` is that CLI form, plus ``"via": "api"`` and the
HTTP ``status``. Faults (state key ``faults``) may also carry HTTP answers for the client's error
paths: ``{"command": "user create", "status": 502, "body": "<html>Bad Gateway</html>",
"content_type": "text/html"}`` answers that instead of running the command; ``"hang": N`` sleeps
N seconds first; ``"kill": true`` closes the connection without an answer.

It also answers the login of YunoHost 12's user portal API (``POST /yunohost/portalapi/login``,
``credentials=<user>:<password>``, docs/yunohost.md §9) against the users' stored password
hashes: ``200`` and a ``yunohost.portal`` cookie, or ``401`` for a wrong password or an unknown
user (faults for the command ``portal login`` apply). With the state key ``slapd_down`` set, every
portal login answers ``401 Unable to authenticate``, as YunoHost 12 does when its slapd is down
(docs/yunohost.md §9.6). fail2ban's ``yunohost-portal`` jail is there too: an address that got
``--portal-maxretry`` (20) ``401`` answers to portal logins within ``--portal-findtime`` (600)
seconds is banned for ``--portal-bantime`` (600) seconds, and a banned address gets no answer at
all, on any route (nftables drops its connections to ports 80 and 443).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import io
import json
import os
import re
import secrets
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .arguments import action_parser, apply_extras, redact_argv
from .cli import perform, prepare
from .commands import READ_ONLY
from .errors import FR, EmulatorError, M, set_language, t
from .lock import acquire_lock, lock_path, release_lock
from .output import Console
from .routes import ROUTES, F, L
from .state import append_log, consume_fault, read_state, sha256, state_path, version

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

BASE = "/yunohost/api"
COOKIE = "yunohost.admin"
# YunoHost 12's user portal API (yunohost-portal-api, port 6788 behind nginx): only its login.
PORTAL_BASE = "/yunohost/portalapi"
PORTAL_COOKIE = "yunohost.portal"
MAX_BODY = 1 << 20

# moulinette's own errors: plain-text bodies (docs/yunohost.md §5.5).
_ARGUMENT_KEYS = {"invalid_argument", "argument_required", "not_a_tty"}
_PLAIN_500_KEYS = {"instance_already_running", "root_required"}
# YunohostError raised outside an operation: content() is the bare text, a 500 (§10.1).
_PLAIN_500_KEYS |= {"certmanager_cert_install_failed"}
# YunohostError (500) rather than YunohostValidationError (400), though raised before the operation.
_SERVER_ERROR_KEYS = {
    "user_update_failed",
    "domain_creation_failed",
    "domain_deletion_failed",
    "log_help_to_get_failed_log",
}
# bottle's ERROR_PAGE_TEMPLATE for an uncaught exception (bottle 0.12, DEBUG off), with the URL as
# yunohost-api sees it behind nginx's proxy_pass.
_BOTTLE_500 = """<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">
<html>
    <head>
        <title>Error: 500 Internal Server Error</title>
    </head>
    <body>
        <h1>Error: 500 Internal Server Error</h1>
        <p>Sorry, the requested URL <tt>&#039;http://127.0.0.1:6787/users&#039;</tt>
           caused an error:</p>
        <pre>Internal Server Error</pre>
    </body>
</html>
"""
_parse_lock = threading.Lock()  # argparse reports on sys.stderr, which is process-wide


class Answer(Exception):
    """A complete HTTP answer, raised from anywhere in a request's handling."""

    def __init__(
        self,
        status: int,
        body: Any = None,
        *,
        plain: bool = False,
        content_type: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers or {}
        if plain:
            self.body, self.content_type = str(body), content_type or "text/plain; charset=utf-8"
        elif status == 204:
            self.body, self.content_type = "", ""
        else:
            self.body, self.content_type = json.dumps(body), content_type or "application/json"


class Hangup(Exception):
    """Close the connection without answering (a ``kill`` fault)."""


# --- Error bodies --------------------------------------------------------------------------------


def _template_regex(template: str) -> re.Pattern[str]:
    seen: set[str] = set()

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name or name in seen:
            return "(?:.*?)"
        seen.add(name)
        return f"(?P<{name}>.*?)"

    escaped = re.escape(template)
    return re.compile(re.sub(r"\\\{(\w*)\\\}", group, escaped), re.DOTALL)


_TEMPLATES = sorted(
    (
        (key, _template_regex(text), len(re.sub(r"\{\w*\}", "", text)))
        for texts in (M, FR)
        for key, text in texts.items()
    ),
    key=lambda item: -item[2],  # the longest literal text first: the most specific template
)


def error_key(message: str) -> tuple[str, dict[str, str]]:
    """The locale key and parameters of a message; a raw message is its own key (§5.5)."""
    for key, regex, _ in _TEMPLATES:
        match = regex.fullmatch(message)
        if match:
            return key, match.groupdict()
    return message, {}


def error_answer(error: EmulatorError) -> Answer:
    key, params = error_key(error.message)
    if key == "user_creation_failed":
        # YunohostValidationError.content() carries the LDAP exception itself (error=e), which
        # json.dumps refuses inside moulinette's error handler: bottle answers its own HTML
        # page (docs/yunohost.md §10.4).
        return Answer(500, _BOTTLE_500, plain=True, content_type="text/html; charset=UTF-8")
    if key in _ARGUMENT_KEYS:
        return Answer(400, error.message, plain=True)
    if key in _PLAIN_500_KEYS:
        return Answer(500, error.message, plain=True)
    if error.log_help or key in _SERVER_ERROR_KEYS:
        ref = re.search(r"yunohost log share (\S+?)'", error.log_help)
        return Answer(500, {"error": error.message, "log_ref": ref.group(1) if ref else ""})
    return Answer(400, {**params, "error": error.message, "error_key": key})


# --- From a request to the CLI's argv -------------------------------------------------------------


def _option(name: str) -> str:
    return "--loginShell" if name == "loginShell" else "--" + name.replace("_", "-")


def cli_argv(command: str, positionals: list[str], fields: dict[str, str], values: dict[str, list[str]]) -> list[str]:
    """The argv of the equivalent CLI call; flags count as set whenever present (§5.3)."""
    argv = command.split()
    options: list[str] = []
    for name, kind in fields.items():
        given = values.get(name)
        if given is None:
            continue
        if kind == F:
            options.append(_option(name))
        elif kind == L:
            options += [f"{_option(name)}={item}" for item in given]
        else:
            options.append(f"{_option(name)}={given[-1]}")
    if any(item.startswith("-") for item in positionals):
        return argv + options + ["--", *positionals]  # never read as an option
    return argv + positionals + options


def parse(argv: list[str]) -> argparse.Namespace:
    with _parse_lock, contextlib.redirect_stderr(io.StringIO()) as err:
        try:
            return action_parser(argv[0]).parse_args(argv)
        except SystemExit:
            lines = [line for line in err.getvalue().splitlines() if line.startswith("yunohost")]
            raise Answer(400, lines[-1] if lines else "Invalid arguments", plain=True) from None


def _positionals(names: list[str], path_args: dict[str, str | None], values: dict[str, list[str]]) -> list[str]:
    out = []
    for name in names:
        given = values.get(name) or [""]
        value = path_args.get(name) if name in path_args else given[-1]
        if name == "key" and not value:
            continue  # `app config set APP` without a key: the whole configuration
        if not value:
            raise Answer(400, t("argument_required", argument=name), plain=True)
        if name == "domain_list":
            out += [] if value == "*" and version() != "11" else value.split(",")
        else:
            out.append(value)
    return out


# --- Running a command -----------------------------------------------------------------------------


def _fault_answer(fault: dict[str, Any]) -> Answer:
    time.sleep(float(fault.get("hang", 0)))
    if fault.get("kill"):
        raise Hangup()
    if "status" in fault:
        return Answer(
            int(fault["status"]), fault.get("body", ""), plain=True, content_type=fault.get("content_type", "")
        )
    if fault.get("crash"):
        return Answer(500, {"route": [], "arguments": {}, "traceback": fault.get("message", "emulated crash")})
    lines = [re.sub(r"^(ERROR|CRITICAL) ", "", line) for line in str(fault.get("stderr", "")).splitlines()]
    return Answer(500, "\n".join(lines) or "emulated failure", plain=True)


def _success(method: str, command: str, result: Any) -> Answer:
    if command == "app install":
        result = {"notifications": {}}  # the API's answer; the CLI prints nothing (§1.9)
    if method == "POST":
        return Answer(201, result)
    if method == "GET" or result:
        return Answer(200, result)
    return Answer(204)


def _execute(method: str, command: str, ns: argparse.Namespace, path: str) -> Answer:
    console = Console(quiet=True)
    fault = prepare(command, ns, path)
    if fault and not fault.get("after"):
        return _fault_answer(fault)
    try:
        apply_extras(ns, console, api=True)
        result = perform(command, ns, console, path)
    except EmulatorError as e:
        return error_answer(e)
    return _fault_answer(fault) if fault else _success(method, command, result)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        port: int,
        *,
        credentials: str,
        session_ttl: float,
        lock_timeout: int,
        jail: tuple[int, float, float] = (20, 600.0, 600.0),
    ) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.credentials = credentials
        self.session_ttl = session_ttl
        self.lock_timeout = lock_timeout
        self.tls = False
        self.sessions: dict[str, float] = {}
        self.sessions_lock = threading.Lock()
        # fail2ban's yunohost-portal jail: (maxretry, findtime, bantime), failures and bans by address.
        self.jail = jail
        self.portal_failures: dict[str, list[float]] = {}
        self.bans: dict[str, float] = {}
        # One process: its threads share a PID, which the file lock cannot tell apart.
        self.writer = threading.Lock()

    def run(self, method: str, command: str, argv: list[str], ns: argparse.Namespace) -> Answer:
        path = state_path()
        entry: dict[str, Any] = {"argv": redact_argv(argv), "lock": False, "started": time.time(), "via": "api"}
        answer = Answer(500, "emulator error", plain=True)
        try:
            if command in READ_ONLY:
                answer = _execute(method, command, ns, path)
            else:
                answer = self._locked(method, command, ns, path, entry)
        except Answer as e:
            answer = e
        finally:
            entry["exit"] = 0 if answer.status < 300 else 1
            entry["status"] = answer.status
            self._log_and_release(path, entry)
        return answer

    def _locked(self, method: str, command: str, ns: argparse.Namespace, path: str, entry: dict[str, Any]) -> Answer:
        started = time.monotonic()
        busy = Answer(500, t("instance_already_running"), plain=True)
        if not self.writer.acquire(timeout=self.lock_timeout):
            raise busy
        entry["pending_release"] = True
        remaining = max(0, int(self.lock_timeout - (time.monotonic() - started)))
        try:
            acquire_lock(lock_path(), remaining, Console(quiet=True))
        except EmulatorError:
            raise busy from None
        entry["lock"] = True
        entry["started"] = time.time()
        return _execute(method, command, ns, path)

    def _log_and_release(self, path: str, entry: dict[str, Any]) -> None:
        held = entry.pop("pending_release", False)
        locked = entry["lock"]
        try:
            append_log(path, entry)
        finally:
            if locked:
                release_lock(lock_path())
            if held:
                self.writer.release()

    def session_valid(self, token: str) -> bool:
        now = time.monotonic()
        with self.sessions_lock:
            last = self.sessions.get(token)
            if last is None or now - last > self.session_ttl:
                self.sessions.pop(token, None)
                return False
            self.sessions[token] = now  # each request extends the session
            return True

    def portal_failed(self, address: str) -> None:
        maxretry, findtime, bantime = self.jail
        now = time.monotonic()
        with self.sessions_lock:
            recent = [t for t in self.portal_failures.get(address, []) if now - t < findtime] + [now]
            self.portal_failures[address] = recent
            if len(recent) >= maxretry:
                self.bans[address] = now + bantime
                self.portal_failures[address] = []

    def banned(self, address: str) -> bool:
        with self.sessions_lock:
            return self.bans.get(address, 0.0) > time.monotonic()

    def new_session(self) -> str:
        token = secrets.token_urlsafe(32)
        with self.sessions_lock:
            self.sessions[token] = time.monotonic()
        return token


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("YUNOHOST_EMULATOR_ACCESS_LOG"):
            sys.stderr.write(
                f"{self.command} {urllib.parse.urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}\n"
            )

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_GET

    def _handle(self) -> None:
        if self.server.banned(self.client_address[0]):
            self.close_connection = True
            return
        try:
            answer = self._answer()
        except Answer as e:
            answer = e
        except Hangup:
            self.close_connection = True
            return
        except Exception:  # noqa: BLE001 - moulinette answers any crash with a JSON traceback
            answer = Answer(
                500, {"route": [self.command, self.path], "arguments": {}, "traceback": traceback.format_exc()}
            )
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        data = answer.body.encode("utf-8")
        self.send_response(answer.status)
        if answer.content_type:
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _read_values(self) -> tuple[dict[str, list[str]], bool]:
        """Query and body fields; True when a JSON body replaces them (and the path's, in 12)."""
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise Answer(413, "Request entity too large", plain=True)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/json" and version() != "11":
            try:
                data = json.loads(body or "{}")
            except ValueError:
                raise Answer(400, "Invalid JSON body", plain=True) from None
            if not isinstance(data, dict):
                raise Answer(400, "Invalid JSON body", plain=True)
            return {k: v if isinstance(v, list) else [str(v)] for k, v in data.items()}, True
        values = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if ctype != "application/json":
            for name, items in urllib.parse.parse_qs(body, keep_blank_values=True).items():
                values.setdefault(name, []).extend(items)
        return values, False

    def _csrf(self) -> None:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        simple = ctype in ("", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
        if self.command == "POST" and simple and "X-Requested-With" not in self.headers:
            raise Answer(403, "CSRF protection", plain=True)

    def _answer(self) -> Answer:
        values, from_json = self._read_values()  # first: an unread body would poison the kept-alive connection
        route = urllib.parse.urlsplit(self.path).path
        if route.startswith(PORTAL_BASE + "/") and version() != "11":
            return self._portal(route[len(PORTAL_BASE) :], values)
        if route != BASE and not route.startswith(BASE + "/"):
            raise Answer(404, "Not found", plain=True)
        route = urllib.parse.unquote(route[len(BASE) :]) or "/"
        self._csrf()
        if (self.command, route) == ("POST", "/login"):
            return self._login(values)
        if (self.command, route) == ("GET", "/installed"):
            return Answer(200, {"installed": True})
        token = self._token()
        if route == "/logout" and self.command == "GET":
            return self._logout(token)
        if not token or not self.server.session_valid(token):
            raise Answer(401, "Authentication required", plain=True)
        return self._route(route, values, from_json)

    def _token(self) -> str:
        cookie = SimpleCookie()
        with contextlib.suppress(Exception):
            cookie.load(self.headers.get("Cookie", ""))
        morsel = cookie.get(COOKIE)
        return morsel.value if morsel else ""

    def _login(self, values: dict[str, list[str]]) -> Answer:
        given = (values.get("credentials") or [""])[-1]
        if not given:
            raise Answer(400, "Missing credentials parameter", plain=True)
        if not hmac.compare_digest(given.encode(), self.server.credentials.encode()):
            raise Answer(401, "Invalid password or username", plain=True)
        attributes = "; HttpOnly" + ("; Secure" if self.server.tls else "")
        if version() != "11":
            attributes += f"; Path={BASE}; SameSite=Strict"
        cookie = f"{COOKIE}={self.server.new_session()}{attributes}"
        return Answer(200, "Logged in", plain=True, headers={"Set-Cookie": cookie})

    def _portal(self, route: str, values: dict[str, list[str]]) -> Answer:
        """The portal API's login (docs/yunohost.md §9): a member's own username and password.

        A fault for the command ``portal login`` (``hang``, ``status``, ``kill``) replaces the
        answer, as for the admin API's commands.
        """
        self._csrf()
        if (self.command, route) != ("POST", "/login"):
            raise Answer(404, "Not found", plain=True)
        fault = consume_fault("portal login", state_path())
        if fault:
            return _fault_answer(fault)
        given = (values.get("credentials") or [""])[-1]
        if not given:
            raise Answer(400, "Missing credentials parameter", plain=True)
        username, _, password = given.partition(":")
        state = read_state(state_path())
        if state.get("slapd_down"):
            # ldap_ynhuser only logs SERVER_DOWN and goes on with an unbound connection; the
            # NameError becomes moulinette's MoulinetteAuthenticationError("unable_authenticate").
            raise self._portal_refusal(M["unable_authenticate"])
        user = state["users"].get(username)
        stored = user["password_sha256"] if user else ""
        if not (user and password and hmac.compare_digest(stored, sha256(password))):
            raise self._portal_refusal(M["invalid_password"])  # unknown users too: moulinette's 401
        attributes = "; HttpOnly; Path=/; SameSite=Lax" + ("; Secure" if self.server.tls else "")
        cookie = f"{PORTAL_COOKIE}={secrets.token_urlsafe(32)}{attributes}"
        return Answer(200, "Logged in", plain=True, headers={"Set-Cookie": cookie})

    def _portal_refusal(self, message: str) -> Answer:
        """A 401 to a portal login: a line fail2ban's ``yunohost-portal`` filter counts."""
        self.server.portal_failed(self.client_address[0])
        return Answer(401, message, plain=True)

    def _logout(self, token: str) -> Answer:
        with self.server.sessions_lock:
            known = self.server.sessions.pop(token, None) if token else None
        if known is None:
            raise Answer(401, "You are not logged in", plain=True)
        return Answer(200, "Logged out", plain=True)

    def _route(self, route: str, values: dict[str, list[str]], from_json: bool) -> Answer:
        for method, pattern, command, positionals, fields in ROUTES:
            match = pattern.fullmatch(route)
            if method == self.command and match:
                # moulinette 12: a JSON body is used instead of the path parameters (§5.3).
                path_args = {} if from_json else match.groupdict()
                argv = cli_argv(command, _positionals(positionals, path_args, values), fields, values)
                ns = parse(argv)
                ns._api = True
                # moulinette's api18n plugin: the request's `locale` parameter, else English.
                set_language((values.get("locale") or ["en"])[-1])
                return self.server.run(method, command, argv, ns)
        if any(pattern.fullmatch(route) for _, pattern, *_ in ROUTES):
            raise Answer(405, "Method not allowed", plain=True)
        raise Answer(404, "Not found", plain=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yunohost_emulator.http", description=__doc__.split("\n")[0])
    parser.add_argument("--state", default=os.environ.get("YUNOHOST_EMULATOR_STATE"), help="the JSON state file")
    parser.add_argument("--port", type=int, default=6787, help="0 picks a free port")
    parser.add_argument("--admin", default="admin", help="the admin's username in the credentials")
    parser.add_argument(
        "--password",
        default=os.environ.get("YUNOHOST_EMULATOR_API_PASSWORD"),
        help="the admin's password (or YUNOHOST_EMULATOR_API_PASSWORD, kept out of `ps`)",
    )
    parser.add_argument("--session-ttl", type=float, default=3 * 24 * 3600, help="seconds a session lives unused")
    parser.add_argument("--lock-timeout", type=int, default=30, help="seconds a writer waits for the lock")
    parser.add_argument("--version", choices=["11", "12"], default=os.environ.get("YUNOHOST_EMULATOR_VERSION") or "12")
    parser.add_argument("--portal-maxretry", type=int, default=20, help="fail2ban: failed portal logins that ban")
    parser.add_argument("--portal-findtime", type=float, default=600, help="fail2ban: within this many seconds")
    parser.add_argument("--portal-bantime", type=float, default=600, help="fail2ban: seconds a ban lasts")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="and this key (PEM)")
    opts = parser.parse_args(argv)
    if not opts.state or not opts.password:
        parser.error(
            "--state and --password (or YUNOHOST_EMULATOR_STATE and YUNOHOST_EMULATOR_API_PASSWORD) are required"
        )
    # The command modules read these, exactly as under the CLI.
    os.environ["YUNOHOST_EMULATOR_STATE"] = os.path.abspath(opts.state)
    os.environ["YUNOHOST_EMULATOR_VERSION"] = opts.version
    server = Server(
        opts.port,
        credentials=f"{opts.admin}:{opts.password}",
        session_ttl=opts.session_ttl,
        lock_timeout=opts.lock_timeout,
        jail=(opts.portal_maxretry, opts.portal_findtime, opts.portal_bantime),
    )
    scheme = "http"
    if opts.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(opts.tls_cert, opts.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.tls, scheme = True, "https"
    print(f"listening on {scheme}://127.0.0.1:{server.server_address[1]}{BASE}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
