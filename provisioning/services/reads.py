"""What the apps above ask YunoHost themselves, outside the line: whether a domain or a user
exists (reads that take no lock), and a server's users, read while holding its lane.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from yunohost_client import YunohostError

from ..locks import lane_lock
from ..models import Server
from ..servers import client_for, servers_all

# The name the lane's services have always logged under (log filters and alerts use it).
logger = logging.getLogger("provisioning.services")


def domain_on_yunohost(*, domain: str, server_id: int | None = None) -> bool | None:
    """Whether the server (default: the first) has the domain (`domain list`, a read that takes
    no lock); None when it did not answer within YUNOHOST_REQUEST_TIMEOUT (the lane checks again
    before adding it)."""
    server = Server.objects.filter(pk=server_id).first() if server_id else None
    try:
        listed = client_for(server, timeout=settings.YUNOHOST_REQUEST_TIMEOUT).domain_list().get("domains", [])
    except YunohostError as exc:
        logger.warning("YunoHost's domain list could not be read: %s", exc)
        return None
    return domain in listed


def user_on_yunohost(*, username: str) -> bool | None:
    """Whether a server a new member may be placed on has a user of this name (`user info`);
    None when one did not answer within YUNOHOST_REQUEST_TIMEOUT (the lane's `user create`
    refuses one it did not make)."""
    candidates = [server for server in servers_all() if server.state == Server.State.ACTIVE]
    answer: bool | None = False
    for server in candidates:
        try:
            if client_for(server, timeout=settings.YUNOHOST_REQUEST_TIMEOUT).user_info(username) is not None:
                return True
        except YunohostError as exc:
            logger.warning("YunoHost's user info could not be read on %s: %s", server.name, exc)
            answer = None
    return answer


class YunohostReadFailed(Exception):
    """YunoHost did not answer a read the apps asked for (the text is YunoHost's error)."""


def yunohost_users(*, server: Server | None = None) -> dict[str, dict[str, Any]] | None:
    """The server's users (`user list`, by username; default: the first server), read while
    holding its lane: no operation of ours runs there meanwhile. None when the lane stayed busy
    past YUNOHOST_LANE_WAIT; YunohostReadFailed when YunoHost failed."""
    lock = lane_lock(server.name if server is not None else None)
    if not lock.acquire(wait=settings.YUNOHOST_LANE_WAIT):
        return None
    try:
        return client_for(server).user_list()
    except YunohostError as error:
        raise YunohostReadFailed(str(error)) from None
    finally:
        lock.release()
