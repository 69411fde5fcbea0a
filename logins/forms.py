"""The member pages' login form (/account/login/): it only shapes the input; the login's
service (the API's too) decides, and its errors come back next to the fields through `show()`."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from blahaj.forms import ServiceForm
from provisioning.passwords import MAX_PASSWORD


class LoginForm(ServiceForm):
    identifier = forms.CharField(
        label=gettext_lazy("Username or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        max_length=MAX_PASSWORD,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
