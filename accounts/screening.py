"""The account flows a stranger starts, behind the abuse defences (defences.services): the
sign-up behind all of them. (An email change passes the sign-up's email-domain check too:
selfservice.services.user_request_email_change_screened.)"""

from __future__ import annotations

from typing import Any

from defences import services as defences
from observability import metrics

from . import services
from .models import User


@metrics.outcome(metrics.SIGNUPS)
def user_register_screened(*, client_ip: str, challenge: str | None, honeypot: str = "", **fields: Any) -> User | None:
    """`user_register` behind the sign-up defences. `challenge` is None where none is asked.

    Answers None for a filled honeypot: the caller answers as for a success and nothing is made,
    so a bot learns nothing.
    """
    if honeypot:
        return None
    if defences.network_blocked(ip=client_ip):
        raise defences.NetworkBlocked()
    if challenge is not None:
        defences.challenge_verify(payload=challenge)
    verified = defences.email_domain_screen(email=fields["email"])
    user = services.user_register(**fields)
    if not verified:
        User.objects.filter(pk=user.pk).update(email_domain_unverified=True)
        user.email_domain_unverified = True
    return user
