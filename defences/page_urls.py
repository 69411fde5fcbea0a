"""The abuse report's public pages, in the `pages` namespace (blahaj/urls.py puts them there)."""

from django.urls import path

from . import views

urlpatterns = [
    path("abuse/", views.abuse_page, name="abuse"),
    path("abuse/sent/", views.abuse_sent, name="abuse-sent"),
]
