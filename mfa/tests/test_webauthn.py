"""Security keys (WebAuthn) as a second factor: adding one on /account/mfa/ and the admin's set-up,
the page login's and the admin's second step with one, the lockout, removing keys (staff's last
factor stays), the staff action and its audit row, and the API, which stays codes-only.

The browser's part is played by a software key (tests/authenticator.py) posting what the
library's script posts; test_browser_webauthn.py does it with Chromium's virtual authenticator.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import AuditEntry
from blahaj.errors import Forbidden, NotFound
from conftest import PASSWORD, totp_code, totp_device, verified_login
from logins.models import LoginSession
from mfa import devices as mfa
from mfa import services as services_mfa

from .authenticator import SoftKey, b64url

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
ADD_BEGIN, ADD_COMPLETE = "/account/keys/add/begin/", "/account/keys/add/complete/"
KEY_BEGIN, KEY_COMPLETE = "/account/login/key/begin/", "/account/login/key/complete/"


def script_config(page: str) -> dict:
    """The configuration the page hands the library's script (json_script)."""
    found = re.search(r'<script id="otp_webauthn_config" type="application/json">(.*?)</script>', page)
    assert found is not None
    return json.loads(found[1])


def post_json(client: Client, path: str, data=None, **extra):
    return client.post(path, json.dumps(data), content_type="application/json", **extra)


def add_key(client: Client, key: SoftKey) -> WebAuthnCredential:
    """What the library's script does on "Add a security key"."""
    options = client.post(ADD_BEGIN)
    assert options.status_code == 200, options.content
    done = post_json(client, ADD_COMPLETE, key.create(options.json()))
    assert done.status_code == 200, done.content
    return WebAuthnCredential.objects.get(pk=done.json()["id"])


def registered_key(user, client: Client | None = None) -> SoftKey:
    """A key on `user`'s account, added through the pages."""
    client = client or Client()
    client.force_login(user)
    key = SoftKey()
    add_key(client, key)
    return key


def use_key(client: Client, key: SoftKey, begin: str = KEY_BEGIN, complete: str = KEY_COMPLETE, **query):
    options = client.post(begin)
    assert options.status_code == 200, options.content
    suffix = f"?next={query['next']}" if "next" in query else ""
    return post_json(client, complete + suffix, key.get(options.json()))


# --- Adding a key ----------------------------------------------------------------------------


def test_a_member_adds_a_key_on_the_mfa_page_and_it_counts_as_a_second_factor(client, user):
    client.force_login(user)
    page = client.get("/account/mfa/")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="passkey-registration-placeholder"' in body
    # The script's configuration is data (json_script), the scripts are files: no inline code.
    config = script_config(body)
    assert (config["beginRegistrationUrl"], config["completeRegistrationUrl"]) == (ADD_BEGIN, ADD_COMPLETE)
    assert re.findall(r"<script(?![^>]*\b(?:src|type=\"application/json\"))[^>]*>", body) == []
    assert "script-src 'self'" in page["Content-Security-Policy"]

    assert not mfa.has_second_factor(user)
    options = client.post(ADD_BEGIN).json()
    assert options["rp"] == {"id": "localhost", "name": "blahaj.land"}
    assert options["authenticatorSelection"]["residentKey"] == "discouraged"
    key = SoftKey()
    done = post_json(client, ADD_COMPLETE, key.create(options))
    assert done.status_code == 200
    credential = WebAuthnCredential.objects.get(user=user)
    assert (credential.pk, credential.name, credential.confirmed) == (done.json()["id"], "Security key 1", True)
    assert mfa.has_second_factor(user) and not mfa.has_totp(user)
    # The session that added the first factor counts as having passed it.
    assert client.get("/account/").status_code == 200

    listed = client.get("/account/mfa/").content.decode()
    assert "Security key 1" in listed and "<strong>on</strong> with your security keys" in listed
    # The state serves once: a second completion of the same ceremony is refused.
    again = post_json(client, ADD_COMPLETE, key.create(options))
    assert (again.status_code, again.json()["code"]) == (400, "invalid_state")


def test_a_tampered_or_foreign_registration_is_refused(client, user):
    client.force_login(user)
    options = client.post(ADD_BEGIN).json()
    other_site = SoftKey(origin="https://evil.example")
    refused = post_json(client, ADD_COMPLETE, other_site.create(options))
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_key_registration")
    options = client.post(ADD_BEGIN).json()
    assert post_json(client, ADD_COMPLETE, {"id": "x"}).json()["code"] == "invalid_key_registration"
    assert post_json(client, ADD_COMPLETE, None).json()["code"] == "invalid_state"
    assert not WebAuthnCredential.objects.filter(user=user).exists()


def test_adding_a_key_needs_the_login_and_the_second_step_of_an_account_that_has_one(client, user):
    assert client.post(ADD_BEGIN).status_code == 302  # to the login page
    totp_device(user)
    client.force_login(user)  # the password only: the session has not passed the code
    refused = client.post(ADD_BEGIN)
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_required")
    verified_login(client, user)
    assert client.post(ADD_BEGIN).status_code == 200


