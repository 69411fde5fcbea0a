"""A stand-in for the `yunohost` CLI (YunoHost 12.1, moulinette 12), for tests and development.

Standard library only: no Django, no third-party package. Run it as
``yunohost_emulator/bin/yunohost ...`` (or ``python3 -m yunohost_emulator ...`` from the repository
root); it can also be imported for its helpers (``read_state``, ``add_fault``).

Faithful to YunoHost as docs/yunohost.md describes it, for the commands the project uses:
``user create/update/delete/info/list``, ``domain add/remove/list``, ``domain cert install/status``,
``app install/remove/list`` and ``app config set`` (my_webapp), plus the global options
``--output-as {json,plain,none}``, ``--quiet``, ``--debug`` and ``--timeout N``. Behaviour kept:
argparse usage errors (exit 2), moulinette's extra checks (ask/password, required, pattern),
YunoHost's validation order and English texts, ``LEVEL message`` lines as moulinette 12 prints
them when not on a tty (INFO/SUCCESS on stdout, WARNING/ERROR on stderr, all hidden by
``--quiet``), plain ``print`` for ``comment`` texts, one ``json.dumps`` line for results, nothing
for commands returning None, and the global PID lock (read-only commands skip it).
stdin/stdout are always treated as "not a tty", so anything that would prompt fails with
``Not a tty, can't do interactive prompts``. The "must be run as root" check is not emulated.

Environment:

* ``YUNOHOST_EMULATOR_STATE`` (required): path of the JSON state file. It is created on first use.
* ``YUNOHOST_DOMAIN`` (default ``blahaj.land``): main domain of a new state file.
* ``YUNOHOST_EMULATOR_LOCK`` (default: state path + ``.lock``): the moulinette lock file.
* ``YUNOHOST_EMULATOR_DELAY``: seconds that every locking command sleeps while holding the lock.
* ``YUNOHOST_EMULATOR_DELAY_<CATEGORY>_<ACTION>`` (e.g. ``..._USER_CREATE``,
  ``..._DOMAIN_CERT_INSTALL``): the same for one command, read-only ones included (these sleep
  without the lock); it wins over the generic delay. The state key ``delays``
  (``{"user create": 0.5}``) does the same for processes already running.
* ``YUNOHOST_EMULATOR_INSTALL_SECONDS`` (or the state key ``install_seconds``): how long ``app
  install``'s script runs. The instance is saved first, so ``app list`` (which takes no lock) shows
  it while the install still holds the lock, as YunoHost does; a fault with ``"rollback": true``
  makes the script fail at the end, and the app is removed again before the command fails.
* ``YUNOHOST_EMULATOR_LOCK_WARN_AFTER`` (default 15): seconds of waiting before the
  "Another YunoHost command is running" warning (then times 4 each time, as moulinette does).
* ``YUNOHOST_EMULATOR_VERSION`` (default ``12``): ``11`` acts as YunoHost 11.2/11.3 where the
  project's commands differ: ``user create`` also takes the deprecated ``-f/-l`` and does not
  require ``-F``; ``user delete`` has no ``--force``, ``domain add`` no
  ``--install-letsencrypt-cert``, ``app install`` no ``-i``; log lines are bare messages, with no
  ``LEVEL`` prefix (moulinette 11 when not on a tty).
* ``LC_ALL``, ``LC_CTYPE``, ``LANG``, ``LANGUAGE`` (the first one set): ``fr...`` prints the French
  texts YunoHost has for the errors the client tells apart, as a French server does
  (docs/yunohost.md §10.2); the HTTP side takes each request's ``locale`` parameter instead.
* ``YUNOHOST_EMULATOR_DNS`` (``host:port`` of a DNS server) and ``YUNOHOST_EMULATOR_PUBLIC_IPS``
  (comma-separated): ``domain cert install`` plays Let's Encrypt, whose validation fails unless the
  name's A/AAAA records hold one of the addresses, and which refuses a name after 5 failures in an
  hour (``yunohost_standins.acme``, docs/yunohost.md §10.1). Unset: every ``--no-checks`` install succeeds.
* ``YUNOHOST_EMULATOR_FAIL``: JSON list of faults (below) applied to every matching invocation
  of this process; ``times`` is ignored there.

State file (JSON): ``main_domain``, ``domains`` (name -> {"cert": ...}), ``users`` (by username;
passwords only as ``password_sha256``), ``groups``, ``apps`` (a list; the SFTP password only as
``password_sha256``), ``settings`` (``user_strength``), ``faults``, ``delays`` and ``log``: one
entry per command that got past argparse, appended when it ends:
``{"argv": [...], "lock": bool, "started": float, "finished": float, "exit": int}``. Password
values are replaced by ``**********`` in ``argv``; for locking commands ``started`` is the moment
the lock was taken and the lock is released only after ``finished``, so entries of locking
commands never overlap. Other keys a test may set: ``settings.user_strength`` (1 to 4, -1 turns
the check off), ``domains.<domain>.diagnosis_ok`` (lets ``cert install`` pass without
``--no-checks``), ``users.<name>.mail_used`` (kB, shown by ``user info``), ``users.<name>.shell`` (``/bin/false``: a
member ``user update`` cannot pass the shell of, docs/yunohost.md §10.3), ``groups.<name>`` and
``users.<name>.aliases`` (names and addresses a ``user create`` clashes with, §10.4),
``domains.<domain>.cert`` (``other``: an admin's own certificate), ``letsencrypt_failures``
(name -> times of failed validations), ``password_list`` (the path of the list of common
passwords; default ``most-used-passwords.txt`` next to this package, a sample of YunoHost's
100,000 lines that the service's tests read too) and ``slapd_down`` (the HTTP portal login
answers ``401 Unable to authenticate``).

Lock (moulinette's MoulinetteLock): the holder's PID in the lock file, created when taken and
removed when released, polled every 0.5 s. A lock whose PID is dead is taken over. A command whose
ancestor holds the lock passes straight through (that is how app scripts call ``yunohost``), so
to simulate a busy YunoHost, write the PID of another live process, not the test's own.
``<lock>.guard`` and ``<state>.guard`` are internal flock files that make the check-and-take of
the lock and every read-modify-write of the state atomic between processes.

Faults (state key ``faults``, consumed one per matching invocation; see ``add_fault``)::

    {"command": "user create", "times": 2, "exit": 1, "stderr": "ERROR boom", "stdout": ""}
    {"command": "user create", "crash": true}    # Python traceback on stderr, exit 1
    {"command": "user create", "kill": true}     # SIGKILL itself: stale lock, no log entry
    {"command": "user create", "after": true, "exit": 1, "stderr": "..."}  # effect happens, then fails
    {"command": "app install", "rollback": true}  # the install script fails: the app is removed again

``command`` is ``"<category> <action>"`` (``"domain cert install"``) or ``"*"``; ``times`` defaults
to 1. A fault fires after the lock is taken and the delay is slept, instead of the command (or,
with ``after``, once the command has succeeded). ``stderr``/``stdout`` are printed verbatim.


Modules: ``arguments`` (argparse tree, moulinette's checks, redaction), ``state`` (JSON file,
faults, log), ``lock`` (moulinette's lock), ``errors`` (texts, EmulatorError, exit codes),
``output`` (console lines, result formats), ``commands`` (one module per group, ``HANDLERS``),
``cli`` (``main``) and ``http`` (yunohost-api: the same state, lock, checks and handlers over
HTTP; ``python -m yunohost_emulator.http --state FILE --port N``, see its docstring). Beside it,
``yunohost_standins``: the Let's Encrypt (``acme``) and the LDAP mirror (``ldap_mirror``) that
its commands call, both standard library only too, and the SFTP door of its sites (``sftp``).
"""

from __future__ import annotations

from .arguments import redact_argv
from .cli import main
from .commands import HANDLERS, READ_ONLY
from .errors import EmulatorError
from .lock import acquire_lock, lock_path, release_lock
from .state import add_fault, read_state, sha256, state_path, transaction

# The name the test fixtures use to hash a password as the state file stores it.
_sha256 = sha256

__all__ = [
    "HANDLERS",
    "READ_ONLY",
    "EmulatorError",
    "acquire_lock",
    "add_fault",
    "lock_path",
    "main",
    "read_state",
    "redact_argv",
    "release_lock",
    "sha256",
    "state_path",
    "transaction",
]
