"""Files in the API (issue 15): list, upload (multipart, several at once, all or none), download
(streamed, with the headers of a download), delete. They follow their record: hidden -> 404 like
a made-up id, restricted -> 403 on the record's files and 404 on a file id; every answer is checked
against the OpenAPI document."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from crm.extensions import db
from crm.files.models import Attachment
from tests.test_files import PDF, PNG, SVG


def _multipart(*files):
    return {"data": {"files": [(io.BytesIO(body), name) for name, body in files]},
            "content_type": "multipart/form-data"}


def _count():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Attachment))


def test_upload_list_download_delete(api, world):
    me = api.as_(world.tokens.normal)
    resp = me.post(f"/people/{world.p_nord.id}/files", **_multipart(("Grüße.pdf", PDF), ("Bild.png", PNG)))
    assert resp.status_code == 201
    pdf, png = resp.get_json()["items"]
    assert (pdf["name"], pdf["content_type"], pdf["size"], pdf["inline"]) == ("Grüße.pdf", "application/pdf",
                                                                             len(PDF), True)
    assert pdf["uploaded_by"]["name"] == "Nora Normal" and pdf["record_type"] == "person"
    listed = me.get(f"/people/{world.p_nord.id}/files").get_json()["items"]
    assert {f["id"] for f in listed} == {pdf["id"], png["id"]}

    down = me.get(f"/files/{pdf['id']}")
    assert down.status_code == 200 and down.data == PDF
    assert down.headers["Content-Disposition"].startswith("attachment;")
    assert down.headers["X-Content-Type-Options"] == "nosniff"
    assert me.get(f"/files/{png['id']}?inline=1").headers["Content-Disposition"].startswith("inline;")

    assert me.delete(f"/files/{pdf['id']}").status_code == 204
    assert me.get(f"/files/{pdf['id']}").status_code == 404
    assert _count() == 1


def test_svg_is_never_inline(api, world):
    me = api.as_(world.tokens.normal)
    (svg,) = me.post(f"/deals/{world.d_nord.id}/files", **_multipart(("bild.png", SVG))).get_json()["items"]
    assert svg["content_type"] == "image/svg+xml" and svg["inline"] is False
    resp = me.get(f"/files/{svg['id']}?inline=1")
    assert resp.headers["Content-Disposition"].startswith("attachment;")


def test_all_or_none_and_the_limit(app, api, world):
    app.config["MAX_UPLOAD_MB"] = 1
    me = api.as_(world.tokens.normal)
    resp = me.post(f"/companies/{world.c_nord.id}/files",
                   **_multipart(("ok.txt", b"ok"), ("gross.bin", b"x" * (1024 * 1024 + 1))))
    assert resp.status_code == 422
    assert "1 MB" in resp.get_json()["error"]["message"]
    assert _count() == 0
    with app.test_request_context():
        from crm.files.storage import storage

        assert list(storage().keys()) == []  # the first file's bytes went with the rollback
    assert me.post(f"/companies/{world.c_nord.id}/files", json={"files": []}).status_code == 415
    assert me.post(f"/companies/{world.c_nord.id}/files", **_multipart(("leer.txt", b""))).status_code == 422


def test_hidden_and_restricted(make, api, world):
    me = api.as_(world.tokens.normal)
    on_hidden = make.attachment(world.p_sued, "Gustav.pdf", PDF)
    on_restricted = make.attachment(world.c_sued, "Süd.pdf", PDF)
    missing = me.get("/files/999999")
    assert missing.status_code == 404
    for f in (on_hidden, on_restricted):
        for resp in (me.get(f"/files/{f.id}"), me.delete(f"/files/{f.id}")):
            assert resp.status_code == 404 and resp.get_json() == missing.get_json()
    assert me.get(f"/people/{world.p_sued.id}/files").status_code == 404
    assert me.post(f"/people/{world.p_sued.id}/files", **_multipart(("x.txt", b"x"))).status_code == 404
    assert me.get(f"/companies/{world.c_sued.id}/files").status_code == 403
    assert me.post(f"/companies/{world.c_sued.id}/files", **_multipart(("x.txt", b"x"))).status_code == 403
    assert _count() == 2
    sued = api.as_(world.tokens.sued)
    assert sued.get(f"/files/{on_hidden.id}").data == PDF


def test_delete_is_the_uploaders_or_a_deleters(make, api, world):
    f = make.attachment(world.c_nord, "admin.txt", b"a", world.admin, "text/plain")
    assert api.as_(world.tokens.normal).delete(f"/files/{f.id}").status_code == 403
    assert api.as_(world.tokens.extended).delete(f"/files/{f.id}").status_code == 204
    assert _count() == 0
