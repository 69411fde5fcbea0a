"""The API's error envelope in French (docs/i18n.md): the sentence follows the request's language,
the `code` never does."""

from __future__ import annotations

import pytest

FRENCH = {"HTTP_ACCEPT_LANGUAGE": "fr"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "sentence"),
    [({}, "There is nothing at this address."), (FRENCH, "Il n’y a rien à cette adresse.")],
)
def test_an_unknown_api_path_answers_in_the_requests_language(client, header, sentence):
    response = client.get("/api/nothing-here", **header)

    assert response.status_code == 404
    assert response.json() == {"error": sentence, "code": "not_found"}


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_refused_in_french_with_the_same_code(client):
    response = client.post("/api/user/register", "{not json", content_type="application/json", **FRENCH)

    assert response.status_code == 400
    assert response.json() == {"error": "Le corps de la requête n’est pas du JSON valide.", "code": "invalid_json"}
    assert response["Content-Language"] == "fr"
