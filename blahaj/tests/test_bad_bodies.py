"""Bodies the API cannot read are a 400 `invalid_json` in the envelope, never a 500, a 415
or an empty body taken for a real one."""

from __future__ import annotations

import json

import pytest
import requests

from blahaj.parsers import MAX_JSON_DEPTH
from testing import gunicorn

LOGIN = "/api/user/login"
REGISTER = "/api/user/register"


def nested(depth: int) -> str:
    """An object whose `pad` field nests `depth` containers in all."""
    return '{"pad": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("depth", [1_000, 20_000, MAX_JSON_DEPTH + 1])
def test_deeply_nested_json_is_invalid_json(api_client, db, depth):
    response = api_client.post(LOGIN, nested(depth), content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "error": f"The request body nests deeper than {MAX_JSON_DEPTH} levels.",
        "code": "invalid_json",
    }


def test_json_as_deep_as_the_limit_is_read(api_client, db):
    body = json.loads(nested(MAX_JSON_DEPTH))
    body.update(username="nobody", password="wrong-password")

    response = api_client.post(LOGIN, json.dumps(body), content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "username=alice&password=x"),
        ("text/plain", '{"username": "alice", "password": "x"}'),
        ("multipart/form-data; boundary=b", "--b--"),
        ("application/xml", "<login/>"),
    ],
)
def test_a_body_that_is_not_json_is_invalid_json(api_client, db, content_type, body):
    response = api_client.post(REGISTER, body, content_type=content_type)

    assert response.status_code == 400
    assert response.json() == {
        "error": "The request body must be JSON, sent as Content-Type: application/json.",
        "code": "invalid_json",
    }


def test_unparsable_json_is_invalid_json(api_client, db):
    response = api_client.post(REGISTER, '{"username": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"error": "The request body is not valid JSON.", "code": "invalid_json"}


def chunks(data: bytes, size: int = 1000):
    """A body without a length: requests sends a generator with Transfer-Encoding: chunked."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_is_read_and_held_to_the_size_limit():
    login = json.dumps({"username": "nobody", "password": "wrong-password"}).encode()
    huge = json.dumps({"username": "nobody", "password": "x", "pad": "x" * 70_000}).encode()
    headers = {"Content-Type": "application/json"}
    with gunicorn() as url:
        read = requests.post(f"{url}{LOGIN}", data=chunks(login), headers=headers, timeout=10)
        too_big = requests.post(f"{url}{LOGIN}", data=chunks(huge), headers=headers, timeout=10)

    assert read.request.headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in read.request.headers
    assert read.status_code == 401  # the credentials were read (an empty body would be a 400)
    assert read.json()["code"] == "invalid_credentials"
    assert too_big.status_code == 400
    assert too_big.json() == {"error": "The request body is larger than 65536 bytes.", "code": "body_too_large"}
