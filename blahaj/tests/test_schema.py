from __future__ import annotations

import yaml
from openapi_spec_validator import validate


def test_the_schema_is_valid_openapi_3(client, db):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_schema_describes_the_real_shapes(client, db):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    login = schema["paths"]["/api/user/login"]["post"]
    components = schema["components"]["schemas"]

    assert set(login["responses"]) >= {"200", "401", "403", "429"}
    pair = components["TokenPair"]["properties"]
    assert set(pair) == {"access", "access_expires_in", "refresh", "refresh_expires_in"}
    assert set(components["Me"]["properties"]) == {
        "username",
        "display_name",
        "email",
        "discord_username",
        "tier",
        "status",
        "date_joined",
        "email_undeliverable",
        "language",
        "provisioning",
    }


def test_the_seeds_routes_are_listed_as_documented_without_a_trailing_slash(client, db):
    paths = set(yaml.safe_load(client.get("/api/schema/").content)["paths"])

    seed = {"/login", "/create_user", "/request_password_reset", "/reset_password", "/create_website", "/confirm_site"}
    assert seed <= paths
    assert "/hooks/websites/{website_id}/{public_id}" in paths
    assert not {path for path in paths if not path.startswith("/api/") and path.endswith("/")}
    # The API's own routes keep theirs (docs/api.md lists the lists with it).
    assert {"/api/users/", "/api/websites/", "/api/tiers/"} <= paths
    # Both forms answer, as the pattern says.
    assert client.post("/create_user", {}).status_code == client.post("/create_user/", {}).status_code == 401


def test_the_docs_page_needs_no_cdn(client, db):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"cdn.jsdelivr.net" not in response.content


def test_the_schema_generates_without_a_single_warning(tmp_path, db):
    from django.core.management import call_command

    # drf-spectacular raises on any warning or error with --fail-on-warn.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_protected_endpoints_declare_the_bearer_scheme(client, db):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/user/me"]["get"]["security"] == [{"jwtAuth": []}]


def test_every_operation_documents_the_answers_of_the_machinery(client, db):
    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]

    # 400: a NUL or a lone surrogate in the path or query string, on every operation.
    assert set(paths["/api/user/me"]["get"]["responses"]) == {"200", "400", "401", "503"}
    assert "invalid_characters" in paths["/api/user/me"]["get"]["responses"]["400"]["description"]
    assert set(paths["/api/user/register"]["post"]["responses"]) == {"201", "400", "403", "409", "429", "503"}
    assert set(paths["/api/operations/{id}/"]["get"]["responses"]) == {"200", "400", "401", "403", "404", "503"}
    assert "invalid_json" in paths["/api/user/login"]["post"]["responses"]["400"]["description"]
    assert "invalid_characters" in paths["/api/user/login"]["post"]["responses"]["400"]["description"]


def test_request_bodies_carry_their_rules(client, db):
    components = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    register = components["RegisterRequest"]["properties"]

    assert register["username"]["maxLength"] == 30
    assert register["username"]["pattern"] == "^[a-z0-9_.]*[a-z0-9_][a-z0-9_.]*$"
    assert register["display_name"]["maxLength"] == 30
    assert register["password"]["maxLength"] == 126
    assert components["LoginRequest"]["properties"]["username"]["maxLength"] == 254


def test_a_number_where_a_string_belongs_is_refused(api_client, db):
    response = api_client.post("/api/user/login", {"username": 12345, "password": "x" * 12}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"] == {"username": ["Must be a string."]}


def test_strict_serializers_refuse_strings_for_integers_and_booleans():
    from rest_framework import serializers

    from blahaj.serializers import StrictSerializer

    class Body(StrictSerializer):
        count = serializers.IntegerField()
        flag = serializers.BooleanField(required=False)

    assert Body(data={"count": 3, "flag": True}).is_valid()
    refused = Body(data={"count": "3", "flag": "true"})
    assert not refused.is_valid()
    assert refused.errors == {"count": ["Must be a whole number."], "flag": ["Must be true or false."]}
    assert not Body(data={"count": True}).is_valid()  # a boolean is not a number in JSON
