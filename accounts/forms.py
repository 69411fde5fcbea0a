"""The public pages' forms. The rules are not repeated here: a form only shapes the input,
and the service it feeds (the same one the API calls) applies accounts/validators.py and
the password policy; its errors come back next to their fields through `show()`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django_stubs_ext import StrOrPromise

from blahaj.forms import ServiceForm
from defences.forms import DefendedForm

from .validators import PASSWORD_MAX, PASSWORD_MIN


def _password_widget() -> forms.PasswordInput:
    # data-strength: the live strength hint (progressive enhancement) watches this input.
    return forms.PasswordInput(attrs={"autocomplete": "new-password", "data-strength": ""})


def _password_help() -> str:
    return _("At least %(min)s characters and hard to guess: a few unrelated words work well. No need for symbols.") % {
        "min": PASSWORD_MIN
    }


def new_password_field(label: StrOrPromise) -> forms.CharField:
    """A new password's field, with the live strength hint (the sign-up, a reset, a change)."""
    return forms.CharField(
        label=label,
        max_length=PASSWORD_MAX,
        strip=False,
        widget=_password_widget(),
        help_text=lazy(_password_help, str)(),
    )


class SignupForm(DefendedForm):
    error_fields = {
        "username_taken": "username",
        "email_taken": "email",
        "email_domain_blocked": "email",
        "referral_code_invalid": "referral_code",
        "terms_not_accepted": "accept_terms",
    }

    username = forms.CharField(
        label=pgettext_lazy("form field", "Username"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    display_name = forms.CharField(
        label=gettext_lazy("Display name"),
        max_length=30,
        help_text=gettext_lazy("How others see you, for example Ada Lovelace."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=pgettext_lazy("form field", "Email"),
        max_length=254,
        help_text=gettext_lazy("We send your confirmation link here, and password resets later."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = new_password_field(gettext_lazy("Password"))
    discord_username = forms.CharField(label=gettext_lazy("Discord username"), required=False, max_length=32)
    referral_code = forms.CharField(label=gettext_lazy("Referral code"), required=False, max_length=64)
    note = forms.CharField(
        label=gettext_lazy("A note to the admins"),
        required=False,
        max_length=500,
        help_text=gettext_lazy("Who you are or why you join, if you like (500 characters at most)."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    accept_terms = forms.BooleanField(label=gettext_lazy("I accept the terms of service"), required=False)
    invitation = forms.CharField(required=False, max_length=128, widget=forms.HiddenInput)
    # Then the challenge and the honeypot (DefendedForm).

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not settings.ACCOUNTS_TERMS_URL:
            del self.fields["accept_terms"]
        self.fields["username"].help_text = _(
            "Lower-case letters, digits, dots or underscores. It also names your new mail address: username@%(domain)s."
        ) % {"domain": settings.YUNOHOST_DOMAIN}


def signup_form_invited(form: SignupForm, *, email: str, token: str) -> SignupForm:
    """The sign-up form of an invitation's link: the address is the invited one."""
    form.initial.update(email=email, invitation=token)
    form.fields["email"].widget.attrs["readonly"] = True
    form.fields["email"].help_text = _("The address you were invited at: the invitation's link confirms it.")
    del form.fields["referral_code"]
    return form


class ResetRequestForm(ServiceForm):
    identifier = forms.CharField(
        label=gettext_lazy("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )


class ResendConfirmationForm(ServiceForm):
    email = forms.EmailField(
        label=gettext_lazy("Your email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class SetPasswordForm(ServiceForm):
    password = new_password_field(gettext_lazy("New password"))


class DeleteAccountForm(ServiceForm):
    error_fields = {"invalid_credentials": "password"}

    password = forms.CharField(
        label=gettext_lazy("Your password"),
        max_length=PASSWORD_MAX,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("To make sure it is you."),
    )
