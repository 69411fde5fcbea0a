"""``yunohost domain list/add/remove``."""

from __future__ import annotations

from ..errors import EmulatorError, t
from .apps import remove_app
from .checks import assert_domain_exists, sorted_domains

# What python-ldap's NO_SUCH_OBJECT prints, as YunoHost puts it in domain_deletion_failed.
LDAP_NO_SUCH_OBJECT = "{'msgtype': 107, 'msgid': 3, 'result': 32, 'desc': 'No such object', 'ctrls': []}"

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ..output import Console


def domain_list(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    domains = sorted_domains(state)
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
    # --force skips the existence check (it is meant for a half-failed `domain add`): a domain
    # already gone then fails in the LDAP delete, after the other checks.
    if not a.force:
        assert_domain_exists(state, domain)
    if domain == state["main_domain"]:
        others = [d for d in sorted_domains(state) if d != domain]
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
        remove_app(state, app["id"], console)
    if domain not in state["domains"]:
        raise EmulatorError(t("domain_deletion_failed", domain=domain, error=LDAP_NO_SUCH_OBJECT))
    del state["domains"][domain]
    console.success(t("domain_deleted"))


def _describe_app(app: dict[str, Any]) -> str:
    where = f"https://{app['domain']}{app['path']}"
    if app["label"] != app["id"]:
        return f'    - {app["id"]} "{app["label"]}" on {where}'
    return f"    - {app['id']} on {where}"
