"""The account deletion's API routes under /api/user/ (docs/api.md §1b), in the `accounts-api`
namespace beside the accounts' own (blahaj/urls.py)."""

from django.urls import path

from .views import DeleteCancelView, DeleteView

urlpatterns = [
    path("delete", DeleteView.as_view(), name="delete"),
    path("delete/cancel", DeleteCancelView.as_view(), name="delete-cancel"),
]
