def test_me_answers_the_account(auth_client, user):
    response = auth_client.get("/api/user/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert body["tier"] == "starter"
    assert body["status"] == "active"
