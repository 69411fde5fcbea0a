"""Transport and headers: the proxies, HTTPS, cookies and the Content-Security-Policy."""

from __future__ import annotations

from .environment import DEBUG, SITE_URL, env_bool, env_int, env_str

# The proxies in front of us (observability/client_ip.py): a count (`1`) or addresses and networks
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
