"""YunoHost's and moulinette's English texts and the error every failing command raises.

A failing command prints its error as an ``ERROR`` line on stderr and exits 1 (``EmulatorError``);
argparse usage errors exit 2 before any of this runs. Texts come from YunoHost's and moulinette's
``locales/en.json``; the project relies on them word for word (see docs/yunohost.md).
"""

from __future__ import annotations

import contextvars
import time

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# Exit codes of the CLI.
EXIT_OK = 0
EXIT_ERROR = 1  # MoulinetteError/YunohostError
EXIT_USAGE = 2  # argparse

M: dict[str, str] = {
    # moulinette
    "invalid_argument": "Invalid argument '{argument}': {error}",
    "argument_required": "Argument '{argument}' is required",
    "not_a_tty": "Not a tty, can't do interactive prompts",
    "unable_authenticate": "Unable to authenticate",
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
    # permissions
    "group_unknown": "The group '{group}' is unknown",
    "permission_not_found": "Permission '{permission}' not found",
    "permission_already_allowed": "Group '{group}' already has permission '{permission}' enabled",
    "permission_already_disallowed": "Group '{group}' already has permission '{permission}' disabled",
    "permission_already_up_to_date": "The permission was not updated because the addition/removal "
    "requests already match the current state.",
    "user_create_names_deprecated": "Options --firstname / --lastname of 'yunohost user create' are "
    "deprecated. We recommend using --fullname instead.",
    "domain_argument_missing": "Invalid usage, you should specify a domain argument",
    "fullname_missing": "You should specify the fullname of the user using option -F",
    "invalid_password": "Invalid password",
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
    "domain_deletion_failed": "Unable to delete domain {domain}: {error}",
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
    "certmanager_cert_install_failed": "Let's Encrypt certificate install failed for {domains}",
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


# French texts, verbatim from YunoHost's and moulinette's ``locales/fr.json`` (the same at
# debian/11.2.32 and debian/12.1.25), for the errors the project's client tells apart: a server
# whose locale is French answers these (docs/yunohost.md §10.2). Every other key falls back to
# English, as m18n does for a key its locale lacks.
FR: dict[str, str] = {
    "instance_already_running": "Une instance est déjà en cours d'exécution, merci d'attendre sa fin "
    "avant d'en lancer une autre.",
    "invalid_argument": "Argument '{argument}' incorrect : {error}",
    "argument_required": "L'argument '{argument}' est requis",
    "user_already_exists": "Le compte '{user}' existe déjà",
    "user_unknown": "Le compte {user} est inconnu",
    "user_creation_failed": "Impossible de créer le compte {user}\u202f: {error}",
    "user_update_failed": "Impossible de mettre à jour le compte {user}\u202f: {error}",
    "ldap_attribute_already_exists": "L'attribut LDAP '{attribute}' existe déjà avec la valeur '{value}'",
    "invalid_shell": "Shell invalide\u202f: {shell}",
    "group_unknown": "Le groupe {group} est inconnu",
    "domain_exists": "Le domaine existe déjà",
    "domain_unknown": "Domaine '{domain}' inconnu",
    "app_not_installed": "Nous n'avons pas trouvé {app} dans la liste des applications installées\u202f: {all_apps}",
    "permission_not_found": "Permission '{permission}' introuvable",
    "user_created": "Le compte a été créé",
    "user_updated": "Le compte a été modifié",
}

# The language of this process's messages (the CLI: once, from the environment) or of this
# request's (the HTTP side: its ``locale`` parameter); a context variable, so that the HTTP
# server's threads do not see each other's.
_LANGUAGE: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


def language_from_environment(environ: dict[str, str] | Any) -> str:
    """moulinette's ``get_locale``: ``locale.getdefaultlocale()``, which reads LC_ALL, LC_CTYPE,
    LANG, then LANGUAGE (the first one set wins), and keeps the first two letters.

    ``C``/``POSIX`` (and ``C.UTF-8``, which Python maps to ``en_US``) give English.

    One departure: Python itself sets ``LC_CTYPE=C.UTF-8`` at start-up when LC_ALL is unset and
    the locale asked for is not installed (PEP 538's coercion), which a machine without the
    fr_FR locale does to ``LANG=fr_FR.UTF-8``; that value is skipped, so the emulator answers as
    the French server whose locale is installed would.
    """
    for name in ("LC_ALL", "LC_CTYPE", "LANG", "LANGUAGE"):
        value = environ.get(name)
        if name == "LC_CTYPE" and value == "C.UTF-8" and not environ.get("LC_ALL"):
            continue
        if value:
            return value.split(":")[0][:2]
    return "en"


def set_language(language: str) -> None:
    _LANGUAGE.set(language if language == "fr" else "en")


def t(key: str, *args: Any, **kwargs: Any) -> str:
    text = FR.get(key) if _LANGUAGE.get() == "fr" else None
    return (text or M[key]).format(*args, **kwargs)


class EmulatorError(Exception):
    """A MoulinetteError/YunohostError: logged as ERROR, exit 1.

    ``log_help`` is set for errors raised after the operation started: YunoHost then prints
    the log_help_to_get_failed_log text as an INFO line first.
    """

    def __init__(self, message: str, *, log_help: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_help = log_help


def operation_name(operation: str, entity: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{operation}-{entity}"


def failed(desc_key: str, entity: str, operation: str, message: str) -> EmulatorError:
    desc, name = t(desc_key, entity), operation_name(operation, entity)
    return EmulatorError(message, log_help=t("log_help_to_get_failed_log", desc=desc, name=name))
