"""The `yunohost` emulator against docs/yunohost.md, always run as a subprocess through bin/yunohost."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

BIN = Path(__file__).resolve().parents[1] / "bin" / "yunohost"
# Through bin/yunohost, but with this interpreter: a pyenv `python3` shim would add ~0.1 s to
# each of the ~200 runs. test_bin_runs_through_its_shebang covers the shebang itself.
CLI = [sys.executable, str(BIN)]
PASSWORD = "Tr0ub4dor&3x"
MAIN = "blahaj.land"
LOCK_MESSAGE = "There is already a YunoHost operation running. Please wait for it to finish before running another one."
COMMENT = "You are now about to define a new user password."
WEBAPP_ARGS = "path=/&init_main_permission=visitors&phpversion=8.4&database=none&custom_error_file=0"

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


@pytest.fixture
def lock(state: Path) -> Path:
    return Path(str(state) + ".lock")


@pytest.fixture
def env(state: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("YUNOHOST_")}
    return {**clean, "YUNOHOST_EMULATOR_STATE": str(state), "YUNOHOST_DOMAIN": MAIN}


@pytest.fixture
def yh(env: dict[str, str]) -> Run:
    def run(*args: str, extra_env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*CLI, *args],
            env={**env, **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def spawn(env: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen]]:
    procs: list[subprocess.Popen] = []

    def start(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(
            [*CLI, *args],
            env={**env, **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.fixture
def holder(lock: Path) -> Iterator[subprocess.Popen]:
    """Another live process holding the YunoHost lock (its PID in the lock file)."""
    proc = subprocess.Popen(["sleep", "60"])
    lock.write_text(str(proc.pid))
    yield proc
    proc.kill()
    proc.wait()


def create(
    yh: Run, username: str, *extra: str, domain: str = MAIN, password: str = PASSWORD, **kwargs: Any
) -> subprocess.CompletedProcess:
    return yh("user", "create", username, "-F", "Camille Dupont", "-p", password, "-d", domain, *extra, **kwargs)


def install_webapp(
    yh: Run, domain: str = MAIN, path: str = "/", password: str | None = PASSWORD, sftp: str = "1"
) -> subprocess.CompletedProcess:
    answers = {"domain": domain, "path": path, "with_sftp": sftp, "password": password or ""}
    args = urllib.parse.urlencode(answers) + "&" + WEBAPP_ARGS.replace("path=/&", "")
    return yh("app", "install", "my_webapp", "--force", "-l", f"Site on {domain}", "-a", args)


def load(state: Path) -> dict[str, Any]:
    return json.loads(state.read_text())


def error_of(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    return proc.stderr.strip().splitlines()[-1]


def last_json(proc: subprocess.CompletedProcess) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def app_ids(yh: Run) -> list[str]:
    return [app["id"] for app in last_json(yh("app", "list", "--output-as", "json"))["apps"]]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- Arguments ----------------------------------------------------------------------------------


def test_bin_runs_through_its_shebang(env: dict[str, str], tmp_path: Path) -> None:
    # From another directory, as YUNOHOST_BIN is used: the wrapper finds the emulator package by its own path.
    proc = subprocess.run(
        [str(BIN), "domain", "list", "--output-as", "json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (proc.returncode, proc.stdout) == (0, '{"domains": ["blahaj.land"], "main": "blahaj.land"}\n')


def test_missing_positional_is_a_usage_error(yh: Run) -> None:
    proc = yh("user", "create")
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: ")
    assert "error: the following arguments are required: username" in proc.stderr


def test_firstname_option_was_removed_in_12(yh: Run) -> None:
    proc = create(yh, "camille", "-f", "Camille")
    assert proc.returncode == 2
    assert "error: unrecognized arguments: -f Camille" in proc.stderr


def test_usage_errors_are_printed_even_with_quiet(yh: Run) -> None:
    proc = yh("user", "frobnicate", "--quiet")
    assert proc.returncode == 2 and "error: argument" in proc.stderr


@pytest.mark.parametrize("missing", ["-F", "-p", "-d"])
def test_missing_asked_value_fails_without_a_tty(yh: Run, missing: str) -> None:
    args = {"-F": "Camille Dupont", "-p": PASSWORD, "-d": MAIN}
    argv = [x for k, v in args.items() if k != missing for x in (k, v)]
    proc = yh("user", "create", "camille", *argv)
    assert error_of(proc) == "ERROR Not a tty, can't do interactive prompts"
    if missing == "-d":  # user_create lists the domains before prompting
        assert proc.stdout.splitlines()[-2:] == ["Available domains:", f"- {MAIN}"]


def test_empty_password_is_asked_and_fails_without_a_tty(yh: Run) -> None:
    proc = yh("user", "create", "camille", "-F", "Camille Dupont", "-p", "", "-d", MAIN)
    assert error_of(proc) == "ERROR Not a tty, can't do interactive prompts"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["Camille", "-F", "Camille Dupont"],
            "Invalid argument 'username': Must be lower-case alphanumeric and underscore characters only",
        ),
        (
            ["camille", "-F", "Camille_Dupont"],
            "Invalid argument 'fullname': Must be a valid full name (at least 3 chars)",
        ),
        (
            ["camille", "-F", "a" * 40 + "!"],
            "Invalid argument 'fullname': Must be a valid full name (at least 3 chars)",
        ),
        (
            ["camille", "-F", "Camille Dupont", "-q", "500"],
            "Invalid argument 'mailbox_quota': Must be a size with b/k/M/G/T suffix or 0 to not have a quota",
        ),
        (
            ["camille", "-F", "Camille Dupont", "-q", "1.5G"],
            "Invalid argument 'mailbox_quota': Must be a size with b/k/M/G/T suffix or 0 to not have a quota",
        ),
    ],
)
def test_pattern_errors(yh: Run, args: list[str], expected: str) -> None:
    proc = yh("user", "create", *args, "-p", PASSWORD, "-d", MAIN)
    assert error_of(proc) == f"ERROR {expected}"


def test_password_and_domain_patterns(yh: Run) -> None:
    proc = yh("user", "create", "camille", "-F", "Camille Dupont", "-p", "ab", "-d", MAIN)
    assert error_of(proc) == "ERROR Invalid argument 'password': Must be at least 3 characters long"
    proc = yh("user", "create", "camille", "-F", "Camille Dupont", "-p", PASSWORD, "-d", "Blahaj.land")
    assert error_of(proc) == "ERROR Invalid argument 'domain': Must be a valid domain name (e.g. my-domain.org)"


def test_pattern_checks_follow_argument_order(yh: Run) -> None:
    # username (pattern) is checked before fullname (ask): moulinette goes argument by argument.
    proc = yh("user", "create", "Bad", "-p", PASSWORD, "-d", MAIN)
    assert "Invalid argument 'username'" in error_of(proc)
    assert COMMENT not in proc.stdout  # -p's comment comes after -F, which failed first


@pytest.mark.parametrize("quota", ["500M", "0", "0M", "500MB"])
def test_quota_pattern_uses_re_match(yh: Run, quota: str) -> None:
    # "500MB" passes: the first alternative of ^(\d+[bkMGT])|0$ has no "$".
    proc = create(yh, "camille", "-q", quota)
    assert proc.returncode == 0, proc.stderr
    limit = last_json(yh("user", "info", "camille", "--output-as", "json"))["mailbox-quota"]["limit"]
    assert limit == ("No quota" if quota.startswith("0") else quota)


# --- user create validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("x" * 127, "Please choose a password shorter than 127 characters"),
        (
            "yunohost",
            "This password is among the most used passwords in the world. Please choose something more unique.",
        ),
        ("rpi", "This password is among the most used passwords in the world. Please choose something more unique."),
        (
            "password123",
            "This password is among the most used passwords in the world. Please choose something more unique.",
        ),
        ("Zq9!x", "The password needs to be at least 8 characters long"),
    ],
)
def test_password_rules(yh: Run, password: str, expected: str) -> None:
    assert error_of(create(yh, "camille", password=password)) == f"ERROR {expected}"


def test_password_of_126_characters_is_accepted(yh: Run) -> None:
    assert create(yh, "camille", password="Zq9!" * 31 + "ab").returncode == 0


def test_validation_order(yh: Run) -> None:
    # password checks come before the domain check, which comes before user_already_exists.
    assert "shorter than 127" in error_of(create(yh, "camille", domain="nowhere.org", password="x" * 130))
    assert create(yh, "camille").returncode == 0
    assert error_of(create(yh, "camille", domain="nowhere.org")) == "ERROR Domain 'nowhere.org' unknown"
    assert error_of(create(yh, "camille")) == "ERROR The user 'camille' already exists"


def test_user_already_exists_and_mail_uniqueness(yh: Run) -> None:
    assert create(yh, "camille").returncode == 0
    assert yh("domain", "add", "other.org").returncode == 0
    # uid is unique across domains: user_already_exists comes first.
    assert error_of(create(yh, "camille", domain="other.org")) == "ERROR The user 'camille' already exists"


@pytest.mark.parametrize("group", ["all_users", "visitors"])
def test_group_names_are_refused_through_cn(yh: Run, group: str) -> None:
    expected = f"ERROR Could not create user {group}: LDAP attribute 'cn' already exists with value '{group}'"
    assert error_of(create(yh, group)) == expected


def test_admins_is_refused_by_mail_then_cn(yh: Run) -> None:
    # admins@<main domain> is an alias of the admins group: the mail check comes before cn.
    expected = (
        "ERROR Could not create user admins: LDAP attribute 'mail' already exists with value 'admins@blahaj.land'"
    )
    assert error_of(create(yh, "admins")) == expected
    yh("domain", "add", "other.org")
    expected = "ERROR Could not create user admins: LDAP attribute 'cn' already exists with value 'admins'"
    assert error_of(create(yh, "admins", domain="other.org")) == expected


def test_admin_aliases_and_system_users(yh: Run) -> None:
    yh("domain", "add", "other.org")
    assert (
        error_of(create(yh, "webmaster", domain="other.org"))
        == "ERROR This e-mail address is reserved for the admins group"
    )
    assert (
        error_of(create(yh, "root", domain="other.org")) == "ERROR Username already exists in the list of system users"
    )
    for name in ("sshd", "postfix", "mysql", "nobody"):
        assert error_of(create(yh, name)) == "ERROR Username already exists in the list of system users"


def test_app_instances_are_system_users(yh: Run) -> None:
    assert install_webapp(yh).returncode == 0
    assert error_of(create(yh, "my_webapp")) == "ERROR Username already exists in the list of system users"


def test_invalid_shell_fails_after_the_operation_started(yh: Run) -> None:
    proc = create(yh, "camille", "-s", "/bin/zsh")
    assert error_of(proc) == "ERROR Invalid shell: /bin/zsh"
    assert "Please share the full log of this operation using the command 'yunohost log share" in proc.stdout


# --- Output -------------------------------------------------------------------------------------


def test_user_create_output(yh: Run) -> None:
    proc = yh("user", "create", "zoe", "-F", "Zoë Durand", "-p", PASSWORD, "-d", MAIN, "--output-as", "json")
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(COMMENT)
    assert lines[1:3] == ["INFO The user 'zoe' will be added to the group 'all_users'", "SUCCESS User created"]
    # json.dumps defaults: ", " and ": " separators, non-ASCII escaped.
    assert lines[3] == '{"fullname": "Zo\\u00eb Durand", "username": "zoe", "mail": "zoe@blahaj.land"}'
    assert proc.stderr == ""


def test_quiet_keeps_the_comment_and_the_result(yh: Run) -> None:
    proc = yh("user", "create", "zoe", "-F", "Zoe Durand", "-p", PASSWORD, "-d", MAIN, "--output-as", "json", "--quiet")
    assert [line[:20] for line in proc.stdout.splitlines()] == [COMMENT[:20], '{"fullname": "Zoe Du']


def test_quiet_hides_the_error_but_keeps_the_exit_code(yh: Run) -> None:
    create(yh, "zoe")
    proc = yh("user", "create", "zoe", "-F", "Zoe Durand", "-p", PASSWORD, "-d", MAIN, "--quiet")
    assert (proc.returncode, proc.stderr) == (1, "")


def test_commands_returning_none_print_no_result(yh: Run) -> None:
    create(yh, "zoe")
    proc = yh("user", "delete", "zoe", "--purge", "--output-as", "json")
    assert (proc.returncode, proc.stdout) == (0, "SUCCESS User deleted\n")
    assert yh("domain", "add", "zoe.org", "--output-as", "json", "--quiet").stdout == ""


def test_default_and_plain_output(yh: Run) -> None:
    assert yh("domain", "list").stdout == "domains: blahaj.land\nmain: blahaj.land\n"
    yh("domain", "add", "a.blahaj.land")
    assert (
        yh("domain", "list", "--output-as", "plain").stdout
        == "#domains\nblahaj.land\na.blahaj.land\n#main\nblahaj.land\n"
    )


def test_user_info_list_and_update(yh: Run) -> None:
    create(yh, "camille", "-s", "/bin/sh", "-q", "1G")
    info = last_json(yh("user", "info", "camille@blahaj.land", "--output-as", "json"))
    assert info == {
        "username": "camille",
        "fullname": "Camille Dupont",
        "mail": "camille@blahaj.land",
        "loginShell": "/bin/sh",
        "mail-aliases": [],
        "mail-forward": [],
        "mailbox-quota": {"limit": "1G", "use": "0 (0%)"},
    }
    updated = last_json(yh("user", "update", "camille", "-F", "Camille Martin", "--output-as", "json"))
    # The actionsmap default of -s applies: any update without -s resets the shell.
    assert (updated["fullname"], updated["loginShell"]) == ("Camille Martin", "/bin/bash")
    listing = last_json(yh("user", "list", "--output-as", "json"))
    assert listing == {
        "users": {
            "camille": {
                "username": "camille",
                "fullname": "Camille Martin",
                "mail": "camille@blahaj.land",
                "mailbox-quota": "1G",
            }
        }
    }
    assert error_of(yh("user", "list", "--fields", "age")) == "ERROR Invalid field 'age'"


def test_user_update_password_and_unknown_user(yh: Run, state: Path) -> None:
    create(yh, "camille")
    assert yh("user", "update", "camille", "-p", "N3w-passphrase").returncode == 0
    assert load(state)["users"]["camille"]["password_sha256"] == sha256("N3w-passphrase")
    assert error_of(yh("user", "update", "camille", "-p")) == "ERROR Not a tty, can't do interactive prompts"
    assert error_of(yh("user", "update", "ghost", "-F", "Ghost Host")) == "ERROR Unknown user: ghost"
    assert error_of(yh("user", "delete", "ghost")) == "ERROR Unknown user: ghost"
    assert error_of(yh("user", "info", "ghost")) == "ERROR Unknown user: ghost"


# --- Domains and certificates -------------------------------------------------------------------


def test_domain_add_and_list(yh: Run) -> None:
    for domain in ("b.example.org", "example.org", "a.blahaj.land"):
        assert yh("domain", "add", domain).stdout == "SUCCESS Domain created\n"
    assert error_of(yh("domain", "add", "example.org")) == "ERROR The domain already exists"
    assert error_of(yh("domain", "add", "no_underscore.org")).endswith(
        "Must be a valid domain name (e.g. my-domain.org)"
    )
    listing = last_json(yh("domain", "list", "--output-as", "json"))
    assert listing == {"domains": ["blahaj.land", "a.blahaj.land", "example.org", "b.example.org"], "main": MAIN}


def test_domain_remove(yh: Run) -> None:
    yh("domain", "add", "site.org")
    assert error_of(yh("domain", "remove", "ghost.org")) == "ERROR Domain 'ghost.org' unknown"
    main_error = yh("domain", "remove", MAIN).stderr
    assert main_error.startswith("ERROR You cannot remove 'blahaj.land' since it's the main domain")
    assert main_error.endswith("here is the list of candidate domains: \n * site.org\n")
    assert install_webapp(yh, domain="site.org").returncode == 0
    assert yh("domain", "remove", "site.org").stderr.startswith(
        "ERROR Those applications are still installed on your domain:\n    - my_webapp"
    )
    assert error_of(yh("domain", "remove", "site.org", "-r")) == "ERROR Not a tty, can't do interactive prompts"
    assert yh("domain", "remove", "site.org", "-r", "-f").returncode == 0
    assert app_ids(yh) == []
    assert last_json(yh("domain", "list", "--output-as", "json"))["domains"] == [MAIN]


def test_cert_install_without_no_checks_exits_0_and_installs_nothing(yh: Run, state: Path) -> None:
    proc = yh("domain", "cert", "install", MAIN)
    assert proc.returncode == 0
    assert proc.stderr.startswith(f"ERROR There is no diagnosis result for domain {MAIN} yet.")
    assert load(state)["domains"][MAIN]["cert"] == "selfsigned"
    proc = yh("domain", "cert", "install", MAIN, "--no-checks")
    assert proc.stdout == (
        f"INFO Now attempting install of certificate for domain {MAIN}!\n"
        f"SUCCESS Let's Encrypt certificate now installed for the domain '{MAIN}'\n"
    )
    assert load(state)["domains"][MAIN]["cert"] == "letsencrypt"
    assert "is not self-signed" in error_of(yh("domain", "cert", "install", MAIN, "--no-checks"))
    assert error_of(yh("domain", "cert", "install", "ghost.org")) == "ERROR Domain 'ghost.org' unknown"


# --- Apps ---------------------------------------------------------------------------------------


def test_webapp_instances_are_numbered_and_numbers_reused(yh: Run) -> None:
    for domain in ("a.blahaj.land", "b.blahaj.land", "c.blahaj.land"):
        yh("domain", "add", domain)
        proc = install_webapp(yh, domain=domain)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "INFO Installing my_webapp…\nSUCCESS Installation completed\n"  # no result
    assert app_ids(yh) == ["my_webapp", "my_webapp__2", "my_webapp__3"]
    assert (
        yh("app", "remove", "my_webapp__2").stdout == "INFO Removing my_webapp__2…\nSUCCESS my_webapp__2 uninstalled\n"
    )
    yh("domain", "add", "d.blahaj.land")
    install_webapp(yh, domain="d.blahaj.land")
    assert app_ids(yh) == ["my_webapp", "my_webapp__2", "my_webapp__3"]
    apps = last_json(yh("app", "list", "--output-as", "json"))["apps"]
    assert apps[1] == {
        "id": "my_webapp__2",
        "name": "Site on d.blahaj.land",
        "version": "1.0~ynh21",
        "description": "Custom Web app with SFTP access and serving static files",
        "domain_path": "d.blahaj.land/",
    }


def test_webapp_with_sftp_without_password_is_rolled_back(yh: Run) -> None:
    proc = install_webapp(yh, password=None)
    assert proc.returncode == 1
    assert (
        "ERROR Unable to install my_webapp: An error occurred inside the app installation script : "
        "You need to set a password to enable SFTP"
    ) in proc.stderr
    assert "WARNING Removing the app after installation failure…" in proc.stderr
    assert error_of(proc).startswith("ERROR The operation 'Install the 'my_webapp' app' could not be completed.")
    assert app_ids(yh) == []
    assert install_webapp(yh, password=None, sftp="0").returncode == 0
    assert app_ids(yh) == ["my_webapp"]  # the failed install did not use up the number


def test_webapp_install_refusals(yh: Run) -> None:
    assert install_webapp(yh).returncode == 0
    conflict = install_webapp(yh, path="/blog")  # "/" conflicts with every other path
    assert conflict.stderr == (
        "ERROR This URL is either unavailable, or conflicts with the already installed app(s):\n"
        " * blahaj.land/ → Site on blahaj.land (my_webapp)\n"
    )
    assert error_of(install_webapp(yh, domain="ghost.org")) == (
        "ERROR Pick a valid value for the argument 'domain': Unexpected value; choose between 'blahaj.land'"
    )
    braces = install_webapp(yh, domain=MAIN, path="/x", password="Zq9!{abcd}")
    assert error_of(braces) == "ERROR Sorry, passwords can not contain the following characters: {}"
    assert error_of(yh("app", "install", "wordpress", "--force")) == "ERROR Unknown app"
    assert (
        error_of(yh("app", "install", "https://example.org/app_ynh")) == "ERROR Not a tty, can't do interactive prompts"
    )


def test_app_remove_unknown(yh: Run) -> None:
    install_webapp(yh)
    expected = "ERROR Could not find ghost in the list of installed apps: \n - my_webapp"
    assert yh("app", "remove", "ghost").stderr.strip() == expected


def test_permission_add_and_remove_warn_when_nothing_changes(yh: Run, state: Path) -> None:
    create(yh, "camille")
    install_webapp(yh)
    removed = yh("user", "permission", "remove", "my_webapp.main", "visitors", "--output-as", "json")
    assert removed.returncode == 0 and json.loads(removed.stdout.strip().splitlines()[-1])["allowed"] == []
    assert yh("user", "permission", "add", "my_webapp", "admins", "camille").returncode == 0  # `.main` implied
    assert load(state)["apps"][0]["allowed"] == ["admins", "camille"]
    again = yh("user", "permission", "add", "my_webapp.main", "camille")
    assert again.returncode == 0
    assert again.stderr == (
        "WARNING Group 'camille' already has permission 'my_webapp.main' enabled\n"
        "WARNING The permission was not updated because the addition/removal requests already match the "
        "current state.\n"
    )
    gone = yh("user", "permission", "remove", "my_webapp.main", "visitors")
    assert gone.returncode == 0
    assert "WARNING Group 'visitors' already has permission 'my_webapp.main' disabled" in gone.stderr
    assert error_of(yh("user", "permission", "add", "my_webapp.main", "ghost")) == "ERROR The group 'ghost' is unknown"
    assert error_of(yh("user", "permission", "add", "ghost.main", "admins")) == (
        "ERROR Permission 'ghost.main' not found"
    )
    assert load(state)["apps"][0]["allowed"] == ["admins", "camille"]
    assert yh("user", "permission", "add", "my_webapp.main").returncode == 2  # NAMES is required


def test_config_set_sftp_password(yh: Run, state: Path) -> None:
    install_webapp(yh, password=None, sftp="0")
    no_password = yh("app", "config", "set", "my_webapp", "main", "-a", "with_sftp=1")
    assert (
        error_of(no_password)
        == "ERROR Applying the new configuration failed: You need to set a password to enable SFTP"
    )
    whole_panel = yh(
        "app", "config", "set", "my_webapp", "main", "-a", "with_sftp=1&password=" + urllib.parse.quote("N3w pass&word")
    )
    assert whole_panel.stdout == "SUCCESS Config updated as expected\n"
    settings = load(state)["apps"][0]["settings"]
    assert (settings["with_sftp"], settings["password_sha256"]) == (1, sha256("N3w pass&word"))
    assert yh("app", "config", "set", "my_webapp", "main.sftp.password", "-v", "Other-pass-42").returncode == 0
    assert load(state)["apps"][0]["settings"]["password_sha256"] == sha256("Other-pass-42")


def test_config_set_refusals(yh: Run) -> None:
    install_webapp(yh)
    assert error_of(yh("app", "config", "set", "my_webapp", "main", "-v", "x")) == (
        "ERROR You can't set a single value on an entire config section."
    )
    assert (
        error_of(yh("app", "config", "set", "my_webapp", "main.nope"))
        == "ERROR The filter key 'main.nope' is incorrect."
    )
    assert "ERROR Could not find ghost" in yh("app", "config", "set", "ghost", "main", "-a", "with_sftp=0").stderr
    too_simple = yh("app", "config", "set", "my_webapp", "main", "-a", "password=Zq9!x")
    assert error_of(too_simple) == "ERROR The password needs to be at least 8 characters long"


# --- Secrets ------------------------------------------------------------------------------------


def test_no_password_is_written_in_clear(yh: Run, state: Path) -> None:
    user_pw, sftp_pw, new_pw = "Us3r secret&x", "Sftp=secret 42", "N3xt-Secret+1"
    create(yh, "camille", password=user_pw)
    install_webapp(yh, password=sftp_pw)
    yh("app", "config", "set", "my_webapp", "main", "-a", urllib.parse.urlencode({"password": new_pw}))
    yh("user", "update", "camille", f"--change-password={new_pw}")
    text = state.read_text()
    for secret in (user_pw, sftp_pw, new_pw):
        assert secret not in text and urllib.parse.quote_plus(secret) not in text
    data = load(state)
    assert data["users"]["camille"]["password_sha256"] == sha256(new_pw)
    assert data["apps"][0]["settings"]["password_sha256"] == sha256(new_pw)
    assert any(e["argv"][:4] == ["user", "create", "camille", "-F"] and "**********" in e["argv"] for e in data["log"])


# --- Lock ---------------------------------------------------------------------------------------


def test_held_lock_with_timeout_gives_the_exact_message(yh: Run, holder: subprocess.Popen) -> None:
    started = time.monotonic()
    proc = create(yh, "camille", "--timeout", "1")
    assert (proc.returncode, proc.stderr) == (1, f"ERROR {LOCK_MESSAGE}\n")
    assert 1 <= time.monotonic() - started < 10


def test_argument_errors_come_before_the_lock(yh: Run, holder: subprocess.Popen) -> None:
    assert "Invalid argument 'username'" in error_of(create(yh, "Bad", "--timeout", "1"))


def test_read_only_commands_do_not_lock(yh: Run, holder: subprocess.Popen) -> None:
    for args in (["user", "list"], ["domain", "list"], ["app", "list"]):
        assert yh(*args, "--timeout", "1", "--output-as", "json").returncode == 0


def test_waits_for_the_lock_then_runs(
    spawn: Callable[..., subprocess.Popen], holder: subprocess.Popen, lock: Path, state: Path
) -> None:
    waiting = spawn(
        "user",
        "create",
        "camille",
        "-F",
        "Camille Dupont",
        "-p",
        PASSWORD,
        "-d",
        MAIN,
        extra_env={"YUNOHOST_EMULATOR_LOCK_WARN_AFTER": "0.2"},
    )
    # Warnings after 0.2 s and 0.8 s of waiting; the next one would be at 3.2 s. Release the
    # lock as soon as the second one is out.
    lines: queue.Queue[str] = queue.Queue()
    stderr = waiting.stderr
    assert stderr is not None

    def read() -> None:
        for line in stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen = [lines.get(timeout=10), lines.get(timeout=10)]
    assert waiting.poll() is None
    released = time.time()
    lock.unlink()
    assert waiting.wait(timeout=10) == 0
    reader.join(timeout=10)
    err = "".join(seen) + "".join(lines.queue)
    assert waiting.returncode == 0, err
    assert err == (
        "WARNING Another YunoHost command is running right now, "
        "we are waiting for it to finish before running this one\n"
        "WARNING Still waiting...\n"
        "WARNING The other command just completed, now starting this command\n"
    )
    assert load(state)["log"][-1]["started"] >= released
    assert not lock.exists()


def test_stale_lock_is_taken_over(yh: Run, lock: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock.write_text(str(dead.pid))
    assert create(yh, "camille", "--timeout", "1").returncode == 0
    assert not lock.exists()


def test_a_descendant_of_the_holder_passes_through(yh: Run, lock: Path) -> None:
    # As in moulinette: app scripts call `yunohost` while their install holds the lock.
    lock.write_text(str(os.getpid()))
    assert create(yh, "camille", "--timeout", "1").returncode == 0
    assert lock.read_text() == str(os.getpid())


def test_concurrent_commands_never_overlap(spawn: Callable[..., subprocess.Popen], state: Path) -> None:
    procs = [
        spawn(
            "user",
            "create",
            f"user{i}",
            "-F",
            "Some One",
            "-p",
            PASSWORD,
            "-d",
            MAIN,
            extra_env={"YUNOHOST_EMULATOR_DELAY": "0.05"},
        )
        for i in range(10)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0] * 10
    data = load(state)
    assert sorted(data["users"]) == sorted(f"user{i}" for i in range(10))
    locked = sorted((e for e in data["log"] if e["lock"]), key=lambda e: e["started"])
    assert len(locked) == 10
    for before, after in itertools.pairwise(locked):
        assert before["finished"] <= after["started"]
        assert before["finished"] - before["started"] >= 0.05


# --- Test knobs ---------------------------------------------------------------------------------


def test_per_command_delay(yh: Run, state: Path) -> None:
    create(yh, "camille", extra_env={"YUNOHOST_EMULATOR_DELAY_USER_CREATE": "0.3"})
    entry = load(state)["log"][-1]
    assert entry["finished"] - entry["started"] >= 0.3


def test_state_faults_are_consumed_one_per_invocation(yh: Run, state: Path) -> None:
    load_and_arm(yh, state, {"command": "user create", "times": 2, "exit": 1, "stderr": "ERROR LDAP is down"})
    assert [error_of(create(yh, "camille")) for _ in range(2)] == ["ERROR LDAP is down"] * 2
    assert create(yh, "camille").returncode == 0
    assert load(state)["faults"] == []


def load_and_arm(yh: Run, state: Path, fault: dict[str, Any]) -> None:
    yh("domain", "list")  # creates the state file
    data = load(state)
    data["faults"].append(fault)
    state.write_text(json.dumps(data))


def test_after_fault_applies_the_effect_then_fails(yh: Run, state: Path) -> None:
    load_and_arm(yh, state, {"command": "user create", "after": True, "exit": 1, "stderr": "ERROR connection lost"})
    assert error_of(create(yh, "camille")) == "ERROR connection lost"
    assert "camille" in load(state)["users"]


def test_env_fault_and_crash(yh: Run, lock: Path, state: Path) -> None:
    fail = json.dumps([{"command": "domain add", "crash": True}])
    proc = yh("domain", "add", "x.org", extra_env={"YUNOHOST_EMULATOR_FAIL": fail})
    assert proc.returncode == 1 and proc.stderr.startswith("Traceback (most recent call last):")
    assert proc.stderr.strip().endswith("RuntimeError: emulated crash")
    assert not lock.exists()  # released on the way out, as MoulinetteLock's __exit__ does
    assert "x.org" not in load(state)["domains"]


def test_killed_command_leaves_a_stale_lock(yh: Run, lock: Path, state: Path) -> None:
    fail = json.dumps([{"command": "domain add", "kill": True}])
    assert yh("domain", "add", "x.org", extra_env={"YUNOHOST_EMULATOR_FAIL": fail}).returncode == -9
    assert lock.exists()
    assert yh("domain", "add", "x.org", "--timeout", "1").returncode == 0
    assert [e["argv"][:2] for e in load(state)["log"]] == [["domain", "add"]]


def test_state_variable_is_required(yh: Run) -> None:
    proc = yh("user", "list", extra_env={"YUNOHOST_EMULATOR_STATE": ""})
    assert error_of(proc).startswith("ERROR YUNOHOST_EMULATOR_STATE is not set")
