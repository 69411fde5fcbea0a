"""The password policy (docs/api.md §6): the validators the settings' AUTH_PASSWORD_VALIDATORS
name, and the strength meter `POST /api/user/password-strength` answers with (policy.py)."""
