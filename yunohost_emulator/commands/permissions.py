"""``yunohost user permission info/add/remove`` for an app's ``main`` permission.

As YunoHost's ``user_permission_update``: an unknown permission or group is an error and nothing
changes; a group already allowed (or already not allowed) is only a warning, so both commands
are idempotent. A user's primary group bears its name, so a username is a valid name too.
"""

from __future__ import annotations

from ..errors import EmulatorError, t

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from ..output import Console


def _app(state: dict[str, Any], permission: str) -> dict[str, Any]:
    name = permission if "." in permission else permission + ".main"
    for app in state["apps"]:
        if f"{app['id']}.main" == name:
            return app
    raise EmulatorError(t("permission_not_found", permission=name))


def allowed(app: dict[str, Any]) -> list[str]:
    """The groups allowed on the app's main permission (set at install, then edited)."""
    return list(app.get("allowed", [app["settings"]["init_main_permission"]]))


def _info(state: dict[str, Any], app: dict[str, Any]) -> dict[str, Any]:
    groups = allowed(app)
    users = sorted(
        {member for g in groups for member in state["groups"].get(g, {}).get("members", [])}
        | ({"visitors"} if "visitors" in groups else set())
    )
    return {
        "allowed": groups,
        "corresponding_users": users,
        "auth_header": True,
        "label": app["label"],
        "show_tile": True,
        "protected": False,
        "url": "/",
        "additional_urls": [],
    }


def user_permission_info(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    return _info(state, _app(state, a.permission))


def user_permission_add(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    return _update(state, a, console, add=True)


def user_permission_remove(state: dict[str, Any], a: argparse.Namespace, console: Console) -> dict[str, Any]:
    return _update(state, a, console, add=False)


def _update(state: dict[str, Any], a: argparse.Namespace, console: Console, *, add: bool) -> dict[str, Any]:
    app = _app(state, a.permission)
    name = f"{app['id']}.main"
    current = allowed(app)
    new = list(current)
    for group in a.names:
        if add and group not in state["groups"]:
            raise EmulatorError(t("group_unknown", group=group))
        if add and group in current:
            console.warning(t("permission_already_allowed", permission=name, group=group))
        elif add:
            new.append(group)
        elif group not in current:
            console.warning(t("permission_already_disallowed", permission=name, group=group))
        else:
            new.remove(group)
    if set(new) == set(current):
        console.warning(t("permission_already_up_to_date"))
        return _info(state, app)
    app["allowed"] = new
    return _info(state, app)
