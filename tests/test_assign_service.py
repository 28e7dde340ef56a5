"""The group assignment service: cascade, visibility, counts, atomicity, undo."""
import pytest
from sqlalchemy import select

from crm.errors import Invalid
from crm.extensions import db
from crm.models import Company, Deal, Person, Project
from crm.records.assign import assign_group, preview, undo_assignment
from crm.records.types import TYPES


@pytest.fixture
def world(make):
    make.enable_groups()
    admin = make.user("admin")
    nord = make.group("Nord", [admin])
    sued = make.group("Süd")
    c1 = make.company("Alpha", tags=["x"])
    c2 = make.company("Beta")
    p1 = make.person("Eins", company=c1)
    p_hidden = make.person("Verborgen", company=c1, group=sued)  # admin is not in Süd
    d1 = make.deal("D1", company=c1)
    pr1 = make.project("P1", company=c2)
    return locals()


def test_cascade_moves_only_fully_visible_and_counts_match(app, make, world):
    w = world
    with make.acting_as(app, w["admin"]) as viewer:
        shown = preview(TYPES["company"], [w["c1"].id, w["c2"].id], viewer, w["nord"].id,
                        ["people", "deals", "projects"])
        result = assign_group(TYPES["company"], [w["c1"].id, w["c2"].id], w["nord"].id, viewer,
                              cascade=["people", "deals"])
        db.session.commit()
    assert shown == {"people": 1, "deals": 1, "projects": 1, "companies": 2}
    assert result["updated"] == {"companies": 2, "people": 1, "deals": 1}
    assert {c.group_id for c in db.session.scalars(select(Company))} == {w["nord"].id}
    assert db.session.get(Person, w["p1"].id).group_id == w["nord"].id
    assert db.session.get(Person, w["p_hidden"].id).group_id == w["sued"].id  # never touched
    assert db.session.get(Deal, w["d1"].id).group_id == w["nord"].id
    assert db.session.get(Project, w["pr1"].id).group_id == 1  # projects were not taken along


def test_normal_user_cannot_assign_to_foreign_group(app, make, world):
    u = make.user("normal", groups=[world["nord"]])
    with make.acting_as(app, u) as viewer, pytest.raises(Invalid):
        assign_group(TYPES["company"], [world["c1"].id], world["sued"].id, viewer)


def test_failure_midway_changes_nothing(app, make, world, monkeypatch):
    w = world
    from crm.records import assign as mod

    calls = {"n": 0}
    real_update = mod.update

    def failing_update(model):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected")
        return real_update(model)

    monkeypatch.setattr(mod, "update", failing_update)
    with make.acting_as(app, w["admin"]) as viewer:
        with pytest.raises(RuntimeError):
            assign_group(TYPES["company"], [w["c1"].id], w["nord"].id, viewer, cascade=["people", "deals"])
        db.session.rollback()
    assert db.session.get(Person, w["p1"].id).group_id == 1
    assert db.session.get(Company, w["c1"].id).group_id == 1


def test_undo_restores_exactly_and_skips_changed(app, make, world):
    w = world
    with make.acting_as(app, w["admin"]) as viewer:
        result = assign_group(TYPES["company"], [w["c1"].id, w["c2"].id], w["nord"].id, viewer,
                              cascade=["people"])
        db.session.commit()
    c2 = db.session.get(Company, w["c2"].id)
    c2.name = "Beta neu"  # changed since: keeps its new group
    db.session.commit()
    from crm.audit.models import AuditEntry

    entry = db.session.get(AuditEntry, result["audit_id"])
    with make.acting_as(app, w["admin"]) as viewer:
        out = undo_assignment(entry, viewer)
        db.session.commit()
    assert out["restored"] == {"companies": 1, "people": 1}
    assert out["skipped"] == {"companies": 1, "people": 0}
    assert db.session.get(Company, w["c1"].id).group_id == 1
    assert db.session.get(Person, w["p1"].id).group_id == 1
    assert db.session.get(Company, w["c2"].id).group_id == w["nord"].id