def test_a_key_needs_a_get_free_post(client, user):
    client.force_login(user)
    assert client.get(ADD_BEGIN).status_code == 405
    assert client.get(KEY_BEGIN).status_code == 405


# --- The page login's second step ---------------------------------------------------------------


def test_the_page_login_takes_a_key_in_place_of_a_code(user):
    key = registered_key(user)
    web = Client()
    first = web.post(LOGIN, {"identifier": "alice", "password": PASSWORD, "next": "/account/sessions/"})
    assert first["Location"].startswith("/account/login/code/")
    page = web.get(first["Location"]).content.decode()
    assert 'id="passkey-verification-placeholder"' in page and "Use your security key" in page
    config = script_config(page)
    assert (config["beginAuthenticationUrl"], config["completeAuthenticationUrl"]) == (KEY_BEGIN, KEY_COMPLETE)
    assert web.get("/account/")["Location"].startswith(LOGIN)  # the password alone signs nobody in

    options = web.post(KEY_BEGIN).json()
    assert [item["id"] for item in options["allowCredentials"]] == [b64url(key.credential_id)]
    done = post_json(web, f"{KEY_COMPLETE}?next=/account/sessions/", key.get(options))
    assert done.status_code == 200 and done.json()["redirect_url"] == "/account/sessions/"
    assert web.get("/account/").status_code == 200
    assert LoginSession.objects.filter(user=user, kind=LoginSession.Kind.PAGE, ended_at__isnull=True).count() == 1
    assert WebAuthnCredential.objects.get(user=user).sign_count == 1
    # The step is spent: a second answer has no half-done login to finish.
    assert web.post(KEY_BEGIN).status_code in (200, 400)


