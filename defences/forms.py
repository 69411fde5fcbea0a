"""The public forms' side of the defences: the challenge's hidden field and the honeypot, written
once for every form a stranger sends (the sign-up, the abuse report), and the abuse report's form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy

from blahaj.forms import ServiceForm

from . import services
from .models import AbuseReport


class DefendedForm(ServiceForm):
    """A form behind the challenge and the honeypot: their two fields come last, the challenge's
    only while it is on. `defences()` hands them to the service apart from the form's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings.SIGNUP_CHALLENGE != services.CHALLENGE_OFF:
            # Filled by accounts/altcha.js with the solved challenge (README, "Abuse defences").
            self.fields["challenge"] = forms.CharField(
                required=False, max_length=2000, widget=forms.HiddenInput(attrs={"data-challenge": ""})
            )
        # The honeypot: hidden from people (site.css), filled by form-filling bots.
        self.fields["homepage"] = forms.CharField(
            label=gettext_lazy("Leave this empty"),
            required=False,
            max_length=200,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )

    def defences(self) -> tuple[dict[str, Any], str | None, str]:
        """The valid form's own fields; the challenge's solution (None where none is asked); the honeypot."""
        fields = dict(self.cleaned_data)
        honeypot: str = fields.pop("homepage")
        challenge = fields.pop("challenge", None) if services.challenge_required(api=False) else None
        return fields, challenge, honeypot


class AbuseReportForm(DefendedForm):
    target = forms.CharField(
        label=gettext_lazy("Site address or username"),
        max_length=253,
        help_text=gettext_lazy("The address of the site (e.g. https://name.example) or the account's username."),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    reason = forms.ChoiceField(label=gettext_lazy("What is wrong"), choices=AbuseReport.Reason.choices)
    details = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=3000,
        help_text=gettext_lazy("What you saw, and where (3000 characters at most)."),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    reply_to = forms.EmailField(
        label=gettext_lazy("Your email"),
        required=False,
        max_length=254,
        help_text=gettext_lazy("If you would like an answer."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
