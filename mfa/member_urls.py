"""The second factor's member pages, under /account/ in the `account` namespace (blahaj/urls.py
puts them there with logins.member_urls)."""

from django.urls import path

from .views import login, webauthn

urlpatterns = [
    path("login/code/", login.login_code, name="login-code"),
    # Security keys (WebAuthn): the JSON endpoints of the library's browser script.
    path("login/key/begin/", webauthn.login_key_begin, name="login-key-begin"),
    path("login/key/complete/", webauthn.login_key_complete, name="login-key-complete"),
    path("keys/add/begin/", webauthn.key_add_begin, name="key-add-begin"),
    path("keys/add/complete/", webauthn.key_add_complete, name="key-add-complete"),
    path("keys/jsi18n/", webauthn.javascript_catalog, name="key-script-catalog"),
]
