from django.urls import path

from . import pages

app_name = "websites-pages"

urlpatterns = [
    path("websites/<int:website_id>/", pages.website_detail, name="detail"),
    path("websites/<int:website_id>/progress", pages.website_progress, name="progress"),
]
