"""The lane's test kit (provisioning/tests/conftest.py) for the fleet's tests: the emulator, its
TLS certificate and a member who just signed up."""

from provisioning.tests.conftest import emulator, signed_up, tls_cert  # noqa: F401 - fixtures
