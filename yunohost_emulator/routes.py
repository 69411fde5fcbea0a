"""yunohost-api's routes (docs/yunohost.md §5.4) as the emulator's HTTP door serves them: each
route's method, path pattern, the CLI command it runs, its positional arguments and its form
fields (how each field is read: a value, a flag or a list)."""

from __future__ import annotations

import re

V, F, L = "value", "flag", "list"

# (method, path pattern, command, positional arguments, form fields) for §5.4's routes.
ROUTES: list[tuple[str, re.Pattern[str], str, list[str], dict[str, str]]] = [
    (method, re.compile(pattern), command, positionals, fields)
    for method, pattern, command, positionals, fields in [
        ("GET", r"/users", "user list", [], {"fields": L}),
        (
            "POST",
            r"/users",
            "user create",
            ["username"],
            {
                "fullname": V,
                "firstname": V,
                "lastname": V,
                "password": V,
                "domain": V,
                "mailbox_quota": V,
                "loginShell": V,
            },
        ),
        ("GET", r"/users/(?P<username>[^/]+)", "user info", ["username"], {}),
        (
            "PUT",
            r"/users/(?P<username>[^/]+)",
            "user update",
            ["username"],
            {
                "fullname": V,
                "mail": V,
                "change_password": V,
                "add_mailforward": L,
                "remove_mailforward": L,
                "add_mailalias": L,
                "remove_mailalias": L,
                "mailbox_quota": V,
                "loginShell": V,
            },
        ),
        ("DELETE", r"/users/(?P<username>[^/]+)", "user delete", ["username"], {"purge": F, "force": F}),
        ("GET", r"/domains", "domain list", [], {"exclude_subdomains": F}),
        (
            "POST",
            r"/domains",
            "domain add",
            ["domain"],
            {
                "ignore_dyndns": F,
                "dyndns_recovery_password": V,
                "install_letsencrypt_cert": F,
            },
        ),
        (
            "DELETE",
            r"/domains/(?P<domain>[^/]+)",
            "domain remove",
            ["domain"],
            {
                "remove_apps": F,
                "force": F,
                "ignore_dyndns": F,
            },
        ),
        ("GET", r"/domains/(?P<domain_list>[^/]+)/cert", "domain cert status", ["domain_list"], {"full": F}),
        (
            "PUT",
            r"/domains/(?P<domain_list>[^/]+)/cert",
            "domain cert install",
            ["domain_list"],
            {
                "force": F,
                "no_checks": F,
                "self_signed": F,
            },
        ),
        ("GET", r"/users/permissions/(?P<permission>[^/]+)", "user permission info", ["permission"], {}),
        (
            "PUT",
            r"/users/permissions/(?P<permission>[^/]+)/add/(?P<names>[^/]+)",
            "user permission add",
            ["permission", "names"],
            {},
        ),
        (
            "PUT",
            r"/users/permissions/(?P<permission>[^/]+)/remove/(?P<names>[^/]+)",
            "user permission remove",
            ["permission", "names"],
            {},
        ),
        ("GET", r"/apps", "app list", [], {"full": F}),
        (
            "POST",
            r"/apps",
            "app install",
            ["app"],
            {
                "label": V,
                "args": V,
                "force": F,
                "no_remove_on_failure": F,
                "ignore_yunohost_version": F,
            },
        ),
        ("DELETE", r"/apps/(?P<app>[^/]+)", "app remove", ["app"], {"purge": F}),
        (
            "PUT",
            r"/apps/(?P<app>[^/]+)/config(?:/(?P<key>[^/]+))?",
            "app config set",
            ["app", "key"],
            {
                "value": V,
                "args": V,
            },
        ),
    ]
]
