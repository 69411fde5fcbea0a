"""The command line: the argparse tree of the commands the project uses, moulinette's extra checks
(ask/password, required, pattern, in that order, argument by argument) and password redaction.

argparse usage errors exit 2 with argparse's own message. The patterns are the actionsmap's
(``share/actionsmap.yml``), applied with ``re.match`` as moulinette does.
"""

from __future__ import annotations

import argparse
import re

from .errors import EmulatorError, t
from .state import version

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .output import Console

REDACTED = "**********"


# Patterns (share/actionsmap.yml), applied with re.match as moulinette does. --------------
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


def _formatter(prog: str) -> argparse.HelpFormatter:
    # A fixed width: argparse otherwise imports shutil to ask the terminal, for every argument.
    return argparse.HelpFormatter(prog, width=100)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)


def global_parser() -> argparse.ArgumentParser:
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
    eleven = version() == "11"

    def create(p: argparse.ArgumentParser) -> None:
        p.add_argument("username")
        p.add_argument("-F", "--fullname")
        if eleven:  # deprecated in 11.1-11.3, removed in 12 (docs/yunohost.md §1.1)
            p.add_argument("-f", "--firstname")
            p.add_argument("-l", "--lastname")
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
        if not eleven:  # added in 12.0.11 (docs/yunohost.md §1.3)
            p.add_argument("--force", action="store_true")

    cat = sub.add_parser("user").add_subparsers(dest="_action", metavar="{list,create,delete,update,info,permission}")
    cat.required = True
    _add_action(cat, "list", "user list", [], lambda p: p.add_argument("--fields", nargs="+"))
    _add_action(
        cat,
        "create",
        "user create",
        [
            ("username", {"pattern": P_USERNAME}),
            ("fullname", {"ask": True, "required": not eleven, "pattern": P_FULLNAME}),
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
    permission = cat.add_parser("permission").add_subparsers(dest="_subaction", metavar="{info,add,remove}")
    permission.required = True
    _add_action(permission, "info", "user permission info", [], lambda p: p.add_argument("permission"))
    for verb in ("add", "remove"):
        _add_action(permission, verb, f"user permission {verb}", [], _permission_names)


def _permission_names(p: argparse.ArgumentParser) -> None:
    p.add_argument("permission")
    p.add_argument("names", nargs="+")


def _domain_parsers(sub: Any) -> None:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("domain")
        p.add_argument("--ignore-dyndns", action="store_true")
        p.add_argument("--dyndns-recovery-password", metavar="PASSWORD", nargs="?", const=0)
        if version() != "11":  # added in 12.0.4 (docs/yunohost.md §1.8)
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
        if version() != "11":  # 12.1.0+ (docs/yunohost.md §1.9)
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


def action_parser(category: str | None) -> argparse.ArgumentParser:
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


def apply_extras(ns: argparse.Namespace, console: Console, *, api: bool = False) -> None:
    """moulinette's extra checks: argument by argument, comment → ask/password → required → pattern.

    Over the HTTP API, comment, ask and password are skipped (docs/yunohost.md §5.3).
    """
    for dest, extra in ns._extras:
        value = getattr(ns, dest, None)
        if "comment" in extra and value is not None and not api:
            console.display(t(extra["comment"]))
        if (extra.get("ask") or extra.get("password")) and not value and not api:
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
