"""What every server-rendered form shares: a service's error shown next to its field."""

from __future__ import annotations

from django import forms

from blahaj.errors import ApplicationError


class ServiceForm(forms.Form):
    # A service error's code, for errors that belong to one field.
    error_fields: dict[str, str] = {}

    def show(self, error: ApplicationError) -> None:
        """Put a service's error next to its field (or above the form)."""
        if error.fields:
            for name, messages in error.fields.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(self.error_fields.get(error.code), error.message)

    def focus_first_error(self) -> None:
        for name, field in self.fields.items():
            if name in self.errors:
                field.widget.attrs["autofocus"] = True
                return
