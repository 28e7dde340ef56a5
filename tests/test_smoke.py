def test_login_and_home(client, make):
    u = make.user()
    make.login(client, u)
    resp = client.get("/")
    assert resp.status_code == 200
    assert u.name in resp.get_data(as_text=True)


def test_pages_need_login(client):
    resp = client.get("/companies")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
