"""Issue 3's leak test and issue 7's GET side: every GET route, as every user of a fixed world
(extension on and off), with the ids of every record, against the oracle of world.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import update

from crm.extensions import db
from crm.records.types import TYPES as APP_TYPES

from . import figures
from .coverage import GET, HTMX_TARGETS, WRITE, covered, rules
from .leakcheck import PARTS, PROBERS, assert_clean, linked, make_ctx, run_all
from .world import MODEL, build, fixed_spec

ROOT = Path(__file__).resolve().parents[2]


def test_every_route_is_covered(app):
    """A route that is in neither coverage table fails here: add it to tests/adversarial/coverage.py
    with the prober (GET) or attacker (writes) that exercises it."""
    missing = sorted(rules(app) - covered())
    stale = sorted(covered() - rules(app))
    assert not missing, f"routes not covered by the adversarial suite: {missing}"
    assert not stale, f"coverage entries for routes that no longer exist: {stale}"
    from .api_probes import API_PROBERS

    assert {p.kind for p in GET.values()} <= set(PROBERS) | set(API_PROBERS)
    from .test_writes import ATTACKERS

    assert {w.kind for w in WRITE.values()} <= set(ATTACKERS)


def _pattern(raw: str) -> str:
    raw = re.sub(r"\{\{.*?\}\}|\{[^}]*\}", "*", raw)
    return raw.lstrip("#")


def test_htmx_targets_are_covered():
    used = set()
    for path in (ROOT / "templates").rglob("*.html"):
        for m in re.finditer(r'hx-target="([^"]+)"', path.read_text()):
            used.add(_pattern(m.group(1)))
    for path in (ROOT / "crm").rglob("*.py"):
        for m in re.finditer(r'targets\(\s*f?"([^"]+)"', path.read_text()):
            used.add(_pattern(m.group(1)))
    used.discard("*")  # a macro parameter: its callers name the target
    used = {u for u in used if not u.startswith(("closest", "this", "next", "previous", "find"))}
    missing = sorted(u for u in used if u not in HTMX_TARGETS)
    assert not missing, f"htmx targets the adversarial suite does not send: {missing}"


@pytest.mark.parametrize("part", list(PARTS))
@pytest.mark.parametrize("enabled", [True, False], ids=["groups-on", "groups-off"])
def test_no_leak_on_any_get_route(app, enabled, part):
    """Every GET rule of the coverage table (split in parts for xdist), every user, every id."""
    world = build(fixed_spec(enabled))
    ctx = make_ctx(app, world, f"fixed-{'on' if enabled else 'off'}", thorough=enabled)
    run_all(ctx, PARTS[part])
    assert_clean(ctx)


#: columns a list can sort by whose values a restricted row must not give away, per type
HIDDEN_SORT_VALUES = {
    "company": {"updated_at": "datetime"},
    "person": {"position": "text", "updated_at": "datetime"},
    "deal": {"value_cents": "int", "stage": "stage", "target_date": "date", "updated_at": "datetime"},
    "project": {"status": "status", "target_date": "date", "updated_at": "datetime"},
}


def _orders(b, world, rtype, visible) -> dict:
    """The order of the rows (record ids) of every sorted list."""
    plural = APP_TYPES[rtype].plural
    out = {}
    for sort in APP_TYPES[rtype].sorts:
        for direction in ("", "desc"):
            resp = b.get(f"/{plural}?sort={sort}&dir={direction}", rule=f"/{plural}")
            body = resp.get_data(as_text=True)
            seen: list[str] = []
            for m in re.finditer(rf'href="/{plural}/(\d+)"', body):
                if m.group(1) not in seen:
                    seen.append(m.group(1))
            assert linked(world, body, visible) == {r.key for r in visible}
            out[(sort, direction)] = seen
    return out


def test_sort_order_ignores_hidden_values(app):
    """Metamorphic: scramble the hidden values of the rows a user sees restricted; the order of
    every sorted list (every key, both directions) must stay exactly the same for that user."""
    from datetime import date, datetime

    world = build(fixed_spec(True))
    ctx = make_ctx(app, world, "sort-order")
    app.config["PAGE_SIZE"] = 50
    cycle = {
        "text": lambda i: f"{'zyxwvu'[i % 6]}pos",
        "datetime": lambda i: datetime(2001 + (7 * i) % 40, 1, 1),
        "int": lambda i: ((13 * i) % 17) * 1000,
        "date": lambda i: date(2001 + (11 * i) % 40, 5, 5),
        "stage": lambda i: ("open", "won", "lost")[i % 3],
        "status": lambda i: ("planned", "active", "on_hold", "done", "cancelled")[i % 5],
    }
    checked = 0
    for b in ctx.browsers:
        for rtype, columns in HIDDEN_SORT_VALUES.items():
            restricted = [r for r in world.records_of(rtype) if world.level(b.user, r) == "restricted"]
            if not restricted:
                continue
            visible = world.visible(b.user, rtype)
            plural = APP_TYPES[rtype].plural

            before = _orders(b, world, rtype, visible)
            model = MODEL[rtype]
            for shift in (1, 5):
                for i, r in enumerate(restricted):
                    values = {c: cycle[kind](i + shift) for c, kind in columns.items()}
                    db.session.execute(update(model).where(model.id == world.record_ids[r.key]).values(**values))
                db.session.commit()
                after = _orders(b, world, rtype, visible)
                assert after == before, f"as {b.name}: hidden values of restricted {plural} change the order"
                checked += len(after)
    figures.add("leak_checks", checked)
    assert checked, "the fixed world has no user with restricted rows"
