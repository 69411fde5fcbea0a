"""``yunohost app install/remove/list`` and ``app config set``, for my_webapp (the one catalog app known)."""

from __future__ import annotations

import json
import re

from ..errors import EmulatorError, failed, operation_name, t
from ..state import read_state, sha256, transaction
from .checks import assert_password_strong, sorted_domains
from .permissions import allowed

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ..output import Console


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


def app_list(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    apps = []
    for app in sorted(state["apps"], key=lambda x: x["id"]):
        entry = {"id": app["id"], "name": app["label"], **{k: WEBAPP_META[k] for k in ("description", "version")}}
        entry["domain_path"] = app["domain"] + app["path"]
        if a.full:
            entry["settings"] = {k: v for k, v in app["settings"].items() if "password" not in k}
            entry["permissions"] = {f"{app['id']}.main": {"allowed": allowed(app)}}
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
        settings["password_sha256"] = sha256(password)
    label = a.label or WEBAPP_META["name"]
    state["apps"].append(
        {"id": instance, "label": label, "domain": settings["domain"], "path": settings["path"], "settings": settings}
    )
    if _install_seconds(state) or getattr(a, "_rollback", False):
        a._installing = instance  # the caller saves the settings now, then runs the script (install_script)
        return
    console.success(t("installation_complete"))


def _install_seconds(state: dict[str, Any]) -> float:
    import os

    return float(os.environ.get("YUNOHOST_EMULATOR_INSTALL_SECONDS") or state.get("install_seconds") or 0)


def install_script(path: str, a: argparse.Namespace, console: Console) -> None:
    """The rest of a slow install, after its settings were saved (`app list` shows the instance
    meanwhile, as YunoHost's does: it writes settings.yml before the script runs and `app list`
    takes no lock): the script's time, then success, or a failure that removes the app again."""
    import time

    instance = a._installing
    time.sleep(_install_seconds(read_state(path)))
    if not getattr(a, "_rollback", False):
        console.success(t("installation_complete"))
        return
    with transaction(path) as state:
        state["apps"] = [app for app in state["apps"] if app["id"] != instance]
        _fail_install(instance, console, t("app_install_script_failed"))


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
    domains = sorted_domains(state)
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
        assert_password_strong(state, value)
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


def _fail_install(instance: str, console: Console, error: str = "") -> None:
    # scripts/install: ynh_die; YunoHost then removes the app again and fails the operation.
    if not error:
        reason = t("sftp_password_required")
        console.warning(reason)
        error = t("app_install_script_failed") + " : " + reason
    console.error(t("app_install_failed", app=WEBAPP, error=error))
    console.warning(t("app_remove_after_failed_install"))
    console.info(t("app_start_remove", app=instance))
    console.info(t("app_removed", app=instance))
    name = operation_name("app_install", instance)
    raise EmulatorError(t("log_help_to_get_failed_log", desc=t("log_app_install", instance), name=name))


def app_remove(state: dict[str, Any], a: argparse.Namespace, console: Console) -> None:
    if not any(app["id"] == a.app for app in state["apps"]):
        raise EmulatorError(_app_not_installed(state, a.app))
    remove_app(state, a.app, console)


def _app_not_installed(state: dict[str, Any], app: str) -> str:
    all_apps = "".join(f"\n - {x['id']}" for x in sorted(state["apps"], key=lambda x: x["id"]))
    return t("app_not_installed", app=app, all_apps=all_apps)


def remove_app(state: dict[str, Any], app_id: str, console: Console) -> None:
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
        raise failed("log_app_config_set", app["id"], "app_config_set", message)
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
        settings["password_sha256"] = sha256(password)
