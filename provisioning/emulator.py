"""A stand-in for the `yunohost` CLI (YunoHost 12.1, moulinette 12), for tests and development.

Standard library only: no Django, no third-party package. Run it as
``provisioning/bin/yunohost ...`` (or ``python3 provisioning/emulator.py ...``); it can also be
imported for its helpers (``read_state``, ``add_fault``).

Faithful to /work/shared/YUNOHOST.md §1-§4 for the commands the project uses:
``user create/update/delete/info/list``, ``domain add/remove/list``, ``domain cert install/status``,
``app install/remove/list`` and ``app config set`` (my_webapp), plus the global options
``--output-as {json,plain,none}``, ``--quiet``, ``--debug`` and ``--timeout N``. Behaviour kept:
argparse usage errors (exit 2), moulinette's extra checks (ask/password, required, pattern),
YunoHost's validation order and English texts, ``LEVEL message`` lines as moulinette 12 prints
them when not on a tty (INFO/SUCCESS on stdout, WARNING/ERROR on stderr, all hidden by
``--quiet``), plain ``print`` for ``comment`` texts, one ``json.dumps`` line for results, nothing
for commands returning None, and the global PID lock (read-only commands skip it).
stdin/stdout are always treated as "not a tty", so anything that would prompt fails with
``Not a tty, can't do interactive prompts``. The "must be run as root" check is not emulated.

Environment:

* ``YUNOHOST_EMULATOR_STATE`` (required): path of the JSON state file. It is created on first use.
* ``YUNOHOST_DOMAIN`` (default ``blahaj.land``): main domain of a new state file.
* ``YUNOHOST_EMULATOR_LOCK`` (default: state path + ``.lock``): the moulinette lock file.
* ``YUNOHOST_EMULATOR_DELAY``: seconds that every locking command sleeps while holding the lock.
* ``YUNOHOST_EMULATOR_DELAY_<CATEGORY>_<ACTION>`` (e.g. ``..._USER_CREATE``,
  ``..._DOMAIN_CERT_INSTALL``): the same for one command, read-only ones included (these sleep
  without the lock); it wins over the generic delay. The state key ``delays``
  (``{"user create": 0.5}``) does the same for processes already running.
* ``YUNOHOST_EMULATOR_LOCK_WARN_AFTER`` (default 15): seconds of waiting before the
  "Another YunoHost command is running" warning (then times 4 each time, as moulinette does).
* ``YUNOHOST_EMULATOR_FAIL``: JSON list of faults (below) applied to every matching invocation
  of this process; ``times`` is ignored there.

State file (JSON): ``main_domain``, ``domains`` (name -> {"cert": ...}), ``users`` (by username;
passwords only as ``password_sha256``), ``groups``, ``apps`` (a list; the SFTP password only as
``password_sha256``), ``settings`` (``user_strength``), ``faults``, ``delays`` and ``log``: one
entry per command that got past argparse, appended when it ends:
``{"argv": [...], "lock": bool, "started": float, "finished": float, "exit": int}``. Password
values are replaced by ``**********`` in ``argv``; for locking commands ``started`` is the moment
the lock was taken and the lock is released only after ``finished``, so entries of locking
commands never overlap. Other keys a test may set: ``settings.user_strength`` (1 to 4, -1 turns
the check off), ``domains.<domain>.diagnosis_ok`` (lets ``cert install`` pass without
``--no-checks``), ``users.<name>.mail_used`` (kB, shown by ``user info``).

Lock (moulinette's MoulinetteLock): the holder's PID in the lock file, created when taken and
removed when released, polled every 0.5 s. A lock whose PID is dead is taken over. A command whose
ancestor holds the lock passes straight through (that is how app scripts call ``yunohost``), so
to simulate a busy YunoHost, write the PID of another live process, not the test's own.
``<lock>.guard`` and ``<state>.guard`` are internal flock files that make the check-and-take of
the lock and every read-modify-write of the state atomic between processes.

Faults (state key ``faults``, consumed one per matching invocation; see ``add_fault``)::

    {"command": "user create", "times": 2, "exit": 1, "stderr": "ERROR boom", "stdout": ""}
    {"command": "user create", "crash": true}    # Python traceback on stderr, exit 1
    {"command": "user create", "kill": true}     # SIGKILL itself: stale lock, no log entry
    {"command": "user create", "after": true, "exit": 1, "stderr": "..."}  # effect happens, then fails

``command`` is ``"<category> <action>"`` (``"domain cert install"``) or ``"*"``; ``times`` defaults
to 1. A fault fires after the lock is taken and the delay is slept, instead of the command (or,
with ``after``, once the command has succeeded). ``stderr``/``stdout`` are printed verbatim.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import sys
import time
from contextlib import contextmanager

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

REDACTED = "**********"
LOG_MAX = 10000
_T0 = time.monotonic()

# --- English texts (YunoHost locales/en.json, moulinette locales/en.json) -------------------

M: dict[str, str] = {
    # moulinette
    "invalid_argument": "Invalid argument '{argument}': {error}",
    "argument_required": "Argument '{argument}' is required",
    "not_a_tty": "Not a tty, can't do interactive prompts",
    "instance_already_running": "There is already a YunoHost operation running. "
    "Please wait for it to finish before running another one.",
    "warn_the_user_about_waiting_lock": "Another YunoHost command is running right now, "
    "we are waiting for it to finish before running this one",
    "warn_the_user_about_waiting_lock_again": "Still waiting...",
    "warn_the_user_that_lock_is_acquired": "The other command just completed, now starting this command",
    "root_required": "You must be root to perform this action",
    # users
    "user_already_exists": "The user '{user}' already exists",
    "user_unknown": "Unknown user: {user}",
    "user_creation_failed": "Could not create user {user}: {error}",
    "ldap_attribute_already_exists": "LDAP attribute '{attribute}' already exists with value '{value}'",
    "system_username_exists": "Username already exists in the list of system users",
    "mail_unavailable": "This e-mail address is reserved for the admins group",
    "mail_domain_unknown": "Invalid e-mail address for domain '{domain}'. "
    "Please, use a domain administrated by this server.",
    "mail_alias_remove_failed": "Could not remove e-mail alias '{mail}'",
    "mail_forward_remove_failed": "Could not remove e-mail forwarding '{mail}'",
    "user_update_failed": "Could not update user {user}: {error}",
    "user_created": "User created",
    "user_updated": "User info changed",
    "user_deleted": "User deleted",
    "invalid_shell": "Invalid shell: {shell}",
    "field_invalid": "Invalid field '{field}'",
    "group_cannot_remove_last_admin": "The user '{user}' is the last user in the group 'admins' "
    "and will not be removed from it.",
    "group_user_add": "The user '{user}' will be added to the group '{group}'",
    "fullname_missing": "You should specify the fullname of the user using option -F",
    "password_listed": "This password is among the most used passwords in the world. "
    "Please choose something more unique.",
    "password_too_simple_1": "The password needs to be at least 8 characters long",
    "password_too_simple_2": "The password needs to be at least 8 characters long and contain "
    "a digit, upper and lower characters",
    "password_too_simple_3": "The password needs to be at least 8 characters long and contain "
    "a digit, upper, lower and special characters",
    "password_too_simple_4": "The password needs to be at least 12 characters long and contain "
    "a digit, upper, lower and special characters",
    "password_too_long": "Please choose a password shorter than 127 characters",
    "pattern_username": "Must be lower-case alphanumeric and underscore characters only",
    "pattern_fullname": "Must be a valid full name (at least 3 chars)",
    "pattern_password": "Must be at least 3 characters long",
    "pattern_domain": "Must be a valid domain name (e.g. my-domain.org)",
    "pattern_mailbox_quota": "Must be a size with b/k/M/G/T suffix or 0 to not have a quota",
    "pattern_email": "Must be a valid e-mail address, without '+' symbol (e.g. someone@example.com)",
    "pattern_email_forward": "Must be a valid e-mail address, '+' symbol accepted (e.g. someone+tag@example.com)",
    "unlimit": "No quota",
    "domains_available": "Available domains:",
    "good_practices_about_user_password": "You are now about to define a new user password. "
    "The password should be at least 8 characters long\u2014though it is good practice to use a "
    "longer password (i.e. a passphrase) and/or to a variation of characters (uppercase, "
    "lowercase, digits and special characters).",
    # domains and certificates
    "domain_exists": "The domain already exists",
    "domain_unknown": "Domain '{domain}' unknown",
    "domain_created": "Domain created",
    "domain_creation_failed": "Unable to create domain {domain}: {error}",
    "domain_deleted": "Domain deleted",
    "domain_cannot_remove_main": "You cannot remove '{domain}' since it's the main domain, you "
    "first need to set another domain as the main domain using 'yunohost domain main-domain -n "
    "<another-domain>'; here is the list of candidate domains: {other_domains}",
    "domain_cannot_remove_main_add_new_one": "You cannot remove '{domain}' since it's the main "
    "domain and your only domain, you need to first add another domain using 'yunohost domain "
    "add <another-domain.com>', then set is as the main domain using 'yunohost domain "
    "main-domain -n <another-domain.com>' and then you can remove the domain '{domain}' using "
    "'yunohost domain remove {domain}'.'",
    "domain_uninstall_app_first": "Those applications are still installed on your domain:\n"
    "{apps}\n\nPlease uninstall them using 'yunohost app remove the_app_id' or move them to "
    "another domain using 'yunohost app change-url the_app_id' before proceeding to domain removal",
    "certmanager_cert_install_success": "Let's Encrypt certificate now installed for the domain '{domain}'",
    "certmanager_cert_install_success_selfsigned": "Self-signed certificate now installed for the domain '{domain}'",
    "certmanager_domain_cert_not_selfsigned": "The certificate for domain {domain} is not "
    "self-signed. Are you sure you want to replace it? (Use '--force' to do so.)",
    "certmanager_domain_not_diagnosed_yet": "There is no diagnosis result for domain {domain} "
    "yet. Please re-run a diagnosis for categories 'DNS records' and 'Web' in the diagnosis "
    "section to check if the domain is ready for Let's Encrypt. (Or if you know what you are "
    "doing, use '--no-checks' to turn off these checks.)",
    "certmanager_attempt_to_replace_valid_cert": "You are attempting to overwrite a good and "
    "valid certificate for domain {domain}! (Use --force to bypass)",
    # apps
    "app_not_installed": "Could not find {app} in the list of installed apps: {all_apps}",
    "app_unknown": "Unknown app",
    "app_install_failed": "Unable to install {app}: {error}",
    "app_install_script_failed": "An error occurred inside the app installation script",
    "app_remove_after_failed_install": "Removing the app after installation failure\u2026",
    "app_start_install": "Installing {app}\u2026",
    "installation_complete": "Installation completed",
    "app_start_remove": "Removing {app}\u2026",
    "app_removed": "{app} uninstalled",
    "app_location_unavailable": "This URL is either unavailable, or conflicts with the already "
    "installed app(s):\n{apps}",
    "app_argument_invalid": "Pick a valid value for the argument '{name}': {error}",
    "app_argument_choice_invalid": "Pick a valid value for argument '{name}': '{value}' is not "
    "among the available choices ({choices})",
    "app_sources_fetch_failed": "Could not fetch source files, is the URL correct?",
    "app_user_exists": "There is already a YunoHost user called {app} ...",
    "pydantic_value_error_const": "Unexpected value; choose between {permitted}",
    "pattern_password_app": "Sorry, passwords can not contain the following characters: {forbidden_chars}",
    "config_cant_set_value_on_section": "You can't set a single value on an entire config section.",
    "config_unknown_filter_key": "The filter key '{filter_key}' is incorrect.",
    "config_no_panel": "No config panel found.",
    "config_apply_failed": "Applying the new configuration failed: {error}",
    "config_value_and_args": "You should either provide a value, or a serie of args/args_file, "
    "but not both at the same time",
    "config_updated": "Config updated as expected",
    "sftp_password_required": "You need to set a password to enable SFTP",
    # operation log
    "log_help_to_get_failed_log": "The operation '{desc}' could not be completed. Please share "
    "the full log of this operation using the command 'yunohost log share {name}' to get help",
    "log_user_create": "Add '{}' user",
    "log_user_delete": "Delete '{}' user",
    "log_user_update": "Update info for user '{}'",
    "log_domain_add": "Add domain '{}'",
    "log_domain_remove": "Remove domain '{}'",
    "log_app_install": "Install the '{}' app",
    "log_app_remove": "Remove the '{}' app",
    "log_app_config_set": "Apply config to the '{}' app",
    "log_letsencrypt_cert_install": "Install a Let's Encrypt certificate on '{}' domain",
}


def t(key: str, *args: Any, **kwargs: Any) -> str:
    return M[key].format(*args, **kwargs)


# --- Patterns (share/actionsmap.yml), applied with re.match as moulinette does --------------
# The actionsmap's fullname and domain patterns nest quantifiers, so they backtrack
# exponentially on a failing value ("a" * 30 + "!" takes minutes, on a real server too).
# The emulator uses rewritings that accept exactly the same strings in linear time:
#   fullname ^([^\W_]{1,30}[ ,.'-]{0,3})+$                    (actionsmap)
#   domain   ^([^\W_A-Z]+([-]*[^\W_A-Z]+)*\.)+((xn--)?[^\W_]{2,})$   (actionsmap)

P_USERNAME = (r"^[a-z0-9_\.]+$", "pattern_username")
P_FULLNAME = (r"^[^\W_]+([ ,.'-]{1,3}[^\W_]+)*[ ,.'-]{0,3}$", "pattern_fullname")
P_PASSWORD = (r"^.{3,}$", "pattern_password")
P_DOMAIN = (r"^([^\W_A-Z]+(-+[^\W_A-Z]+)*\.)+((xn--)?[^\W_]{2,})$", "pattern_domain")
P_QUOTA = (r"^(\d+[bkMGT])|0$", "pattern_mailbox_quota")
P_EMAIL = (r"^[\w.-]+@([^\W_A-Z]+(-+[^\W_A-Z]+)*\.)+((xn--)?[^\W_]{2,})$", "pattern_email")
P_EMAIL_FORWARD = (r"^[\w\+.-]+@([^\W_A-Z]+(-+[^\W_A-Z]+)*\.)+((xn--)?[^\W_]{2,})$", "pattern_email_forward")

ADMIN_ALIASES = ["root", "admin", "admins", "webmaster", "postmaster", "abuse"]
SMALL_PWD_LIST = ["yunohost", "olinuxino", "olinux", "raspberry", "admin", "root", "test", "rpi"]
# A small sample standing in for /usr/share/yunohost/100000-most-used-passwords-length8plus.txt.
# YunoHost greps it with `grep -F -f -`: a password is "listed" when it is a substring of a line.
MOST_USED_SAMPLE = [
    "password",
    "password1",
    "password123",
    "passw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "11111111",
    "00000000",
    "qwertyuiop",
    "qwerty123",
    "azertyuiop",
    "1q2w3e4r",
    "abc12345",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "superman",
    "starwars",
    "trustno1",
    "whatever",
    "letmein1",
    "welcome1",
    "changeme",
    "admin123",
    "motdepasse",
]
STRENGTH_LEVELS = [(8, 0, 0, 0, 0), (8, 1, 1, 1, 0), (8, 1, 1, 1, 1), (12, 1, 1, 1, 1)]
SHELLS = [
    "/bin/sh",
    "/usr/bin/sh",
    "/bin/bash",
    "/usr/bin/bash",
    "/bin/rbash",
    "/usr/bin/rbash",
    "/bin/dash",
    "/usr/bin/dash",
]
# /etc/passwd of a YunoHost 12 server (besides the system user of each installed app).
SYSTEM_USERS = {
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "_apt",
    "nobody",
    "systemd-network",
    "systemd-timesync",
    "messagebus",
    "sshd",
    "avahi",
    "postfix",
    "dovecot",
    "dovenull",
    "opendkim",
    "redis",
    "mysql",
    "postgres",
    "metronome",
    "openldap",
    "nslcd",
    "vmail",
    "rspamd",
    "dnsmasq",
    "ntp",
    "uuidd",
    "tcpdump",
    "ynh-portal",
    "polkitd",
    "_chrony",
}
BUILTIN_GROUPS = ["admins", "all_users", "visitors"]
BUILTIN_PERMISSIONS = ["mail.main", "ssh.main", "sftp.main"]

# my_webapp (YunoHost-Apps/my_webapp_ynh, manifest.toml 1.0~ynh21): the one catalog app known here.
WEBAPP = "my_webapp"
WEBAPP_META = {
    "name": "My webapp",
    "description": "Custom Web app with SFTP access and serving static files",
    "version": "1.0~ynh21",
}
PHP_VERSIONS = ["none", "7.4", "8.0", "8.1", "8.2", "8.3", "8.4"]
DATABASES = ["none", "mysql", "postgresql"]
CONFIG_OPTIONS = {
    "with_sftp": "main.sftp.with_sftp",
    "password": "main.sftp.password",
    "custom_error_file": "main.code_error.custom_error_file",
    "phpversion": "main.php_fpm_config.phpversion",
}
INSTANCE_RE = re.compile(r"^(?P<appid>[\w-]+?)(__(?P<appinstancenb>[1-9][0-9]*))?$")
TRUE_WORDS = {"1", "yes", "y", "true", "t", "on"}
FALSE_WORDS = {"0", "no", "n", "false", "f", "off"}

# Commands whose API routes are all GET: moulinette >= 11.1.2 does not lock for them.
READ_ONLY = {"user info", "user list", "domain list", "domain cert status", "app list"}


class EmulatorError(Exception):
    """A MoulinetteError/YunohostError: logged as ERROR, exit 1.

    ``log_help`` is set for errors raised after the operation started: YunoHost then prints
    the log_help_to_get_failed_log text as an INFO line first.
    """

    def __init__(self, message: str, *, log_help: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_help = log_help


# --- Console output (moulinette 12 TTYHandler when not on a tty) -----------------------------


class Console:
    def __init__(self, *, quiet: bool = False, debug: bool = False) -> None:
        self.quiet = quiet
        self.debug_on = debug

    def _emit(self, level: str, message: str, stream: Any) -> None:
        if self.quiet:
            return
        prefix = f"{int((time.monotonic() - _T0) * 1000):<4d} " if self.debug_on else ""
        print(f"{prefix}{level} {message}", file=stream, flush=True)

    def debug(self, message: str) -> None:
        if self.debug_on:
            self._emit("DEBUG", message, sys.stdout)

    def info(self, message: str) -> None:
        self._emit("INFO", message, sys.stdout)

    def success(self, message: str) -> None:
        self._emit("SUCCESS", message, sys.stdout)

    def warning(self, message: str) -> None:
        self._emit("WARNING", message, sys.stderr)

    def error(self, message: str) -> None:
        self._emit("ERROR", message, sys.stderr)

    @staticmethod
    def display(message: str) -> None:
        # Moulinette.display()/comment: a plain print, which --quiet does not remove.
        print(message, flush=True)


# --- Argument parsing ----------------------------------------------------------------------


def _formatter(prog: str) -> argparse.HelpFormatter:
    # A fixed width: argparse otherwise imports shutil to ask the terminal, for every argument.
    return argparse.HelpFormatter(prog, width=100)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)


def _global_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="yunohost", add_help=False)
    parser.add_argument("--output-as", choices=["json", "plain", "none"], default=None)
    parser.add_argument("--debug", action="store_true", default=False)
    parser.add_argument("--quiet", action="store_true", default=False)
    parser.add_argument("--timeout", type=int, default=None)
    parser.add_argument("--plain", action="store_true", default=False, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", default=False, help=argparse.SUPPRESS)
    return parser


def _add_action(sub: Any, name: str, command: str, extras: list, build: Callable) -> None:
    parser = sub.add_parser(name)
    build(parser)
    parser.set_defaults(_command=command, _extras=extras)


def _user_parsers(sub: Any) -> None:
    def create(p: argparse.ArgumentParser) -> None:
        p.add_argument("username")
        p.add_argument("-F", "--fullname")
        p.add_argument("-p", "--password")
        p.add_argument("-d", "--domain")
        p.add_argument("-q", "--mailbox-quota", default="0", metavar="{SIZE|0}")
        p.add_argument("-s", "--loginShell", default="/bin/bash")

    def update(p: argparse.ArgumentParser) -> None:
        p.add_argument("username")
        p.add_argument("-F", "--fullname")
        p.add_argument("-m", "--mail")
        p.add_argument("-p", "--change-password", metavar="PASSWORD", nargs="?", const=0)
        p.add_argument("--add-mailforward", nargs="*", metavar="MAIL")
        p.add_argument("--remove-mailforward", nargs="*", metavar="MAIL")
        p.add_argument("--add-mailalias", nargs="*", metavar="MAIL")
        p.add_argument("--remove-mailalias", nargs="*", metavar="MAIL")
        p.add_argument("-q", "--mailbox-quota", metavar="{SIZE|0}")
        p.add_argument("-s", "--loginShell", default="/bin/bash")

    def delete(p: argparse.ArgumentParser) -> None:
        p.add_argument("username")
        p.add_argument("--purge", action="store_true")
        p.add_argument("--force", action="store_true")

    cat = sub.add_parser("user").add_subparsers(dest="_action", metavar="{list,create,delete,update,info}")
    cat.required = True
    _add_action(cat, "list", "user list", [], lambda p: p.add_argument("--fields", nargs="+"))
    _add_action(
        cat,
        "create",
        "user create",
        [
            ("username", {"pattern": P_USERNAME}),
            ("fullname", {"ask": True, "required": True, "pattern": P_FULLNAME}),
            (
                "password",
                {
                    "comment": "good_practices_about_user_password",
                    "password": True,
                    "required": True,
                    "pattern": P_PASSWORD,
                },
            ),
            ("domain", {"pattern": P_DOMAIN}),
            ("mailbox_quota", {"pattern": P_QUOTA}),
        ],
        create,
    )
    _add_action(cat, "delete", "user delete", [("username", {"pattern": P_USERNAME})], delete)
    _add_action(
        cat,
        "update",
        "user update",
        [
            ("fullname", {"pattern": P_FULLNAME}),
            ("mail", {"pattern": P_EMAIL}),
            ("change_password", {"comment": "good_practices_about_user_password", "pattern": P_PASSWORD}),
            ("add_mailforward", {"pattern": P_EMAIL_FORWARD}),
            ("add_mailalias", {"pattern": P_EMAIL}),
            ("mailbox_quota", {"pattern": P_QUOTA}),
        ],
        update,
    )
    _add_action(cat, "info", "user info", [], lambda p: p.add_argument("username"))


def _domain_parsers(sub: Any) -> None:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("domain")
        p.add_argument("--ignore-dyndns", action="store_true")
        p.add_argument("--dyndns-recovery-password", metavar="PASSWORD", nargs="?", const=0)
        p.add_argument("--install-letsencrypt-cert", action="store_true")

    def remove(p: argparse.ArgumentParser) -> None:
        p.add_argument("domain")
        p.add_argument("-r", "--remove-apps", action="store_true")
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("--ignore-dyndns", action="store_true")
        p.add_argument("--dyndns-recovery-password", metavar="PASSWORD", nargs="?", const=0)

    def listing(p: argparse.ArgumentParser) -> None:
        p.add_argument("--exclude-subdomains", action="store_true")
        p.add_argument("--tree", action="store_true")
        p.add_argument("--features", nargs="*")

    def cert_install(p: argparse.ArgumentParser) -> None:
        p.add_argument("domain_list", nargs="*")
        p.add_argument("--force", action="store_true")
        p.add_argument("--no-checks", action="store_true")
        p.add_argument("--self-signed", action="store_true")

    def cert_status(p: argparse.ArgumentParser) -> None:
        p.add_argument("domain_list", nargs="*")
        p.add_argument("--full", action="store_true")

    cat = sub.add_parser("domain").add_subparsers(dest="_action", metavar="{list,add,remove,cert}")
    cat.required = True
    _add_action(cat, "list", "domain list", [], listing)
    recovery = ("dyndns_recovery_password", {"pattern": P_PASSWORD})
    _add_action(cat, "add", "domain add", [("domain", {"pattern": P_DOMAIN}), recovery], add)
    _add_action(cat, "remove", "domain remove", [("domain", {"pattern": P_DOMAIN}), recovery], remove)
    cert = cat.add_parser("cert").add_subparsers(dest="_subaction", metavar="{status,install}")
    cert.required = True
    _add_action(cert, "status", "domain cert status", [], cert_status)
    _add_action(cert, "install", "domain cert install", [], cert_install)


def _app_parsers(sub: Any) -> None:
    def install(p: argparse.ArgumentParser) -> None:
        p.add_argument("app")
        p.add_argument("-l", "--label")
        p.add_argument("-a", "--args")
        p.add_argument("-n", "--no-remove-on-failure", action="store_true")
        p.add_argument("-f", "--force", action="store_true")
        p.add_argument("-i", "--ignore-yunohost-version", action="store_true")

    def remove(p: argparse.ArgumentParser) -> None:
        p.add_argument("app")
        p.add_argument("-p", "--purge", action="store_true")

    def config_set(p: argparse.ArgumentParser) -> None:
        p.add_argument("app")
        p.add_argument("key", nargs="?")
        p.add_argument("-v", "--value")
        p.add_argument("-a", "--args")
        p.add_argument("-f", "--args-file", type=open)  # as the actionsmap: a missing file is a usage error
        p.add_argument("--core", action="store_true")

    cat = sub.add_parser("app").add_subparsers(dest="_action", metavar="{list,install,remove,config}")
    cat.required = True
    _add_action(cat, "list", "app list", [], lambda p: p.add_argument("-f", "--full", action="store_true"))
    _add_action(cat, "install", "app install", [], install)
    _add_action(cat, "remove", "app remove", [], remove)
    config = cat.add_parser("config").add_subparsers(dest="_subaction", metavar="{set}")
    config.required = True
    _add_action(config, "set", "app config set", [], config_set)


def _action_parser(category: str | None) -> argparse.ArgumentParser:
    """The parser tree; only the requested category gets its actions (argparse is slow to build)."""
    parser = _Parser(prog="yunohost")
    sub = parser.add_subparsers(dest="_category", metavar="{user,domain,app}")
    sub.required = True
    builders = {"user": _user_parsers, "domain": _domain_parsers, "app": _app_parsers}
    if category in builders:
        builders[category](sub)
    for name in builders:
        if name != category:
            sub.add_parser(name)
    return parser


def _apply_extras(ns: argparse.Namespace, console: Console) -> None:
    """moulinette's extra checks: argument by argument, comment → ask/password → required → pattern."""
    for dest, extra in ns._extras:
        value = getattr(ns, dest, None)
        if "comment" in extra and value is not None:
            console.display(t(extra["comment"]))
        if (extra.get("ask") or extra.get("password")) and not value:
            raise EmulatorError(t("not_a_tty"))
        if extra.get("required") and (value is None or value == ""):
            raise EmulatorError(t("argument_required", argument=dest))
        if "pattern" in extra:
            for item in value if isinstance(value, list) else [value]:
                _check_pattern(dest, item, extra["pattern"])


