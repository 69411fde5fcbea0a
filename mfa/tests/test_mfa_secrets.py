"""The second factor's secrets at rest: TOTP secrets only as Fernet ciphertext (keys derived from
DJANGO_SECRET_KEY and its fallbacks, rotated by `manage.py reencrypt_secrets`), recovery codes only
as SHA-256; the migration that moved django-otp's plain rows (accounts 0016)."""

from __future__ import annotations

import hashlib
import importlib
import logging
from base64 import b32decode, b32encode
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEntry
from blahaj import crypto
from conftest import PASSWORD, totp_code, totp_device
from mfa import devices as mfa
from mfa.models import AuthenticatorApp, RecoveryCode, RecoveryCodes

migration = importlib.import_module("accounts.migrations.0016_mfa_devices_encrypted")
AT_0016 = ("accounts", "0016_mfa_devices_encrypted")


def under_current_key(ciphertext: str) -> bool:
    """Whether DJANGO_SECRET_KEY alone, without the fallbacks, opens the ciphertext."""
    with override_settings(SECRET_KEY_FALLBACKS=[]):
        try:
            crypto.decrypt(ciphertext)
        except crypto.SecretUnreadable:
            return False
    return True


KEY_A = "rotation-test-key-a-0123456789-abcdefghijklmnopqrstuvwxyz"
KEY_B = "rotation-test-key-b-0123456789-abcdefghijklmnopqrstuvwxyz"
KEY_C = "rotation-test-key-c-0123456789-abcdefghijklmnopqrstuvwxyz"


def raw_column(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def code_step(client, username: str, code: str):
    step = client.post("/api/user/login", {"username": username, "password": PASSWORD}, format="json")
    return client.post("/api/user/login/mfa", {"mfa_token": step.json()["mfa_token"], "code": code}, format="json")


def now_code(secret: bytes) -> str:
    return f"{totp(secret):06d}"


# --- At rest ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_holds_neither_the_secret_nor_a_recovery_code(auth_client, user):
    begun = auth_client.post("/api/user/mfa/totp").json()
    secret = b32decode(begun["secret"])
    codes = auth_client.post("/api/user/mfa/totp/confirm", {"code": now_code(secret)}, format="json").json()[
        "recovery_codes"
    ]

    stored = raw_column("SELECT encrypted_secret FROM accounts_authenticatorapp")
    digests = raw_column("SELECT digest FROM accounts_recoverycode")
    everything = " ".join(stored + digests).lower()

    assert len(stored) == 1 and len(digests) == 10
    assert begun["secret"].lower() not in everything and secret.hex() not in everything
    assert crypto.decrypt(stored[0]) == secret.hex()  # a Fernet token of the hex key, nothing else
    for code in codes:
        bare = code.replace("-", "")
        assert len(bare) == 16 and len(b32decode(bare.upper())) == 10  # 80 random bits
        assert code not in everything and bare not in everything
    assert sorted(digests) == sorted(hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes)


@pytest.mark.django_db
def test_a_code_of_the_decrypted_secret_logs_in_once(api_client, user):
    device = totp_device(user)
    code = now_code(device.bin_key)

    first = code_step(api_client, "alice", code)
    replayed = code_step(api_client, "alice", code)

    assert first.status_code == 200 and first.json()["access"]
    assert replayed.status_code == 401 and replayed.json()["code"] == "invalid_code"
    device.refresh_from_db()
    assert device.last_t >= 0 and device.last_used_at is not None


@pytest.mark.django_db
def test_a_recovery_code_works_once_typed_any_way(api_client, user):
    totp_device(user)
    first, second, *_ = mfa.recovery_codes_replace(user)

    used = code_step(api_client, "alice", first)
    again = code_step(api_client, "alice", first.replace("-", ""))
    loosely = code_step(api_client, "alice", " " + second.upper().replace("-", " ") + " ")

    assert used.status_code == 200
    assert again.status_code == 401 and again.json()["code"] == "invalid_code"
    assert loosely.status_code == 200
    spent = RecoveryCode.objects.filter(device__user=user, used_at__isnull=False)
    assert spent.count() == 2 and RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).count() == 8


@pytest.mark.django_db
def test_a_recovery_code_is_spent_by_a_conditional_update(user):
    totp_device(user)
    code = mfa.recovery_codes_replace(user)[0]
    device = RecoveryCodes.objects.get(user=user)
    stale = RecoveryCodes.objects.get(user=user)  # a second request that loaded the set meanwhile

    assert device.verify_token(code) is True
    assert stale.verify_token(code) is False


# --- Key rotation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rotation_keeps_secrets_readable_and_the_command_rewrites_them(user, settings, api_client, caplog):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_A, []
    device = totp_device(user)
    under_a = device.encrypted_secret
    secret = device.bin_key

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_B, [KEY_A]
    assert not under_current_key(under_a)
    assert code_step(api_client, "alice", totp_code(device)).status_code == 200

    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)

    assert "Re-encrypted 1 TOTP secret(s)" in out.getvalue()
    device.refresh_from_db()
    assert device.encrypted_secret != under_a and under_current_key(device.encrypted_secret)
    assert device.bin_key == secret
    row = AuditEntry.objects.get(action="mfa.secrets.reencrypt")
    assert row.actor == "command:reencrypt_secrets" and row.result == "ok" and row.detail == "1 rewritten, 0 unreadable"

    settings.SECRET_KEY_FALLBACKS = []  # the old key dropped
    assert code_step(api_client, "alice", totp_code(device)).status_code == 200


