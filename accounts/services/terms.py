"""Terms of service."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy

from blahaj.errors import ApplicationError

from ..models import User


class TermsNotAccepted(ApplicationError):
    code = "terms_not_accepted"
    message = gettext_lazy("Please accept the terms of service.")


def _terms_record(user: User, *, accepted: bool) -> None:
    """With ACCOUNTS_TERMS_URL set, a sign-up must accept the terms; when and which are kept."""
    if not settings.ACCOUNTS_TERMS_URL:
        return
    if not accepted:
        raise TermsNotAccepted(fields={"accept_terms": [str(TermsNotAccepted.message)]})
    user.terms_accepted_at = timezone.now()
    user.terms_version = settings.ACCOUNTS_TERMS_VERSION
