"""The second factor's page forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from blahaj.forms import ServiceForm


class LoginCodeForm(ServiceForm):
    """The page login's second step: a code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=_("Code from your authenticator app (or a recovery code)"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
    )
