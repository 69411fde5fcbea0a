"""The French catalogues: bringing them up to date with the code, and finding what is missing.

Every app keeps its own `locale/fr/LC_MESSAGES/django.po` (the project's `templates/` use the
top-level `locale/`). `update` runs Django's makemessages over a checkout, then writes each
catalogue in one stable form (entries sorted, no dates, no source locations: two branches that
add strings rarely touch the same lines) and compiles it to its `.mo` (with polib: no gettext
tools needed where the service runs). `problems` lists what keeps a catalogue from being
complete: an entry without French, a fuzzy guess of msgmerge's, a `.mo` older than its `.po`.
`manage.py messages` runs `update` on this checkout; `manage.py messages --check` runs it on a
copy and prints the problems (the test suite does the same, and fails on any).
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib

LANGUAGE = "fr"
HEADER = {
    "Project-Id-Version": "blahaj accounts",
    "Report-Msgid-Bugs-To": "",
    "Language": LANGUAGE,
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
    "Plural-Forms": "nplurals=2; plural=(n > 1);",
}
# What holds no string a person reads: tests, migrations, the emulator (it speaks YunoHost's own
# English), scripts and benchmarks.
IGNORED = ["tests", "migrations", "emulator", "yunohost_emulator", "bench", "deploy", "scripts", "docs", "static"]
# Not copied when checking a copy of the checkout.
NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "test-artifacts", "data", "*.sqlite3", ".*cache")


def catalogues(root: Path) -> list[Path]:
    """Every French `.po` file under `root`, apps' and the project's."""
    return sorted(
        path for path in root.glob(f"**/locale/{LANGUAGE}/LC_MESSAGES/django.po") if ".venv" not in path.parts
    )


def update(root: Path) -> None:
    """Bring every catalogue under `root` (a checkout) up to date with its code, then normalise
    and compile each one."""
    command = [sys.executable, "manage.py", "makemessages", "-l", LANGUAGE, "--no-location", "--no-obsolete"]
    command += [f"--ignore={pattern}" for pattern in IGNORED]
    environment = {
        **os.environ,
        "BLAHAJ_TESTING": "true",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "x"),
    }
    subprocess.run(command, cwd=root, env=environment, check=True, capture_output=True, text=True)
    for path in catalogues(root):
        normalise(path)
        compile_catalogue(path)


def normalise(path: Path) -> None:
    """One stable form for a catalogue: the project's header, entries sorted by context and text."""
    catalogue = polib.pofile(str(path), wrapwidth=100)
    catalogue.metadata = dict(HEADER)
    catalogue.metadata_is_fuzzy = False
    catalogue.header = "French translations of blahaj accounts (manage.py messages)."
    entries = sorted(catalogue, key=lambda entry: (entry.msgctxt or "", entry.msgid, entry.msgid_plural or ""))
    catalogue[:] = entries
    catalogue.save(str(path))


def compile_catalogue(path: Path) -> None:
    polib.pofile(str(path)).save_as_mofile(str(path.with_suffix(".mo")))


def problems(root: Path) -> list[str]:
    """What is missing from the catalogues under `root`, one line each ([] when complete)."""
    found = []
    for path in catalogues(root):
        name = path.relative_to(root)
        catalogue = polib.pofile(str(path))
        for entry in catalogue:
            if entry.obsolete:
                continue
            if "fuzzy" in entry.flags:
                found.append(f"{name}: fuzzy (check the French, then remove the flag): {entry.msgid!r}")
            elif not entry.translated():
                found.append(f"{name}: no French for {entry.msgid!r}")
        compiled = path.with_suffix(".mo")
        if not compiled.exists() or _catalog(compiled) != _expected(catalogue):
            found.append(f"{name}: the .mo is not compiled from this .po (run manage.py messages)")
    return found


def check(root: Path, workspace: Path) -> list[str]:
    """The problems a fresh `update` of a copy of `root` would show, plus catalogues that the code
    has moved on from (strings added or removed since the last `manage.py messages`)."""
    copy = workspace / "checkout"
    shutil.copytree(root, copy, ignore=NOT_COPIED)
    before = {path.relative_to(copy): _ids(path) for path in catalogues(copy)}
    update(copy)
    found = problems(copy)
    for path in catalogues(copy):
        name = path.relative_to(copy)
        if _ids(path) != before.get(name):
            found.append(f"{name}: out of date with the code (run manage.py messages, then translate)")
    return found


def _ids(path: Path) -> set[tuple[str, str]]:
    return {(entry.msgctxt or "", entry.msgid) for entry in polib.pofile(str(path)) if not entry.obsolete}


def _catalog(path: Path) -> dict:
    with path.open("rb") as file:
        translations = gettext.GNUTranslations(file)
    return {key: value for key, value in translations._catalog.items() if key != ""}  # type: ignore[attr-defined]


def _expected(catalogue: polib.POFile) -> dict:
    expected: dict = {}
    for entry in catalogue.translated_entries():
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            for index, text in sorted(entry.msgstr_plural.items()):
                expected[(key, int(index))] = text
        else:
            expected[key] = entry.msgstr
    return expected
