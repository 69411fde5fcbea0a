"""The seed's website routes at the site's root (docs/api.md §2)."""

from django.urls import re_path

from . import pages, seed_views

app_name = "websites-seed"

urlpatterns = [
    re_path(r"^create_website/?$", seed_views.SeedCreateWebsiteView.as_view(), name="create-website"),
    re_path(r"^confirm_site/?$", seed_views.SeedConfirmSiteView.as_view(), name="confirm-site"),
    re_path(r"^website_being_made/?$", pages.website_being_made, name="website-being-made"),
]
