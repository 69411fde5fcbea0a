"""Bring the French catalogues up to date with the code (languages/translations.py), or check them."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from languages import translations


class Command(BaseCommand):
    help = (
        "Update every app's French catalogue (locale/fr/LC_MESSAGES/django.po) from the code, in one "
        "stable form, and compile it; with --check, only say what is missing or out of date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Change nothing; fail if a catalogue is incomplete.")

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(settings.BASE_DIR)
        if options["check"]:
            with tempfile.TemporaryDirectory() as workspace:
                found = translations.check(root, Path(workspace))
            for line in found:
                self.stdout.write(line)
            if found:
                raise CommandError(f"{len(found)} problem(s) in the French catalogues.")
            self.stdout.write("The French catalogues are complete.")
            return
        translations.update(root)
        found = translations.problems(root)
        for line in found:
            self.stdout.write(line)
        self.stdout.write(
            f"Updated {len(translations.catalogues(root))} catalogue(s); {len(found)} entries to translate."
        )
