"""The self-service pages' forms: they only shape the input; the service they feed (the same
one the API calls) judges it, and its errors come back next to their fields through `show()`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import new_password_field
from accounts.validators import PASSWORD_MAX
from blahaj.forms import ServiceForm

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


CURRENT_PASSWORD = _("Current password")


def _current_password_field(label: StrOrPromise = CURRENT_PASSWORD) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ChangePasswordForm(ServiceForm):
    current_password = _current_password_field()
    new_password = new_password_field("New password")
    new_password.label = _("New password")  # lazy: read in the page's language


class ChangeEmailForm(ServiceForm):
    error_fields = {"email_taken": "email", "email_domain_blocked": "email"}

    email = forms.EmailField(
        label=_("New email"),
        max_length=254,
        help_text=_("We send a link to this address: the change happens once you open it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = _current_password_field(_("Your password"))
