from django.urls import re_path

from .views import DeployView, HookView, WebhookSecretView

# An optional slash, as the websites router has it.
urlpatterns = [
    re_path(r"^api/websites/(?P<pk>[0-9]+)/deploy/?$", DeployView.as_view(), name="website-deploy"),
    re_path(r"^api/websites/(?P<pk>[0-9]+)/webhook-secret/?$", WebhookSecretView.as_view(), name="website-webhook"),
    re_path(
        r"^hooks/websites/(?P<website_id>[0-9]+)/(?P<public_id>[A-Za-z0-9_-]{1,64})/?$",
        HookView.as_view(),
        name="website-hook",
    ),
]
