"""Account business logic: views, pages, the admin, tasks and other apps call these functions.

One module per flow:

    passwords        whether a new password is good enough; a signed-in member's password given again
    links            one-time link tokens, and the account emails that carry a link
    registration     sign-up, address confirmation, approval, password reset
    lifecycle        provisioning begins, password set, disabled, roles, erased; name quarantine;
                     the hourly prune
    preferences      what a member chooses for themselves (their language)
    outcomes         what the YunoHost lane's outcomes mean to the account
    tiers            a member's tier, a tier's change reaching its members, a referral code's use
    terms            the terms of service a sign-up accepts
    staff            staff administration of accounts shared by the admin and the staff API (staff/),
                     and by the legacy routes' account creation (legacy/)
    records          helpers every flow shares: saving the row, moving its status, judging its fields

Logging in (the password step, tokens, login sessions, the lockout, who decides a password) is
the logins app's (logins/services.py), below this one.

This package re-exports every public name of those modules (the names without a leading
underscore), so callers write `from accounts import services` and `services.user_register(...)`
whatever module a flow lives in; the helpers other apps' flows share (`user_save`, `user_judge`,
`one_time_token_check`, ...) are public for that reason. Private helpers (`_user_move`, ...) are
not re-exported and stay inside this package. A test that replaces a function for its callers
patches the module that calls it (`accounts.services.registration.user_taken`), not this one.
"""

from __future__ import annotations

from .lifecycle import (
    LastSuperuser,
    sessions_prune,
    superuser_keep,
    user_begin_provisioning,
    user_disable,
    user_erase,
    user_set_password,
    user_set_roles,
    username_quarantine,
    username_quarantined,
    usernames_quarantine_prune,
)
from .links import (
    TokenExpired,
    TokenInvalid,
    email_deliver,
    email_deliver_to_user_id,
    one_time_token_check,
    one_time_token_issue,
    one_time_token_use,
)
from .outcomes import (
    user_provisioned,
    user_provisioning_failed,
    user_provisioning_retried,
)
from .passwords import (
    WrongPassword,
    password_confirmed,
    password_validation_errors,
)
from .preferences import (
    user_set_language,
)
from .records import (
    email_in_use,
    user_judge,
    user_save,
    username_lower_case,
    validation_failed,
)
from .registration import (
    user_approve,
    user_confirm_email,
    user_confirm_password_reset,
    user_confirmation_redeliver,
    user_from_reset_token,
    user_password_reset_deliver,
    user_register,
    user_request_confirmation,
    user_request_password_reset,
    user_taken,
)
from .staff import (
    email_deliver_detached,
    user_create_by_staff,
    user_create_by_staff_check,
    user_enable,
    user_reject,
    user_send_password_reset,
    user_update,
)
from .terms import (
    TermsNotAccepted,
)
from .tiers import (
    TIER_BATCH,
    tier_members_refresh,
    user_set_tier,
)

__all__ = [
    "TIER_BATCH",
    "LastSuperuser",
    "TermsNotAccepted",
    "TokenExpired",
    "TokenInvalid",
    "WrongPassword",
    "email_deliver",
    "email_deliver_detached",
    "email_deliver_to_user_id",
    "email_in_use",
    "one_time_token_check",
    "one_time_token_issue",
    "one_time_token_use",
    "password_confirmed",
    "password_validation_errors",
    "sessions_prune",
    "superuser_keep",
    "tier_members_refresh",
    "user_approve",
    "user_begin_provisioning",
    "user_confirm_email",
    "user_confirm_password_reset",
    "user_confirmation_redeliver",
    "user_create_by_staff",
    "user_create_by_staff_check",
    "user_disable",
    "user_enable",
    "user_erase",
    "user_from_reset_token",
    "user_judge",
    "user_password_reset_deliver",
    "user_provisioned",
    "user_provisioning_failed",
    "user_provisioning_retried",
    "user_register",
    "user_reject",
    "user_request_confirmation",
    "user_request_password_reset",
    "user_save",
    "user_send_password_reset",
    "user_set_language",
    "user_set_password",
    "user_set_roles",
    "user_set_tier",
    "user_taken",
    "user_update",
    "username_lower_case",
    "username_quarantine",
    "username_quarantined",
    "usernames_quarantine_prune",
    "validation_failed",
]