def _check_pattern(dest: str, value: Any, pattern: tuple[str, str]) -> None:
    # moulinette skips empty values and uses re.match: anchored at the start only.
    if value and not re.match(pattern[0], str(value), re.UNICODE):
        raise EmulatorError(t("invalid_argument", argument=dest, error=t(pattern[1])))


# --- Secrets in argv -------------------------------------------------------------------------

_SECRET_FLAGS = {"-p", "--password", "--change-password", "--dyndns-recovery-password", "--recovery-password"}
_SECRET_ASSIGNMENT = re.compile(r"^(.*?password[^=]*=)(.*)$", re.IGNORECASE | re.DOTALL)


def redact_argv(argv: list[str]) -> list[str]:
    """Replace password values (options, query strings, `-v` of a password key) by REDACTED."""
    flags = set(_SECRET_FLAGS)
    if any(arg.endswith("password") for arg in argv if not arg.startswith("-")):
        flags |= {"-v", "--value"}  # `app config set APP main.sftp.password -v SECRET`
    out: list[str] = []
    hide_next = False
    for arg in argv:
        out.append(REDACTED if hide_next and not arg.startswith("-") else _redact_token(arg, flags))
        hide_next = arg in flags
    return out


def _redact_token(arg: str, flags: set[str]) -> str:
    flag, eq, _ = arg.partition("=")
    if eq and flag in flags:
        return flag + "=" + REDACTED
    short = arg[:2]
    if len(arg) > 2 and not arg.startswith("--") and short in flags:
        return short + REDACTED  # attached short option value: -pSECRET
    parts = arg.split("&")
    for i, part in enumerate(parts):
        match = _SECRET_ASSIGNMENT.match(part)
        if match:
            parts[i] = match.group(1) + REDACTED
    return "&".join(parts)


