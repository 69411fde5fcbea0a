from collections.abc import Sequence

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from blahaj.views import not_found
from observability import health, metrics


def _namespace(name: str, *modules: str) -> tuple[Sequence[URLResolver | URLPattern], str | None, str | None]:
    """One URL namespace (route names `name:...`) served by several apps' url modules, each a
    plain list of routes: e.g. accounts' member pages and mfa's second step under `account:`."""
    return include(([path("", include(module)) for module in modules], name))


urlpatterns = [
    path("admin/", admin.site.urls),
    # Probes (observability/health.py): no login, no throttle.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path(
        "api/user/",
        _namespace("accounts-api", "logins.urls", "accounts.urls", "deletion.urls", "selfservice.urls", "mfa.urls"),
    ),
    path("api/", include("staff.urls")),
    # The abuse defences' staff API and abuse reports: /api/network-blocks/, /api/abuse-reports/, ...
    path("api/", include("defences.urls")),
    path("api/", include("provisioning.urls")),
    # The YunoHost servers: /api/servers/.
    path("api/", include("fleet.urls")),
    path("api/", include("tiers.urls")),
    path("api/", include("invitations.urls")),
    path("api/", include("websites.urls")),
    # A git or ssg site's deploys, and its push webhook: /api/websites/<id>/deploy, /hooks/websites/...
    path("", include("publishing.urls")),
    path("api/", include("audit.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from ?script: no inline script, so
    # the Content-Security-Policy needs no exception for this page.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
        name="docs",
    ),
    # The legacy routes: /login, /create_user, /request_password_reset, /reset_password,
    # /create_website, /confirm_site, /website_being_made.
    path("", include("legacy.urls")),
    # A website's progress page: /websites/<id>/.
    path("", include("websites.page_urls")),
    # A member's websites: /account/websites/, /account/websites/new/, /account/websites/<id>/.
    path("account/websites/", include("websites.member_urls")),
    # The member pages: /account/ (login and logout; the overview, password, email, sessions;
    # the login's second step).
    path("account/", _namespace("account", "logins.member_urls", "selfservice.member_urls", "mfa.member_urls")),
    # The public pages, one namespace (`pages:`) whose routes each app declares: /signup/,
    # /confirm/<token>/, /password-reset/, /password_reset, ... (accounts), /account/mfa/ (mfa),
    # /abuse/ (defences).
    path("", _namespace("pages", "accounts.page_urls", "deletion.page_urls", "mfa.page_urls", "defences.page_urls")),
    # Keep last: anything else under /api/ is a 404 in the API's envelope.
    re_path(r"^api/", not_found),
]
if settings.ANYMAIL.get("WEBHOOK_SECRET"):
    # The ESP's tracking webhooks (bounces and complaints, bounces/services.py), e.g.
    # /anymail/mailgun/tracking/: only with the basic auth anymail checks, never open.
    urlpatterns.insert(0, path("anymail/", include("anymail.urls")))

# Errors no view caught: the envelope on API paths, Django's pages elsewhere.
handler400 = "blahaj.views.bad_request"
handler500 = "blahaj.views.server_error"
