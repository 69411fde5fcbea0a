"""The commands, one module per group, and the table the CLI dispatches on.

A handler takes ``(state, namespace, console)``: it validates before it mutates ``state`` (saved
by the caller even when it raises an EmulatorError) and returns the command's result or None.
"""

from __future__ import annotations

from .apps import app_config_set, app_install, app_list, app_remove
from .certs import domain_cert_install, domain_cert_status
from .domains import domain_add, domain_list, domain_remove
from .permissions import user_permission_add, user_permission_info, user_permission_remove
from .users import user_create, user_delete, user_info, user_list, user_update

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from ..output import Console


# Commands whose API routes are all GET: moulinette >= 11.1.2 does not lock for them.
READ_ONLY = {"user info", "user list", "domain list", "domain cert status", "app list", "user permission info"}

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
    "user permission info": user_permission_info,
    "user permission add": user_permission_add,
    "user permission remove": user_permission_remove,
}
