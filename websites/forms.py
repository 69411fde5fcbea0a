"""The member pages' website request form. It only shapes the input into what the API's create
takes (a domain, a kind, a git URL); websites.services.website_request judges it, and its errors
come back next to the field the member filled in (`show`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blahaj.errors import ApplicationError
from blahaj.forms import ServiceForm

from .models import Website

NAME = "name"
KIND_CHOICES = [
    (Website.Kind.SFTP.value, gettext_lazy("SFTP: you upload your files yourself")),
    (Website.Kind.GIT.value, gettext_lazy("Git: your repository's files, published as they are")),
    (Website.Kind.SSG.value, gettext_lazy("Static site generator: your repository, built with Hugo")),
]


class WebsiteRequestForm(ServiceForm):
    # Errors about the domain land on the field the member filled in for it (`domain_field`).
    error_fields = {
        "domain_invalid": "domain",
        "domain_not_allowed": "domain",
        "domain_taken": "domain",
        "domain_exists_on_yunohost": "domain",
        "git_url_invalid": "git_url",
    }

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind of website"),
        choices=KIND_CHOICES,
        initial=Website.Kind.SFTP.value,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=253,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"}),
    )
    custom_domain = forms.CharField(
        label=gettext_lazy("Or your own domain"),
        required=False,
        max_length=253,
        help_text=gettext_lazy(
            "For example example.org. You prove it is yours with a DNS TXT record, shown on the next page."
        ),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"}),
    )
    git_url = forms.CharField(
        label=gettext_lazy("Git repository URL"),
        required=False,
        max_length=500,
        widget=forms.TextInput(
            attrs={"inputmode": "url", "autocapitalize": "none", "spellcheck": "false", "autocomplete": "off"}
        ),
    )

    def __init__(self, *args: Any, custom_domains: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        main = settings.YUNOHOST_DOMAIN
        name = self.fields["name"]
        name.help_text = _(
            "Your site's address is this name under %(main)s: alice gives alice.%(main)s. "
            "Lower-case letters, digits and hyphens."
        ) % {"main": main}
        name.error_messages["required"] = _("Choose a name, such as alice for alice.%(main)s.") % {"main": main}
        hosts = ", ".join(settings.WEBSITES_GIT_HOSTS)
        self.fields["git_url"].help_text = _(
            "For a git or static site generator site: an https:// URL of a public repository on %(hosts)s. "
            "Leave it empty for an SFTP site."
        ) % {"hosts": hosts}
        if custom_domains:
            # Either field: a name under the main domain, or the member's own domain.
            name.required = False
            name.label = _("A name under %(main)s") % {"main": main}
        else:
            del self.fields["custom_domain"]  # the tier allows names under the main domain only

    @property
    def domain_field(self) -> str:
        """The field that holds the domain: the custom domain when it was filled in, else the name."""
        return "custom_domain" if getattr(self, "cleaned_data", {}).get("custom_domain") else NAME

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        main = settings.YUNOHOST_DOMAIN
        name = (data.get("name") or "").strip()
        if name.endswith("." + main):
            name = name[: -len(main) - 1]  # the whole address typed in: the name is its first part
        custom = (data.get("custom_domain") or "").strip()
        data["custom_domain"] = custom
        if "custom_domain" in self.fields and "name" not in self.errors and "custom_domain" not in self.errors:
            if name and custom:
                self.add_error(
                    "custom_domain", _("Fill in one only: a name under %(main)s, or your own domain.") % {"main": main}
                )
            elif not name and not custom:
                self.add_error(
                    "name",
                    _("Choose a name under %(main)s (such as alice), or write your own domain below.") % {"main": main},
                )
        data["domain"] = custom or (f"{name}.{main}" if name else "")
        return data

    def request_arguments(self) -> dict[str, str]:
        """What websites.services.website_request takes, besides the owner."""
        data = self.cleaned_data
        return {"domain": data["domain"], "kind": data["kind"], "git_url": data.get("git_url", "").strip()}

    def show(self, error: ApplicationError) -> None:
        rename = {"domain": self.domain_field}
        if error.code == "git_url_invalid":
            # Its sentence says what to do ("a git or ssg site needs one"), the field's words less.
            self.add_error("git_url", error.message)
            return
        if error.fields:
            for name, messages in error.fields.items():
                name = rename.get(name, name)
                self.add_error(name if name in self.fields else None, messages)
            return
        field = self.error_fields.get(error.code)
        self.add_error(rename.get(field, field) if field else None, error.message)
