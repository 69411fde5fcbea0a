"""When Redis (the cache) is unreachable: saving still works, the API refuses with a 503."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import User
from conftest import committed, login
from testing import free_port


@pytest.fixture
def dead_redis_cache(settings):
    def switch() -> None:
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
            }
        }

    return switch


def test_account_changes_are_saved_while_the_cache_is_down(user, dead_redis_cache, caplog):
    dead_redis_cache()

    with committed():
        services.user_disable(user=user)

    assert User.objects.get(pk=user.pk).status == User.Status.DISABLED
    assert "Could not publish the token cut-off" in caplog.text


def test_authenticated_requests_get_a_503_while_the_cache_is_down(api_client, user, dead_redis_cache):
    access = login(api_client, "alice")["access"]
    dead_redis_cache()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    response = api_client.get("/api/user/me")

    assert response.status_code == 503
    assert response.json() == {
        "error": "The service is briefly unavailable. Please try again shortly.",
        "code": "service_unavailable",
    }
    assert response["Retry-After"] == "30"
