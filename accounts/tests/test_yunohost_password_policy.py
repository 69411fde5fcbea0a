"""YunoHost's own password policy (docs/yunohost.md §1.6), end to end against the emulator: a
password `user create` would refuse is refused at every door before it is accepted, and when
YunoHost still refuses one (its list or its strength setting changed since the sign-up), the
member chooses another through a one-time link and the account is finished, never stuck."""

from __future__ import annotations

import gzip
import logging

import pytest

import yunohost_emulator as emulator_state
from accounts.models import OneTimeToken, User
from conftest import PASSWORD
from notices.models import StaffNotice
from provisioning.models import Operation
from provisioning.tests.conftest import emulator, http_emulator, sha256, tls_cert  # noqa: F401 - fixtures
from yunohost_client import YunohostPermanent, get_client, password_policy

from .conftest import STRONG, link_path, link_token

# A part of "nEMvXyHeqDd5OQxyXYZI", a line of YunoHost's list (and of the emulator's sample):
# zxcvbn scores it 4 and it has every kind of character but a symbol, yet YunoHost refuses it.
INSIDE_A_LISTED_LINE = "EMvXyHeqDd5OQxyXY"
# Words and spaces: strong for zxcvbn, but YunoHost's level 2 asks for a digit and an upper case.
NO_DIGIT_NO_UPPER = "tidal lantern orbit pebble"
LISTED = "This password is among the most used passwords in the world. Please choose something more unique."
TOO_SIMPLE_3 = (
    "The password needs to be at least 8 characters long and contain a digit, upper, lower and special characters."
)


@pytest.fixture
def strength(settings):
    """YunoHost's `security.password.user_strength` setting, on the server and mirrored here."""

    def set_level(level: int, *, here: bool = True) -> None:
        with emulator_state.transaction(settings.YUNOHOST_EMULATOR_STATE) as state:
            state.setdefault("settings", {})["user_strength"] = level
        if here:
            settings.YUNOHOST_PASSWORD_STRENGTH = level

    return set_level


def password_errors(response) -> list[str]:
    assert response.status_code == 400, response.content
    body = response.json()
    return body["fields"].get("password") or body["fields"].get("new_password")


# --- The same rules as YunoHost, at every door ------------------------------------------------


def test_a_password_inside_a_listed_line_is_refused_at_sign_up(api, signup_body, mailoutbox):
    response = api.post("/api/user/register", {**signup_body, "password": INSIDE_A_LISTED_LINE})

    assert password_errors(response) == [LISTED]
    assert not User.objects.filter(username="dana").exists()
    assert mailoutbox == []


def test_the_strength_setting_applies_at_sign_up_and_in_the_strength_hint(api, signup_body, strength):
    strength(3)
    response = api.post("/api/user/register", {**signup_body, "password": NO_DIGIT_NO_UPPER})
    assert password_errors(response) == [TOO_SIMPLE_3]

    hint = api.post("/api/user/password-strength", {"password": NO_DIGIT_NO_UPPER}).json()
    assert hint["strong"] is False and TOO_SIMPLE_3 in hint["feedback"]
    assert api.post("/api/user/password-strength", {"password": "Tidal lantern orbit pebble 9"}).json()["strong"]


def test_reset_and_change_apply_the_same_rules(api, auth_client, user, mailoutbox, strength):
    strength(3)
    api.post("/api/user/request-reset", {"username": "alice"})
    token = link_token(mailoutbox[-1])
    reset = api.post("/api/user/confirm-reset", {"token": token, "password": INSIDE_A_LISTED_LINE})
    assert password_errors(reset) == [LISTED]

    change = auth_client.post(
        "/api/user/change-password", {"current_password": PASSWORD, "new_password": NO_DIGIT_NO_UPPER}, format="json"
    )
    assert change.json()["code"] == "password_too_weak"
    assert password_errors(change) == [TOO_SIMPLE_3]


