"""``yunohost domain cert install/status``: self-signed and Let's Encrypt certificates."""

from __future__ import annotations

from yunohost_standins import acme

from ..errors import EmulatorError, t
from .checks import assert_domain_exists, sorted_domains

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ..output import Console


def domain_cert_install(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    targets = a.domain_list or [d for d in sorted_domains(state) if state["domains"][d]["cert"] == "selfsigned"]
    for domain in targets:
        if domain not in state["domains"]:
            raise EmulatorError(t("domain_unknown", domain=domain))
    if a.self_signed:
        return _install_selfsigned(state, targets, a.force, console)
    for domain in targets:
        if not a.force and state["domains"][domain]["cert"] != "selfsigned":
            raise EmulatorError(t("certmanager_domain_cert_not_selfsigned", domain=domain))
    failed = []
    for domain in targets:
        if not a.no_checks and not state["domains"][domain].get("diagnosis_ok"):
            # _certificate_install_letsencrypt only logs this and skips the domain: exit 0.
            console.error(t("certmanager_domain_not_diagnosed_yet", domain=domain))
            continue
        console.info(f"Now attempting install of certificate for domain {domain}!")
        try:
            if acme.enabled():
                acme.validate(state, domain)
        except ValueError as e:
            console.error(f"Certificate installation for {domain} failed !\nException: {e}")
            if a.no_checks:
                console.error(
                    "Please consider checking the 'DNS records' (basic) and 'Web' categories of the diagnosis "
                    "to check for possible issues that may prevent installing a Let's Encrypt certificate on "
                    f"domain {domain}."
                )
            failed.append(domain)
            continue
        state["domains"][domain]["cert"] = "letsencrypt"
        console.success(t("certmanager_cert_install_success", domain=domain))
    if failed:
        raise EmulatorError(t("certmanager_cert_install_failed", domains=",".join(failed)))


def _install_selfsigned(state: dict[str, Any], targets: list[str], force: bool, console: Console) -> None:
    for domain in targets:
        if not force and state["domains"][domain]["cert"] == "letsencrypt":
            raise EmulatorError(t("certmanager_attempt_to_replace_valid_cert", domain=domain))
        state["domains"][domain]["cert"] = "selfsigned"
        console.success(t("certmanager_cert_install_success_selfsigned", domain=domain))


def domain_cert_status(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    targets = a.domain_list or sorted_domains(state)
    certificates = {}
    for domain in targets:
        assert_domain_exists(state, domain)
        ca_type = state["domains"][domain]["cert"]  # "other": an admin's own certificate
        certificates[domain] = {
            "subject": domain,
            "CA_type": ca_type,
            "validity": 3649 if ca_type == "selfsigned" else 89,
            "summary": {"letsencrypt": "letsencrypt", "other": "ok"}.get(ca_type, "selfsigned"),
            "ACME_eligible": bool(state["domains"][domain].get("diagnosis_ok")),
        }
    return {"certificates": certificates}


# --- app --------------------------------------------------------------------------------------
