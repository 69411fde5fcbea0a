"""The YunoHost client's common part (yunohost_client/__init__.py says what the client is):
its errors, the redaction of secrets, results and calls, how a failure is classified, the
validation of inputs, and the high-level interface both backends implement."""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

# One logger for the whole client, under the name it has always had (log filters and alerts use it).
logger = logging.getLogger("provisioning.yunohost")

REDACTED = "**********"
WEBAPP = "my_webapp"
MOULINETTE_LOCK = "/var/run/moulinette_yunohost.lock"
# my_webapp 1.0~ynh21 install answers that the project does not vary (docs/yunohost.md §6).
WEBAPP_DEFAULTS = {
    "init_main_permission": "visitors",
    # Members' sites are static (SFTP uploads, git checkouts): no PHP-FPM pool per site.
    "phpversion": "none",
    "database": "none",
    "custom_error_file": "0",
}

# Same languages as the actionsmap patterns (docs/yunohost.md §1), but anchored on both ends
# (fullmatch: moulinette's re.match lets "bob\n" through) and free of nested quantifiers.
USERNAME_RE = re.compile(r"[a-z0-9_.]+")
FULLNAME_RE = re.compile(r"[^\W_]+([ ,.'-]{1,3}[^\W_]+)*[ ,.'-]{0,3}")
DOMAIN_RE = re.compile(r"([^\W_A-Z]+(-+[^\W_A-Z]+)*\.)+((xn--)?[^\W_]{2,})")
QUOTA_RE = re.compile(r"\d+[bkMGT]|0")  # stricter than the CLI, which lets "500MB" through
APP_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
PERMISSION_RE = re.compile(r"[A-Za-z0-9_-]+\.[a-z0-9_]+")  # <app>.main, mail.main, ...
WEB_PATH_RE = re.compile(r"/[A-Za-z0-9_.~/-]*")
SHELL_RE = re.compile(r"/[A-Za-z0-9_./-]+")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# The locale every CLI call runs in (CliBackend); the API backend sends ``locale=en`` instead.
ENGLISH = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "LANGUAGE": "en"}
# Shells that are never in /etc/shells: `user update` refuses to write them back (invalid_shell).
NOLOGIN_SHELLS = frozenset({"/bin/false", "/usr/bin/false", "/sbin/nologin", "/usr/sbin/nologin"})
MAX_PASSWORD = 126  # YunoHost refuses 127 characters or more (password_too_long)
MAX_NAME = 200


# --- Errors -------------------------------------------------------------------------------------


class YunohostError(Exception):
    """A failed YunoHost call. Every text attribute is already redacted."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        command: str = "",
        exit_code: int | None = None,
        argv: Sequence[str] = (),
        stdout: str = "",
        stderr: str = "",
        secrets: Sequence[str] = (),
    ) -> None:
        self.message = redact(message, secrets)
        super().__init__(self.message)
        self.command = command
        self.exit_code = exit_code
        self.argv = [redact(arg, secrets) for arg in argv]
        self.stdout = redact(stdout, secrets)
        self.stderr = redact(stderr, secrets)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(command={self.command!r}, exit_code={self.exit_code!r}, message={self.message!r})"
        )


class YunohostBusy(YunohostError):
    """Another YunoHost operation holds the lock: try again later; not a failure."""

    retryable = True


class YunohostTransient(YunohostError):
    """Timeouts, crashes, unknown failures, I/O: a retry may succeed."""

    retryable = True


class YunohostUnknownOutcome(YunohostTransient):
    """No answer within our timeout: the command may still be running on YunoHost (it is never
    killed) and its outcome is unknown; the server's state tells, once its lock is free."""


class YunohostPermanent(YunohostError):
    """Bad input or a refusal that a retry cannot fix."""


class YunohostNotFound(YunohostPermanent):
    """The user, domain or app does not exist."""


class YunohostAlreadyExists(YunohostPermanent):
    """The user or domain already exists."""


# --- Redaction ----------------------------------------------------------------------------------


