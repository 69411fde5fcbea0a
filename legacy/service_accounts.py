"""Service accounts: a program's account (the sign-up front end's, `manage.py
create_service_account`), made new or converted from the account the program already logs in
with; it holds `accounts.create_user_via_legacy_routes` and nothing else opens to it. Who may call that route
is legacy/permissions.py.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import Permission
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

import audit
from accounts import services
from accounts.models import User
from accounts.services import (
    password_validation_errors,
    user_judge,
    user_save,
    user_taken,
    username_lower_case,
    validation_failed,
)
from accounts.validators import normalize_email
from blahaj.errors import Conflict, NotFound
from logins import hooks

logger = logging.getLogger(__name__)

LEGACY_ROUTES_PERMISSION = ("accounts", "create_user_via_legacy_routes")


def legacy_routes_permission() -> Permission:
    app_label, codename = LEGACY_ROUTES_PERMISSION
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def may_create_users_via_legacy_routes(user: User) -> bool:
    """The account holds `accounts.create_user_via_legacy_routes` (itself or through a group)."""
    app_label, codename = LEGACY_ROUTES_PERMISSION
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(user=user) | Q(group__user=user))
        .exists()
    )


@transaction.atomic
@audit.audited("service_account.create", target=lambda kwargs, _: f"user:{kwargs['username']}")
def service_account_create(*, username: str, password: str, email: str = "") -> User:
    """An active account for a program (the sign-up front end): not staff, no second factor,
    never provisioned on YunoHost, allowed /create_user by its permission and nothing else.

    Its name is taken here, so no member can sign up with it (and it cannot be one already).
    """
    username = username.strip()
    email = email.strip() or f"{username}@service.invalid"
    user = User(
        username=username_lower_case(username),
        display_name="Service account",
        email=normalize_email(email),
        status=User.Status.ACTIVE,
        confirmed_at=timezone.now(),
        tier_id=User.objects.default_tier_id(),
        is_service_account=True,
    )
    user_judge(user, fields=["username", "display_name", "email"])
    if existing := User.objects.filter(username=user.username).first():
        if existing.is_service_account:
            raise Conflict(f"{user.username} is already a service account.", code="service_account_exists")
        raise Conflict(f"{user.username} is a member's account, not a service account.", code="username_taken")
    if conflict := user_taken(user):
        raise conflict
    if password_errors := password_validation_errors(user=user, password=password):
        raise validation_failed({"password": password_errors})
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise user_taken(user) or Conflict("Please try again.", code="conflict") from None
    user.user_permissions.add(legacy_routes_permission())
    logger.info("Service account %s created.", user.username)
    return user


@transaction.atomic
@audit.audited("service_account.convert", target=lambda kwargs, _: f"user:{kwargs['username']}")
def service_account_convert(*, username: str) -> User:
    """Turn the existing account a program already logs in with (the sign-up front end's staff
    account, from before service accounts) into a service account, keeping its password, so
    the program's configuration need not change: staff and superuser status go, the
    /create_user permission comes, and its tokens issued so far stop working.

    A person's account (one with a YunoHost user) is refused: a member is not a program.
    """
    user = User.objects.select_for_update().filter(username=username.strip().lower()).first()
    if user is None:
        raise NotFound(f"There is no account named {username.strip().lower()}.")
    if user.is_service_account:
        raise Conflict(f"{user.username} is already a service account.", code="service_account_exists")
    if user.on_yunohost:
        raise Conflict(f"{user.username} is a member's account, not a program's.", code="username_taken")
    services.superuser_keep(user=user)
    user.is_staff = user.is_superuser = False
    user.is_service_account = True
    user.revoke_tokens()
    user_save(user, fields=["is_staff", "is_superuser", "is_service_account", "tokens_valid_after"], cutoff_moved=True)
    hooks.second_factor().remove_all(user)  # a program cannot answer a code
    user.user_permissions.add(legacy_routes_permission())
    logger.info("Account %s converted to a service account.", user.username)
    return user