# --- State ------------------------------------------------------------------------------------


def _sha256(secret: str) -> str:
    import hashlib  # imported late: loading OpenSSL costs start-up time to every command

    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def state_path() -> str:
    path = os.environ.get("YUNOHOST_EMULATOR_STATE")
    if not path:
        raise EmulatorError(
            "YUNOHOST_EMULATOR_STATE is not set: the yunohost emulator needs the path of its JSON state file"
        )
    return path


def _initial_state() -> dict[str, Any]:
    main = os.environ.get("YUNOHOST_DOMAIN") or "blahaj.land"
    return {
        "main_domain": main,
        "domains": {main: {"cert": "selfsigned"}},
        "users": {},
        "groups": {name: {"members": []} for name in BUILTIN_GROUPS},
        "apps": [],
        "settings": {"user_strength": 1},
        "faults": [],
        "delays": {},
        "log": [],
    }


def read_state(path: str | None = None) -> dict[str, Any]:
    """The current state. Safe without a lock: writers replace the file atomically."""
    try:
        with open(path or state_path(), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return _initial_state()


@contextmanager
def _flock(path: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the flock


@contextmanager
def transaction(path: str | None = None) -> Iterator[dict[str, Any]]:
    """Read-modify-write of the state under an flock, written atomically.

    The state is saved when the block ends normally or with an EmulatorError (handlers validate
    before they mutate, and consumed faults must stay consumed); any other exception discards it.
    """
    path = path or state_path()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with _flock(path + ".guard"):
        state = read_state(path)
        try:
            yield state
        except EmulatorError:
            _write_state(path, state)
            raise
        _write_state(path, state)


def _write_state(path: str, state: dict[str, Any]) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(state))  # dumps, not dump: only the one-shot encoder is the C one
    os.replace(tmp, path)


def add_fault(fault: dict[str, Any], path: str | None = None) -> None:
    """Arm a fault for the next matching invocation(s), safely while other processes run."""
    with transaction(path) as state:
        state.setdefault("faults", []).append(dict(fault))


def _consume_fault(command: str, path: str) -> dict[str, Any] | None:
    for fault in _env_faults():
        if fault.get("command") in (command, "*"):
            return fault
    if not read_state(path).get("faults"):
        return None  # the common case: no flock, no write
    with transaction(path) as state:
        for i, fault in enumerate(state["faults"]):
            if fault.get("command") in (command, "*"):
                fault["times"] = int(fault.get("times", 1)) - 1
                if fault["times"] <= 0:
                    del state["faults"][i]
                return fault
    return None


def _env_faults() -> list[dict[str, Any]]:
    raw = os.environ.get("YUNOHOST_EMULATOR_FAIL")
    return json.loads(raw) if raw else []


def _append_log(path: str, entry: dict[str, Any]) -> None:
    with transaction(path) as state:
        entry["finished"] = time.time()
        log = state.setdefault("log", [])
        log.append(entry)
        del log[:-LOG_MAX]  # keep a long-running dev state file bounded


# --- The moulinette lock (§3) -----------------------------------------------------------------


def lock_path() -> str:
    return os.environ.get("YUNOHOST_EMULATOR_LOCK") or state_path() + ".lock"


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    # moulinette checks /proc/<pid>/exe; a zombie (killed, not yet reaped) counts as dead too.
    stat = _proc_stat(pid)
    if stat is not None:
        return stat[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_son_of(pids: list[int]) -> bool:
    # App scripts call `yunohost` while their install holds the lock: moulinette lets a
    # descendant of the lock holder through.
    pid = os.getppid()
    for _ in range(64):
        if pid <= 1:
            return False
        if pid in pids:
            return True
        stat = _proc_stat(pid)
        if stat is None:
            return False
        pid = stat[1]
    return False


def _read_pids(path: str) -> list[int]:
    try:
        with open(path, encoding="utf-8") as f:
            return [int(x) for x in f.read().split() if x.strip().isdigit()]
    except FileNotFoundError:
        return []


def _try_lock(path: str) -> str:
    """One attempt: "acquired", "passthrough" or "busy"."""
    # The guard serialises check-and-create, so two waiters never both take over a stale lock.
    with _flock(path + ".guard"):
        pids = _read_pids(path)
        if pids and _is_son_of(pids):
            return "passthrough"
        if pids and _pid_alive(pids[0]) and pids[0] != os.getpid():
            return "busy"
        if os.path.lexists(path):
            os.unlink(path)  # stale (dead PID) or empty: take it over
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return "acquired"


def acquire_lock(path: str, timeout: int | None, console: Console) -> bool:
    """Wait for the lock like MoulinetteLock.acquire; True if this process must release it."""
    start = time.monotonic()
    threshold = float(os.environ.get("YUNOHOST_EMULATOR_LOCK_WARN_AFTER") or 15)
    warned = False
    console.debug("acquiring lock...")
    while True:
        try:
            status = _try_lock(path)
        except OSError:
            raise EmulatorError(t("root_required")) from None
        if status != "busy":
            break
        elapsed = time.monotonic() - start
        if timeout is not None and elapsed > timeout:
            raise EmulatorError(t("instance_already_running"))
        if elapsed > threshold:
            again = "_again" if warned else ""
            console.warning(t("warn_the_user_about_waiting_lock" + again))
            threshold *= 4
            warned = True
        time.sleep(0.5)
    if warned:
        console.warning(t("warn_the_user_that_lock_is_acquired"))
    console.debug("lock has been acquired")
    return status == "acquired"


def release_lock(path: str) -> None:
    with _flock(path + ".guard"):
        if _read_pids(path)[:1] == [os.getpid()]:
            os.unlink(path)


# --- Validation helpers -----------------------------------------------------------------------


def _strength_level(password: str) -> int:
    digits = sum(c.isascii() and c.isdigit() for c in password)
    lower = sum(c.isascii() and c.islower() for c in password)
    upper = sum(c.isascii() and c.isupper() for c in password)
    counts = (len(password), digits, lower, upper, len(password) - digits - lower - upper)
    level = 0
    for index, criteria in enumerate(STRENGTH_LEVELS):
        if any(count < needed for count, needed in zip(counts, criteria, strict=True)):
            return level
        level = index + 1
    return level


def _assert_password_strong(state: dict[str, Any], password: str) -> None:
    required = int(state.get("settings", {}).get("user_strength", 1))
    if required < 0:
        return
    listed = password in SMALL_PWD_LIST or ("\n" not in password and any(password in line for line in MOST_USED_SAMPLE))
    if listed:
        raise EmulatorError(t("password_listed"))
    if _strength_level(password) < required:
        raise EmulatorError(t(f"password_too_simple_{required}"))


def _assert_password_compatible(password: str) -> None:
    if len(password) >= 127:
        raise EmulatorError(t("password_too_long"))


def _domain_sort_key(domain: str) -> list[str]:
    # _get_domains: keep the main part and the extension together, then sort by labels.
    parts = domain.split(".")
    if len(parts) >= 2:
        parts[-1] = parts[-2] + parts.pop()
    return list(reversed(parts))


def _domains(state: dict[str, Any]) -> list[str]:
    return sorted(state["domains"], key=_domain_sort_key)


def _assert_domain_exists(state: dict[str, Any], domain: str) -> None:
    if domain not in state["domains"]:
        raise EmulatorError(t("domain_unknown", domain=domain))


def _group_mails(state: dict[str, Any]) -> list[str]:
    # The admins group carries the ADMIN_ALIASES of the main domain.
    aliases = [f"{alias}@{state['main_domain']}" for alias in ADMIN_ALIASES]
    for group in state["groups"].values():
        aliases.extend(group.get("mail_aliases", []))
    return aliases


def _ldap_uniqueness(state: dict[str, Any], attrs: dict[str, str]) -> None:
    """utils/ldap.py validate_uniqueness: raise on the first attribute already in the tree."""
    users = state["users"].values()
    taken = {
        "uid": set(state["users"]),
        "mail": {m for u in users for m in [u["mail"], *u.get("aliases", [])]} | set(_group_mails(state)),
        "cn": set(state["groups"]) | set(state["users"]) | set(_permissions(state)),
    }
    for attribute, value in attrs.items():
        if value in taken[attribute]:
            error = t("ldap_attribute_already_exists", attribute=attribute, value=value)
            raise EmulatorError(error)


def _permissions(state: dict[str, Any]) -> list[str]:
    return BUILTIN_PERMISSIONS + [f"{app['id']}.main" for app in state["apps"]]


def _system_users(state: dict[str, Any]) -> set[str]:
    return SYSTEM_USERS | {app["id"] for app in state["apps"]}


def _operation_name(operation: str, entity: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{operation}-{entity}"


def _failed(desc_key: str, entity: str, operation: str, message: str) -> EmulatorError:
    desc, name = t(desc_key, entity), _operation_name(operation, entity)
    return EmulatorError(message, log_help=t("log_help_to_get_failed_log", desc=desc, name=name))


# --- user -------------------------------------------------------------------------------------


def user_create(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, str]:
    if not a.fullname.strip():
        raise EmulatorError(t("fullname_missing"))
    fullname = a.fullname.strip()
    _assert_password_compatible(a.password)
    _assert_password_strong(state, a.password)
    domain = a.domain if a.domain is not None else _prompt_domain(state)
    _assert_domain_exists(state, domain)
    username, mail = a.username, f"{a.username}@{domain}"
    if username in state["users"]:
        raise EmulatorError(t("user_already_exists", user=username))
    try:
        _ldap_uniqueness(state, {"uid": username, "mail": mail, "cn": username})
    except EmulatorError as e:
        raise EmulatorError(t("user_creation_failed", user=username, error=e.message)) from None
    if username in _system_users(state):
        raise EmulatorError(t("system_username_exists"))
    if username in ADMIN_ALIASES:
        raise EmulatorError(t("mail_unavailable"))
    if a.loginShell not in SHELLS:
        raise _failed("log_user_create", username, "user_create", t("invalid_shell", shell=a.loginShell))
    state["users"][username] = _new_user(state, username, fullname, mail, a)
    state["groups"][username] = {"members": [username], "primary": True}
    state["groups"]["all_users"]["members"].append(username)
    console.info(t("group_user_add", user=username, group="all_users"))
    console.success(t("user_created"))
    return {"fullname": fullname, "username": username, "mail": mail}


def _prompt_domain(state: dict[str, Any]) -> str:
    Console.display(t("domains_available"))
    for domain in _domains(state):
        Console.display(f"- {domain}")
    raise EmulatorError(t("not_a_tty"))


def _new_user(state: dict[str, Any], username: str, fullname: str, mail: str, a: argparse.Namespace) -> dict[str, Any]:
    used = {u["uid"] for u in state["users"].values()} | {1007}
    import random  # modules used by a few commands are imported there: start-up stays cheap

    uid = random.randint(1001, 65000)
    while uid in used:
        uid = random.randint(1001, 65000)
    return {
        "fullname": fullname,
        "mail": mail,
        "aliases": [],
        "forwards": [],
        "quota": a.mailbox_quota,
        "shell": a.loginShell,
        "uid": uid,
        "password_sha256": _sha256(a.password),
        "mail_used": 0,
    }


def user_update(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    user = state["users"].get(a.username)
    if user is None:
        raise EmulatorError(t("user_unknown", user=a.username))
    changes: dict[str, Any] = {}
    if a.fullname and a.fullname.strip():
        changes["fullname"] = " ".join(a.fullname.split())
    if a.change_password is not None and a.change_password != "":
        if not a.change_password:  # `-p` without a value: const 0, the CLI would prompt
            raise EmulatorError(t("not_a_tty"))
        _assert_password_compatible(a.change_password)
        _assert_password_strong(state, a.change_password)
        changes["password_sha256"] = _sha256(a.change_password)
    _update_mails(state, a, user, changes)
    if a.mailbox_quota is not None:
        changes["quota"] = a.mailbox_quota
    if a.loginShell is not None:
        if a.loginShell not in SHELLS:
            raise EmulatorError(t("invalid_shell", shell=a.loginShell))
        changes["shell"] = a.loginShell
    user.update(changes)
    console.success(t("user_updated"))
    return _user_info(state, a.username)


def _update_mails(state: dict[str, Any], a: argparse.Namespace, user: dict[str, Any], changes: dict[str, Any]) -> None:
    aliases = list(user.get("aliases", []))
    forwards = list(user.get("forwards", []))
    if a.mail:
        if a.mail == user["mail"] or a.mail in aliases:
            aliases = [x for x in aliases if x != a.mail]
        else:
            _unique_mail_for_update(state, a.username, a.mail)
        _mail_domain_ok(state, a.mail)
        changes["mail"] = a.mail
    for mail in a.add_mailalias or []:
        if mail.split("@")[0] in ADMIN_ALIASES:
            raise EmulatorError(t("mail_unavailable"))
        if mail not in aliases and mail != user["mail"]:
            _unique_mail_for_update(state, a.username, mail)
        _mail_domain_ok(state, mail, admin_check=False)
        aliases = [x for x in aliases if x != mail] + [mail]
    for mail in a.remove_mailalias or []:
        if mail not in aliases:
            raise EmulatorError(t("mail_alias_remove_failed", mail=mail))
        aliases.remove(mail)
    forwards += [m for m in a.add_mailforward or [] if m not in forwards]
    for mail in a.remove_mailforward or []:
        if mail not in forwards:
            raise EmulatorError(t("mail_forward_remove_failed", mail=mail))
        forwards.remove(mail)
    changes["aliases"], changes["forwards"] = aliases, forwards


def _unique_mail_for_update(state: dict[str, Any], username: str, mail: str) -> None:
    try:
        _ldap_uniqueness(state, {"mail": mail})
    except EmulatorError as e:
        raise EmulatorError(t("user_update_failed", user=username, error=e.message)) from None


def _mail_domain_ok(state: dict[str, Any], mail: str, *, admin_check: bool = True) -> None:
    domain = mail[mail.find("@") + 1 :]
    if domain not in state["domains"]:
        raise EmulatorError(t("mail_domain_unknown", domain=domain))
    if admin_check and mail.split("@")[0] in ADMIN_ALIASES:
        raise EmulatorError(t("mail_unavailable"))


def user_delete(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    if a.username not in state["users"]:
        raise EmulatorError(t("user_unknown", user=a.username))
    admins = state["groups"]["admins"]["members"]
    if a.username in admins and len(admins) <= 1:
        message = t("group_cannot_remove_last_admin", user=a.username)
        raise _failed("log_user_delete", a.username, "user_delete", message)
    del state["users"][a.username]
    state["groups"].pop(a.username, None)
    for group in state["groups"].values():
        if a.username in group["members"]:
            group["members"].remove(a.username)
    console.success(t("user_deleted"))


def user_info(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    username = a.username
    if len(username.split("@")) == 2:  # a mail address: main address or alias
        matches = [u for u, d in state["users"].items() if username in [d["mail"], *d.get("aliases", [])]]
        username = matches[0] if matches else username
    if username not in state["users"]:
        raise EmulatorError(t("user_unknown", user=a.username))
    return _user_info(state, username)


def _user_info(state: dict[str, Any], username: str) -> dict[str, Any]:
    user = state["users"][username]
    quota = str(user.get("quota", "0"))
    limited = not re.match("0[bkMGT]?", quota)
    use = _binary_to_human(int(user.get("mail_used", 0)) * 1000)
    return {
        "username": username,
        "fullname": user["fullname"],
        "mail": user["mail"],
        "loginShell": user["shell"],
        "mail-aliases": list(user.get("aliases", [])),
        "mail-forward": list(user.get("forwards", [])),
        "mailbox-quota": {
            "limit": quota if limited else t("unlimit"),
            "use": f"{use} (0%)" if limited else use,
        },
    }


def _binary_to_human(n: int) -> str:
    for i, symbol in reversed(list(enumerate("KMGTPEZY"))):
        size = 1 << (i + 1) * 10
        if n >= size:
            return f"{n / size:.1f}{symbol}"
    return str(n)


_USER_FIELDS: dict[str, Callable[[str, dict[str, Any], dict[str, Any]], Any]] = {
    "username": lambda name, user, state: name,
    "password": lambda name, user, state: "",
    "fullname": lambda name, user, state: user["fullname"],
    "firstname": lambda name, user, state: user["fullname"].split()[0],
    "lastname": lambda name, user, state: " ".join(user["fullname"].split()[1:]) or " ",
    "mail": lambda name, user, state: user["mail"],
    "mail-alias": lambda name, user, state: list(user.get("aliases", [])),
    "mail-forward": lambda name, user, state: list(user.get("forwards", [])),
    "mailbox-quota": lambda name, user, state: user.get("quota", "0"),
    "groups": lambda name, user, state: [
        g for g, d in state["groups"].items() if name in d["members"] and g not in ("all_users", name)
    ],
    "shell": lambda name, user, state: user["shell"].strip() == "/bin/false",
    "home-path": lambda name, user, state: f"/home/{name}",
}


def user_list(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    fields = a.fields or ["username", "fullname", "mail", "mailbox-quota"]
    for field in fields:
        if field not in _USER_FIELDS:
            raise EmulatorError(t("field_invalid", field=field))
    users = {
        name: {field: _USER_FIELDS[field](name, user, state) for field in fields}
        for name, user in sorted(state["users"].items())
        if name not in ("root", "nobody")
    }
    return {"users": users}


# --- domain -----------------------------------------------------------------------------------


def domain_list(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    domains = _domains(state)
    if a.exclude_subdomains:
        domains = [d for d in domains if not any(d.endswith("." + other) for other in domains)]
    return {"domains": domains, "main": state["main_domain"]}


def domain_add(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    try:
        domain = a.domain.lower().encode("idna").decode("ascii")
    except UnicodeError as e:
        raise EmulatorError(t("domain_creation_failed", domain=a.domain, error=e)) from None
    if domain in state["domains"]:
        raise EmulatorError(t("domain_exists"))
    state["domains"][domain] = {"cert": "selfsigned"}
    console.success(t("domain_created"))


def domain_remove(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    domain = a.domain
    _assert_domain_exists(state, domain)
    if domain == state["main_domain"]:
        others = [d for d in _domains(state) if d != domain]
        if not others:
            raise EmulatorError(t("domain_cannot_remove_main_add_new_one", domain=domain))
        listing = "\n * " + "\n * ".join(others)
        raise EmulatorError(t("domain_cannot_remove_main", domain=domain, other_domains=listing))
    apps = [app for app in state["apps"] if app["domain"] == domain]
    if apps and not a.remove_apps:
        raise EmulatorError(t("domain_uninstall_app_first", apps="\n".join(_describe_app(x) for x in apps)))
    if apps and not a.force:
        raise EmulatorError(t("not_a_tty"))  # domain_remove_confirm_apps_removal prompt
    for app in apps:
        _remove_app(state, app["id"], console)
    del state["domains"][domain]
    console.success(t("domain_deleted"))


def _describe_app(app: dict[str, Any]) -> str:
    where = f"https://{app['domain']}{app['path']}"
    if app["label"] != app["id"]:
        return f'    - {app["id"]} "{app["label"]}" on {where}'
    return f"    - {app['id']} on {where}"


def domain_cert_install(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    targets = a.domain_list or [d for d in _domains(state) if state["domains"][d]["cert"] == "selfsigned"]
    for domain in targets:
        if domain not in state["domains"]:
            raise EmulatorError(t("domain_unknown", domain=domain))
    if a.self_signed:
        return _install_selfsigned(state, targets, a.force, console)
    for domain in targets:
        if not a.force and state["domains"][domain]["cert"] != "selfsigned":
            raise EmulatorError(t("certmanager_domain_cert_not_selfsigned", domain=domain))
    for domain in targets:
        if not a.no_checks and not state["domains"][domain].get("diagnosis_ok"):
            # _certificate_install_letsencrypt only logs this and skips the domain: exit 0.
            console.error(t("certmanager_domain_not_diagnosed_yet", domain=domain))
            continue
        state["domains"][domain]["cert"] = "letsencrypt"
        console.success(t("certmanager_cert_install_success", domain=domain))


def _install_selfsigned(state: dict[str, Any], targets: list[str], force: bool, console: Console) -> None:
    for domain in targets:
        if not force and state["domains"][domain]["cert"] == "letsencrypt":
            raise EmulatorError(t("certmanager_attempt_to_replace_valid_cert", domain=domain))
        state["domains"][domain]["cert"] = "selfsigned"
        console.success(t("certmanager_cert_install_success_selfsigned", domain=domain))


def domain_cert_status(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    targets = a.domain_list or _domains(state)
    certificates = {}
    for domain in targets:
        _assert_domain_exists(state, domain)
        letsencrypt = state["domains"][domain]["cert"] == "letsencrypt"
        certificates[domain] = {
            "subject": domain,
            "CA_type": "letsencrypt" if letsencrypt else "selfsigned",
            "validity": 89 if letsencrypt else 3649,
            "summary": "great" if letsencrypt else "warning",
            "ACME_eligible": bool(state["domains"][domain].get("diagnosis_ok")),
        }
    return {"certificates": certificates}


# --- app --------------------------------------------------------------------------------------


def app_list(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    apps = []
    for app in sorted(state["apps"], key=lambda x: x["id"]):
        entry = {"id": app["id"], "name": app["label"], **{k: WEBAPP_META[k] for k in ("description", "version")}}
        entry["domain_path"] = app["domain"] + app["path"]
        if a.full:
            entry["settings"] = {k: v for k, v in app["settings"].items() if "password" not in k}
            entry["permissions"] = {f"{app['id']}.main": {"allowed": [app["settings"]["init_main_permission"]]}}
        apps.append(entry)
    return {"apps": apps}


def app_install(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    _check_app_source(a.app, a.force)
    instance = _next_instance(state, WEBAPP)
    if instance in state["users"]:
        raise EmulatorError(t("app_user_exists", app=instance))
    import urllib.parse

    answers = dict(urllib.parse.parse_qsl(a.args or "", keep_blank_values=True))
    settings = _install_questions(state, answers)
    conflicts = _conflicting_apps(state, settings["domain"], settings["path"])
    if conflicts:
        raise EmulatorError(t("app_location_unavailable", apps="\n".join(conflicts)))
    console.info(t("app_start_install", app=WEBAPP))
    password = settings.pop("password")
    if settings["with_sftp"] and not password:
        _fail_install(instance, console)
    if password:
        settings["password_sha256"] = _sha256(password)
    label = a.label or WEBAPP_META["name"]
    state["apps"].append(
        {"id": instance, "label": label, "domain": settings["domain"], "path": settings["path"], "settings": settings}
    )
    console.success(t("installation_complete"))


def _check_app_source(app: str, force: bool) -> None:
    if app == WEBAPP:
        return  # catalog app, working, level >= 5: no confirmation needed
    if re.match(r"^(https?://|git@|/|\./|\.\./)", app):
        if not force:
            raise EmulatorError(t("not_a_tty"))  # hard "Yes, I understand" confirmation
        raise EmulatorError(t("app_sources_fetch_failed"))
    raise EmulatorError(t("app_unknown"))


def _next_instance(state: dict[str, Any], app_id: str) -> str:
    taken = set()
    for app in state["apps"]:
        match = INSTANCE_RE.match(app["id"])
        if match and match.group("appid") == app_id:
            taken.add(int(match.group("appinstancenb") or 1))
    number = 1
    while number in taken:
        number += 1
    return app_id if number == 1 else f"{app_id}__{number}"


def _install_questions(state: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """my_webapp's [install] questions, in manifest order, non-interactive (defaults apply)."""
    domains = _domains(state)
    groups = sorted(state["groups"])
    return {
        "domain": _choice("domain", answers.get("domain") or state["main_domain"], domains),
        "path": _normalize_path(answers.get("path") or "/site"),
        "with_sftp": _boolean("with_sftp", answers.get("with_sftp") or "1"),
        "password": _app_password(state, answers.get("password", "")),
        "init_main_permission": _choice(
            "init_main_permission", answers.get("init_main_permission") or "visitors", groups
        ),
        "phpversion": _choice("phpversion", answers.get("phpversion") or "8.4", PHP_VERSIONS),
        "database": _choice("database", answers.get("database") or "none", DATABASES),
        "custom_error_file": _boolean("custom_error_file", answers.get("custom_error_file") or "0"),
    }


def _choice(name: str, value: str, choices: list[str]) -> str:
    if value not in choices:
        permitted = ", ".join(repr(c) for c in choices)
        error = t("pydantic_value_error_const", permitted=permitted)
        raise EmulatorError(t("app_argument_invalid", name=name, error=error))
    return value


def _boolean(name: str, value: str) -> int:
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return 1
    if word in FALSE_WORDS:
        return 0
    raise EmulatorError(t("app_argument_choice_invalid", name=name, value=value, choices="yes/no"))


def _normalize_path(path: str) -> str:
    return "/" + path.strip().strip(" /")


def _app_password(state: dict[str, Any], value: str) -> str:
    if value:
        if any(char in value for char in "{}"):
            raise EmulatorError(t("pattern_password_app", forbidden_chars="{}"))
        _assert_password_strong(state, value)
    return value


def _conflicting_apps(state: dict[str, Any], domain: str, path: str, ignore: str = "") -> list[str]:
    conflicts = []
    for app in state["apps"]:
        if app["domain"] != domain or app["id"] == ignore:
            continue
        other = app["path"]
        if (
            path == other
            or (path == "/" and not other.startswith("/.well-known/"))
            or (other == "/" and not path.startswith("/.well-known/"))
        ):
            conflicts.append(f" * {domain}{other} \u2192 {app['label']} ({app['id']})")
    return conflicts


def _fail_install(instance: str, console: Console) -> None:
    # scripts/install: ynh_die; YunoHost then removes the app again and fails the operation.
    reason = t("sftp_password_required")
    console.warning(reason)
    error = t("app_install_script_failed") + " : " + reason
    console.error(t("app_install_failed", app=WEBAPP, error=error))
    console.warning(t("app_remove_after_failed_install"))
    console.info(t("app_start_remove", app=instance))
    console.info(t("app_removed", app=instance))
    name = _operation_name("app_install", instance)
    raise EmulatorError(t("log_help_to_get_failed_log", desc=t("log_app_install", instance), name=name))


def app_remove(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    if not any(app["id"] == a.app for app in state["apps"]):
        raise EmulatorError(_app_not_installed(state, a.app))
    _remove_app(state, a.app, console)


def _app_not_installed(state: dict[str, Any], app: str) -> str:
    all_apps = "".join(f"\n - {x['id']}" for x in sorted(state["apps"], key=lambda x: x["id"]))
    return t("app_not_installed", app=app, all_apps=all_apps)


def _remove_app(state: dict[str, Any], app_id: str, console: Console) -> None:
    console.info(t("app_start_remove", app=app_id))
    state["apps"] = [app for app in state["apps"] if app["id"] != app_id]
    console.success(t("app_removed", app=app_id))


def app_config_set(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    app = next((x for x in state["apps"] if x["id"] == a.app), None)
    if app is None:
        raise EmulatorError(_app_not_installed(state, a.app))
    if (a.args is not None or a.args_file is not None) and a.value is not None:
        raise EmulatorError(t("config_value_and_args"))
    key = a.key or ""
    if key not in _config_keys():
        raise EmulatorError(t("config_unknown_filter_key", filter_key=key))
    if a.value is not None and key.count(".") != 2:
        raise EmulatorError(t("config_cant_set_value_on_section"))
    answers = _config_answers(a, key)
    new = _validate_config(state, app["settings"], answers)
    if new["with_sftp"] and not (new.get("password") or app["settings"].get("password_sha256")):
        message = t("config_apply_failed", error=t("sftp_password_required"))
        raise _failed("log_app_config_set", app["id"], "app_config_set", message)
    _apply_config(app["settings"], new)
    console.success(t("config_updated"))


def _config_keys() -> set[str]:
    keys = {"", "main"}
    for full in CONFIG_OPTIONS.values():
        keys.update({full, full.rsplit(".", 1)[0]})
    return keys


def _config_answers(a: argparse.Namespace, key: str) -> dict[str, str]:
    if a.value is not None:
        answers = {key.rsplit(".", 1)[1]: a.value}
    elif a.args is not None:
        import urllib.parse

        parsed = urllib.parse.parse_qs(a.args, keep_blank_values=True)
        answers = {k: ",".join(v) for k, v in parsed.items()}
    elif a.args_file is not None:
        with a.args_file as f:
            try:
                answers = {k: str(v) for k, v in json.load(f).items()}
            except (ValueError, AttributeError):
                raise EmulatorError("The args file must hold a JSON object (the emulator reads JSON only)") from None
    else:
        answers = {}
    # Only the options under the filter key are asked; other answers are ignored.
    return {k: v for k, v in answers.items() if k in CONFIG_OPTIONS and CONFIG_OPTIONS[k].startswith(key)}


def _validate_config(state: dict[str, Any], current: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    new: dict[str, Any] = {
        "with_sftp": current.get("with_sftp", 1),
        "custom_error_file": current.get("custom_error_file", 0),
        "phpversion": current.get("phpversion", "8.4"),
    }
    # An empty answer keeps the current value.
    if answers.get("with_sftp"):
        new["with_sftp"] = _boolean("with_sftp", answers["with_sftp"])
    if answers.get("custom_error_file"):
        new["custom_error_file"] = _boolean("custom_error_file", answers["custom_error_file"])
    if answers.get("phpversion"):
        new["phpversion"] = _choice("phpversion", answers["phpversion"], PHP_VERSIONS)
    # The password is visible (so taken) only when with_sftp is on; blank keeps the current one.
    if new["with_sftp"] and answers.get("password"):
        new["password"] = _app_password(state, answers["password"])
    return new


def _apply_config(settings: dict[str, Any], new: dict[str, Any]) -> None:
    password = new.pop("password", None)
    settings.update(new)
    if password:
        settings["password_sha256"] = _sha256(password)


# --- Output of results (moulinette interfaces/cli.py) ----------------------------------------


def _print_result(result: Any, output_as: str | None) -> None:
    if result is None or output_as == "none":
        return
    if output_as == "json":
        print(json.dumps(result), flush=True)
    elif output_as == "plain":
        _plain_print(result)
    elif isinstance(result, dict):
        _pretty_print(result)
    else:
        print(result)


def _plain_print(d: Any, depth: int = 0) -> None:
    if depth == 0 and isinstance(d, dict) and len(d) == 1:
        d = next(iter(d.values()))
    if isinstance(d, list):
        for v in d:
            _plain_print(v, depth + 1)
    elif isinstance(d, dict):
        for k, v in d.items():
            print("#" * (depth + 1) + str(k))
            _plain_print(v, depth + 1)
    else:
        print(d)


def _pretty_print(d: dict[str, Any], depth: int = 0) -> None:
    indent = "  " * depth
    for k in sorted(d):
        v = d[k]
        if isinstance(v, list) and len(v) == 1:
            v = v[0]
        if isinstance(v, dict):
            print(f"{indent}{k}: ")
            _pretty_print(v, depth + 1)
        elif isinstance(v, list):
            print(f"{indent}{k}: ")
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    _pretty_print({str(i): item}, depth + 1)
                else:
                    print(f"{indent}  - {item}")
        else:
            print(f"{indent}{k}: {v}")


# --- Dispatch ---------------------------------------------------------------------------------

HANDLERS: dict[str, Callable[[dict[str, Any], argparse.Namespace, Console], Any]] = {
    "user create": user_create,
    "user update": user_update,
    "user delete": user_delete,
    "user info": user_info,
    "user list": user_list,
    "domain list": domain_list,
    "domain add": domain_add,
    "domain remove": domain_remove,
    "domain cert install": domain_cert_install,
    "domain cert status": domain_cert_status,
    "app list": app_list,
    "app install": app_install,
    "app remove": app_remove,
    "app config set": app_config_set,
}


def _delay(command: str, locking: bool, path: str) -> float:
    specific = os.environ.get("YUNOHOST_EMULATOR_DELAY_" + command.upper().replace(" ", "_").replace("-", "_"))
    if specific:
        return float(specific)
    from_state = read_state(path).get("delays", {}).get(command)
    if from_state is not None:
        return float(from_state)
    return float(os.environ.get("YUNOHOST_EMULATOR_DELAY") or 0) if locking else 0.0


def _fire(fault: dict[str, Any]) -> int:
    if fault.get("kill"):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    if fault.get("crash"):
        raise RuntimeError(fault.get("message", "emulated crash"))
    sys.stdout.write(_with_newline(fault.get("stdout", "")))
    sys.stderr.write(_with_newline(fault.get("stderr", "")))
    sys.stdout.flush()
    sys.stderr.flush()
    return int(fault.get("exit", 1))


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _execute(ns: argparse.Namespace, opts: argparse.Namespace, console: Console, path: str) -> int:
    command = ns._command
    delay = _delay(command, command not in READ_ONLY, path)
    if delay:
        time.sleep(delay)
    fault = _consume_fault(command, path)
    if fault and not fault.get("after"):
        return _fire(fault)
    handler = HANDLERS[command]
    if command in READ_ONLY:
        result = handler(read_state(path), ns, console)
    else:
        with transaction(path) as state:
            result = handler(state, ns, console)
    _print_result(result, opts.output_as)
    return _fire(fault) if fault else 0


def _report(error: EmulatorError, console: Console) -> None:
    if error.log_help:
        console.info(error.log_help)
    console.error(error.message)


def _run(ns: argparse.Namespace, opts: argparse.Namespace, console: Console, entry: dict[str, Any]) -> int:
    path = state_path()
    _apply_extras(ns, console)
    if ns._command in READ_ONLY:
        return _execute(ns, opts, console, path)
    lock = lock_path()
    owned = acquire_lock(lock, opts.timeout, console)
    entry["lock"] = owned  # False when passing through a lock held by an ancestor
    entry["started"] = time.time()
    try:
        return _execute(ns, opts, console, path)
    finally:
        entry["pending_release"] = (lock, owned)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    opts, rest = _global_parser().parse_known_args(argv)
    if opts.plain:
        opts.output_as = "plain"
    elif opts.json:
        opts.output_as = "json"
    category = next((arg for arg in rest if not arg.startswith("-")), None)
    ns = _action_parser(category).parse_args(rest)  # usage errors: exit 2, as argparse does
    console = Console(quiet=opts.quiet, debug=opts.debug)
    entry: dict[str, Any] = {"argv": redact_argv(argv), "lock": False, "started": time.time()}
    code = 1
    try:
        code = _run(ns, opts, console, entry)
    except EmulatorError as e:
        _report(e, console)
        code = 1
    finally:
        _finish(entry, code)
    return code


def _finish(entry: dict[str, Any], code: int) -> None:
    """Append the log entry, then release the lock: `finished` always precedes the release."""
    lock, owned = entry.pop("pending_release", (None, False))
    entry["exit"] = code
    try:
        if os.environ.get("YUNOHOST_EMULATOR_STATE"):
            _append_log(state_path(), entry)
    finally:
        if owned:
            release_lock(lock)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
