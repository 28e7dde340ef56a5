"""File attachments (issue 15): storage (local directory and an S3-compatible server), the rules of
the service (size, sniffed type, names, who may upload and delete, audit) and the record page's
"Files" section. Files follow their record: a hidden record's file is 404 like a made-up id - also
for a URL kept from before a group change - and a restricted record shows "Files: hidden"."""
from __future__ import annotations

import io
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.extensions import db
from crm.files.models import Attachment
from crm.files.services import display_name, sniff
from crm.files.storage import LocalStorage, S3Storage, new_key
from tests.api.conftest import build_world
from tests.factories import without_csrf

HTMX = {"HX-Request": "true", "HX-Target": "files"}
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def world(make, client):
    w = build_world(make)
    make.login(client, w.normal)
    return w


def _upload(client, plural, record_id, *files, headers=None):
    data = {"files": [(io.BytesIO(body), name) for name, body in files]}
    return client.post(f"/{plural}/{record_id}/files", data=data, content_type="multipart/form-data",
                        headers=headers or {})


def _files():
    db.session.expire_all()
    return list(db.session.scalars(select(Attachment).order_by(Attachment.id)))


# -- plain rules ------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("Angebot Müller.pdf", "Angebot Müller.pdf"),                 # umlauts and spaces stay
    ("C:\\Users\\x\\Größe.xlsx", "Größe.xlsx"),                   # only the last path part
    ("../../etc/passwd", "passwd"),
    ('a<b>:"c|?*\x00\x1f.txt', "abc.txt"),
    ("  ..  ", None),                                             # nothing left: a neutral name
    ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),                     # long: shortened, extension kept
])
def test_display_names(app, raw, expected):
    with app.test_request_context():
        assert display_name(raw) == (expected or display_name(""))
        assert display_name("") in ("Datei", "file")


@pytest.mark.parametrize("head,mime", [
    (PNG, "image/png"), (PDF, "application/pdf"), (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"GIF89a\x01\x00", "image/gif"), (SVG, "image/svg+xml"), (b"<!DOCTYPE html><html></html>", "text/html"),
    ("Grüße\n".encode(), "text/plain"), (b"\x00\x01\x02\xfe", "application/octet-stream"),
])
def test_type_is_sniffed_from_the_bytes(head, mime):
    assert sniff(head) == mime


# -- the stores -------------------------------------------------------------------------------------

def _roundtrip(store):
    key = new_key()
    store.put(key, io.BytesIO(b"x" * 100_000 + b"end"), "text/plain")
    assert b"".join(store.open(key)) == b"x" * 100_000 + b"end"
    assert key in set(store.keys())
    store.delete(key)
    assert key not in set(store.keys())
    with pytest.raises(ValueError):
        store.put("../escape", io.BytesIO(b"x"), "text/plain")


def test_local_store(tmp_path):
    _roundtrip(LocalStorage(tmp_path / "files"))


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3-compatible HTTP server (``moto[server]``), a real server on a free local port."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _s3(url, bucket="kontor-files"):
    store = S3Storage(bucket, endpoint_url=url, region="eu-central-1", access_key="test", secret_key="test",
                      prefix="files/")
    try:
        store.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    except store.client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return store


def test_s3_store(s3_server):
    _roundtrip(_s3(s3_server))


def test_uploads_and_downloads_through_s3(app, world, client, s3_server):
    app.extensions["kontor_file_storage"] = _s3(s3_server)
    assert _upload(client, "companies", world.c_nord.id, ("Logo.png", PNG)).status_code == 302
    (f,) = _files()
    assert f.storage_key in set(app.extensions["kontor_file_storage"].keys())
    assert client.get(f"/files/{f.id}").data == PNG


# -- the service through the page -------------------------------------------------------------------

def test_upload_several_lists_and_downloads(world, client):
    resp = _upload(client, "companies", world.c_nord.id, ("Angebot Müller.pdf", PDF), ("Logo.png", PNG),
                   headers=HTMX)
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Angebot Müller.pdf" in page and "Logo.png" in page and "Nora Normal" in page
    pdf, png = _files()
    assert (pdf.content_type, pdf.size, pdf.company_id) == ("application/pdf", len(PDF), world.c_nord.id)
    assert png.content_type == "image/png" and png.storage_key not in ("Logo.png",)
    assert [e.action for e in db.session.scalars(select(AuditEntry))].count("file_uploaded") == 2

    down = client.get(f"/files/{pdf.id}")
    assert down.data == PDF
    assert down.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Angebot%20M%C3%BCller.pdf" in down.headers["Content-Disposition"]
    assert down.headers["X-Content-Type-Options"] == "nosniff"
    assert down.headers["Content-Type"] == "application/pdf"
    detail = client.get(f"/companies/{world.c_nord.id}?files=1").get_data(as_text=True)
    assert 'id="files"' in detail and "Angebot Müller.pdf" in detail
    # the page itself loads them after it (htmx), or on ?files=1 without script
    plain = client.get(f"/companies/{world.c_nord.id}").get_data(as_text=True)
    assert "Angebot Müller.pdf" not in plain and f"/companies/{world.c_nord.id}/files" in plain


