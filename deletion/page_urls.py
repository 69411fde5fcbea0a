"""The account deletion's pages, in the public pages' `pages` namespace (blahaj/urls.py)."""

from django.urls import path

from . import pages

urlpatterns = [
    path("account/delete/", pages.account_delete, name="account-delete"),
    path("account/delete/cancel/<str:token>/", pages.delete_cancel, name="delete-cancel"),
]
