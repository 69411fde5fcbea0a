"""The OpenAPI schema is the truth: schemathesis sends generated requests, valid and invalid,
to every operation under /api/ (in-process, through the WSGI app) and checks each answer
against the schema: no server error, only documented statuses, bodies, headers and content
types, and input that breaks the schema (a string for an integer, a missing field) refused.
Bounded: a few examples per operation, no shrinking; operations added later are covered
as soon as the schema lists them. Half the generated bodies carry a NUL or a lone surrogate in
one of their strings, and half the paths and query strings a NUL (a lone surrogate cannot be
sent there: UTF-8 has no encoding for it): each must be a documented 400, never a 5xx."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis.specs.openapi.checks import positive_data_acceptance

from conftest import staff_access

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def settings_override(settings):
    # Generous limits: the run is about the contract, not about being throttled at once.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: "100000/min" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
    }


# The legacy routes (/login, /create_user, ...) keep the old front end's shapes, HTML
# pages for dead links included; their own tests pin them.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(path_regex="^/api/")

# Hostile characters in generated strings. NUL is on in schemathesis' own alphabet too; a lone
# surrogate never is (it cannot be encoded for the wire), so these hooks put both in.
schema.config.generation.update(allow_x00=True)
NUL = "\x00"
SURROGATE = "\ud800"


def _tainted(value: Any, character: str, *, keys: bool = True) -> Any:
    """`value` with `character` put into its first string value, at any depth; with `keys`,
    into its first key when it holds no string (a path's parameter names stay as they are)."""
    if isinstance(value, str):
        return value + character
    if isinstance(value, list):
        for index, item in enumerate(value):
            changed = _tainted(item, character)
            if changed != item:
                return [*value[:index], changed, *value[index + 1 :]]
    if isinstance(value, dict):
        for key, item in value.items():
            changed = _tainted(item, character)
            if changed != item:
                return {**value, key: changed}
        if value and keys:
            first = next(iter(value))
            return {_tainted(key, character) if key == first else key: item for key, item in value.items()}
    return value


def _half_tainted(value: Any, characters: tuple[str, ...], *, keys: bool = True) -> st.SearchStrategy:
    """`value` as generated half the time, else with one of `characters` in a string."""
    variants = [_tainted(value, character, keys=keys) for character in characters]
    return st.sampled_from([value] * len(variants) + variants)


# flatmap hooks see the plain values, in negative cases too (before_generate_* would get
# negative values still wrapped).
@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy:
    # JSON carries a surrogate as `\ud800` (schemathesis writes bodies with json.dumps).
    return _half_tainted(body, (NUL, SURROGATE))


@schema.hook
def flatmap_query(context: schemathesis.HookContext, query: Any) -> st.SearchStrategy:
    return _half_tainted(query, (NUL,))


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: Any) -> st.SearchStrategy:
    return _half_tainted(path_parameters, (NUL,), keys=False)


# Whose token the generated requests carry: the test sets it (the staff user is a per-test row).
_bearer: dict[str, AbstractBaseUser] = {}
_NO_USER_YET = "no-user-yet"


@schema.auth(refresh_interval=None)
class StaffBearer:
    """Registered as schemathesis' auth, not forced into every call: a negative case that drops
    the Authorization header, or sends a broken one, reaches the server as generated."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        # A fresh token each time: some operations (logout-all, revoke-access) revoke it.
        # Schemathesis also draws the explicit examples while collecting, before any user exists.
        user = _bearer.get("user")
        return staff_access(user) if user is not None else _NO_USER_YET

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        headers = CaseInsensitiveDict(case.headers or {})
        headers["Authorization"] = f"Bearer {data}"
        case.headers = headers


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_api_operation_keeps_to_the_schema(case, settings_override, staff_user, tasks_inline, default_tier):
    _bearer["user"] = staff_user
    if (case.headers or {}).get("Authorization") == f"Bearer {_NO_USER_YET}":
        # An explicit example drawn at collection: the provider's token, now that it can make one.
        case.headers["Authorization"] = f"Bearer {staff_access(staff_user)}"
    # Every check but "schema-valid data is accepted": the schema carries the shape of the
    # rules, not all of them (a strong password, a free username, a live token).
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
