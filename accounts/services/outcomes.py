"""What the YunoHost lane's outcomes mean to the account (registered in accounts/apps.py).

Called inside the lane's transaction that records the outcome: see provisioning/outcomes.py."""

from __future__ import annotations

import notifications
from notices import services as notice_services
from notices.models import StaffNotice
from provisioning import selectors as lane_selectors
from provisioning.models import Operation

from .. import emails
from ..models import User
from .records import _user_forget_after_commit


def user_provisioned(*, operation: Operation) -> None:
    """`user create` succeeded: the account is active, its owner welcomed, staff told."""
    if operation.user_id is None:
        return  # the account was deleted meanwhile
    # A disabled account stays disabled; a retried, already active one is not welcomed twice.
    User.objects.filter(pk=operation.user_id).update(on_yunohost=True)
    became_active = (
        User.objects.filter(pk=operation.user_id)
        .exclude(status__in=[User.Status.ACTIVE, User.Status.DISABLED])
        .update(status=User.Status.ACTIVE)
    )
    if not became_active:
        return
    _user_forget_after_commit(operation.user_id)
    user = User.objects.get(pk=operation.user_id)
    emails.send_welcome(user=user)
    notifications.account_created(username=user.username, mail_address=user.mail_address)


def user_provisioning_failed(*, operation: Operation) -> None:
    """`user create` failed for good: staff are told, and retry it (operation_retry) once they
    fixed the cause. When YunoHost refused the password (its list or its strength setting
    changed since the sign-up), the owner is mailed a link to choose another one, and the
    creation goes on by itself with it (`lane.account_set_password`)."""
    username = operation.args.get("username", operation.subject)
    password_refused = lane_selectors.password_refused(operation=operation)
    notifications.provisioning_failed(
        username=username,
        operation_id=operation.pk,
        attempts=operation.attempts,
        error=operation.error,
    )
    text = f"The YunoHost account of {username} could not be created (operation #{operation.pk}): {operation.error}"
    if password_refused:
        text += f" {username} was sent a link to choose another password; the account is created once they do."
    notice_services.staff_notice_record(kind=StaffNotice.Kind.PROVISIONING_FAILED, text=text)
    if operation.user_id is None:
        return  # the account was deleted meanwhile
    if User.objects.filter(pk=operation.user_id, status=User.Status.PROVISIONING).update(
        status=User.Status.PROVISIONING_FAILED
    ):
        _user_forget_after_commit(operation.user_id)
        if password_refused:
            emails.send_password_refused(user=User.objects.get(pk=operation.user_id))


def user_provisioning_retried(*, operation: Operation) -> None:
    if operation.user_id is None:
        return  # the account was deleted meanwhile
    if User.objects.filter(pk=operation.user_id, status=User.Status.PROVISIONING_FAILED).update(
        status=User.Status.PROVISIONING
    ):
        _user_forget_after_commit(operation.user_id)
