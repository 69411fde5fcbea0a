"""The seed's routes at the site's root (docs/api.md §2); `/password_reset` is a page (page_urls)."""

from django.urls import re_path

from . import seed_views

app_name = "seed"

# An optional trailing slash: the front end's calls and a hand-typed URL both arrive.
urlpatterns = [
    re_path(r"^login/?$", seed_views.SeedLoginView.as_view(), name="login"),
    re_path(r"^create_user/?$", seed_views.SeedCreateUserView.as_view(), name="create-user"),
    re_path(r"^request_password_reset/?$", seed_views.SeedRequestResetView.as_view(), name="request-password-reset"),
    re_path(r"^reset_password/?$", seed_views.SeedResetPasswordView.as_view(), name="reset-password"),
]
