from django.urls import path

from .views import member, webauthn

app_name = "account"

urlpatterns = [
    path("", member.overview, name="overview"),
    path("login/", member.login_page, name="login"),
    path("login/code/", member.login_code, name="login-code"),
    # Security keys (WebAuthn): the JSON endpoints of the library's browser script.
    path("login/key/begin/", webauthn.login_key_begin, name="login-key-begin"),
    path("login/key/complete/", webauthn.login_key_complete, name="login-key-complete"),
    path("keys/add/begin/", webauthn.key_add_begin, name="key-add-begin"),
    path("keys/add/complete/", webauthn.key_add_complete, name="key-add-complete"),
    path("keys/jsi18n/", webauthn.javascript_catalog, name="key-script-catalog"),
    path("logout/", member.logout_page, name="logout"),
    path("password/", member.password_page, name="password"),
    path("email/", member.email_page, name="email"),
    path("email/confirm/<str:token>/", member.email_confirm, name="email-confirm"),
    path("email/undo/<str:token>/", member.email_undo, name="email-undo"),
    path("sessions/", member.sessions_page, name="sessions"),
    path("sessions/end-all/", member.sessions_end_all, name="sessions-end-all"),
    path("sessions/<str:session_id>/end/", member.session_end, name="session-end"),
]
