"""Search across companies, people, deals and projects, on the full-text index of
:mod:`crm.search.schema` (SQLite FTS5 / PostgreSQL tsvector), behind one function: :func:`search`.

What a viewer can find, per record:

* a record they fully see - by its name, emails, phones, text/select custom field values and
  the names of its files;
* a restricted record - only by what it shows: its display name and the values of the fields
  shared with one of the viewer's groups. A hidden email, phone, field or file name never makes
  it match (that would tell the value); the hit carries name, group and the lock only;
* a hidden record - never.

Every word of the query must be the start of a word of the same text ("ann ku" finds "Anna
Kurz"; "kurz@ex" finds "anna.kurz@example.com"). A query that looks like a phone number also
matches the digits alone, in national or international form ("040 123" finds "+49 40 1234567").

How it works: the full-text index narrows a search to the record type (a word of each doc; for a
viewer in no group, to names and shared fields). The index holds no group (so that moving records
leaves it alone, issue 17), so each matching doc is joined to its record and tested with the
predicates of :mod:`crm.visibility` (:func:`_may_match`), in SQL; the first ``CANDIDATES`` docs
that pass, newest first, are a type's candidates. The limit comes after the rule: docs of records
the viewer may not match take no candidate's place, so what a search answers never depends on
them (only how long it takes: a word that matches many docs of other groups' records makes the
index hand over more docs before ``CANDIDATES`` of them pass. SQLite reads the matches newest
first and stops there - a viewer who may match none of them waits for all to be read;
PostgreSQL's planner either tests every match of the type or, for a viewer who sees few records,
starts from those records and looks up their docs, then keeps the newest. A viewer who sees few
of many groups (:func:`_sparse`) waits for all matches on either database: theirs are read once,
for the newest and the best names alike - the same hits either way, so that what a search answers
does not depend on how many groups there are. bench/NOTES.md has the figures.)

Order within a type (:func:`_ranker`, the same for the results page, the live search and the API):
a name equal to the query (its words as the index normalises them) first, then names starting
with the query's words in order, then other matching names - each the fewer words and the
shorter first - then the other texts, newest first. So that the best names are among the
candidates however many newer records match, each type also takes the ``CANDIDATES`` shortest
matching names the viewer may match (same rule, before the limit; a name equal to the query is
as short as a matching name gets). PostgreSQL reads every matching name for them; SQLite only
the newest ``NAME_POOL`` (the index hands them over newest first): beyond that many matching
names of a type (a query of one or two letters, a very common first name) the best of the
newest ``NAME_POOL`` come first, and an older name equal to the query may be missed.
"""
from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import aliased

from ..extensions import db
from ..groups.models import Group
from ..records.types import TYPES, RecordType, display_name_column
from ..visibility import Viewer, fully_visible_to, is_full_column, restricted_rows, unscoped, visible_to
from .models import SearchDoc
from .schema import WORD, index_words

#: docs per record type that a search takes, at most: the newest ones the viewer may match
CANDIDATES = 200
#: ... and per hit asked for (a record has a few docs: name, e-mail, phone, fields): the live
#: search under the search box (5 hits) takes 20, so it stops reading a common word's matches
#: ten times sooner than the results page
CANDIDATES_PER_HIT = 4
#: words of a query that are used, at most
MAX_WORDS = 8
#: SQLite: the name docs per record type among which the best-matching names are picked, at most
#: (the newest ones the viewer may match; PostgreSQL reads every matching name, see ``_arm``)
NAME_POOL = 500
#: a viewer whose groups are at most this share of all groups sees few records of a type: their
#: search reads the type's matches once (:func:`_arm`, ``sparse``). Judged by groups, not records -
#: how many records the others' groups hold must not decide anything here: a viewer in 1 of 30
#: groups that holds most records reads every match of a common word once where it could have
#: stopped after the newest (the cost measured for a viewer who sees all: 205 -> 280-310 ms on
#: PostgreSQL at 1M people, bench/NOTES.md)
SPARSE_SHARE = 0.05

_PHONE = re.compile(r"\+?[\d\s()/.\-]+")
_fts = table("search_fts", column("rowid", Integer))


