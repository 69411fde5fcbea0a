"""The YunoHost client: the one module of the project that talks to YunoHost.

Two backends expose the same high-level methods (``user_create``, ``webapp_install``, ...):

* ``CliBackend`` runs the ``yunohost`` executable (``YUNOHOST_BIN``: the real CLI, possibly
  behind sudo, or ``yunohost_emulator/bin/yunohost``, the emulator) as an argv list, never through
  a shell, with ``--output-as json`` and ``--timeout`` so a busy lock fails fast instead of
  waiting forever (docs/yunohost.md §3, §7).
* ``ApiBackend`` talks to ``yunohost-api`` over HTTP (docs/yunohost.md §5), with form-encoded
  fields, the ``yunohost.admin`` session cookie (logged in again once when it expired), connect
  and read timeouts and TLS verification (a CA bundle for a private certificate).

Both speak to YunoHost 12.x or 11.2+ (``version``, the ``YUNOHOST_VERSION`` setting): the argv and
routes the project uses are the same in both (docs/yunohost.md §1, §5.6); what differs is how
the 11 CLI prints its errors when not on a tty (bare lines, no ``ERROR`` prefix, §2.3).

Every failure is a ``YunohostError`` whose class says whether a retry can help:
``YunohostBusy`` (another operation holds the lock: retry later, it is not a failure),
``YunohostTransient`` (timeouts, crashes, unknown failures, I/O: retry a few times) and
``YunohostPermanent`` (bad input, validation refusals: retrying cannot help), with
``YunohostNotFound`` and ``YunohostAlreadyExists`` so callers can make operations idempotent.

Secrets (passwords) are passed to each call and replaced by ``**********``, in clear and in
their URL-encoded and JSON-escaped forms, in every message, argv, output and repr this module
produces; nothing here logs them.

Inputs are validated before anything runs, with the server's own patterns rewritten to run in
linear time: YunoHost's fullname and domain patterns backtrack exponentially, so a crafted name
would pin a CPU core of the server for hours.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from .api import USER_CLASH, ApiBackend, _bottle_error_page, _short
from .base import (
    _ALREADY_EXISTS,
    _ANSI_RE,
    _BUSY,
    _CLASSES,
    _ERROR_KEYS,
    _LEVEL_RE,
    _NOT_FOUND,
    _PERMANENT,
    APP_ID_RE,
    CONTROL_RE,
    DOMAIN_RE,
    ENGLISH,
    FULLNAME_RE,
    MAX_NAME,
    MAX_PASSWORD,
    MOULINETTE_LOCK,
    NOLOGIN_SHELLS,
    PERMISSION_RE,
    QUOTA_RE,
    REDACTED,
    SHELL_RE,
    USERNAME_RE,
    WEB_PATH_RE,
    WEBAPP,
    WEBAPP_DEFAULTS,
    Call,
    Result,
    YunohostAlreadyExists,
    YunohostBusy,
    YunohostClient,
    YunohostError,
    YunohostNotFound,
    YunohostPermanent,
    YunohostTransient,
    YunohostUnknownOutcome,
    _check,
    _check_password,
    _check_text,
    _flag_fields,
    _invalid,
    _normalize_path,
    _secret_forms,
    classify,
    message_from_stderr,
    redact,
)
from .cli import CliBackend, _alive, _command_name, _last_json, _text

__all__ = [
    "APP_ID_RE",
    "CONTROL_RE",
    "DOMAIN_RE",
    "ENGLISH",
    "FULLNAME_RE",
    "MAX_NAME",
    "MAX_PASSWORD",
    "MOULINETTE_LOCK",
    "NOLOGIN_SHELLS",
    "PERMISSION_RE",
    "QUOTA_RE",
    "REDACTED",
    "SHELL_RE",
    "USERNAME_RE",
    "USER_CLASH",
    "WEBAPP",
    "WEBAPP_DEFAULTS",
    "WEB_PATH_RE",
    "_ALREADY_EXISTS",
    "_ANSI_RE",
    "_BUSY",
    "_CLASSES",
    "_ERROR_KEYS",
    "_LEVEL_RE",
    "_NOT_FOUND",
    "_PERMANENT",
    "ApiBackend",
    "Call",
    "CliBackend",
    "Result",
    "YunohostAlreadyExists",
    "YunohostBusy",
    "YunohostClient",
    "YunohostError",
    "YunohostNotFound",
    "YunohostPermanent",
    "YunohostTransient",
    "YunohostUnknownOutcome",
    "_alive",
    "_bottle_error_page",
    "_check",
    "_check_password",
    "_check_text",
    "_command_name",
    "_flag_fields",
    "_invalid",
    "_last_json",
    "_normalize_path",
    "_secret_forms",
    "_short",
    "_text",
    "classify",
    "message_from_stderr",
    "redact",
]

# --- Factory ------------------------------------------------------------------------------------


def get_client(*, timeout: float | None = None, config: Any = None) -> YunohostClient:
    """The client configured by Django settings (YUNOHOST_BACKEND, YUNOHOST_BIN, ...), or by
    `config`, an object with the same attributes (one server's: provisioning/servers.py);
    `timeout` instead of YUNOHOST_TIMEOUT for a read that must answer soon."""
    from django.conf import settings as django_settings
    from django.core.exceptions import ImproperlyConfigured

    settings = config if config is not None else django_settings

    backend = getattr(settings, "YUNOHOST_BACKEND", "cli")
    timeout = float(timeout if timeout is not None else getattr(settings, "YUNOHOST_TIMEOUT", 300))
    version = str(getattr(settings, "YUNOHOST_VERSION", "12"))
    if version not in ("11", "12"):
        raise ImproperlyConfigured(f"YUNOHOST_VERSION must be '11' or '12', not {version!r}")
    if backend == "cli":
        lock_timeout = getattr(settings, "YUNOHOST_LOCK_TIMEOUT", 5)
        return CliBackend(
            # A command line, so that "sudo -n /usr/bin/yunohost" works; split, never a shell.
            shlex.split(getattr(settings, "YUNOHOST_BIN", "yunohost")),
            timeout=timeout,
            lock_timeout=None if lock_timeout is None else int(lock_timeout),
            env=_emulator_env(settings),
            version=version,
            lock_file=_lock_file(settings),
        )
    if backend == "api":
        connect = float(getattr(settings, "YUNOHOST_API_CONNECT_TIMEOUT", 10))
        return ApiBackend(
            settings.YUNOHOST_API_URL,
            settings.YUNOHOST_API_PASSWORD,
            timeout=(connect, timeout),
            verify=getattr(settings, "YUNOHOST_API_CA_BUNDLE", "") or True,
            version=version,
        )
    raise ImproperlyConfigured(f"YUNOHOST_BACKEND must be 'cli' or 'api', not {backend!r}")


def _emulator_env(settings: Any) -> dict[str, str]:
    # The emulator reads its state file and main domain from the environment; the settings may
    # hold defaults that were never exported. The real CLI ignores these variables.
    names = (
        "YUNOHOST_EMULATOR_STATE",
        "YUNOHOST_DOMAIN",
        "YUNOHOST_EMULATOR_VERSION",
        "YUNOHOST_EMULATOR_DNS",
        "YUNOHOST_EMULATOR_PUBLIC_IPS",
    )
    return {name: str(getattr(settings, name)) for name in names if getattr(settings, name, None)}


def _lock_file(settings: Any) -> str:
    # YunoHost's lock (docs/yunohost.md §3), or the emulator's when it is the CLI in use.
    configured = str(getattr(settings, "YUNOHOST_LOCK_FILE", "") or "")
    if configured:
        return configured
    if str(getattr(settings, "YUNOHOST_BIN", "")).endswith("yunohost_emulator/bin/yunohost"):
        state = str(getattr(settings, "YUNOHOST_EMULATOR_STATE", "") or "")
        return os.environ.get("YUNOHOST_EMULATOR_LOCK") or (state + ".lock" if state else "")
    return MOULINETTE_LOCK
