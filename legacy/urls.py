"""The legacy routes at the site's root (docs/api.md §2); `/password_reset` is a page
(accounts.page_urls) and `/website_being_made` the websites' progress page.

An optional trailing slash: the front end's calls and a hand-typed URL both arrive. The route
names keep their namespaces, `seed` and `websites-seed` (reversed by the emails that link here,
and read by the audit middleware to name the door).
"""

from django.urls import include, path, re_path

from websites import pages

from . import views

account_routes = [
    re_path(r"^login/?$", views.LegacyLoginView.as_view(), name="login"),
    re_path(r"^create_user/?$", views.LegacyCreateUserView.as_view(), name="create-user"),
    re_path(r"^request_password_reset/?$", views.LegacyRequestResetView.as_view(), name="request-password-reset"),
    re_path(r"^reset_password/?$", views.LegacyResetPasswordView.as_view(), name="reset-password"),
]

website_routes = [
    re_path(r"^create_website/?$", views.LegacyCreateWebsiteView.as_view(), name="create-website"),
    re_path(r"^confirm_site/?$", views.LegacyConfirmSiteView.as_view(), name="confirm-site"),
    re_path(r"^website_being_made/?$", pages.website_being_made, name="website-being-made"),
]

urlpatterns = [
    path("", include((account_routes, "seed"))),
    path("", include((website_routes, "websites-seed"))),
]