@dataclass(frozen=True)
class Hit:
    rtype: RecordType
    id: int
    name: str
    group: str
    full: bool
    #: the email, phone, field value or file name that matched, when it was not the name (only
    #: ever a text the viewer may see on this record)
    matched: str | None = None
    #: what ``matched`` is: the doc kind of crm.search.schema ("email", "phone", "field", "file")
    matched_kind: str | None = None


@dataclass(frozen=True)
class Query:
    """A query taken apart: its words (as typed, accents and case still there) and, if it looks
    like a phone number, the digit strings it may start with."""

    words: tuple[str, ...]
    numbers: tuple[str, ...] = ()
    #: the words as the index holds them (PostgreSQL only, see ``_normalise``)
    normalised: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.words or self.numbers)


def parse(q: str) -> Query:
    q = unicodedata.normalize("NFC", q or "")
    words = tuple(WORD.findall(q))[:MAX_WORDS]
    numbers: tuple[str, ...] = ()
    if _PHONE.fullmatch(q.strip()):
        digits = re.sub(r"\D", "", q)
        if len(digits) >= 3:
            numbers = tuple(dict.fromkeys(f for f in _phone_forms(digits) if len(f) >= 3))
        if numbers and len(words) > 1 and q.strip()[0] in "+0(":
            # "+49 40 123", "040 123": a phone number - its digits alone say it (a phone's digits
            # are indexed as one word); the short numbers would make the index read long lists
            words = ()
    return Query(words, numbers)


def _phone_forms(digits: str) -> list[str]:
    """The same number written internationally (49…), nationally (0…) or with 00."""
    forms = [digits]
    if digits.startswith("00"):
        forms.append(digits[2:])
        digits = digits[2:]
    if digits.startswith("49"):
        forms.append("0" + digits[2:])
    elif digits.startswith("0"):
        forms.append("49" + digits[1:])
    return forms


# ---------------------------------------------------------------------------------------------
# What a viewer may match, per record type
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """For one record type: the groups whose docs match in full, and - for restricted records -
    whether names match and which shared fields."""

    key: str
    all_groups: bool
    group_ids: tuple[int, ...]
    names: bool
    field_ids: tuple[int, ...]


def scope(rtype: RecordType, viewer: Viewer) -> Scope:
    if not viewer.groups_enabled:
        return Scope(rtype.key, True, (), False, ())
    shared = tuple(sorted(viewer.shared_field_ids(rtype.key)))
    return Scope(rtype.key, False, tuple(sorted(viewer.group_ids)), bool(shared), shared)


def _allowed(sc: Scope) -> list[str]:
    """The index words (see ``crm.search.schema``) of the docs this viewer may match, any one is
    enough: the docs of the record type - or, for a viewer in no group, only the names and shared
    fields (all a restricted record shows). The index holds no group: which records the viewer
    sees is tested against the records, in SQL (:func:`_may_match`)."""
    if sc.all_groups or sc.group_ids:
        return [f"x{sc.key}"]
    return ([f"x{sc.key}n"] if sc.names else []) + [f"f{f}" for f in sc.field_ids]


# ---------------------------------------------------------------------------------------------
# The two back ends: the full-text condition of a record type's docs. The text of the full-text
# query is a bound parameter, so the statement is the same for every query.
# ---------------------------------------------------------------------------------------------

def _fts5_match(query: Query, sc: Scope) -> str:
    def phrase(word: str) -> str:
        return '"' + word.replace('"', '""') + '"*'

    alternatives = []
    if query.words:
        alternatives.append("(" + " AND ".join(phrase(w) for w in query.words) + ")")
    alternatives += [phrase(n) for n in query.numbers]
    return f"body : ({' OR '.join(alternatives)}) AND meta : ({' OR '.join(_allowed(sc))})"


