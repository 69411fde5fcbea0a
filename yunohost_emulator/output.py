"""What a command prints: moulinette 12's ``LEVEL message`` lines and the result formats.

Not on a tty, moulinette prints INFO/SUCCESS on stdout and WARNING/ERROR on stderr (all hidden by
``--quiet``), ``comment`` texts with a plain ``print``, and a command's result as one
``json.dumps`` line with ``--output-as json`` (nothing for a result of None).
"""

from __future__ import annotations

import json
import sys
import time

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_T0 = time.monotonic()


class Console:
    def __init__(self, *, quiet: bool = False, debug: bool = False, bare: bool = False) -> None:
        self.quiet = quiet
        self.debug_on = debug
        self.bare = bare

    def _emit(self, level: str, message: str, stream: Any) -> None:
        if self.quiet:
            return
        prefix = f"{int((time.monotonic() - _T0) * 1000):<4d} " if self.debug_on else ""
        # moulinette 11 prints the bare message when not on a tty (docs/yunohost.md §2.3)
        line = f"{prefix}{message}" if self.bare else f"{prefix}{level} {message}"
        try:
            print(line, file=stream, flush=True)
        except BrokenPipeError:
            # A log record, not the result: logging's handlers drop what they cannot write, so a
            # command whose caller went away (its pipes closed) goes on to its end.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())

    def debug(self, message: str) -> None:
        if self.debug_on:
            self._emit("DEBUG", message, sys.stdout)

    def info(self, message: str) -> None:
        self._emit("INFO", message, sys.stdout)

    def success(self, message: str) -> None:
        self._emit("SUCCESS", message, sys.stdout)

    def warning(self, message: str) -> None:
        self._emit("WARNING", message, sys.stderr)

    def error(self, message: str) -> None:
        self._emit("ERROR", message, sys.stderr)

    @staticmethod
    def display(message: str) -> None:
        # Moulinette.display()/comment: a plain print, which --quiet does not remove.
        print(message, flush=True)


# Results, as moulinette's interfaces/cli.py prints them.
def print_result(result: Any, output_as: str | None) -> None:
    if result is None or output_as == "none":
        return
    if output_as == "json":
        print(json.dumps(result), flush=True)
    elif output_as == "plain":
        _plain_print(result)
    elif isinstance(result, dict):
        _pretty_print(result)
    else:
        print(result)


def _plain_print(d: Any, depth: int = 0) -> None:
    if depth == 0 and isinstance(d, dict) and len(d) == 1:
        d = next(iter(d.values()))
    if isinstance(d, list):
        for v in d:
            _plain_print(v, depth + 1)
    elif isinstance(d, dict):
        for k, v in d.items():
            print("#" * (depth + 1) + str(k))
            _plain_print(v, depth + 1)
    else:
        print(d)


def _pretty_print(d: dict[str, Any], depth: int = 0) -> None:
    indent = "  " * depth
    for k in sorted(d):
        v = d[k]
        if isinstance(v, list) and len(v) == 1:
            v = v[0]
        if isinstance(v, dict):
            print(f"{indent}{k}: ")
            _pretty_print(v, depth + 1)
        elif isinstance(v, list):
            print(f"{indent}{k}: ")
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    _pretty_print({str(i): item}, depth + 1)
                else:
                    print(f"{indent}  - {item}")
        else:
            print(f"{indent}{k}: {v}")
