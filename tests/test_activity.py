"""The home page's activity stream: only what the user fully sees, and "load more" pages that
neither skip nor repeat events - also when many share one timestamp."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select, update

from crm.extensions import db
from crm.history.models import RecordEvent
from crm.home.queries import PAGE, Cursor, activity
from crm.models import Company, Note, Person
from crm.records.assign import assign_group
from crm.records.types import TYPES


def stream(app, make, user, cursor=None, limit=PAGE):
    with make.acting_as(app, user) as viewer:
        return activity(viewer, cursor, limit)


def everything(app, make, user, limit=PAGE):
    seen, cursor, pages = [], None, 0
    while True:
        events, cursor = stream(app, make, user, cursor, limit)
        seen += events
        pages += 1
        assert pages < 100
        if cursor is None:
            return seen


def keys(events):
    return [(e.kind, e.rtype.key if e.rtype else None, e.record_id if e.kind != "note" else e.note.id)
            for e in events]


def test_notes_records_and_assignments_of_what_the_user_sees(app, make):
    make.enable_groups()
    u = make.user()
    nord = make.group("Nord", [u])
    sued = make.group("Süd")
    shown = make.company("Sichtbar GmbH", group=nord)
    hidden = make.company("Geheim AG", group=sued)
    make.field("company", "Status", shared_with=[nord])  # Geheim AG is restricted for u, not full
    make.note(shown, "Anruf bei Sichtbar")
    make.note(hidden, "Anruf bei Geheim")
    admin = make.user("admin")
    with make.acting_as(app, admin) as viewer:
        assign_group(TYPES["company"], [shown.id], nord.id, viewer)  # no change: already there
        other = make.company("Dritte KG")
        assign_group(TYPES["company"], [other.id], nord.id, viewer)
        assign_group(TYPES["company"], [make.company("Vierte KG").id], sued.id, viewer)
        db.session.commit()
    events = everything(app, make, u)
    kinds = {(e.kind, e.name) for e in events}
    assert ("note", "Sichtbar GmbH") in kinds
    # (the assignment of Sichtbar GmbH to Nord, where it already was, moved nothing: not an event)
    assert [e.details["counts"] for e in events if e.kind == "assigned" and e.details["group"] == "Nord"] == [
        {"companies": 1}]
    assert not any(e.kind == "assigned" and e.details["group"] == "Süd" for e in events)
    names = {e.name for e in events if e.name}
    assert "Sichtbar GmbH" in names and "Dritte KG" in names
    assert "Geheim AG" not in names and "Vierte KG" not in names
    assert not any(e.kind == "note" and "Geheim" in e.note.body for e in events)


def test_stream_changes_when_a_record_moves_to_a_group_the_user_is_not_in(app, make):
    make.enable_groups()
    u = make.user()
    nord = make.group("Nord", [u])
    sued = make.group("Süd")
    p = make.person("Wandert", group=nord)
    make.note(p, "Erstkontakt")
    before = everything(app, make, u)
    assert sorted(e.kind for e in before if e.name == "Anna Wandert") == ["created", "note"]
    admin = make.user("admin", groups=[nord])
    with make.acting_as(app, admin) as viewer:
        assert assign_group(TYPES["person"], [p.id], sued.id, viewer)["updated"] == {"people": 1}
        db.session.commit()
    after = everything(app, make, u)
    assert not [e for e in after if e.name == "Anna Wandert"]
    assert not [e for e in after if e.kind == "note"]
    # an admin sees the move in their stream only if a member of the target group
    assert not any(e.kind == "assigned" for e in after)


def test_extension_off_shows_everything_but_no_assignments(app, make):
    u = make.user()
    sued = make.group("Süd")
    c = make.company("Irgendwo", group=sued)
    make.note(c, "Notiz")
    events = everything(app, make, u)
    assert {e.kind for e in events} == {"note", "created"}


def test_pages_neither_skip_nor_repeat_events_with_equal_timestamps(app, make):
    u = make.user()
    companies = [make.company(f"Firma {i:02d}") for i in range(7)]
    for i in range(6):
        make.person(f"Person {i:02d}")
    for i in range(30):
        make.note(companies[i % 7], f"Notiz {i}")
    same = datetime(2026, 5, 4, 3, 2, 1)
    # everything at one and the same moment
    db.session.execute(update(Note).values(created_at=same))
    db.session.execute(update(RecordEvent).where(RecordEvent.company_id.is_not(None)).values(at=same))
    db.session.execute(update(RecordEvent).where(RecordEvent.person_id.is_not(None))
                       .values(at=same - timedelta(hours=1)))
    for pid in db.session.scalars(select(Person.id)):  # people: changed an hour after their creation
        db.session.add(RecordEvent(kind="changed", at=same, person_id=pid))
    db.session.commit()
    all_at_once, cursor = stream(app, make, u, None, 1000)
    assert cursor is None and len(all_at_once) == 30 + 7 + 6 + 6
    for limit in (1, 7, PAGE):
        paged = everything(app, make, u, limit)
        assert keys(paged) == keys(all_at_once), limit
    changed = [e for e in all_at_once if e.kind == "changed"]
    assert len(changed) == 6  # people: updated an hour after creation


def test_load_more_over_http(app, client, make):
    u = make.user()
    c = make.company("Viel los")
    for i in range(PAGE + 5):
        make.note(c, f"Notiz Nummer {i}")
    make.login(client, u)
    page = client.get("/").get_data(as_text=True)
    assert page.count("Notiz Nummer") == PAGE
    link = re.search(r'hx-get="([^"]+)"', page[page.index('id="activity-more"'):]).group(1)
    more = client.get(link.replace("&amp;", "&"), headers={"HX-Request": "true", "HX-Target": "activity-more"})
    body = more.get_data(as_text=True)
    assert "<html" not in body
    shown = set(re.findall(r"Notiz Nummer (\d+)", page)) | set(re.findall(r"Notiz Nummer (\d+)", body))
    assert len(shown) == PAGE + 5  # every note once, in page and "more" together
    assert 'id="activity-more"' not in body or "Firma" in body


def test_cursor_token_roundtrip_and_garbage():
    c = Cursor(datetime(2026, 1, 2, 3, 4, 5, 678), 2, 42)
    assert Cursor.parse(c.token()) == c
    for junk in (None, "", "x", "2026-01-01_a_1", "1_2_3_4", "nope_1_2"):
        assert Cursor.parse(junk) is None


def test_a_run_of_created_records_is_one_line(app, client, make):
    u = make.user(name="Ines Import")
    for i in range(8):
        c = Company(name=f"Import {i}", created_by_id=u.id, updated_by_id=u.id)
        db.session.add(c)
        db.session.flush()
        make.created(c)
    db.session.commit()
    make.login(client, u)
    body = client.get("/").get_data(as_text=True)
    assert body.count("Ines Import hat 8 Firmen angelegt") == 1  # German is the default language
    assert "and 3 more" in body or "und 3 weitere" in body


def test_pages_of_lines_neither_skip_nor_repeat(app, make):
    """The page shows 20 lines; a run of created records is one line, so a page may hold more
    events - the next page still starts right after the last one shown."""

    u = make.user()
    for i in range(30):
        make.company(f"Lauf {i:02d}")  # one run: one line
    c = make.company("Einzeln")
    for i in range(25):
        make.note(c, f"Notiz {i}")
    with make.acting_as(app, u) as viewer:
        all_events, _ = activity(viewer, None, 1000)
        seen = all_pages(viewer, lines=4)
    assert keys(seen) == keys(all_events)


def all_pages(viewer, lines: int) -> list:
    """The events of every page of the stream, following the cursors, as "load more" does."""
    from crm.home.queries import page

    seen, cursor = [], None
    while True:
        shown, cursor = page(viewer, cursor, lines=lines)
        assert len(shown) <= lines
        seen += [e for b in shown for e in b.events]
        if cursor is None:
            return seen


def test_cursors_not_made_by_us_are_ignored():
    for junk in ("2026-01-01T00:00:00_1_99999999999999999999", "2026-01-01T00:00:00_99_1",
                 "2026-01-01T00:00:00+02:00_1_1", "2026-01-01T00:00:00_-1_1"):
        assert Cursor.parse(junk) is None, junk


def test_pages_under_the_group_system_hold_what_the_user_sees_in_order(app, make):
    """Records are read per group the user sees and notes only as many as a page can show: the
    pages together are still exactly the user's whole stream, newest first."""

    make.enable_groups()
    u = make.user()
    nord, sued = make.group("Nord", [u]), make.group("Süd", [u])
    other = make.group("Fremd")
    records = []
    for i in range(12):
        grp = (nord, sued, other)[i % 3]
        records.append(make.company(f"Firma {i:02d}", group=grp))
        records.append(make.person(f"Person {i:02d}", group=grp))
    for i, r in enumerate(records * 2):
        make.note(r, f"Notiz {i}")
    hidden = {(r.KEY, r.id) for r in records if r.group_id == other.id}
    with make.acting_as(app, u) as viewer:
        all_events, _ = activity(viewer, None, 1000)
        seen = all_pages(viewer, lines=3)
    assert keys(seen) == keys(all_events)
    assert [e.cursor for e in seen] == sorted((e.cursor for e in seen), key=lambda c: (c.at, c.source, c.id),
                                              reverse=True)
    # 16 visible records (created), 32 notes on them; nothing of the group "Fremd"
    assert len(seen) == 16 + 32
    assert not [e for e in seen if (e.rtype.key, e.record_id) in hidden]