def test_the_sign_up_page_and_the_seeds_reset_page_apply_them_too(web, user, mailoutbox):
    page = web.post(
        "/signup/",
        {"username": "dana", "display_name": "Dana", "email": "dana@example.org", "password": INSIDE_A_LISTED_LINE},
    )
    assert page.status_code == 400 and LISTED in page.content.decode()
    assert not User.objects.filter(username="dana").exists()

    web.post("/password-reset/", {"identifier": "alice"})
    token = link_token(mailoutbox[-1])
    seed = web.post(f"/password_reset?token={token}", {"password": INSIDE_A_LISTED_LINE})
    assert seed.status_code == 400 and LISTED in seed.content.decode()


@pytest.mark.parametrize("backend", ["cli", "api"])
def test_the_emulator_refuses_by_the_same_rules_on_both_backends(backend, request, strength):
    if backend == "api":
        request.getfixturevalue("http_emulator")
    client = get_client()
    with pytest.raises(YunohostPermanent, match="among the most used passwords"):
        client.user_create(username="dana", fullname="Dana", password=INSIDE_A_LISTED_LINE, domain="blahaj.land")
    strength(3, here=False)
    with pytest.raises(YunohostPermanent, match="contain a digit, upper, lower and special"):
        client.user_create(username="dana", fullname="Dana", password=NO_DIGIT_NO_UPPER, domain="blahaj.land")


# --- The rules, read as YunoHost reads them ----------------------------------------------------


