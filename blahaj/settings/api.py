"""The HTTP API: Django REST framework and the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from .environment import DEBUG, env_int, env_str

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
