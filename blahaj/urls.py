from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from blahaj.views import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/user/", include("accounts.urls")),
    path("api/", include("accounts.staff_urls")),
    path("api/", include("provisioning.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # The seed's routes: /login, /create_user, /request_password_reset, /reset_password.
    path("", include("accounts.seed_urls")),
    # The public pages: /signup/, /confirm/<token>/, /password-reset/, /password_reset, ...
    path("", include("accounts.page_urls")),
    # Keep last: anything else under /api/ is a 404 in the API's envelope.
    re_path(r"^api/", not_found),
]