def test_wrong_keys_count_toward_the_lockout_of_the_login(user, other_user, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    registered_key(user)
    bobs = registered_key(other_user)
    web = Client()
    web.post(LOGIN, {"identifier": "alice", "password": PASSWORD})
    answers = []
    for _ in range(3):
        options = web.post(KEY_BEGIN).json()
        answers.append(post_json(web, KEY_COMPLETE, bobs.get(options)))
    assert [answer.status_code for answer in answers] == [400, 400, 429]
    assert answers[0].json()["code"] == "invalid_key" and answers[2]["Retry-After"]
    # Locked out: the step is gone, and so is the password's way in.
    assert web.get("/account/login/code/")["Location"] == LOGIN
    assert web.post(LOGIN, {"identifier": "alice", "password": PASSWORD}).status_code == 429


def test_a_replayed_or_stale_answer_is_refused(user, settings):
    key = registered_key(user)
    web = Client()
    web.post(LOGIN, {"identifier": "alice", "password": PASSWORD})
    options = web.post(KEY_BEGIN).json()
    answer = key.get(options)
    no_state = post_json(Client(), KEY_COMPLETE, answer)
    assert no_state.json()["code"] == "login_expired"
    first_try = post_json(web, KEY_COMPLETE, {**answer, "response": {**answer["response"], "signature": "AAAA"}})
    assert first_try.json()["code"] == "invalid_key"
    # The challenge was spent by the failed try: the right answer to it no longer works.
    assert post_json(web, KEY_COMPLETE, answer).json()["code"] == "invalid_key"
    # A fresh challenge works; then a counter that went back (a cloned key) is refused.
    options = web.post(KEY_BEGIN).json()
    assert post_json(web, KEY_COMPLETE, key.get(options)).status_code == 200
    again = Client()
    again.post(LOGIN, {"identifier": "alice", "password": PASSWORD})
    options = again.post(KEY_BEGIN).json()
    key.sign_count = 0
    assert post_json(again, KEY_COMPLETE, key.get(options)).json()["code"] == "invalid_key"


def test_an_account_without_a_key_gets_no_key_option(client, user):
    totp_device(user)
    client.post(LOGIN, {"identifier": "alice", "password": PASSWORD})
    page = client.get("/account/login/code/").content.decode()
    assert "passkey-verification" not in page
    refused = client.post(KEY_BEGIN)
    assert (refused.status_code, refused.json()["code"]) == (409, "no_security_key")


# --- Removing keys, and the staff's rule -----------------------------------------------------


def test_a_member_removes_a_key(user):
    client = Client()
    registered_key(user, client)
    credential = WebAuthnCredential.objects.get(user=user)
    # A session that has not passed the second step (the password only) may not.
    unverified = Client()
    unverified.force_login(user)
    refused = unverified.post("/account/mfa/", {"action": "key-remove", "key": str(credential.pk)})
    assert refused.status_code == 400 and "Pass your second step first" in refused.content.decode()
    missing = client.post("/account/mfa/", {"action": "key-remove", "key": "999999"})
    assert missing.status_code == 400 and "No such security key." in missing.content.decode()
    assert client.post("/account/mfa/", {"action": "key-remove", "key": str(credential.pk)}).status_code == 302
    assert not mfa.has_second_factor(user)


def test_staff_keep_their_last_factor(make_user):
    carol = make_user("carol", is_staff=True)
    client = Client()
    registered_key(carol, client)  # her first (and only) factor
    only = WebAuthnCredential.objects.get(user=carol)
    with pytest.raises(Forbidden):
        services_mfa.key_remove(user=carol, key_id=only.pk, session_verified=True)
    page = client.get("/account/mfa/").content.decode()
    assert "must keep a second factor" in page and 'value="key-remove"' not in page
    refused = client.post("/account/mfa/", {"action": "key-remove", "key": str(only.pk)})
    assert refused.status_code == 400 and "must keep their second factor" in refused.content.decode()

    second = SoftKey()
    add_key(client, second)
    services_mfa.key_remove(user=carol, key_id=only.pk, session_verified=True)
    assert mfa.has_second_factor(carol)
    with pytest.raises(NotFound):
        services_mfa.key_remove(user=carol, key_id=only.pk, session_verified=True)

    # With a key left, staff may turn the authenticator app off; without one they may not.
    device = totp_device(carol)
    services_mfa.totp_remove(user=carol, code=totp_code(device))
    assert not mfa.has_totp(carol) and mfa.has_second_factor(carol)


def test_staff_remove_a_lost_key_from_the_admin_and_the_audit_log_says_so(admin_client, user):
    registered_key(user)
    credential = WebAuthnCredential.objects.get(user=user)
    listing = admin_client.get("/admin/django_otp_webauthn/webauthncredential/")
    assert listing.status_code == 200 and "Security key 1" in listing.content.decode()
    assert admin_client.get(f"/admin/django_otp_webauthn/webauthncredential/{credential.pk}/delete/").status_code == 403
    done = admin_client.post(
        "/admin/django_otp_webauthn/webauthncredential/",
        {"action": "remove_keys", "_selected_action": [credential.pk]},
    )
    assert done.status_code == 302 and not WebAuthnCredential.objects.filter(user=user).exists()
    row = AuditEntry.objects.get(action="user.mfa.key.remove")
    assert (row.object, row.door, row.result) == ("user:alice", "admin", "ok")


def test_removing_the_second_factor_by_staff_removes_the_keys_too(user):
    registered_key(user)
    totp_device(user)
    services_mfa.second_factor_remove_by_staff(user=user)
    assert not mfa.has_second_factor(user) and not WebAuthnCredential.objects.filter(user=user).exists()


# --- The admin ----------------------------------------------------------------------------------


def test_the_admin_takes_a_key_after_the_password(make_user):
    root = make_user("root", is_staff=True, is_superuser=True)
    key = registered_key(root)
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    first = client.get("/admin/accounts/user/")
    assert first["Location"] == "/admin/mfa/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    page = client.get(first["Location"]).content.decode()
    assert "Use your security key" in page and "/admin/mfa/key/begin/" in page
    done = use_key(client, key, "/admin/mfa/key/begin/", "/admin/mfa/key/complete/", next="/admin/accounts/user/")
    assert done.status_code == 200 and done.json()["redirect_url"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200
    # Once verified, the admin's key step has nothing to do.
    assert client.post("/admin/mfa/key/begin/").json()["code"] == "login_expired"


def test_the_admin_counts_wrong_keys(make_user, other_user, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    root = make_user("root", is_staff=True, is_superuser=True)
    registered_key(root)
    bobs = registered_key(other_user)
    client = Client()
    client.login(username="root", password=PASSWORD)
    statuses = [use_key(client, bobs, "/admin/mfa/key/begin/", "/admin/mfa/key/complete/").status_code]
    statuses.append(use_key(client, bobs, "/admin/mfa/key/begin/", "/admin/mfa/key/complete/").status_code)
    assert statuses == [400, 429]
    assert client.get("/admin/")["Location"].startswith("/admin/mfa/")


def test_staff_set_up_a_key_instead_of_an_app_on_the_admin(make_user):
    make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.login(username="root", password=PASSWORD)
    setup = client.get("/admin/mfa/setup/?next=/admin/")
    assert setup.status_code == 200 and 'id="passkey-registration-placeholder"' in setup.content.decode()
    add_key(client, SoftKey())
    assert client.get("/admin/").status_code == 200


# --- The API stays codes-only --------------------------------------------------------------------


def test_the_api_login_of_an_account_whose_only_factor_is_a_key_offers_no_method(api_client, user):
    registered_key(user)
    answer = api_client.post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json").json()
    assert (answer["mfa_required"], answer["methods"]) == (True, [])
    refused = api_client.post(
        "/api/user/login/mfa", {"mfa_token": answer["mfa_token"], "code": "123456"}, format="json"
    )
    assert refused.status_code == 401
    # With an authenticator app too, the API's second step takes its codes as before.
    device = totp_device(user)
    answer = api_client.post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json").json()
    assert answer["methods"] == ["totp", "recovery_code"]
    tokens = api_client.post(
        "/api/user/login/mfa", {"mfa_token": answer["mfa_token"], "code": totp_code(device)}, format="json"
    )
    assert tokens.status_code == 200 and "access" in tokens.json()
