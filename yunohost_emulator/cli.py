"""The ``yunohost`` entry point: parse, check, take the lock, apply faults and delays, run, log.

A locking command takes moulinette's lock, sleeps its configured delay, then either fires a fault
or runs its handler inside a state transaction; the log entry is appended before the lock is
released, so entries of locking commands never overlap. Read-only commands skip the lock.
"""

from __future__ import annotations

import os
import sys
import time

from .arguments import action_parser, apply_extras, global_parser, redact_argv
from .commands import HANDLERS, READ_ONLY
from .commands.apps import install_script
from .errors import EXIT_ERROR, EXIT_OK, EmulatorError, language_from_environment, set_language
from .lock import acquire_lock, lock_path, release_lock
from .output import Console, print_result
from .state import append_log, consume_fault, read_state, state_path, transaction, version

# typing is only needed by type checkers; importing it would cost start-up time on every run.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any


def _delay(command: str, locking: bool, path: str) -> float:
    specific = os.environ.get("YUNOHOST_EMULATOR_DELAY_" + command.upper().replace(" ", "_").replace("-", "_"))
    if specific:
        return float(specific)
    from_state = read_state(path).get("delays", {}).get(command)
    if from_state is not None:
        return float(from_state)
    return float(os.environ.get("YUNOHOST_EMULATOR_DELAY") or 0) if locking else 0.0


def _fire(fault: dict[str, Any]) -> int:
    if fault.get("kill"):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    if fault.get("crash"):
        raise RuntimeError(fault.get("message", "emulated crash"))
    sys.stdout.write(_with_newline(fault.get("stdout", "")))
    sys.stderr.write(_with_newline(fault.get("stderr", "")))
    sys.stdout.flush()
    sys.stderr.flush()
    return int(fault.get("exit", EXIT_ERROR))


def _with_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def prepare(command: str, ns: argparse.Namespace, path: str) -> dict[str, Any] | None:
    """What both doors (this CLI, the HTTP API) do before a command: its delay, then its fault
    if one is set. Returns the fault to answer with (before the command runs, or after it when
    `after` is set), or None; a `rollback` fault instead makes the install's script fail."""
    delay = _delay(command, command not in READ_ONLY, path)
    if delay:
        time.sleep(delay)
    fault = consume_fault(command, path)
    if fault and fault.get("rollback"):
        ns._rollback, fault = True, None  # a slow install whose script fails (install_script)
    return fault


def perform(command: str, ns: argparse.Namespace, console: Console, path: str) -> Any:
    """Run the command's handler: read-only ones on a snapshot, the others in a state transaction
    (then an `app install`'s script, which runs after the instance is saved)."""
    handler = HANDLERS[command]
    if command in READ_ONLY:
        return handler(read_state(path), ns, console)
    with transaction(path) as state:
        result = handler(state, ns, console)
    if getattr(ns, "_installing", None):
        install_script(path, ns, console)
    return result


def _execute(ns: argparse.Namespace, opts: argparse.Namespace, console: Console, path: str) -> int:
    command = ns._command
    fault = prepare(command, ns, path)
    if fault and not fault.get("after"):
        return _fire(fault)
    print_result(perform(command, ns, console, path), opts.output_as)
    return _fire(fault) if fault else EXIT_OK


def _report(error: EmulatorError, console: Console) -> None:
    if error.log_help:
        console.info(error.log_help)
    console.error(error.message)


def _run(ns: argparse.Namespace, opts: argparse.Namespace, console: Console, entry: dict[str, Any]) -> int:
    path = state_path()
    apply_extras(ns, console)
    if ns._command in READ_ONLY:
        return _execute(ns, opts, console, path)
    lock = lock_path()
    owned = acquire_lock(lock, opts.timeout, console)
    entry["lock"] = owned  # False when passing through a lock held by an ancestor
    entry["started"] = time.time()
    try:
        return _execute(ns, opts, console, path)
    finally:
        entry["pending_release"] = (lock, owned)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    set_language(language_from_environment(os.environ))  # moulinette's get_locale(), at start-up
    opts, rest = global_parser().parse_known_args(argv)
    if opts.plain:
        opts.output_as = "plain"
    elif opts.json:
        opts.output_as = "json"
    category = next((arg for arg in rest if not arg.startswith("-")), None)
    ns = action_parser(category).parse_args(rest)  # usage errors: exit 2, as argparse does
    console = Console(quiet=opts.quiet, debug=opts.debug, bare=version() == "11")
    entry: dict[str, Any] = {"argv": redact_argv(argv), "lock": False, "started": time.time()}
    code = EXIT_ERROR
    try:
        code = _run(ns, opts, console, entry)
    except EmulatorError as e:
        _report(e, console)
        code = EXIT_ERROR
    finally:
        _finish(entry, code)
    return code


def _finish(entry: dict[str, Any], code: int) -> None:
    """Append the log entry, then release the lock: `finished` always precedes the release."""
    lock, owned = entry.pop("pending_release", (None, False))
    entry["exit"] = code
    try:
        if os.environ.get("YUNOHOST_EMULATOR_STATE"):
            append_log(state_path(), entry)
    finally:
        if owned:
            release_lock(lock)
