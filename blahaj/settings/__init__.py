"""Settings for blahaj accounts, read from the environment.

Every variable is listed, with its default, in `.env.example` and in the README. The
defaults make a fresh checkout run on its own (SQLite, in-process tasks, the YunoHost
emulator, emails on the console); production sets `DJANGO_DEBUG=false` and the rest.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("BLAHAJ_DATA_DIR", BASE_DIR / "data"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value not in ("true", "false"):
        # A typo like "ture" must not silently mean False (or True) for a security switch.
        raise ImproperlyConfigured(f"{name} must be 'true' or 'false', not {raw!r}")
    return value == "true"


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
TESTING = "pytest" in sys.modules or env_bool("BLAHAJ_TESTING", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-7f3a9c"  # noqa: S105 - DEBUG/tests only: production refuses to start without one
# Earlier secret keys, comma-separated, during a rotation (docs/deploy.md, "Rotating the secret
# key"): Django still accepts what they signed (sessions, reset links) and blahaj.crypto still
# decrypts what they encrypted (TOTP secrets, pending passwords) until `reencrypt_secrets` ran.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", "")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin, with the staff's second factor (mfa/admin_site.py).
    "mfa.admin_config.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    # SimpleJWT's refresh tokens and their denylist (its models need this very name here; the
    # logins app names it for people in the admin: logins/apps.py).
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "anymail",
    "django_otp",
    # django-otp's TOTP and static devices kept secrets in plain text; our own models replaced
    # them (mfa/models.py). These two stay installed only for the migration that moved
    # their rows (accounts 0016): nothing else uses their models.
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Security keys (WebAuthn devices), named for people in the admin.
    "mfa.admin_config.WebAuthnConfig",
    "tiers",
    "accounts",
    "logins",
    "defences",
    "invitations",
    "notices",
    "mfa",
    "selfservice",
    "websites",
    "publishing",
    "staff",
    "legacy",
    "provisioning",
    "audit",
    "blahaj",
]

MIDDLEWARE = [
    # The request id (X-Request-ID) on every answer, log line and queued task (blahaj/logs.py).
    "blahaj.logs.request_context",
    # Prometheus: each answer counted and timed by route template (blahaj/metrics.py).
    "blahaj.metrics.middleware",
    "django.middleware.security.SecurityMiddleware",
    # Above WhiteNoise, so static files get the site's CSP and X-Frame-Options too.
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A NUL or a lone surrogate in the path or query string: a 400 before anything reads it.
    "blahaj.middleware.refuse_invalid_characters",
    # Static files (the pages' CSS and script, the API docs' assets) from the app server
    # itself, in development and under gunicorn alike.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "blahaj.middleware.chunked_body",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the switcher's cookie, else Accept-Language, else English (blahaj/i18n.py).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed the admin's second-factor step.
    "django_otp.middleware.OTPMiddleware",
    # A signed-in member who made no choice on this request reads their account's language.
    "blahaj.i18n.account_language",
    # A member page session whose login session was ended (sessions page, logout-all) ends.
    "accounts.middleware.member_session",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The audit log's door: who (read lazily), from where, through which door (audit/recorder.py).
    "audit.middleware.AuditMiddleware",
]

ROOT_URLCONF = "blahaj.urls"
WSGI_APPLICATION = "blahaj.wsgi.application"
ASGI_APPLICATION = "blahaj.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "blahaj.context_processors.signup_options",
            ],
        },
    },
]

# --- Data stores -------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (server, worker) share the file in development: wait for the
    # writer instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis keeps one client per process; Django's own backend builds a new
            # one per call, which costs more than the round trip on the auth fast path.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("BLAHAJ_CACHE_PREFIX", "blahaj"),
        }
    }
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Embedded mode: a cache on disk, which every process (the server and its workers,
    # scripts/manage) shares and a restart keeps: a revoked token stays revoked, a rate limit
    # holds. Nothing is culled before MAX_ENTRIES (a culled revocation would come back to life).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env_str("BLAHAJ_CACHE_DIR", str(DATA_DIR / "cache")),
            "OPTIONS": {"MAX_ENTRIES": env_int("BLAHAJ_CACHE_MAX_ENTRIES", 100_000)},
        }
    }

# --- Celery --------------------------------------------------------------------------------

# Embedded mode never sends a message, but eager tasks still open the broker connection for its
# serializer: name a host, or kombu warns "No hostname was supplied" on every task.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL  # embedded mode: tasks run in-process
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
# The lane's runs go to their server's queue (provisioning/servers.py: "yunohost" for the first
# server, "yunohost.<name>" for the others), named when each is sent; the sweep and the fan-out
# of a batch read no YunoHost and run on the default queue, so no one server's worker holds them.
CELERY_TASK_ROUTES = {"provisioning.tasks.run_operation": {"queue": "yunohost"}}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task a worker took but never acknowledged (the worker died) goes back to the
    # queue after this long; the sweeper covers anything the broker itself lost.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
}
CELERY_BEAT_SCHEDULE = {
    "websites-pull-git-sites": {
        "task": "websites.tasks.pull_git_sites",
        "schedule": float(env_int("WEBSITES_GIT_PULL_INTERVAL", 15 * 60)),
    },
    "websites-recheck-domains": {
        "task": "websites.tasks.recheck_domains",
        "schedule": float(env_int("WEBSITES_RECHECK_INTERVAL", 6 * 3600)),
    },
    "provisioning-sweep": {
        "task": "provisioning.tasks.sweep_operations",
        "schedule": float(env_int("YUNOHOST_SWEEP_INTERVAL", 60)),
    },
    # Ended login sessions, dead email-change links (selfservice, through accounts.hooks) and
    # sent staff notices older than ACCOUNTS_SESSION_RETENTION go.
    "accounts-prune-sessions": {
        "task": "accounts.tasks.prune_sessions",
        "schedule": 3600.0,
    },
    # Staff digest emails (notices/tasks.py, under the name it had in accounts): what a lost
    # scheduled message left behind goes out at the latest now.
    "staff-digest": {
        "task": "accounts.tasks.send_staff_digest",
        "schedule": float(env_int("STAFF_DIGEST_WINDOW", 300)),
    },
    # Accounts whose deletion grace period is over are removed (README, "Deleting an account").
    "accounts-finalize-deletions": {
        "task": "accounts.tasks.finalize_deletions",
        "schedule": float(env_int("ACCOUNTS_DELETE_FINALIZE_INTERVAL", 10 * 60)),
    },
    # The audit log keeps AUDIT_RETENTION_DAYS days; older rows go once a day.
    "audit-prune": {
        "task": "audit.tasks.prune_audit_log",
        "schedule": 24 * 3600.0,
    },
    # The outbox (blahaj/outbox.py): messages no worker took yet are published again; sent ones
    # older than OUTBOX_RETENTION go.
    "outbox-sweep": {
        "task": "blahaj.outbox.sweep",
        "schedule": float(env_int("OUTBOX_SWEEP_INTERVAL", 30)),
    },
    "outbox-prune": {
        "task": "blahaj.outbox.prune",
        "schedule": 3600.0,
    },
}

# The outbox: every task a committed change promises (emails, Discord pings, follow-up jobs).
# All durations are in seconds. A published message that no worker took this long after it was
# due is published again, then after twice as long, and so on up to the max.
OUTBOX_RETRY_AFTER = env_int("OUTBOX_RETRY_AFTER", 60)
OUTBOX_RETRY_AFTER_MAX = env_int("OUTBOX_RETRY_AFTER_MAX", 3600)
# Publications again (after the commit's own) the broker accepted without any worker taking the
# message: then it is failed (staff retry it from the admin). A refused publication does not count.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 20)
OUTBOX_SWEEP_INTERVAL = env_int("OUTBOX_SWEEP_INTERVAL", 30)
OUTBOX_SWEEP_BATCH = env_int("OUTBOX_SWEEP_BATCH", 500)
# How long a sent message is kept (the admin shows it) before the hourly prune.
OUTBOX_RETENTION = env_int("OUTBOX_RETENTION", 7 * 24 * 3600)
# --- Audit log -------------------------------------------------------------------------------

AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)

# --- Auth and accounts ---------------------------------------------------------------------

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
    {"NAME": "accounts.passwords.MaximumLengthValidator"},
    {"NAME": "accounts.passwords.CharactersValidator"},
    {"NAME": "accounts.passwords.ZxcvbnValidator"},
    # YunoHost's own rules: a password `user create` would refuse is refused here first.
    {"NAME": "provisioning.password_policy.YunohostPasswordValidator"},
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

# --- REST framework ------------------------------------------------------------------------

API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["logins.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["blahaj.parsers.JSONObjectParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "blahaj.exception_handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "blahaj.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["blahaj.filters.RefuseUnknownQueryParameters"],
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("THROTTLE_LOGIN", "20/min"),
        "register": env_str("THROTTLE_REGISTER", "5/hour"),
        "email": env_str("THROTTLE_EMAIL", "5/hour"),
        "lookup": env_str("THROTTLE_LOOKUP", "30/min"),
        "invite": env_str("THROTTLE_INVITE", "10/hour"),
        "abuse_report": env_str("THROTTLE_ABUSE_REPORT", "5/hour"),
        # A website's verify-domain (a DNS look-up in the request), per member and per site.
        "verify_domain": env_str("THROTTLE_VERIFY_DOMAIN", "10/min"),
        "verify_domain_site": env_str("THROTTLE_VERIFY_DOMAIN_SITE", "4/min"),
        # A website's reset and sftp-password (each a YunoHost step), per member and per site.
        "website_action": env_str("THROTTLE_WEBSITE_ACTION", "20/hour"),
        "website_action_site": env_str("THROTTLE_WEBSITE_ACTION_SITE", "6/hour"),
    },
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "blahaj.land accounts API",
    "DESCRIPTION": "Accounts, tokens, tiers, websites and the YunoHost operation log of blahaj.land.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["blahaj.schema.without_optional_slash"],
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.models.User.Status",
        "OperationStatusEnum": "provisioning.models.Operation.Status",
        "OperationKindEnum": "provisioning.models.Operation.Kind",
        "WebsiteKindEnum": "websites.models.Website.Kind",
        "WebsiteStatusEnum": "websites.models.Website.Status",
        "AbuseReportStatusEnum": "defences.models.AbuseReport.Status",
        "ServerStateEnum": "provisioning.models.Server.State",
        "ServerBackendEnum": "provisioning.models.Server.Backend",
        "PlaceStateEnum": ["waiting", "running", "done", "failed"],
        # The name it had before other enums of a `state` field came (clients generated from it).
        "StateEnum": ["pending", "used", "cancelled", "expired"],
    },
    # The docs page's assets are served from here, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No link inside each operation's expand button (a control nested in a control, which
    # screen readers and keyboards cannot reach): the docs page passes the WCAG checks.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
}

# --- Email ---------------------------------------------------------------------------------

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH") or None
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "noreply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ANYMAIL = {
    # django-anymail reads the ESP's keys from here, e.g. ANYMAIL_MAILGUN_API_KEY.
    key.removeprefix("ANYMAIL_"): value
    for key, value in os.environ.items()
    if key.startswith("ANYMAIL_")
}

# --- YunoHost ------------------------------------------------------------------------------

YUNOHOST_BACKEND = env_str("YUNOHOST_BACKEND", "cli")
_EMULATOR_BIN = str(BASE_DIR / "provisioning" / "bin" / "yunohost")
YUNOHOST_BIN = env_str("YUNOHOST_BIN", _EMULATOR_BIN if (DEBUG or TESTING) else "yunohost")
YUNOHOST_EMULATOR_STATE = env_str("YUNOHOST_EMULATOR_STATE", str(DATA_DIR / "yunohost-emulator.json"))
YUNOHOST_API_URL = env_str("YUNOHOST_API_URL")
YUNOHOST_API_PASSWORD = env_str("YUNOHOST_API_PASSWORD")
# A private CA's bundle (PEM) for the API's certificate; empty: the system's CAs. Never "no verification".
YUNOHOST_API_CA_BUNDLE = env_str("YUNOHOST_API_CA_BUNDLE")
YUNOHOST_API_CONNECT_TIMEOUT = env_int("YUNOHOST_API_CONNECT_TIMEOUT", 10)
# The YunoHost major version the client talks to: "12" (12.x) or "11" (11.2/11.3).
YUNOHOST_VERSION = env_str("YUNOHOST_VERSION", "12")
YUNOHOST_DOMAIN = env_str("YUNOHOST_DOMAIN", "blahaj.land")
YUNOHOST_TIMEOUT = env_int("YUNOHOST_TIMEOUT", 300)
YUNOHOST_LOCK_TIMEOUT = env_int("YUNOHOST_LOCK_TIMEOUT", 5)
# YunoHost's global lock file, read (cli backend) to know when a command of unknown outcome ended;
# empty: /var/run/moulinette_yunohost.lock, or the emulator's beside its state.
YUNOHOST_LOCK_FILE = env_str("YUNOHOST_LOCK_FILE", "")
YUNOHOST_PORTAL_URL = env_str("YUNOHOST_PORTAL_URL", f"https://{YUNOHOST_DOMAIN}/yunohost/sso/")
# Who decides an active member's password (docs/yunohost.md §9): "ldap", a bind on YunoHost's
# slapd (this service on the YunoHost server); "portal", a login on YunoHost 12's portal API
# (another host); "local", the hash here only (the development and test default: no YunoHost).
# (An empty variable means the default, as in .env.example.)
YUNOHOST_PASSWORD_CHECK = env_str("YUNOHOST_PASSWORD_CHECK") or ("local" if (DEBUG or TESTING) else "ldap")
YUNOHOST_LDAP_URI = env_str("YUNOHOST_LDAP_URI") or "ldap://127.0.0.1:389"
YUNOHOST_PORTAL_API_URL = env_str("YUNOHOST_PORTAL_API_URL") or f"https://{YUNOHOST_DOMAIN}/yunohost/portalapi/"
# Seconds to connect and, again, to hear back; then YunoHost counts as unreachable.
YUNOHOST_PASSWORD_TIMEOUT = env_int("YUNOHOST_PASSWORD_TIMEOUT", 2)
# When YunoHost cannot be asked: "local" (the hash here decides, with a warning) or "refuse" (503).
YUNOHOST_PASSWORD_UNREACHABLE = env_str("YUNOHOST_PASSWORD_UNREACHABLE") or "local"
# fail2ban's yunohost-portal jail bans an address after 20 failed portal logins in 600 s, and every
# portal question comes from this service: past this many failures within this window, YunoHost
# is not asked (unreachable, as above) until the window moved on. Keep the limit under 20.
YUNOHOST_PORTAL_FAIL_LIMIT = env_int("YUNOHOST_PORTAL_FAIL_LIMIT", 15)
YUNOHOST_PORTAL_FAIL_WINDOW = env_int("YUNOHOST_PORTAL_FAIL_WINDOW", 600)
# YunoHost's password policy (provisioning/password_policy.py): its list of common passwords
# (a copy, when this service runs on another host; without it only the rules below apply) and
# the level of its `security.password.user_strength` setting (1 to 4, -1 turns it off).
YUNOHOST_PASSWORD_LIST = env_str("YUNOHOST_PASSWORD_LIST") or (
    str(BASE_DIR / "provisioning" / "emulator" / "most-used-passwords.txt")
    if (DEBUG or TESTING)
    else "/usr/share/yunohost/100000-most-used-passwords-length8plus.txt"
)
YUNOHOST_PASSWORD_STRENGTH = env_int("YUNOHOST_PASSWORD_STRENGTH", 1)
if YUNOHOST_PASSWORD_STRENGTH not in (-1, 1, 2, 3, 4):
    raise ImproperlyConfigured("YUNOHOST_PASSWORD_STRENGTH must be 1, 2, 3, 4 or -1 (no check), as YunoHost's.")
if YUNOHOST_PASSWORD_CHECK not in ("ldap", "portal", "local"):
    raise ImproperlyConfigured("YUNOHOST_PASSWORD_CHECK must be ldap, portal or local.")
if YUNOHOST_PASSWORD_UNREACHABLE not in ("local", "refuse"):
    raise ImproperlyConfigured("YUNOHOST_PASSWORD_UNREACHABLE must be local or refuse.")

# Let's Encrypt through YunoHost (docs/yunohost.md §10.1). Before asking for a certificate the
# lane checks that the name resolves (A/AAAA, WEBSITES_DNS_RESOLVERS) to the server's public
# addresses: YUNOHOST_PUBLIC_IPS (comma-separated), or else what YUNOHOST_DOMAIN resolves to. Off by
# default in development and tests, where no public DNS is reached.
YUNOHOST_CERT_DNS_CHECK = env_bool("YUNOHOST_CERT_DNS_CHECK", not (DEBUG or TESTING))
YUNOHOST_PUBLIC_IPS = env_list("YUNOHOST_PUBLIC_IPS", "")
# Seconds between two Let's Encrypt attempts for one name, after each failed one; then the step
# fails (staff can retry it). Let's Encrypt allows 5 failed validations per name per hour.
YUNOHOST_CERT_RETRY_SCHEDULE = [
    int(value) for value in env_list("YUNOHOST_CERT_RETRY_SCHEDULE", "900,3600,10800,21600,43200")
]
# While the name does not point at the server: the wait before the next DNS check (no attempt is
# spent), growing with the time waited (a quarter of it) up to the max. It never gives up.
YUNOHOST_CERT_DNS_RECHECK = env_int("YUNOHOST_CERT_DNS_RECHECK", 900)
YUNOHOST_CERT_DNS_RECHECK_MAX = env_int("YUNOHOST_CERT_DNS_RECHECK_MAX", 6 * 3600)
if not YUNOHOST_CERT_RETRY_SCHEDULE or any(delay < 720 for delay in YUNOHOST_CERT_RETRY_SCHEDULE):
    raise ImproperlyConfigured(
        "YUNOHOST_CERT_RETRY_SCHEDULE needs at least one delay, each of 720 s or more: Let's Encrypt "
        "allows 5 failed validations per name per hour."
    )

# The lane (provisioning/services.py, provisioning/locks.py): retries, heartbeat and sweeper.
# All durations are in seconds.
# Real tries of one operation before it fails (a busy YunoHost does not count as one).
YUNOHOST_MAX_ATTEMPTS = env_int("YUNOHOST_MAX_ATTEMPTS", 5)
# Wait before retrying a transient failure: this, doubled after each attempt, up to the max.
YUNOHOST_RETRY_BACKOFF = env_int("YUNOHOST_RETRY_BACKOFF", 10)
YUNOHOST_RETRY_BACKOFF_MAX = env_int("YUNOHOST_RETRY_BACKOFF_MAX", 600)
# Wait after YunoHost answered "another operation is running" (its own lock): same doubling.
YUNOHOST_BUSY_BACKOFF = env_int("YUNOHOST_BUSY_BACKOFF", 2)
YUNOHOST_BUSY_BACKOFF_MAX = env_int("YUNOHOST_BUSY_BACKOFF_MAX", 60)
# How long a task waits for the lane (another of our commands running) before re-queueing itself.
YUNOHOST_LANE_WAIT = env_int("YUNOHOST_LANE_WAIT", 10)
# Once it holds the lane, a task goes on with the next runnable operations for this long (0: one).
YUNOHOST_LANE_DRAIN = env_int("YUNOHOST_LANE_DRAIN", 5)
# The lane lock expires this long after YUNOHOST_TIMEOUT, should its holder die mid-command.
YUNOHOST_LANE_LOCK_MARGIN = env_int("YUNOHOST_LANE_LOCK_MARGIN", 30)
# Embedded mode (no REDIS_URL): the lane lock is an flock on this file.
YUNOHOST_LANE_LOCK_FILE = env_str("YUNOHOST_LANE_LOCK_FILE", str(DATA_DIR / "yunohost-lane.lock"))
# A running operation refreshes its heartbeat this often; the sweeper (every
# YUNOHOST_SWEEP_INTERVAL) takes back one whose heartbeat is older than YUNOHOST_HEARTBEAT_STALE.
YUNOHOST_HEARTBEAT_INTERVAL = env_int("YUNOHOST_HEARTBEAT_INTERVAL", 10)
YUNOHOST_HEARTBEAT_STALE = env_int("YUNOHOST_HEARTBEAT_STALE", 60)
# The sweeper re-queues a pending operation due for longer than this (its message was lost),
# at most this many per sweep.
YUNOHOST_SWEEP_GRACE = env_int("YUNOHOST_SWEEP_GRACE", 60)
YUNOHOST_SWEEP_BATCH = env_int("YUNOHOST_SWEEP_BATCH", 500)
# The name of the YunoHost server the lane drives (its `lane:<name>` readiness check).
YUNOHOST_SERVER_NAME = env_str("YUNOHOST_SERVER_NAME") or "main"
# A worker consuming the lane's queue writes a heartbeat this often; /readyz fails the lane when
# none was written for the stale time (provisioning/health.py).
YUNOHOST_WORKER_HEARTBEAT_INTERVAL = env_int("YUNOHOST_WORKER_HEARTBEAT_INTERVAL", 10)
YUNOHOST_WORKER_HEARTBEAT_STALE = env_int("YUNOHOST_WORKER_HEARTBEAT_STALE", 30)
# /readyz asks YunoHost whether it answers at most this often (seconds).
YUNOHOST_PING_INTERVAL = env_int("YUNOHOST_PING_INTERVAL", 30)
if YUNOHOST_HEARTBEAT_STALE <= 2 * YUNOHOST_HEARTBEAT_INTERVAL:
    raise ImproperlyConfigured(
        "YUNOHOST_HEARTBEAT_STALE must be more than twice YUNOHOST_HEARTBEAT_INTERVAL, or the "
        "sweeper would take back operations that are still running."
    )

# --- Health, metrics and logs ----------------------------------------------------------------

# /readyz: each check's timeout, and how long one answer is kept (seconds).
READY_CHECK_TIMEOUT = env_int("READY_CHECK_TIMEOUT", 2)
READY_CACHE_SECONDS = env_int("READY_CACHE_SECONDS", 5)
# /metrics is open to these networks (judged on blahaj.client_ip's client address), or to
# `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1")
METRICS_TOKEN = env_str("METRICS_TOKEN")
for _network in METRICS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_NETWORKS: {_network!r} is not an address or network.") from None
# Probes and scrapes come over plain HTTP from this host: never redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Notifications -------------------------------------------------------------------------

DISCORD_WEBHOOK_URL = env_str("DISCORD_WEBHOOK_URL")
DISCORD_ADMIN_ROLE_ID = env_str("DISCORD_ADMIN_ROLE_ID")

# --- Websites ------------------------------------------------------------------------------

# The hosts a website's git repository may come from.
WEBSITES_GIT_HOSTS = env_list("WEBSITES_GIT_HOSTS", "github.com,gitlab.com,codeberg.org,git.blahaj.land")
# DNS servers for custom domain verification ("ip" or "ip:port"); empty: the system's.
WEBSITES_DNS_RESOLVERS = env_list("WEBSITES_DNS_RESOLVERS", "")
# A verification look-up's whole lifetime (seconds): verify-domain waits for it in the request.
WEBSITES_DNS_TIMEOUT = env_int("WEBSITES_DNS_TIMEOUT", 2)
# At most this many verify-domain look-ups at once, across every server process (through the
# cache); keep it below the number of server workers so that a lookup that hangs never holds
# them all. One look-up per site at a time.
WEBSITES_DNS_CONCURRENCY = env_int("WEBSITES_DNS_CONCURRENCY", 2)
# Labels under YUNOHOST_DOMAIN that no member may take: what a YunoHost host, its mail server and
# this service use (docs/api.md, "Input rules"). A value replaces the whole list; empty: this one.
_RESERVED_NAMES = (
    "www,accounts,portal,webadmin,admin,admins,sso,yunohost,api,backhaj,root,webmaster,postmaster,"
    "hostmaster,abuse,noreply,no-reply,security,support,status,"
    "ns,ns1,ns2,ns3,ns4,ns5,ns6,ns7,ns8,ns9,dns,mx,mail,smtp,imap,pop,pop3,submission,webmail,"
    "dmarc,dkim,spf,mta-sts,autoconfig,autodiscover,xmpp,xmpp-upload,muc,conference,pubsub,"
    "vjud,proxy,upload,ldap,git,static,media,cdn,localhost"
)
WEBSITES_RESERVED_NAMES = env_list("WEBSITES_RESERVED_NAMES", "") or _RESERVED_NAMES.split(",")
# How long a website request waits for YunoHost's `domain list` (seconds); past it the request
# goes on and the lane checks again before `domain add`.
YUNOHOST_REQUEST_TIMEOUT = env_int("YUNOHOST_REQUEST_TIMEOUT", 10)
# How long a website confirmation link works (seconds).
WEBSITES_CONFIRM_TOKEN_LIFETIME = env_int("WEBSITES_CONFIRM_TOKEN_LIFETIME", 2 * 3600)
# What the progress page tells an SFTP site's owner.
WEBSITES_SFTP_HOST = env_str("WEBSITES_SFTP_HOST", "")
WEBSITES_SFTP_PORT = env_int("WEBSITES_SFTP_PORT", 22)
# How often verified custom domains are checked again (seconds).
WEBSITES_RECHECK_INTERVAL = env_int("WEBSITES_RECHECK_INTERVAL", 6 * 3600)
# git and ssg sites: how often they are pulled (seconds), and the clone's limits.
WEBSITES_GIT_PULL_INTERVAL = env_int("WEBSITES_GIT_PULL_INTERVAL", 15 * 60)
WEBSITES_GIT_TIMEOUT = env_int("WEBSITES_GIT_TIMEOUT", 120)
WEBSITES_GIT_MAX_BYTES = env_int("WEBSITES_GIT_MAX_BYTES", 200 * 1024 * 1024)
# Publishing git and ssg sites through their own SFTP login: the server (empty: WEBSITES_SFTP_HOST,
# else YUNOHOST_DOMAIN; never a site's own domain) and, optionally, a known_hosts file that pins
# its keys; without one, the very first publish pins the key it was shown, for every site.
WEBSITES_PUBLISH_SFTP_HOST = env_str("WEBSITES_PUBLISH_SFTP_HOST", "")
WEBSITES_PUBLISH_SFTP_PORT = env_int("WEBSITES_PUBLISH_SFTP_PORT", WEBSITES_SFTP_PORT)
WEBSITES_PUBLISH_KNOWN_HOSTS = env_str("WEBSITES_PUBLISH_KNOWN_HOSTS", "")
WEBSITES_PUBLISH_TIMEOUT = env_int("WEBSITES_PUBLISH_TIMEOUT", 600)
# Static site builds, in a bubblewrap sandbox: its binary, the generator's, and the limits.
WEBSITES_BWRAP = env_str("WEBSITES_BWRAP", "bwrap")
WEBSITES_HUGO = env_str("WEBSITES_HUGO", "")
WEBSITES_BUILD_TIMEOUT = env_int("WEBSITES_BUILD_TIMEOUT", 300)
WEBSITES_BUILD_MEMORY = env_int("WEBSITES_BUILD_MEMORY", 4 * 1024 * 1024 * 1024)
WEBSITES_BUILD_PROCESSES = env_int("WEBSITES_BUILD_PROCESSES", 256)
WEBSITES_BUILD_MAX_BYTES = env_int("WEBSITES_BUILD_MAX_BYTES", 500 * 1024 * 1024)
# Where my_webapp's web roots are (/var/www on YunoHost); empty: that, or beside the emulator's state.
YUNOHOST_WEBROOT_BASE = env_str("YUNOHOST_WEBROOT_BASE", "")

# --- The rest of Django --------------------------------------------------------------------

# Two languages (docs/i18n.md): English, the default and the source text, and French. `code`
# values and field names of the API never change with the language, only its sentences.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # the project's templates/; each app has its own locale/
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# WhiteNoise serves the apps' static files where they are, so collectstatic is optional: set
# STATIC_ROOT only to collect them (e.g. for nginx to serve them instead).
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "static"]  # the pages' and the API docs' own files
STATIC_ROOT = env_str("STATIC_ROOT") or None

# --- Transport and headers -----------------------------------------------------------------

# The proxies in front of us (blahaj/client_ip.py): a count (`1`) or addresses and networks
# (`127.0.0.1,10.0.0.0/8`). Empty: none, the peer's address is the client's.
TRUSTED_PROXIES = env_str("TRUSTED_PROXIES")
if TRUSTED_PROXIES:
    # Only a proxy of ours may say the original request was HTTPS.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SECURE_CONTENT_TYPE_NOSNIFF = True
# The pages post forms to themselves: same-origin keeps the Origin/Referer CSRF checks need,
# and no page sends its address (a reset link's token) to another site.
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # no script of ours reads it: forms carry the token
LANGUAGE_COOKIE_HTTPONLY = True  # the switcher's choice: read by the server only
LANGUAGE_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", SITE_URL.startswith("https://"))
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", SITE_URL.startswith("https://"))
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SITE_URL.startswith("https://") else 0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = [SITE_URL] if SITE_URL.startswith(("http://", "https://")) else []
if not DEBUG and not SECURE_HSTS_PRELOAD:
    # Preloading is a promise to a browser vendor, not a default; its check would warn forever.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Content-Security-Policy (django-csp) on every response: our own origin only, no inline
# script or style. The API docs page gets a nonce for its one inline script (blahaj/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# "text" (the default: what a developer reads) or "json" (one object per line, for a log
# pipeline: blahaj/logs.py). Both carry no request body, header, cookie or path.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
# Celery replaces the root logger's handlers with its own format unless told not to.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "blahaj.logs.JsonFormatter"},
    },
    # The request id, user, route and the lane's operation on every record (blahaj/logs.py).
    "filters": {"context": {"()": "blahaj.logs.ContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's defaults give "django" a handler of its own (every line printed twice, once
        # through the root) and "django.server" one that does not propagate: both go through
        # the root's one handler instead, once, with a timestamp.
        "django": {"handlers": [], "propagate": True},
        # Request bodies never reach a log: passwords travel in them.
        "django.request": {"level": "ERROR"},
        # The dev server's line per request.
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        # asyncssh (the deploys' SFTP uploads) logs every connection and file at INFO.
        "asyncssh": {"level": "WARNING"},
    },
}

# Error reports (blahaj/sentry.py): off unless SENTRY_DSN is set; never personal data.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from blahaj import sentry

    sentry.init(
        SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )
