"""A rotated-out refresh token that comes back means two parties hold it: the whole family of
that login (every token carrying its `sid`) dies, other logins of the account live on
(RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14; docs/api.md §1)."""

from __future__ import annotations

import pytest

from conftest import CommittingAPIClient, login
from logins import tokens
from logins.models import LoginSession

REFRESH = "/api/user/refresh"
ME = "/api/user/me"
REFUSED = {"error": "Token is invalid or expired.", "code": "token_not_valid"}


@pytest.fixture(autouse=True)
def _rotation(settings):
    settings.JWT_ROTATE_REFRESH_TOKENS = True


def refresh(token: str):
    return CommittingAPIClient().post(REFRESH, {"refresh": token}, format="json")


def me(access: str):
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME)


def test_a_replayed_rotated_refresh_token_kills_its_whole_family(api_client, user):
    first = login(api_client, "alice")
    second = refresh(first["refresh"]).json()
    third = refresh(second["refresh"]).json()
    elsewhere = login(CommittingAPIClient(), "alice")  # another login of the same account

    replayed = refresh(first["refresh"])

    assert replayed.status_code == 401
    assert replayed.json() == REFUSED
    # The descendants the other party holds are dead: the newest refresh token and the
    # access tokens minted along the way.
    assert refresh(third["refresh"]).json() == REFUSED
    for access in (first["access"], second["access"], third["access"]):
        assert me(access).status_code == 401
    (ended,) = LoginSession.objects.filter(user=user, ended_at__isnull=False)
    spent = tokens.spent_refresh(first["refresh"])
    assert spent is not None and str(ended.public_id) == tokens.session_of(spent)
    # Another login is another family.
    assert me(elsewhere["access"]).status_code == 200
    assert refresh(elsewhere["refresh"]).status_code == 200


def test_a_refresh_token_used_once_works_as_before(api_client, user):
    first = login(api_client, "alice")

    second = refresh(first["refresh"])

    assert second.status_code == 200
    assert me(second.json()["access"]).status_code == 200
    assert not LoginSession.objects.filter(user=user, ended_at__isnull=False).exists()


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"), lambda t: "x" + t])
def test_a_forged_copy_of_a_spent_token_ends_nothing(api_client, user, mangle):
    first = login(api_client, "alice")
    second = refresh(first["refresh"]).json()

    assert refresh(mangle(first["refresh"])).json() == REFUSED

    assert me(second["access"]).status_code == 200
    assert refresh(second["refresh"]).status_code == 200


def test_a_spent_token_of_no_login_session_ends_every_token_of_the_account(api_client, user):
    orphan = tokens.issue_for_user(user)  # as after turning TOTP on: no `sid`
    later = refresh(orphan["refresh"]).json()
    elsewhere = login(api_client, "alice")

    assert refresh(orphan["refresh"]).json() == REFUSED

    assert me(later["access"]).status_code == 401
    assert me(elsewhere["access"]).status_code == 401
