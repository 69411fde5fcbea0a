"""``yunohost user create/update/delete/info/list``."""

from __future__ import annotations

import re

from yunohost_standins import ldap_mirror

from ..errors import EmulatorError, failed, t
from ..output import Console
from ..state import sha256
from .checks import (
    ADMIN_ALIASES,
    SHELLS,
    assert_domain_exists,
    assert_password_compatible,
    assert_password_strong,
    ldap_uniqueness,
    sorted_domains,
    system_users,
)

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any


def _mirror(change: Callable[..., None], *args: Any) -> None:
    """A change of the LDAP mirror (off unless configured): its failure is the command's."""
    try:
        change(*args)
    except ldap_mirror.MirrorFailed as e:
        raise EmulatorError(str(e)) from None


def user_create(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, str]:
    fullname = (a.fullname or _fullname_11(a, console)).strip()
    if not fullname:
        raise EmulatorError(t("fullname_missing"))
    assert_password_compatible(a.password)
    assert_password_strong(state, a.password)
    domain = a.domain if a.domain is not None else _prompt_domain(state, api=getattr(a, "_api", False))
    assert_domain_exists(state, domain)
    username, mail = a.username, f"{a.username}@{domain}"
    if username in state["users"]:
        raise EmulatorError(t("user_already_exists", user=username))
    try:
        ldap_uniqueness(state, {"uid": username, "mail": mail, "cn": username})
    except EmulatorError as e:
        raise EmulatorError(t("user_creation_failed", user=username, error=e.message)) from None
    if username in system_users(state):
        raise EmulatorError(t("system_username_exists"))
    if username in ADMIN_ALIASES:
        raise EmulatorError(t("mail_unavailable"))
    if a.loginShell not in SHELLS:
        raise failed("log_user_create", username, "user_create", t("invalid_shell", shell=a.loginShell))
    user = _new_user(state, username, fullname, mail, a)
    _mirror(ldap_mirror.user_created, username, user, a.password)  # first: a failure leaves the state as it was
    state["users"][username] = user
    state["groups"][username] = {"members": [username], "primary": True}
    state["groups"]["all_users"]["members"].append(username)
    console.info(t("group_user_add", user=username, group="all_users"))
    console.success(t("user_created"))
    return {"fullname": fullname, "username": username, "mail": mail}


def _fullname_11(a: argparse.Namespace, console: Console) -> str:
    # 11.1-11.3 still take the deprecated -f/-l (docs/yunohost.md §1.1); 12 has no such options.
    first, last = getattr(a, "firstname", None), getattr(a, "lastname", None)
    if first or last:
        console.warning(t("user_create_names_deprecated"))
    return " ".join(x for x in (first, last) if x)


def _prompt_domain(state: dict[str, Any], *, api: bool = False) -> str:
    if api:
        raise EmulatorError(t("domain_argument_missing"))
    Console.display(t("domains_available"))
    for domain in sorted_domains(state):
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
        "password_sha256": sha256(a.password),
        "mail_used": 0,
    }


def user_update(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    user = state["users"].get(a.username)
    if user is None:
        raise EmulatorError(t("user_unknown", user=a.username))
    changes: dict[str, Any] = {}
    new_password = ""
    if a.fullname and a.fullname.strip():
        changes["fullname"] = " ".join(a.fullname.split())
    if a.change_password is not None and a.change_password != "":
        if not a.change_password:  # `-p` without a value: const 0, the CLI would prompt
            raise EmulatorError(t("not_a_tty"))
        assert_password_compatible(a.change_password)
        assert_password_strong(state, a.change_password)
        changes["password_sha256"] = sha256(a.change_password)
        new_password = a.change_password
    _update_mails(state, a, user, changes)
    if a.mailbox_quota is not None:
        changes["quota"] = a.mailbox_quota
    if a.loginShell is not None:
        if a.loginShell not in SHELLS:
            raise EmulatorError(t("invalid_shell", shell=a.loginShell))
        changes["shell"] = a.loginShell
    if new_password:
        _mirror(ldap_mirror.password_changed, a.username, new_password)
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
        ldap_uniqueness(state, {"mail": mail})
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
        raise failed("log_user_delete", a.username, "user_delete", message)
    _mirror(ldap_mirror.user_deleted, a.username)
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
