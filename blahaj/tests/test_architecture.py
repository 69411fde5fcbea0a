"""The dependency rules, checked on the source: the lane never imports the apps above it, and
no function hides an import of the project's own modules (which is how cycles hide).

Also run by import-linter (`lint-imports`, configured in .importlinter) where it is installed;
this test needs nothing but the standard library, so the rule holds in every test run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The layers, top to bottom, as in .importlinter: a package never imports one above it, nor
# a sibling of its own layer.
LAYERS = (
    ("legacy", "staff"),
    ("publishing",),
    ("websites", "mfa", "selfservice"),
    ("deletion", "bounces"),
    ("accounts",),
    ("defences", "invitations", "logins", "notices", "passwords"),
    ("tiers",),
    ("fleet",),
    ("provisioning",),
    ("yunohost_client",),
    ("audit", "notifications"),
    ("blahaj",),
    ("observability", "languages"),
    ("yunohost_emulator",),
    ("yunohost_standins",),
)
PROJECT = tuple(sorted(package for layer in LAYERS for package in layer))
# The emulator runs as a bare python3 (bin/yunohost, hundreds of times in a benchmark): the
# standard library only, and the two stand-ins its commands call, which need no more.
STANDARD_ONLY = (
    *sorted((ROOT / "yunohost_emulator").rglob("*.py")),
    ROOT / "yunohost_standins" / "__init__.py",
    ROOT / "yunohost_standins" / "acme.py",
    ROOT / "yunohost_standins" / "ldap_mirror.py",
)
# What each layer must never import (nor any of their submodules): dependencies run downhill.
# The features below the accounts name the User under TYPE_CHECKING only (import-linter checks
# their run-time imports of accounts); they never import the apps above it, nor each other.
FORBIDDEN = {
    package: tuple(
        other
        for above in LAYERS[: index + 1]
        for other in above
        # The apps below the accounts name the User under TYPE_CHECKING, which this reader
        # counts: import-linter checks that they do not import accounts at run time.
        if other != package and not (other == "accounts" and index > LAYERS.index(("accounts",)))
    )
    for index, layer in enumerate(LAYERS)
    for package in layer
}


def _sources() -> Iterator[Path]:
    for package in PROJECT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "tests" in path.relative_to(ROOT).parts or "migrations" in path.parts:
                continue
            yield path


def _imported(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """The absolute module names a statement imports (relative ones resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".")[: -node.level]
        return [".".join([*base, node.module] if node.module else base)]
    return [node.module or ""]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_project(name: str) -> bool:
    return name.split(".")[0] in PROJECT


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, list[ast.AST]]]:
    """Every import statement, with the chain of functions and classes around it."""

    def walk(node: ast.AST, scopes: list[ast.AST]) -> Iterator[tuple[ast.Import | ast.ImportFrom, list[ast.AST]]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, scopes
            inner = (
                [*scopes, child] if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else scopes
            )
            yield from walk(child, inner)

    yield from walk(tree, [])


def _in_app_ready(scopes: list[ast.AST]) -> bool:
    # AppConfig.ready() is where Django wants an app's wiring imported (models are loaded by then).
    return (
        len(scopes) == 2
        and isinstance(scopes[0], ast.ClassDef)
        and isinstance(scopes[1], ast.FunctionDef)
        and scopes[1].name == "ready"
    )


def _violations() -> Iterator[str]:
    for path in _sources():
        module = _module_name(path)
        layer = module.split(".")[0]
        for node, scopes in _imports(ast.parse(path.read_text(), str(path))):
            for name in _imported(node, module):
                where = f"{path.relative_to(ROOT)}:{node.lineno} imports {name}"
                if name.split(".")[0] in FORBIDDEN.get(layer, ()):
                    yield f"{where}: {layer} is below it"
                functions = [s for s in scopes if not isinstance(s, ast.ClassDef)]
                if functions and _is_project(name) and not _in_app_ready(scopes):
                    yield f"{where} inside a function: import it at the top of the module"


def test_dependencies_run_downhill_and_no_function_hides_an_import():
    assert list(_violations()) == []


def test_the_emulator_needs_nothing_but_the_standard_library():
    outside = []
    for path in STANDARD_ONLY:
        if "tests" in path.relative_to(ROOT).parts:
            continue
        for node, _ in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # within its own package
            for name in _imported(node, _module_name(path)):
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ("yunohost_emulator", "yunohost_standins"):
                    outside.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")

    assert outside == []


def test_the_checker_sees_what_it_must_refuse(tmp_path):
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from accounts.models import User\n"
        "def f():\n    from . import services\n    import json\n"
        "class C:\n    def ready(self):\n        from . import tasks\n"
    )
    tree = ast.parse(source)
    found = [
        (name, [type(s).__name__ for s in scopes], _in_app_ready(scopes))
        for node, scopes in _imports(tree)
        for name in _imported(node, "provisioning.services")
    ]

    assert found == [
        ("typing", [], False),
        ("accounts.models", [], False),
        ("provisioning", ["FunctionDef"], False),
        ("json", ["FunctionDef"], False),
        ("provisioning", ["ClassDef", "FunctionDef"], True),
    ]


def test_import_linter_contracts_hold():
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
