"""Signing up and in: the user model, passwords, the accounts' and second factor's rules, the
sign-up options and defences, the JWTs."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .environment import DEBUG, SECRET_KEY, SITE_URL, TESTING, env_bool, env_int, env_list, env_str

AUTH_USER_MODEL = "accounts.User"
# The admin's login checks passwords as the API does (YunoHost decides for active members).
AUTHENTICATION_BACKENDS = ["accounts.backends.YunohostPasswordBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "display_name", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "passwords.policy.MaximumLengthValidator"},
    {"NAME": "passwords.policy.CharactersValidator"},
    {"NAME": "passwords.policy.ZxcvbnValidator"},
    # YunoHost's own rules: a password `user create` would refuse is refused here first.
    {"NAME": "yunohost_client.password_policy.YunohostPasswordValidator"},
]
if TESTING and env_bool("BLAHAJ_FAST_HASHER", True):
    # Tests create hundreds of users; the production hasher is measured in bench/.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ACCOUNTS_REGISTRATION_OPEN = env_bool("ACCOUNTS_REGISTRATION_OPEN", True)
ACCOUNTS_REQUIRE_APPROVAL = env_bool("ACCOUNTS_REQUIRE_APPROVAL", False)
# Read by the legacy routes (legacy/views.py): true makes /request_password_reset answer an
# unknown username like a known one, instead of 404 "User not found".
ACCOUNTS_PREVENT_ENUMERATION = env_bool("ACCOUNTS_PREVENT_ENUMERATION", False)
ACCOUNTS_CONFIRM_TOKEN_LIFETIME = env_int("ACCOUNTS_CONFIRM_TOKEN_LIFETIME", 48 * 3600)
ACCOUNTS_RESET_TOKEN_LIFETIME = env_int("ACCOUNTS_RESET_TOKEN_LIFETIME", 2 * 3600)
ACCOUNTS_LOGIN_MAX_FAILURES = env_int("ACCOUNTS_LOGIN_MAX_FAILURES", 5)
# A member's change of address: how long the link to the new address, and then the undo link
# to the old one, work.
ACCOUNTS_EMAIL_CHANGE_LIFETIME = env_int("ACCOUNTS_EMAIL_CHANGE_LIFETIME", 48 * 3600)
# How long an ended login session stays listed in the database before the hourly prune.
ACCOUNTS_SESSION_RETENTION = env_int("ACCOUNTS_SESSION_RETENTION", 30 * 24 * 3600)
# The member pages (/account/) sign in with a Django session; login_required sends here.
LOGIN_URL = "/account/login/"
LOGIN_REDIRECT_URL = "/account/"
ACCOUNTS_LOGIN_FAILURE_WINDOW = env_int("ACCOUNTS_LOGIN_FAILURE_WINDOW", 15 * 60)
ACCOUNTS_LOGIN_LOCKOUT = env_int("ACCOUNTS_LOGIN_LOCKOUT", 15 * 60)
# A member's own deletion (README, "Deleting an account"): seconds between the request and the
# removal, during which a cancel link undoes it; then days a deleted account's username stays reserved.
ACCOUNTS_DELETE_GRACE = env_int("ACCOUNTS_DELETE_GRACE", 7 * 24 * 3600)
ACCOUNTS_USERNAME_QUARANTINE = env_int("ACCOUNTS_USERNAME_QUARANTINE", 90)
# Second factor (mfa/devices.py): every staff account needs TOTP on the admin and the staff
# API routes; `false` only for development. Members may turn TOTP on for themselves.
STAFF_REQUIRE_MFA = env_bool("STAFF_REQUIRE_MFA", True)
# How long the `mfa_token` of a login's second step lives (seconds).
ACCOUNTS_MFA_TOKEN_LIFETIME = env_int("ACCOUNTS_MFA_TOKEN_LIFETIME", 300)
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "blahaj.land")
# django-otp's own per-device delays are off: a wrong code counts against the login lockout
# (ACCOUNTS_LOGIN_*) exactly like a wrong password, one budget for both.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# Security keys and passkeys (WebAuthn, mfa/webauthn.py) as a second factor on the pages and
# the admin. The relying party id is the host credentials are bound to (default: SITE_URL's host;
# changing it later orphans every registered key); the allowed origins are the pages' origins
# (default: SITE_URL's). Our ceremony helper reads these three when it runs.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", "")
WEBAUTHN_RP_NAME = env_str("WEBAUTHN_RP_NAME", "blahaj.land")
WEBAUTHN_ALLOWED_ORIGINS = env_list("WEBAUTHN_ALLOWED_ORIGINS", "")
# django-otp-webauthn's own settings: its system checks read them; its views are not mounted
# (ours count failures against the login lockout), and it never logs anyone in without a password.
_site = urlsplit(SITE_URL)
OTP_WEBAUTHN_RP_ID = WEBAUTHN_RP_ID or _site.hostname or "localhost"
OTP_WEBAUTHN_RP_NAME = WEBAUTHN_RP_NAME
# Its check refuses an origin that is not secure (https, or http://localhost): a plain-HTTP
# development site simply has no security keys (browsers refuse the ceremony there too).
OTP_WEBAUTHN_ALLOWED_ORIGINS = [
    origin
    for origin in (WEBAUTHN_ALLOWED_ORIGINS or [f"{_site.scheme}://{_site.netloc}"])
    if origin.startswith(("https://", "http://localhost"))
] or [f"https://{OTP_WEBAUTHN_RP_ID}"]
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "mfa.webauthn.Helper"
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = ""
# Members may list and create their own referral codes, and invite within their tier's limit.
REFERRALS_USER_CODES = env_bool("REFERRALS_USER_CODES", False)
# Sign-up options (README, "Sign-up options an admin can turn on").
INVITATIONS_TTL = env_int("INVITATIONS_TTL", 14 * 24 * 3600)
ACCOUNTS_TERMS_URL = env_str("ACCOUNTS_TERMS_URL", "")
ACCOUNTS_TERMS_VERSION = env_str("ACCOUNTS_TERMS_VERSION", "1")
STAFF_NOTIFY_EMAILS = [a.strip() for a in env_str("STAFF_NOTIFY_EMAILS", "").split(",") if a.strip()]
STAFF_DIGEST_WINDOW = env_int("STAFF_DIGEST_WINDOW", 300)
# The admin index counts YunoHost operations queued or running for longer than this.
STAFF_LANE_STUCK_AFTER = env_int("STAFF_LANE_STUCK_AFTER", 15 * 60)
# Abuse defences (README, "Abuse defences").
SIGNUP_CHALLENGE = env_str("SIGNUP_CHALLENGE", "altcha")  # altcha | off
if SIGNUP_CHALLENGE not in ("altcha", "off"):
    raise ImproperlyConfigured("SIGNUP_CHALLENGE must be altcha or off.")
SIGNUP_CHALLENGE_API = env_bool("SIGNUP_CHALLENGE_API", False)
SIGNUP_CHALLENGE_HMAC_KEY = env_str("SIGNUP_CHALLENGE_HMAC_KEY")  # empty: derived from SECRET_KEY
# The work: about a second in a browser (half the range on average, SubtleCrypto SHA-256).
SIGNUP_CHALLENGE_MAX_NUMBER = env_int("SIGNUP_CHALLENGE_MAX_NUMBER", 100_000)
SIGNUP_CHALLENGE_LIFETIME = env_int("SIGNUP_CHALLENGE_LIFETIME", 20 * 60)
# Refuse addresses whose domain has no mail server (MX, else A/AAAA). A DNS failure never
# refuses: the account is flagged for staff. Resolvers: "ip" or "ip:port", comma-separated;
# empty: the system's. Off by default in development (DJANGO_DEBUG): a laptop offline or behind
# a DNS sinkhole would see every domain as mail-less.
SIGNUP_CHECK_MX = env_bool("SIGNUP_CHECK_MX", not DEBUG)
SIGNUP_DNS_RESOLVERS = env_list("SIGNUP_DNS_RESOLVERS", "")
SIGNUP_DNS_TIMEOUT = float(env_str("SIGNUP_DNS_TIMEOUT", "2"))

JWT_ACCESS_LIFETIME = env_int("JWT_ACCESS_LIFETIME", 900)
JWT_REFRESH_LIFETIME = env_int("JWT_REFRESH_LIFETIME", 86400)
JWT_ROTATE_REFRESH_TOKENS = env_bool("JWT_ROTATE_REFRESH_TOKENS", False)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_LIFETIME),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_LIFETIME),
    "ROTATE_REFRESH_TOKENS": JWT_ROTATE_REFRESH_TOKENS,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_TOKEN_CLASSES": ("rest_framework_simplejwt.tokens.AccessToken",),
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "LEEWAY": 0,
}