@pytest.mark.django_db
def test_an_unreadable_secret_refuses_codes_without_a_500_and_logs_no_secret(user, settings, api_client, caplog):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_A, []
    device = totp_device(user)
    secret = device.bin_key
    recovery = mfa.recovery_codes_replace(user)[0]
    settings.SECRET_KEY = KEY_C  # rotated without the fallback

    with caplog.at_level(logging.WARNING):
        refused = code_step(api_client, "alice", now_code(secret))

    assert refused.status_code == 401 and refused.json()["code"] == "invalid_code"
    assert f"user id {user.pk} cannot be decrypted" in caplog.text
    for leak in (secret.hex(), b32encode(secret).decode(), device.encrypted_secret):
        assert leak.lower() not in caplog.text.lower()
    assert code_step(api_client, "alice", recovery).status_code == 200  # the way out

    with pytest.raises(CommandError, match="1 TOTP secret"):
        call_command("reencrypt_secrets", stdout=StringIO())
    assert AuditEntry.objects.get(action="mfa.secrets.reencrypt").result == "failed"
    device.refresh_from_db()
    settings.SECRET_KEY = KEY_A
    assert device.bin_key == secret  # left as it was: putting the old key back still helps


@pytest.mark.django_db
def test_an_unreadable_pending_set_up_starts_anew(auth_client, user, settings):
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = KEY_A, []
    first = auth_client.post("/api/user/mfa/totp").json()["secret"]
    settings.SECRET_KEY = KEY_C

    again = auth_client.post("/api/user/mfa/totp")

    assert again.status_code == 200 and again.json()["secret"] != first
    assert AuthenticatorApp.objects.filter(user=user).count() == 1


# --- The admin --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_lists_devices_without_secrets_or_digests(admin_client, staff_user):
    device = totp_device(staff_user)
    codes = mfa.recovery_codes_replace(staff_user)
    digests = list(RecoveryCode.objects.values_list("digest", flat=True))

    apps_page = admin_client.get("/admin/mfa/authenticatorapp/")
    app_page = admin_client.get(f"/admin/mfa/authenticatorapp/{device.pk}/change/")
    codes_page = admin_client.get("/admin/mfa/recoverycodes/")

    assert apps_page.status_code == 200 and b"carol" in apps_page.content
    assert app_page.status_code == 200
    assert codes_page.status_code == 200 and b"carol" in codes_page.content
    assert b'<td class="field-unused">10</td>' in codes_page.content
    page_text = (apps_page.content + app_page.content + codes_page.content).decode().lower()
    for leak in [device.encrypted_secret, device.bin_key.hex(), b32encode(device.bin_key).decode(), *codes, *digests]:
        assert leak.lower() not in page_text
    assert admin_client.get("/admin/mfa/recoverycode/").status_code == 404
    assert admin_client.get("/admin/otp_static/staticdevice/").status_code == 404


# --- The migration from django-otp's plain rows --------------------------------------------------


@pytest.mark.django_db
def test_the_migration_moves_django_otp_devices_and_tokens(user, other_user, api_client):
    old_totp = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True, last_t=123, drift=1)
    pending = TOTPDevice.objects.create(user=other_user, name="Pending", confirmed=False)
    static = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    StaticToken.objects.bulk_create([StaticToken(device=static, token=t) for t in ("abcd2345", "efgh6789")])

    # The models as of that migration (the devices were accounts' then; same tables as mfa's now).
    migration.move_to_own_devices(MigrationExecutor(connection).loader.project_state(AT_0016).apps, None)

    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists() and not StaticToken.objects.exists()
    moved = AuthenticatorApp.objects.get(user=user)
    assert (moved.name, moved.confirmed, moved.last_t, moved.drift) == ("Phone", True, 123, 1)
    assert moved.bin_key.hex() == old_totp.key and old_totp.key not in moved.encrypted_secret
    assert moved.created_at == old_totp.created_at
    waiting = AuthenticatorApp.objects.get(user=other_user)
    assert waiting.confirmed is False and waiting.bin_key.hex() == pending.key
    codes = RecoveryCodes.objects.get(user=user)
    assert codes.confirmed and codes.name == "Recovery codes"
    assert sorted(codes.codes.values_list("digest", flat=True)) == sorted(
        hashlib.sha256(t.encode()).hexdigest() for t in ("abcd2345", "efgh6789")
    )
    assert "abcd2345" not in " ".join(raw_column("SELECT digest FROM accounts_recoverycode"))

    moved.last_t = -1
    moved.save(update_fields=["last_t"])
    assert code_step(api_client, "alice", now_code(bytes.fromhex(old_totp.key))).status_code == 200
    assert code_step(api_client, "alice", "ABCD-2345").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_runs_both_ways(user):
    executor = MigrationExecutor(connection)
    before, after = [("accounts", "0015_user_search_trigram_index")], [("accounts", "0016_mfa_devices_encrypted")]
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        # django-otp's models do not change with ours: the current ones are the old rows' models.
        TOTPDevice.objects.create(user=user, name="Phone", confirmed=True, key="31323334353637383930313233343536373839")
        StaticToken.objects.create(device=StaticDevice.objects.create(user=user, name="Codes"), token="abcd2345")

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new_apps = executor.loader.project_state(after).apps
        moved = new_apps.get_model("accounts", "AuthenticatorApp").objects.get()
        assert crypto.decrypt(moved.encrypted_secret) == "31323334353637383930313233343536373839"
        assert new_apps.get_model("accounts", "RecoveryCode").objects.count() == 1
        assert not new_apps.get_model("otp_totp", "TOTPDevice").objects.exists()

        executor = MigrationExecutor(connection)
        executor.migrate(before)  # back: the app's secret returns to django-otp, the codes cannot
        back = TOTPDevice.objects.get()
        assert back.key == "31323334353637383930313233343536373839" and back.user_id == user.pk
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