def test_inline_only_for_images_and_pdf(world, client):
    _upload(client, "companies", world.c_nord.id, ("a.png", PNG), ("b.svg", SVG),
            ("c.html", b"<html><script>x</script>"), ("evil.png", SVG))  # the name says PNG, the bytes say SVG
    png, svg, html, fake = _files()
    assert client.get(f"/files/{png.id}?inline=1").headers["Content-Disposition"].startswith("inline;")
    for f in (svg, html, fake):
        resp = client.get(f"/files/{f.id}?inline=1")
        assert resp.headers["Content-Disposition"].startswith("attachment;"), f.name
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert fake.content_type == "image/svg+xml"
    page = client.get(f"/companies/{png.company_id}?files=1").get_data(as_text=True)
    assert f"/files/{png.id}?inline=1" in page and f"/files/{svg.id}?inline=1" not in page


def test_size_limit_names_it(app, world, client):
    app.config["MAX_UPLOAD_MB"] = 1
    resp = _upload(client, "companies", world.c_nord.id, ("big.bin", b"x" * (1024 * 1024 + 1)), ("ok.txt", b"ok"),
                   headers=HTMX)
    assert resp.status_code == 422
    text = resp.get_data(as_text=True)
    assert "big.bin" in text and "1 MB" in text
    assert [f.name for f in _files()] == ["ok.txt"]  # the other file still arrives
    assert "file_uploaded" in [e.action for e in db.session.scalars(select(AuditEntry))]


def test_hidden_and_restricted_records(make, world, client):
    make.attachment(world.c_sued, "Geheim.pdf", PDF)
    hidden = make.attachment(world.p_sued, "Gustav.pdf", PDF)
    restricted = make.attachment(world.c_sued, "Süd.pdf", PDF)
    missing = client.get("/files/999999")
    assert missing.status_code == 404
    for f in (hidden, restricted):
        resp = client.get(f"/files/{f.id}")
        assert resp.status_code == 404 and without_csrf(resp.data) == without_csrf(missing.data)
        assert client.post(f"/files/{f.id}/delete").status_code == 404
    assert _upload(client, "people", world.p_sued.id, ("x.txt", b"x")).status_code == 404
    assert _upload(client, "companies", world.c_sued.id, ("x.txt", b"x")).status_code == 403
    assert client.get(f"/people/{world.p_sued.id}/files", headers=HTMX).status_code == 404
    page = client.get(f"/companies/{world.c_sued.id}").get_data(as_text=True)
    assert "Dateien" in page and "Süd.pdf" not in page and "Geheim.pdf" not in page
    assert len(_files()) == 3


def test_kept_url_is_404_after_a_group_change(make, world, client):
    f = make.attachment(world.p_nord, "Vertrag.pdf", PDF)
    url = f"/files/{f.id}"
    assert client.get(url).status_code == 200
    world.p_nord.group_id = world.sued.id
    db.session.commit()
    resp = client.get(url)
    assert resp.status_code == 404 and without_csrf(resp.data) == without_csrf(client.get("/files/999999").data)
    assert client.get(f"{url}?inline=1").status_code == 404


def test_delete_rules(make, world, client):
    mine = make.attachment(world.c_nord, "mine.txt", b"mine", world.normal, "text/plain")
    theirs = make.attachment(world.c_nord, "theirs.txt", b"theirs", world.admin, "text/plain")
    app_store = __import__("crm.files.storage", fromlist=["storage"])
    mine_key = mine.storage_key
    assert client.post(f"/files/{theirs.id}/delete").status_code == 403  # a normal user, not the uploader
    resp = client.post(f"/files/{mine.id}/delete", headers=HTMX)
    assert resp.status_code == 200 and "mine.txt" not in resp.get_data(as_text=True)
    assert [f.name for f in _files()] == ["theirs.txt"]
    assert "file_deleted" in [e.action for e in db.session.scalars(select(AuditEntry))]
    with client.application.test_request_context():
        assert mine_key not in set(app_store.storage().keys())  # the bytes went with the commit
    client.post("/logout")
    make.login(client, world.extended)
    assert client.post(f"/files/{theirs.id}/delete").status_code == 302
    assert _files() == []


def test_record_purge_takes_the_files_and_sweep_the_bytes(app, make, world, client):
    from crm.files.services import sweep
    from crm.files.storage import storage

    f = make.attachment(world.c_basis, "weg.txt", b"weg", world.normal, "text/plain")
    key = f.storage_key
    db.session.delete(world.c_basis)  # what the purge does: the rows go by the database cascade
    db.session.commit()
    assert _files() == []
    assert key in set(storage().keys())
    assert sweep() == 0  # stored just now: it could be an upload whose row is not committed yet
    assert key in set(storage().keys())
    # something in the store that is no file of ours (a desktop's metadata, another program's
    # object) stays, and does not stop the sweep
    foreign = Path(app.config["FILE_DIR"]) / key[:2] / ".DS_Store"
    foreign.write_bytes(b"x")
    assert sweep(min_age=timedelta(0)) == 1
    assert key not in set(storage().keys()) and foreign.exists()