def test_every_change_of_a_record_is_an_event_of_its_own(app, client, make):
    """Issue 15: the stream keeps every event - creating, each change, a restore - instead of one
    line per record at its last change."""
    from crm.auth.services import issue_token

    boss = make.user("admin", name="Boss")
    h = {"Authorization": f"Bearer {issue_token(boss)}"}
    cid = client.post("/api/v1/companies", headers=h, json={"name": "Oft GmbH"}).get_json()["id"]
    client.patch(f"/api/v1/companies/{cid}", headers=h, json={"website": "https://oft.example"})
    client.patch(f"/api/v1/companies/{cid}", headers=h, json={"background": "Messe 2026"})
    client.delete(f"/api/v1/companies/{cid}", headers=h)
    client.post(f"/api/v1/companies/{cid}/restore", headers=h)
    events = [e for e in everything(app, make, boss) if e.record_id == cid]
    assert [e.kind for e in events] == ["changed", "changed", "changed", "created"]
    assert {e.who for e in events} == {"Boss"}


def test_a_file_added_to_a_record_is_an_event_shown_to_those_who_see_the_record_in_full(app, client, make):
    """Files are records' content: the stream names a file and its record to whoever fully sees
    that record, to nobody else (a restricted viewer neither); deleted, the file leaves the stream."""
    make.enable_groups()
    u = make.user(name="Nora")
    nord, sued = make.group("Nord", [u]), make.group("Süd")
    make.field("company", "Status", shared_with=[nord])  # Süd's companies are restricted for u
    mine, theirs = make.company("Sichtbar GmbH", group=nord), make.company("Geheim AG", group=sued)
    uploaded = make.attachment(mine, "Angebot-2027.pdf", uploader=u)
    make.attachment(theirs, "Geheimvertrag.pdf")
    events = [e for e in everything(app, make, u) if e.kind == "file"]
    assert [(e.name, e.details["file"], e.who) for e in events] == [("Sichtbar GmbH", "Angebot-2027.pdf", "Nora")]
    make.login(client, u)
    page = client.get("/").text
    assert "Angebot-2027.pdf" in page and "Geheimvertrag" not in page
    db.session.delete(uploaded)
    db.session.commit()
    assert not [e for e in everything(app, make, u) if e.kind == "file"]


