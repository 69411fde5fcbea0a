"""The defences guard the account flows: their tests sign up through them, with the account
tests' clients (accounts/tests/conftest.py)."""

from accounts.tests.conftest import api, rates, signup_body, web  # noqa: F401 - fixtures