def test_the_list_is_searched_for_substrings_as_grep_does(settings, tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("sunshine\nnEMvXyHeqDd5OQxyXYZI\n")
    settings.YUNOHOST_PASSWORD_LIST = str(listed)

    assert password_policy.is_listed("HeqDd5OQ")  # inside a line
    assert not password_policy.is_listed("heqdd5oq")  # grep -F is case-sensitive
    assert password_policy.is_listed("not-there\nsunshine")  # grep -f: each line is a pattern
    assert not password_policy.is_listed("shine-nEMv")  # never across two lines
    assert password_policy.is_listed("rpi")  # SMALL_PWD_LIST, whole words only
    assert not password_policy.is_listed("raspberrypi-extra")


def test_the_gzipped_list_is_read_as_yunohost_ships_it(settings, tmp_path):
    (tmp_path / "most-used.txt.gz").write_bytes(gzip.compress(b"perasperaadastra\n"))
    settings.YUNOHOST_PASSWORD_LIST = str(tmp_path / "most-used.txt")
    assert password_policy.is_listed("peraadastra")


def test_without_the_list_the_other_rules_apply_and_one_warning_says_so(settings, tmp_path, caplog, strength):
    settings.YUNOHOST_PASSWORD_LIST = str(tmp_path / "missing.txt")
    strength(2)
    with caplog.at_level(logging.WARNING):
        assert password_policy.refusal(INSIDE_A_LISTED_LINE) is None
        assert password_policy.refusal("admin") == "password_listed"
        assert password_policy.refusal(NO_DIGIT_NO_UPPER) == "password_too_simple_2"
    warnings = [r.getMessage() for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(warnings) == 1
    assert "only the length and character rules apply" in warnings[0]


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_random_passwords_pass_every_level(settings, level):
    settings.YUNOHOST_PASSWORD_STRENGTH = level
    assert all(password_policy.refusal(password_policy.random_password()) is None for _ in range(200))


# --- When YunoHost still refuses: a link, a new password, the account finished -----------------


@pytest.mark.parametrize("backend", ["cli", "api"])
@pytest.mark.parametrize("change", ["list", "strength"])
def test_a_password_yunohost_refuses_at_creation_gets_a_link_and_the_account_finishes(
    backend, change, request, registered, web, api, mailoutbox, settings, strength, tmp_path
):
    if backend == "api":
        request.getfixturevalue("http_emulator")
    dana, confirmation = registered
    # After the sign-up, the server's rules changed: the service's copy did not follow.
    if change == "list":
        longer = tmp_path / "list.txt"
        longer.write_text(f"x{PASSWORD}x\n")
        with emulator_state.transaction(settings.YUNOHOST_EMULATOR_STATE) as state:
            state["password_list"] = str(longer)
    else:
        strength(3, here=False)
    mailoutbox.clear()

    web.get(link_path(confirmation))  # confirmed: the lane runs `user create`

    dana.refresh_from_db()
    assert dana.status == User.Status.PROVISIONING_FAILED
    failed = Operation.objects.get(kind=Operation.Kind.USER_CREATE, user=dana)
    assert failed.status == Operation.Status.FAILED and failed.attempts == 1
    assert "dana" not in emulator_state.read_state(settings.YUNOHOST_EMULATOR_STATE)["users"]
    notice = StaffNotice.objects.get(kind=StaffNotice.Kind.PROVISIONING_FAILED)
    assert "dana was sent a link to choose another password" in notice.text
    (message,) = mailoutbox
    assert message.to == ["dana@example.org"]
    assert message.subject == "Choose another password for your blahaj.land account"
    assert PASSWORD not in message.body
    mailoutbox.clear()

    new_password = "Tidal-lantern-orbit-pebble-91"
    page = web.post(link_path(message), {"password": new_password})

    assert page.status_code == 302
    dana.refresh_from_db()
    assert dana.status == User.Status.ACTIVE
    on_yunohost = emulator_state.read_state(settings.YUNOHOST_EMULATOR_STATE)["users"]["dana"]
    assert on_yunohost["password_sha256"] == sha256(new_password)
    failed.refresh_from_db()
    assert failed.status == Operation.Status.SUCCEEDED and failed.secret_args == ""
    assert sorted(m.subject for m in mailoutbox) == [
        "Your blahaj.land account is ready",
        "Your blahaj.land password was changed",
    ]
    # The link was single-use: it is gone with the others.
    assert not OneTimeToken.objects.filter(user=dana, purpose=OneTimeToken.Purpose.RESET).exists()
    assert web.post(link_path(message), {"password": STRONG}).status_code == 400
    assert emulator_state.read_state(settings.YUNOHOST_EMULATOR_STATE)["users"]["dana"]["password_sha256"] == sha256(
        new_password
    )


def test_a_later_reset_finishes_the_account_too(registered, web, api, mailoutbox, settings, strength):
    dana, confirmation = registered
    strength(3, here=False)
    web.get(link_path(confirmation))
    dana.refresh_from_db()
    assert dana.status == User.Status.PROVISIONING_FAILED
    mailoutbox.clear()

    # The link expired, say: an ordinary reset request gives a new one, and it works the same.
    api.post("/api/user/request-reset", {"email": "dana@example.org"})
    new_password = "Tidal-lantern-orbit-pebble-91"
    response = api.post("/api/user/confirm-reset", {"token": link_token(mailoutbox[-1]), "password": new_password})

    assert response.status_code == 200, response.content
    dana.refresh_from_db()
    assert dana.status == User.Status.ACTIVE
    on_yunohost = emulator_state.read_state(settings.YUNOHOST_EMULATOR_STATE)["users"]["dana"]
    assert on_yunohost["password_sha256"] == sha256(new_password)


def test_a_failure_that_is_not_the_password_still_waits_for_staff(registered, web, mailoutbox, settings):
    dana, confirmation = registered
    emulator_state.add_fault(
        {"command": "user create", "exit": 1, "stderr": "ERROR Invalid shell"}, settings.YUNOHOST_EMULATOR_STATE
    )
    mailoutbox.clear()
    web.get(link_path(confirmation))

    dana.refresh_from_db()
    assert dana.status == User.Status.PROVISIONING_FAILED
    assert mailoutbox == []
    notice = StaffNotice.objects.get(kind=StaffNotice.Kind.PROVISIONING_FAILED)
    assert "choose another password" not in notice.text