def _secret_forms(secrets: Sequence[str]) -> list[str]:
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= {
                secret,
                urllib.parse.quote(secret, safe=""),
                urllib.parse.quote(secret),
                urllib.parse.quote_plus(secret),
                json.dumps(secret)[1:-1],
                repr(secret)[1:-1],
            }
    # Longest first, so that a form containing another one is replaced whole.
    return sorted((f for f in forms if f), key=len, reverse=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    for form in _secret_forms(secrets):
        text = text.replace(form, REDACTED)
    return text


# --- Results and calls --------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What a call returned: ``data`` is the parsed JSON result, or None for silent commands."""

    data: Any
    stdout: str
    stderr: str


@dataclass(frozen=True, repr=False)
class Call:
    """One YunoHost action, in both of its forms (CLI argv and HTTP route)."""

    command: str
    cli: list[str]
    method: str
    path: str
    fields: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # cli and fields hold the secrets in clear: a repr may end up in a log or a traceback.
        cli = [redact(arg, self.secrets) for arg in self.cli]
        return f"Call(command={self.command!r}, cli={cli!r}, method={self.method!r}, path={self.path!r})"


# --- Classifying failures -----------------------------------------------------------------------

_BUSY = [r"^There is already a YunoHost operation running"]
_NOT_FOUND = [
    r"^Unknown user: ",
    r"^Could not find \S+ in the list of installed apps",
    r"^Domain '[^']*' unknown$",
    r"^Permission '[^']*' not found$",
]
_ALREADY_EXISTS = [r"^The user '[^']*' already exists$", r"^The domain already exists$"]
_PERMANENT = [
    r"^Invalid argument '",
    r"^The group '[^']*' is unknown$",
    r"^Argument '[^']*' is required",
    r"^Not a tty, can't do interactive prompts",
    r"^Invalid usage",
    r"^This password is among the most used",
    r"^The password needs to be at least",
    r"^Please choose a password shorter",
    r"^Sorry, passwords can not contain",
    r"^Username already exists in the list of system users",
    r"^This e-mail address is reserved",
    r"^Could not (create|update) user .*: LDAP attribute",
    r"^You should specify the fullname",
    r"^Invalid e-mail address for domain",
    r"^Invalid shell",
    r"^Invalid field",
    r"^This URL is either unavailable",
    r"^Sorry, this app must be installed on a domain of its own",
    r"^Pick a valid value",
    r"^Unknown app$",
    r"^Invalid app ID",
    r" is already installed$",
    r"^You cannot remove '",
    r"^Those applications are still installed",
    r"is the last user in the group 'admins'",
    r"^You can't set a single value",
    r"^The filter key '.*' is incorrect",
    r"^No config panel found",
    r"^You should either provide a value",
    r"^There is already a YunoHost user called",
    r"^Could not remove e-mail",
    r"^The certificate for domain .* is not self-signed",
    r"^You are attempting to overwrite a good and valid certificate",
    r"^You must be root",
    r"^YunoHost is not correctly installed",
    r"You need to set a password to enable SFTP",
    r"^There is not enough disk space",
    r"^This app requires ",
    r"^Value is required",
    r"^YUNOHOST_EMULATOR_STATE is not set",
]
# Most specific first: the first class with a matching line wins.
_CLASSES: list[tuple[type[YunohostError], re.Pattern[str]]] = [
    (cls, re.compile("|".join(patterns), re.MULTILINE))
    for cls, patterns in (
        (YunohostBusy, _BUSY),
        (YunohostNotFound, _NOT_FOUND),
        (YunohostAlreadyExists, _ALREADY_EXISTS),
        (YunohostPermanent, _PERMANENT),
    )
]
_ERROR_KEYS: dict[str, type[YunohostError]] = {
    "user_unknown": YunohostNotFound,
    "domain_unknown": YunohostNotFound,
    "domain_name_unknown": YunohostNotFound,
    "app_not_installed": YunohostNotFound,
    "permission_not_found": YunohostNotFound,
    "user_already_exists": YunohostAlreadyExists,
    "domain_exists": YunohostAlreadyExists,
}


def classify(message: str, *, exit_code: int | None = None) -> type[YunohostError]:
    """The error class for a YunoHost message: unknown failures are transient."""
    if exit_code == 2:
        return YunohostPermanent  # argparse usage error: our own argv is wrong
    for cls, pattern in _CLASSES:
        if pattern.search(message):
            return cls
    return YunohostTransient


_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_LEVEL_RE = re.compile(r"^(?:\d+\s+)?(ERROR|Error:|CRITICAL|WARNING|Warning:|INFO|Info:|SUCCESS|Success!|DEBUG)(?: |$)")


def message_from_stderr(stderr: str, *, version: str = "12") -> str:
    """The error text of a failed run: its ERROR records without their level prefix.

    moulinette 11 prints bare lines when not on a tty: the whole of stderr is the message.

    moulinette 12 prefixes lines with ``ERROR ``/``WARNING `` when not on a tty (``Error:`` on
    one); a multi-line message continues on unprefixed lines. Without any ERROR record
    (argparse usage errors, Python tracebacks), the last non-empty line is the message.
    """
    if version == "11":
        return "\n".join(line.rstrip() for line in _ANSI_RE.sub("", stderr).splitlines() if line.strip())
    records: list[list[str]] = []
    for raw in stderr.splitlines():
        line = _ANSI_RE.sub("", raw)
        match = _LEVEL_RE.match(line)
        if match:
            records.append([match.group(1), line[match.end() :]])
        elif records:
            records[-1][1] += "\n" + line
    errors = [text.rstrip() for level, text in records if level in ("ERROR", "Error:", "CRITICAL")]
    if errors:
        return "\n".join(errors)
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- Validation ---------------------------------------------------------------------------------


def _invalid(command: str, message: str) -> YunohostPermanent:
    return YunohostPermanent(message, command=command)


def _check(command: str, what: str, value: Any, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str) or len(value) > MAX_NAME or not pattern.fullmatch(value):
        raise _invalid(command, f"Invalid {what}: {value!r}")


def _check_password(command: str, password: Any, *, app: bool = False) -> None:
    # The message never quotes the value: it is a secret.
    if not isinstance(password, str) or not 3 <= len(password) <= MAX_PASSWORD:
        raise _invalid(command, f"Invalid password: it must be 3 to {MAX_PASSWORD} characters long")
    if CONTROL_RE.search(password):
        raise _invalid(command, "Invalid password: control characters (line breaks, NUL...) are not accepted")
    if app and ("{" in password or "}" in password):
        raise _invalid(command, "Invalid password: app passwords can not contain { or }")


def _check_text(command: str, what: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME or CONTROL_RE.search(value):
        raise _invalid(command, f"Invalid {what}: {value!r}")


def _normalize_path(path: str) -> str:
    # YunoHost's PathOption.normalize: a leading "/", no trailing "/".
    return "/" + path.strip().strip(" /")


def _flag_fields(**flags: bool) -> dict[str, Any]:
    # The API counts a flag as set whenever its field is present, even "false" (§5.3).
    return {name: "true" for name, on in flags.items() if on}


# --- The high-level interface -------------------------------------------------------------------


class YunohostClient:
    """The operations the project needs; backends implement ``execute``."""

    def execute(self, call: Call) -> Any:
        raise NotImplementedError

    def lock_free(self) -> bool | None:
        """Whether YunoHost's global lock is free; None when this backend cannot see it."""
        return None

    def user_create(
        self, *, username: str, fullname: str, password: str, domain: str, mailbox_quota: str = "0"
    ) -> dict[str, Any]:
        command = "user create"
        _check(command, "username", username, USERNAME_RE)
        _check(command, "full name", fullname, FULLNAME_RE)
        _check_password(command, password)
        _check(command, "domain", domain, DOMAIN_RE)
        _check(command, "mailbox quota", mailbox_quota, QUOTA_RE)
        fields = {
            "username": username,
            "fullname": fullname,
            "password": password,
            "domain": domain,
            "mailbox_quota": mailbox_quota,
        }
        # --option=value forms: a value starting with "-" can never be read as an option.
        cli = [
            "user",
            "create",
            username,
            f"--fullname={fullname}",
            f"--password={password}",
            f"--domain={domain}",
            f"--mailbox-quota={mailbox_quota}",
        ]
        return self._expect(dict, Call(command, cli, "POST", "/users", fields, (password,)))

    def user_update(
        self,
        username: str,
        *,
        fullname: str | None = None,
        password: str | None = None,
        mailbox_quota: str | None = None,
        login_shell: str | None = None,
    ) -> dict[str, Any]:
        """Update a user; the login shell is kept unless ``login_shell`` is given.

        `user update` resets the shell to /bin/bash when it is not passed (docs/yunohost.md §1.2), so
        the current one is read first and passed back; except a no-login shell such as
        /bin/false, which is not in /etc/shells: `user update` refuses to write it
        (`invalid_shell`, §10.3), so it is not sent, and YunoHost's default applies.
        """
        command = "user update"
        cli, fields = self._user_update_args(command, username, fullname, password, mailbox_quota)
        shell = login_shell if login_shell is not None else self._current_shell(username)
        _check(command, "login shell", shell, SHELL_RE)
        if login_shell is not None or shell not in NOLOGIN_SHELLS:
            cli.append(f"--loginShell={shell}")
            fields["loginShell"] = shell
        else:
            logger.warning(
                "yunohost user update: %s has the shell %s, which YunoHost cannot write back", username, shell
            )
        secrets = (password,) if password else ()
        return self._expect(dict, Call(command, cli, "PUT", f"/users/{username}", fields, secrets))

    def _user_update_args(
        self, command: str, username: str, fullname: str | None, password: str | None, quota: str | None
    ) -> tuple[list[str], dict[str, Any]]:
        _check(command, "username", username, USERNAME_RE)
        cli, fields = ["user", "update", username], {}
        if fullname is not None:
            _check(command, "full name", fullname, FULLNAME_RE)
            cli.append(f"--fullname={fullname}")
            fields["fullname"] = fullname
        if password is not None:
            _check_password(command, password)
            cli.append(f"--change-password={password}")
            fields["change_password"] = password
        if quota is not None:
            _check(command, "mailbox quota", quota, QUOTA_RE)
            cli.append(f"--mailbox-quota={quota}")
            fields["mailbox_quota"] = quota
        return cli, fields

    def _current_shell(self, username: str) -> str:
        info = self.user_info(username)
        if info is None:
            raise YunohostNotFound(f"Unknown user: {username}", command="user update")
        return str(info.get("loginShell") or "/bin/bash")

    def user_delete(self, username: str, *, purge: bool = True) -> None:
        command = "user delete"
        _check(command, "username", username, USERNAME_RE)
        cli = ["user", "delete", username] + (["--purge"] if purge else [])
        self.execute(Call(command, cli, "DELETE", f"/users/{username}", _flag_fields(purge=purge)))

    def user_info(self, username: str) -> dict[str, Any] | None:
        """The user's info, or None when there is no such user."""
        command = "user info"
        _check(command, "username", username, USERNAME_RE)
        try:
            return self._expect(dict, Call(command, ["user", "info", username], "GET", f"/users/{username}"))
        except YunohostNotFound:
            return None

    def user_list(self) -> dict[str, dict[str, Any]]:
        """Users by username, with the default fields (username, fullname, mail, mailbox-quota)."""
        data = self._expect(dict, Call("user list", ["user", "list"], "GET", "/users"))
        return data.get("users", {})

    def domain_add(self, domain: str) -> None:
        command = "domain add"
        domain = domain.lower() if isinstance(domain, str) else domain
        _check(command, "domain", domain, DOMAIN_RE)
        self.execute(Call(command, ["domain", "add", domain], "POST", "/domains", {"domain": domain}))

    def domain_remove(self, domain: str, *, remove_apps: bool = False) -> None:
        command = "domain remove"
        _check(command, "domain", domain, DOMAIN_RE)
        # With apps on the domain, -r alone would prompt for confirmation (and fail without a tty).
        flags = ["--remove-apps", "--force"] if remove_apps else []
        fields = _flag_fields(remove_apps=remove_apps, force=remove_apps)
        self.execute(Call(command, ["domain", "remove", domain, *flags], "DELETE", f"/domains/{domain}", fields))

    def domain_list(self) -> dict[str, Any]:
        """``{"domains": [...], "main": "<main domain>"}``."""
        return self._expect(dict, Call("domain list", ["domain", "list"], "GET", "/domains"))

    def cert_install(self, domain: str) -> None:
        """Install a Let's Encrypt certificate, with ``--no-checks``.

        Without it, a domain that fails (or never had) the diagnosis checks is only logged and
        skipped, and the command still exits 0 (docs/yunohost.md §1.8): a success that installed
        nothing. With ``--no-checks`` a domain that is not ready makes Let's Encrypt itself fail,
        which exits 1 and is reported here as transient (DNS may just not have propagated yet).
        """
        command = "domain cert install"
        _check(command, "domain", domain, DOMAIN_RE)
        cli = ["domain", "cert", "install", domain, "--no-checks"]
        self.execute(Call(command, cli, "PUT", f"/domains/{domain}/cert", _flag_fields(no_checks=True)))

    def cert_status(self, domain: str) -> dict[str, Any]:
        """The certificate of one domain: ``{"CA_type": "letsencrypt"|"selfsigned", "validity": days, ...}``."""
        command = "domain cert status"
        _check(command, "domain", domain, DOMAIN_RE)
        data = self._expect(dict, Call(command, ["domain", "cert", "status", domain], "GET", f"/domains/{domain}/cert"))
        certificate = data.get("certificates", {}).get(domain)
        if not isinstance(certificate, dict):
            raise YunohostTransient(f"yunohost {command}: no certificate for {domain} in the answer", command=command)
        return certificate

    def webapp_find(self, domain: str, path: str = "/") -> str | None:
        """The instance id of the app installed at ``domain`` + ``path``, if any."""
        where = domain + _normalize_path(path)
        return next((str(app["id"]) for app in self.app_list() if app.get("domain_path") == where), None)

    def webapp_install(self, *, domain: str, path: str = "/", with_sftp: bool, password: str | None, label: str) -> str:
        """Install a my_webapp instance; returns its id (``my_webapp``, ``my_webapp__2``, ...).

        Nothing prints the new instance's id, so it is found by comparing ``app list`` before
        and after; the single YunoHost lane guarantees no other install runs in between.
        """
        command = "app install"
        args = self._webapp_args(command, domain, path, with_sftp, password, label)
        before = {app["id"] for app in self.app_list()}
        cli = ["app", "install", WEBAPP, "--force", f"--label={label}", f"--args={args}"]
        fields = {"app": WEBAPP, "label": label, "args": args, "force": "true"}
        self.execute(Call(command, cli, "POST", "/apps", fields, (password,) if password else ()))
        return self._new_instance(before, domain + _normalize_path(path))

    def _webapp_args(
        self, command: str, domain: str, path: str, with_sftp: bool, password: str | None, label: str
    ) -> str:
        _check(command, "domain", domain, DOMAIN_RE)
        _check(command, "path", path, WEB_PATH_RE)
        _check_text(command, "label", label)
        if with_sftp and not password:
            raise _invalid(command, "SFTP access needs a password")
        if password:
            _check_password(command, password, app=True)
        answers = {
            "domain": domain,
            "path": _normalize_path(path),
            "with_sftp": "1" if with_sftp else "0",
            "password": password or "",
            **WEBAPP_DEFAULTS,
        }
        return urllib.parse.urlencode(answers)

    def _new_instance(self, before: set[str], domain_path: str) -> str:
        new = [app for app in self.app_list() if app["id"] not in before]
        exact = [app for app in new if app.get("domain_path") == domain_path]
        found = exact or new
        if len(found) != 1:
            ids = ", ".join(app["id"] for app in found) or "none"
            raise YunohostTransient(
                f"app install succeeded but its instance is unclear (new: {ids})", command="app install"
            )
        return str(found[0]["id"])

    def app_remove(self, app: str) -> None:
        command = "app remove"
        _check(command, "app id", app, APP_ID_RE)
        self.execute(Call(command, ["app", "remove", app], "DELETE", f"/apps/{app}"))

    def app_list(self) -> list[dict[str, Any]]:
        data = self._expect(dict, Call("app list", ["app", "list"], "GET", "/apps"))
        return list(data.get("apps", []))

    def webapp_set_sftp_password(self, app: str, password: str) -> None:
        """Set the SFTP password (and turn SFTP on) through the whole ``main`` panel.

        The option-level form ``main.sftp.password -v`` may not see ``with_sftp``, on which the
        password's visibility depends (docs/yunohost.md §6), so the whole panel is set.
        """
        command = "app config set"
        _check(command, "app id", app, APP_ID_RE)
        _check_password(command, password, app=True)
        args = urllib.parse.urlencode({"with_sftp": "1", "password": password})
        cli = ["app", "config", "set", app, "main", f"--args={args}"]
        self.execute(Call(command, cli, "PUT", f"/apps/{app}/config/main", {"args": args}, (password,)))

    def permission_info(self, permission: str) -> dict[str, Any]:
        """One permission: ``{"allowed": [groups...], "corresponding_users": [...], ...}``."""
        command = "user permission info"
        _check(command, "permission", permission, PERMISSION_RE)
        path = f"/users/permissions/{permission}"
        return self._expect(dict, Call(command, ["user", "permission", "info", permission], "GET", path))

    def permission_add(self, permission: str, names: Sequence[str]) -> None:
        """Allow groups (a username is its primary group) on a permission; already allowed is a no-op."""
        self._permission_update("add", permission, names)

    def permission_remove(self, permission: str, names: Sequence[str]) -> None:
        """Disallow groups on a permission; already disallowed is a no-op."""
        self._permission_update("remove", permission, names)

    def _permission_update(self, verb: str, permission: str, names: Sequence[str]) -> None:
        command = f"user permission {verb}"
        _check(command, "permission", permission, PERMISSION_RE)
        for name in names:
            _check(command, "group", name, USERNAME_RE)
        # One name a call: the API route takes one name in its path, as the webadmin sends it.
        for name in names:
            cli = ["user", "permission", verb, permission, name]
            self.execute(Call(command, cli, "PUT", f"/users/permissions/{permission}/{verb}/{name}"))

    def _expect(self, kind: type, call: Call) -> Any:
        data = self.execute(call)
        if not isinstance(data, kind):
            raise YunohostTransient(
                f"yunohost {call.command}: unexpected result {type(data).__name__}", command=call.command
            )
        return data
