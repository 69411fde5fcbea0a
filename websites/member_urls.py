from django.urls import path

from . import member_pages

app_name = "websites-member"

urlpatterns = [
    path("", member_pages.website_list, name="list"),
    path("new/", member_pages.website_new, name="new"),
    path("<int:website_id>/", member_pages.website_detail, name="detail"),
    path("<int:website_id>/check/", member_pages.website_check, name="check"),
    path("<int:website_id>/deploy/", member_pages.website_deploy, name="deploy"),
    path("<int:website_id>/sftp-password/", member_pages.website_sftp_password, name="sftp-password"),
    path("<int:website_id>/reset/", member_pages.website_reset, name="reset"),
    path("<int:website_id>/delete/", member_pages.website_delete, name="delete"),
    path("<int:website_id>/webhook-secret/", member_pages.website_webhook_secret, name="webhook-secret"),
]