def test_an_assignment_counts_its_records_in_words(app, client, make):
    """"(1 Firma, 2 Personen)", never "(1 Firmen)"; a type of which nothing moved is not named."""
    make.enable_groups()
    u = make.user()
    nord = make.group("Nord", [u])
    c = make.company("Kontorhaus")
    make.person("Eins", company=c), make.person("Zwei", company=c)
    with make.acting_as(app, make.user("admin")) as viewer:
        assign_group(TYPES["company"], [c.id], nord.id, viewer, cascade=["people", "deals"])
        db.session.commit()
    make.login(client, u)
    for language, words in (("de", "(1 Firma, 2 Personen)"), ("en", "(1 company, 2 people)")):
        page = client.get("/", headers={"Accept-Language": language}).get_data(as_text=True)
        assert words in " ".join(page.split()), language
        assert "0 Deals" not in page and "0 deals" not in page


def test_a_record_changed_several_times_in_a_row_is_counted_once(app, client, make):
    """Found by a new-user trial: "Anna hat 4 Firmen geändert: Hafen Logistik GmbH, Hafen Logistik
    GmbH, …" - one company changed four times."""
    from crm.auth.services import issue_token

    anna = make.user("admin", name="Anna Nord")
    h = {"Authorization": f"Bearer {issue_token(anna)}"}
    hafen = client.post("/api/v1/companies", headers=h, json={"name": "Hafen Logistik GmbH"}).get_json()["id"]
    other = client.post("/api/v1/companies", headers=h, json={"name": "Kai Kontor"}).get_json()["id"]
    for i in range(4):
        client.patch(f"/api/v1/companies/{hafen}", headers=h, json={"background": f"Stand {i}"})
    make.login(client, anna)
    body = client.get("/").get_data(as_text=True)
    assert "Anna Nord hat geändert: Firma" in body and "(4-mal)" in body and "4 Firmen" not in body
    client.patch(f"/api/v1/companies/{other}", headers=h, json={"background": "neu"})
    client.patch(f"/api/v1/companies/{hafen}", headers=h, json={"background": "Stand 5"})
    body = client.get("/").get_data(as_text=True)
    line = body[body.index("Anna Nord hat 2 Firmen geändert"):]
    line = line[:line.index("</li>")]
    assert line.count("Hafen Logistik GmbH") == 1 and line.count("Kai Kontor") == 1
