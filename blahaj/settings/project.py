"""The Django project: its apps, middleware, URLs, templates, languages and static files."""

from __future__ import annotations

from .environment import BASE_DIR, env_str

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
    "deletion",
    "bounces",
    "logins",
    "passwords",
    "defences",
    "invitations",
    "notices",
    "mfa",
    "selfservice",
    "websites",
    "publishing",
    "staff",
    "legacy",
    "fleet",
    "provisioning",
    "audit",
    "blahaj",
    # The languages: `manage.py messages` (languages/translations.py).
    "languages",
]

MIDDLEWARE = [
    # The request id (X-Request-ID) on every answer, log line and queued task (observability/logs.py).
    "observability.logs.request_context",
    # Prometheus: each answer counted and timed by route template (observability/metrics.py).
    "observability.metrics.middleware",
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
    # The page's language: the switcher's cookie, else Accept-Language, else English (languages/i18n.py).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session passed the admin's second-factor step.
    "django_otp.middleware.OTPMiddleware",
    # A signed-in member who made no choice on this request reads their account's language.
    "languages.i18n.account_language",
    # A member page session whose login session was ended (sessions page, logout-all) ends.
    "logins.middleware.member_session",
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
