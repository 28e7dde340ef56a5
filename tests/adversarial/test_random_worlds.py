"""Randomized worlds (Hypothesis): random users, roles and memberships, records of all four types
in random groups with random links, notes and tasks, random shared fields, the extension on or
off - each checked against the oracle with the leak test's assertions on every GET route.

Bounded for CI (``KONTOR_ADV_PROFILE=ci``, the default: a handful of worlds); set
``KONTOR_ADV_PROFILE=thorough`` for many more and larger worlds.
"""
from __future__ import annotations

import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .leakcheck import assert_clean, make_ctx, run_all
from .world import (
    BASIS,
    TYPES,
    FieldSpec,
    PrivateTaskSpec,
    RecordSpec,
    UserSpec,
    WorldSpec,
    build,
    reset_database,
)

PROFILE = os.environ.get("KONTOR_ADV_PROFILE", "ci")
LIMITS = {
    "ci": {"examples": 5, "users": 3, "groups": 3, "records": 8},
    "thorough": {"examples": 60, "users": 5, "groups": 4, "records": 16},
}[PROFILE]
_worlds = itertools.count(1)


@st.composite
def worlds(draw) -> WorldSpec:
    groups = tuple(f"G{i}" for i in range(1, draw(st.integers(1, LIMITS["groups"])) + 1))
    group_names = st.sampled_from((BASIS, *groups))
    users = tuple(
        UserSpec(f"u{i}", draw(st.sampled_from(("admin", "extended", "normal"))),
                 frozenset(draw(st.sets(st.sampled_from(groups), max_size=len(groups)))))
        for i in range(draw(st.integers(1, LIMITS["users"])))
    )
    fields = tuple(
        FieldSpec(f"f{i}", draw(st.sampled_from(TYPES)), draw(st.sampled_from(("text", "number", "date", "url"))),
                  frozenset(draw(st.sets(group_names, max_size=2))))
        for i in range(draw(st.integers(0, 4)))
    )
    records: list[RecordSpec] = []
    for i in range(draw(st.integers(1, LIMITS["records"]))):
        rtype = draw(st.sampled_from(TYPES))
        companies = [r.key for r in records if r.type == "company"]
        people = [r.key for r in records if r.type == "person"]
        company = draw(st.sampled_from([None, *companies])) if rtype != "company" else None
        person = draw(st.sampled_from([None, *people])) if rtype in ("deal", "project") else None
        records.append(RecordSpec(f"r{i}", rtype, draw(group_names), company=company, person=person,
                                  notes=draw(st.integers(0, 2)), task=draw(st.booleans()),
                                  common_tag=draw(st.booleans())))
    user_keys = [u.key for u in users]
    private = tuple(
        PrivateTaskSpec(draw(st.sampled_from(user_keys)), draw(st.sampled_from([None, *user_keys])))
        for _ in range(draw(st.integers(0, 2)))
    )
    return WorldSpec(draw(st.booleans()), groups, users, fields, tuple(records), private)


@settings(max_examples=LIMITS["examples"], deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(spec=worlds())
def test_random_world_leaks_nothing(app, spec):
    reset_database()
    world = build(spec)
    ctx = make_ctx(app, world, f"random-{next(_worlds)}", thorough=False)
    run_all(ctx)
    assert_clean(ctx)