def _pg_prefix(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*"


def _pg_match(query: Query, sc: Scope) -> str | None:
    alternatives = []
    if query.normalised:
        alternatives.append("(" + " & ".join(_pg_prefix(w) for w in query.normalised) + ")")
    alternatives += [_pg_prefix(n) for n in query.numbers]
    if not alternatives:
        return None
    meta = " | ".join(f"'#{word}'" for word in _allowed(sc))
    return f"({' | '.join(alternatives)}) & ({meta})"


def _pg_matches(param):
    return literal_column("search_docs.tsv").op("@@")(cast(param, TSQUERY))


def _fts5_matches(param):
    return literal_column("search_fts").op("MATCH")(param)


def _normalise(query: Query, pg: bool) -> Query:
    """On PostgreSQL the words go through the same SQL function that built the index; SQLite's
    tokenizer does the same for the index and the query by itself. (Kept for the request: a list
    filters its count, its page and its export by the same query.)"""
    if not pg or not query.words:
        return query
    cache = g.setdefault("search_words", {}) if has_request_context() else {}
    text = " ".join(query.words)
    if text not in cache:
        cache[text] = tuple(db.session.scalar(select(func.kontor_search_words(text))) or ())
    return Query(query.words, query.numbers, cache[text])


# ---------------------------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------------------------

def _may_match(rtype: RecordType, viewer: Viewer, sc: Scope, docs, model=None):
    """The rule once more, against the record itself (``model``: the record class or an alias of
    it): a doc counts if the viewer fully sees the record, or if it is the name or a shared field
    of a record the viewer sees restricted. (Each test once: PostgreSQL multiplies repeated ones
    into a far too small estimate.)"""
    model = model if model is not None else rtype.model
    shows = [docs.c.kind == "name"] if sc.names else []
    if sc.field_ids:
        shows.append(and_(docs.c.kind == "field", docs.c.field_id.in_(sc.field_ids)))
    if not shows:
        return fully_visible_to(model, viewer)
    return and_(visible_to(model, viewer), or_(fully_visible_to(model, viewer), *shows))


def _may_find(sc: Scope) -> bool:
    return sc.all_groups or bool(sc.group_ids) or sc.names or bool(sc.field_ids)


def _scopes(viewer: Viewer) -> list[tuple[int, RecordType, Scope]]:
    """The record types the viewer can find anything of, with their scope."""
    out = []
    for i, rtype in enumerate(TYPES.values()):
        sc = scope(rtype, viewer)
        if _may_find(sc):
            out.append((i, rtype, sc))
    return out


def _match_param(name: str, pg: bool, value=None):
    # PostgreSQL: the query is written into the SQL (safely quoted), so that it is planned for
    # this very query - a generic plan, made once for any query, may read the whole index
    kwargs = {} if value is None else {"value": value}
    return bindparam(name, type_=String, literal_execute=pg, **kwargs)


def _sparse(sc: Scope, groups: int) -> bool:
    """Does the viewer fully see the records of few of the ``groups`` (and none restricted, whose
    names would match too)? Their search finds few of a common word's matches among many: it
    reads them all, so it reads them once (:func:`_arm`). Decided by the viewer's own groups."""
    return not (sc.all_groups or sc.names or sc.field_ids) and len(sc.group_ids) <= SPARSE_SHARE * groups


def _arm(order: int, rtype: RecordType, viewer: Viewer, sc: Scope, pg: bool, sparse: bool = False):
    """The matching docs of one record type that the viewer may match, with their record as the
    viewer may see it: the newest ``CANDIDATES`` of them, and the ``CANDIDATES`` shortest matching
    names (the best matches by name are among them: :func:`_ranker`). The limits come after the
    rule: the candidates are docs this viewer may match, whatever other groups hold.

    ``sparse`` (:func:`_sparse`): both come from the matches the viewer may match, found once (a
    CTE named twice, which both databases materialise) - the same docs, so the same hits, as the
    other reading finds. Otherwise each reads the matches newest first (SQLite; PostgreSQL sorts them) and
    looks their records up until its limit passed, which for a viewer who sees most records is
    soon; for one who sees 1.5 % of them it is every match, twice: "Becker" at 1M people, 10,022
    docs, 2 × 120 ms on PostgreSQL."""
    param = _match_param(f"match_{rtype.key}", pg)
    candidates = bindparam("candidates", type_=Integer)
    model = rtype.model
    # the docs' table in Core: each doc is scoped by its record and the rule below, once (the
    # safety net's criteria of the docs would test every matching doc's record a second time)
    d = SearchDoc.__table__
    columns = (d.c.id.label("doc_id"), d.c.record_id, d.c.kind, d.c.body)
    rule = _may_match(rtype, viewer, sc, d)

    def matching(words, where, of_type=None):
        """The type's docs matching ``words`` that pass ``where``, joined to their record."""
        of_type = d.c.record_type == rtype.key if of_type is None else of_type
        if pg:
            return (select(*columns).join(model, model.id == d.c.record_id)
                    .where(_pg_matches(words), of_type, where))
        return (select(*columns).select_from(_fts).join(d, d.c.id == _fts.c.rowid)
                .join(model, model.id == d.c.record_id)
                .where(_fts5_matches(words), of_type, where))

    name_pool = bindparam("name_pool", type_=Integer)

    def shortest(pool):
        """The ``CANDIDATES`` shortest names of ``pool`` (docs), the newest first among equals."""
        return select(pool).order_by(func.length(pool.c.body), pool.c.doc_id.desc()).limit(candidates)

    if sparse:
        # (the type's test marked likely on SQLite: else it reads the docs of the type by their index
        # and asks the full-text index about each one, which rebuilds a prefix's list each time)
        found = (matching(param, rule, _likely(d.c.record_type == rtype.key, pg))
                 .cte(f"found_{rtype.key}").prefix_with("MATERIALIZED"))
        newest = select(found).order_by(found.c.doc_id.desc()).limit(candidates)
        names = select(found).where(found.c.kind == "name")
        if not pg:  # (the same names as the other reading: the newest NAME_POOL of them)
            names = names.order_by(found.c.doc_id.desc()).limit(name_pool)
        best = shortest(names.subquery(f"pool_{rtype.key}"))
        return _hits(order, rtype, viewer, newest.subquery(f"newest_{rtype.key}"), best.subquery(f"best_{rtype.key}"))
    if pg:
        # ordered by an expression, not by the primary key: else the planner may walk the primary
        # key backwards and test each doc, reading the whole table for a rare word
        found = matching(param, rule).order_by((d.c.id + 0).desc())
    else:
        # the full-text index hands over its rows newest first; each is joined to its doc and record
        # and tested, until CANDIDATES of them passed
        found = matching(param, rule).order_by(_fts.c.rowid.desc())
    newest = found.limit(candidates).subquery(f"newest_{rtype.key}")
    names = _match_param(f"names_{rtype.key}", pg)
    name_rule = and_(d.c.kind == "name", rule)
    if pg:
        # every matching name of the type (the planner reads all matches of a type anyway), the
        # shortest first: a name equal to the query, or little more, is the best match
        best = matching(names, name_rule).order_by(func.length(d.c.body), (d.c.id + 0).desc()).limit(candidates)
    else:
        # the newest NAME_POOL matching names (the index hands them over newest first, so a common
        # word is not read to its end), the shortest of them
        best = shortest(matching(names, name_rule).order_by(_fts.c.rowid.desc()).limit(name_pool)
                        .subquery(f"pool_{rtype.key}"))
    return _hits(order, rtype, viewer, newest, best.subquery(f"best_{rtype.key}"))


def _hits(order: int, rtype: RecordType, viewer: Viewer, newest, best):
    """An arm's rows: its newest docs and its best names, each with its record as the viewer sees it.

    The docs passed the rule already; the record joined here says the rule the safety net would
    add (``visible_to``) itself, so that every select of the statement that names the record's
    class does and the net leaves its copy out (:func:`crm.visibility._covered`): the rule once
    per select, as the issue asks of every page (a copy tests every column of the rule on each
    row once more)."""
    model = rtype.model
    docs = union_all(select(newest), select(best)).subquery(f"docs_{rtype.key}")
    return (
        select(literal(order).label("type_no"), model.id.label("id"), display_name_column(rtype).label("name"),
               Group.name.label("grp"), is_full_column(model, viewer).label("full"),
               docs.c.kind.label("kind"), docs.c.body.label("body"), docs.c.doc_id.label("doc_id"))
        .select_from(docs)
        .join(model, model.id == docs.c.record_id)
        .join(Group, Group.id == model.group_id)
        .where(visible_to(model, viewer))
    )


#: statements built for a viewer (as the user types, one viewer searches many times)
_STATEMENTS: OrderedDict = OrderedDict()
_STATEMENTS_MAX = 256


def _statement(viewer: Viewer, pg: bool, sparse: tuple[bool, ...]):
    """The search statement of this viewer: the same for every query (the query text is a
    parameter), so it is built once - keyed by everything the viewer consists of, and which of
    its record types it sees few of (``sparse``, one flag per :func:`_scopes` entry)."""
    key = (pg, viewer.user_id, viewer.role, viewer.groups_enabled, viewer.group_ids,
           tuple(sorted((k, v) for k, v in viewer.shared_fields.items())), sparse)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        arms = [_arm(i, rtype, viewer, sc, pg, few)
                for (i, rtype, sc), few in zip(_scopes(viewer), sparse, strict=True)]
        if arms:
            hits = union_all(*arms).subquery("hits")
            # (ordered by :func:`search`: the hits are few, at most twice the candidates per type)
            stmt = select(hits)
            # the full-text index is read in Core, its docs and records under the rules above; the
            # hits of restricted records are their names and shared fields (what they show)
            stmt = restricted_rows(unscoped(stmt, keep_criteria=True))
        _STATEMENTS[key] = stmt
        if len(_STATEMENTS) > _STATEMENTS_MAX:
            _STATEMENTS.popitem(last=False)
    return stmt


def search(viewer: Viewer, q: str, limit: int = 50) -> list[Hit]:
    """Up to ``limit`` hits per record type, in the order companies, people, deals, projects;
    within a type the best name matches first (:func:`_ranker`), then newer records first. One
    statement for all types."""
    query = parse(q)
    if not query or limit <= 0:
        return []
    pg = db.session.get_bind().dialect.name == "postgresql"
    query = _normalise(query, pg)
    params = {"candidates": min(CANDIDATES, limit * CANDIDATES_PER_HIT)}
    if not pg:
        params["name_pool"] = NAME_POOL
    scopes = _scopes(viewer)
    for _i, rtype, sc in scopes:
        match = _pg_match(query, sc) if pg else _fts5_match(query, sc)
        if match is None:
            return []  # (PostgreSQL: no word left after normalising)
        params[f"match_{rtype.key}"] = match
        # (a sparse arm takes its names from the matches: it has no such parameter, and the
        # statement ignores a value it does not name)
        params[f"names_{rtype.key}"] = (f"{match} & '#x{rtype.key}n'" if pg
                                        else f"{match} AND meta : x{rtype.key}n")
    groups = db.session.scalar(select(func.count()).select_from(Group)) if viewer.groups_enabled else 0
    stmt = _statement(viewer, pg, tuple(_sparse(sc, groups) for _i, _rtype, sc in scopes))
    if stmt is None:
        return []
    types = list(TYPES.values())
    hits: dict[tuple[int, int], Hit] = {}
    per_type = [0] * len(types)
    rank = _ranker(query)
    rows = sorted(db.session.execute(stmt, params), key=lambda r: (r[0], rank(r[5], r[6], r[7])))
    for t, rid, name, group, full, kind, body, _doc in rows:
        # one hit per record: its best doc (the best name, else the newest other text)
        if (t, rid) in hits or per_type[t] >= limit:
            continue
        per_type[t] += 1
        other = kind != "name"
        hits[(t, rid)] = Hit(types[t], rid, name, group, bool(full), body if other else None,
                             kind if other else None)
    return list(hits.values())


def _ranker(query: Query):
    """The order of a record type's hits: names first - one equal to the query (its words, as the
    index normalises them), then one starting with the query's words in order, then any other;
    each of these the fewer words and the shorter first - then the other texts; newest first
    where all that is equal. (Only docs the viewer may match are ranked: the statement's.)"""
    words = index_words(" ".join(query.words))

    def rank(kind: str, body: str, doc_id: int) -> tuple:
        if kind != "name":
            return (3, 0, 0, -doc_id)
        name = index_words(body)
        if words and name == words:
            level = 0
        elif words and len(name) >= len(words) and all(n.startswith(w) for n, w in zip(name, words, strict=False)):
            level = 1
        else:
            level = 2
        return (level, len(name), len(body), -doc_id)

    return rank


def _likely(condition, pg: bool):
    """SQLite: the docs are found by the ids the full-text index hands over, not by reading all
    docs of the record type (its index) and testing each id; marked as likely true, the type test
    is not taken for the narrow one. (PostgreSQL decides by its statistics.)"""
    return condition if pg else func.likely(condition)


#: the list filter's record of each type, one alias each for every call (see ``_REFERENCED`` in
#: :mod:`crm.records.queries`)
_LIST_RECORDS = {key: aliased(rtype.model, name=f"list_rec_{key}") for key, rtype in TYPES.items()}


def matching_record_ids(rtype: RecordType, viewer: Viewer, q: str):
    """The filter of a list by text: a select of the ids of the records of ``rtype`` that match
    ``q`` for this viewer - by the same words and the same rule as :func:`search` (a restricted
    record by its name and shared fields only, a hidden one never), but all of them: no
    candidate limit, so that a list finds and counts every match. ``None`` if ``q`` has no word
    (no filter). The caller must apply :func:`crm.visibility.visible_to` to the list too."""
    query = parse(q)
    if not query:
        return None
    sc = scope(rtype, viewer)
    if not _may_find(sc):
        return select(SearchDoc.record_id).where(false())
    pg = db.session.get_bind().dialect.name == "postgresql"
    match = _pg_match(_normalise(query, pg), sc) if pg else _fts5_match(query, sc)
    if match is None:  # (PostgreSQL: no word left after normalising)
        return select(SearchDoc.record_id).where(false())
    param = _match_param(f"list_match_{rtype.key}", pg, match)
    # the docs' table in Core, as in the search: a doc counts by its record and the rule below
    # (with the safety net's criteria of the docs - one EXISTS per record type, OR'ed - SQLite
    # read every doc of the type by its index and tested each, instead of the few the full-text
    # index matched: "Becker" at 1M people, 9,987 matches, 1.3 s per statement)
    d = SearchDoc.__table__
    if pg:
        # the docs' own tsvector: the matching rows are read once, from the bitmap of its index (a
        # select of their ids to look them up again by id cost one primary-key lookup per match:
        # for "Wartung" among 30,000 deals 6,157 lookups, half of the count's 43,587 buffers; the
        # other lists' counts at 100k people halved alike)
        found = _pg_matches(param)
    else:
        found = d.c.id.in_(select(_fts.c.rowid).where(_fts5_matches(param)))
    # the docs of the type: the type word of the query says it where it is the only meta word (a doc
    # holds "#x" and its own record_type, written with it by the index's trigger, and no other "x"
    # meta word): the type column's test would say it a second time, which PostgreSQL multiplies
    # into a far too small estimate (51 matches for "Wartung" among the deals, 6,157 found) and so
    # looks each match up in the records one by one instead of hashing the viewer's few (the page's
    # statement 28 -> 8 ms). A field's word names a field of the type, but a stray value of another
    # type's field would carry it too: with field words the column is tested
    type_said = _allowed(sc) == [f"x{rtype.key}"]
    docs = (
        select(d.c.record_id, d.c.kind, d.c.field_id)
        .where(found, *([] if type_said else [_likely(d.c.record_type == rtype.key, pg)]))
        .subquery(f"list_docs_{rtype.key}")
    )
    if not (sc.names or sc.field_ids):
        # nothing of this type is shown restricted: any doc of a record the viewer sees may match,
        # and the rule against the record itself is the caller's visible_to - for this viewer and
        # type the same as fully_visible_to (the index holds no group: docs of other groups'
        # records are among these ids, and the caller's rule leaves their records out)
        ids = select(docs.c.record_id)
    else:
        # a private alias: the list's own table in the enclosing query is not correlated in here
        record = _LIST_RECORDS[rtype.key]
        ids = (
            select(docs.c.record_id)
            .join(record, record.id == docs.c.record_id)
            .where(_may_match(rtype, viewer, sc, docs, record))
        )
    # PostgreSQL: planned on its own (OFFSET 0 keeps it from being merged into the list's query):
    # else the planner, misjudging how many records match, may walk the whole list in its order
    # and look each record up in the index
    # the full-text index and the docs are read in Core: scoped by the rule above and the caller's
    # (and the net's criteria of the record alias)
    return unscoped(ids.offset(0) if pg else ids, keep_criteria=True)


__all__ = ["CANDIDATES", "Hit", "Query", "matching_record_ids", "parse", "search"]
