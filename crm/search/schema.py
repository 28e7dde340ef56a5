"""The search index in the database: one row per searchable text of a record, kept current by
triggers, and a full-text index over it (SQLite FTS5 / PostgreSQL tsvector + GIN).

``search_docs`` holds one row ("doc") per searchable text of a record:

* ``name``  - the display name (company/deal/project name, a person's first and last name);
* ``email`` / ``phone`` - one per contact detail of a company or person;
* ``field`` - one per value of a text or select custom field;
* ``file`` - one per file attached to a record (crm/files): its name ("Angebot_2026-03.pdf" is
  found by "angebot", "2026", "03" and "pdf").

A doc does not carry its record's group (issue 17): the group is read from the record itself,
which the search joins anyway. Moving records to another group (a bulk assignment, its undo)
therefore touches neither ``search_docs`` nor the full-text index - no trigger fires on a change of
``group_id``. (Before, each doc had the group as an index word, and the cascade of 10,000
companies rewrote some 110,000 full-text rows: 90 % of the move's time.) A doc may match for a viewer when
the viewer fully sees its record, or when the doc shows on a restricted record (the name, a field
shared with one of the viewer's groups); contact details and file names never show on a
restricted record. The query (``crm.search.queries``) tests that against the records, in SQL.
The index words of a doc's ``meta`` (``x<type>``, ``x<type>n``, ``f<field>``) do not depend on
the group; they narrow a search to one record type, or to names and shared fields, inside the
index.

Triggers on the record tables, ``contact_details``, ``custom_field_values`` and ``attachments``
keep the docs current for every write path: the ORM services, bulk ``UPDATE`` statements (a
renamed record), Core bulk inserts of ``demo generate``, cascading deletes. A second set of triggers
feeds the docs into the full-text index (SQLite); on PostgreSQL a ``BEFORE`` trigger computes the
``tsv`` column.

Triggers change only in the revision that changes them: ``flask db upgrade`` with nothing to do
touches nothing, so it is safe against a running installation (issue 16). A revision that
changes what the triggers do calls :func:`create_triggers` (and :func:`rebuild` if the docs
change, or :func:`refill_fulltext` if only what the full-text index holds of them does, as in
``searchgrp_01``). Both take only the source tables the database has at that revision: the
``attachments`` table comes after the search index (``files_01``), and its triggers and docs
with ``filesearch_01``. :func:`triggers_set_aside` lets a later SQLite batch migration rebuild a
record table (copy, drop, rename - the rename fails while a trigger names the table) and puts
back exactly the triggers that were there. ``tests/test_migrations.py`` fails if the code's
triggers and those a migrated database has differ. A downgrade that must put back older triggers
keeps their SQL in its revision (``searchgrp_01``): the code has only the current ones. (Older
revisions run this module's current code: ``find_01`` creates ``search_docs.group_id`` nullable,
since the code no longer writes it.)

Text normalisation is the same on both sides of a search: lower case, accents removed, split at
everything that is not a letter or digit. SQLite's ``unicode61`` tokenizer does it for the index
and the query; on PostgreSQL :data:`PG_WORDS` (a SQL function) does it for both.
"""
from __future__ import annotations

import re
import unicodedata
from contextlib import contextmanager

from sqlalchemy import inspect as sa_inspect

from ..common import RECORD_TABLES

#: custom field kinds whose values are searched (numbers, dates and URLs are not words)
FIELD_KINDS = ("text", "select")
#: contact detail kinds that are searched
DETAIL_KINDS = ("email", "phone")

#: a word, as the index splits a text (and the search a query): letters and digits
WORD = re.compile(r"[^\W_]+")

# Accented Latin letters -> plain ones (PostgreSQL only; SQLite's tokenizer does this itself).
_UNDECOMPOSED = {"ø": "o", "đ": "d", "ł": "l", "ı": "i", "ħ": "h", "ŧ": "t", "ŀ": "l"}


def _plain(ch: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return _UNDECOMPOSED.get(ch, base if len(base) == 1 else ch)


_ACCENTED = "".join(c for c in map(chr, range(0xC0, 0x180)) if c.islower() and _plain(c) != c)
_PLAIN = "".join(_plain(c) for c in _ACCENTED)
_TO_PLAIN = str.maketrans(_ACCENTED, _PLAIN)


def index_words(text: str) -> list[str]:
    """The words of a text as the index holds them (lower case, no accents, split at everything
    that is not a letter or digit), in Python - what the search ranks names by; the accents
    removed as :data:`PG_WORDS` removes them."""
    text = (text or "").lower()
    if not text.isascii():
        text = unicodedata.normalize("NFC", text).translate(_TO_PLAIN)
    return WORD.findall(text)


def _name_sql(key: str, row: str) -> str:
    if key == "person":
        return f"trim(coalesce({row}.first_name, '') || ' ' || coalesce({row}.last_name, ''))"
    return f"{row}.name"


def _digits_sql(expr: str) -> str:
    """A phone number's digits only, so "+49 (40) 123-45" is found by "4940123"."""
    out = expr
    for ch in (" ", "-", "/", "(", ")", "+", ".", "\u00a0"):
        out = f"replace({out}, '{ch}', '')"
    return out


def _indexed_text(row: str) -> str:
    """What the full-text index gets of a doc: its text; for phone numbers also the digits alone."""
    return f"CASE WHEN {row}.kind = 'phone' THEN {row}.body || ' ' || {_digits_sql(row + '.body')} ELSE {row}.body END"


def _owner_type(row: str, keys) -> str:
    whens = " ".join(f"WHEN {row}.{k}_id IS NOT NULL THEN '{k}'" for k in keys)
    return f"CASE {whens} END"


def _owner_id(row: str, keys) -> str:
    return "coalesce(" + ", ".join(f"{row}.{k}_id" for k in keys) + ")"


_DETAIL_OWNERS = ("company", "person")
_VALUE_OWNERS = ("company", "person", "deal", "project")
_INSERT = "INSERT INTO search_docs (record_type, record_id, kind, source_id, field_id, body)"
_KINDS_IN = ", ".join(f"'{k}'" for k in DETAIL_KINDS)
_FIELD_KINDS_IN = ", ".join(f"'{k}'" for k in FIELD_KINDS)


def _detail_insert(row: str) -> str:
    return (
        f"{_INSERT} SELECT {_owner_type(row, _DETAIL_OWNERS)}, {_owner_id(row, _DETAIL_OWNERS)}, {row}.kind, "
        f"{row}.id, NULL, {row}.value "
        f"WHERE {row}.kind IN ({_KINDS_IN})"
    )


def _value_insert(row: str) -> str:
    return (
        f"{_INSERT} SELECT {_owner_type(row, _VALUE_OWNERS)}, {_owner_id(row, _VALUE_OWNERS)}, 'field', "
        f"{row}.id, {row}.field_id, {row}.value "
        f"FROM custom_fields f WHERE f.id = {row}.field_id AND f.kind IN ({_FIELD_KINDS_IN})"
    )


def _file_insert(row: str) -> str:
    return (
        f"{_INSERT} SELECT {_owner_type(row, _VALUE_OWNERS)}, {_owner_id(row, _VALUE_OWNERS)}, 'file', "
        f"{row}.id, NULL, {row}.name"
    )


def _doc_statements(row: str) -> dict[str, list[str]]:
    """Statements per trigger, written once with ``{row}`` standing for NEW/OLD."""
    out: dict[str, list[str]] = {}
    for key, table in RECORD_TABLES.items():
        name_new = _name_sql(key, "NEW")
        out[f"{table}:insert"] = [
            f"{_INSERT} VALUES ('{key}', NEW.id, 'name', NEW.id, NULL, {name_new})"
        ]
        out[f"{table}:update"] = [
            (f"UPDATE search_docs SET body = {name_new} WHERE record_type = '{key}' "
             f"AND record_id = NEW.id AND kind = 'name' AND body <> {name_new}"),
        ]
        out[f"{table}:delete"] = [
            f"DELETE FROM search_docs WHERE record_type = '{key}' AND record_id = OLD.id"
        ]
    out["contact_details:insert"] = [_detail_insert("NEW")]
    out["contact_details:update"] = [
        f"DELETE FROM search_docs WHERE kind IN ({_KINDS_IN}) AND source_id = OLD.id",
        _detail_insert("NEW"),
    ]
    out["contact_details:delete"] = [f"DELETE FROM search_docs WHERE kind IN ({_KINDS_IN}) AND source_id = OLD.id"]
    out["custom_field_values:insert"] = [_value_insert("NEW")]
    out["custom_field_values:update"] = [
        "DELETE FROM search_docs WHERE kind = 'field' AND source_id = OLD.id",
        _value_insert("NEW"),
    ]
    out["custom_field_values:delete"] = ["DELETE FROM search_docs WHERE kind = 'field' AND source_id = OLD.id"]
    # (a file's name does not change today; a merge may move a file to another record)
    out["attachments:insert"] = [_file_insert("NEW")]
    out["attachments:update"] = [
        "DELETE FROM search_docs WHERE kind = 'file' AND source_id = OLD.id",
        _file_insert("NEW"),
    ]
    out["attachments:delete"] = ["DELETE FROM search_docs WHERE kind = 'file' AND source_id = OLD.id"]
    return out


SOURCE_TABLES = (*RECORD_TABLES.values(), "contact_details", "custom_field_values", "attachments")
#: the columns whose change matters to the index (not ``group_id``: a move leaves the index alone)
_WATCHED = {
    "people": "first_name, last_name",
    "contact_details": "kind, value, company_id, person_id",
    "custom_field_values": "field_id, value, company_id, person_id, deal_id, project_id",
    "attachments": "name, company_id, person_id, deal_id, project_id",
}


def _event_sql(table: str, event: str) -> str:
    if event != "update":
        return event.upper()
    return f"UPDATE OF {_WATCHED.get(table, 'name')}"


_EVENTS = ("insert", "update", "delete")


def trigger_names() -> list[tuple[str, str]]:
    """(trigger, table) of every search trigger."""
    names = [(f"search_{t}_{e}", t) for t in SOURCE_TABLES for e in _EVENTS]
    return names + [(f"search_docs_{e}", "search_docs") for e in _EVENTS]


# ---------------------------------------------------------------------------------------------
# SQLite: FTS5, contentless (the text lives in search_docs), fed by triggers on search_docs
# ---------------------------------------------------------------------------------------------

def _sqlite_meta(row: str) -> str:
    """Words of the ``meta`` column that say what the doc is, each one word so that the index can
    test it cheaply: ``x<type>`` (any doc of the type), ``x<type>n`` (a record's name),
    ``f<field>`` (a custom field's value). No word depends on the record's group."""
    return (f"'x' || {row}.record_type "
            f"|| CASE WHEN {row}.kind = 'name' THEN ' x' || {row}.record_type || 'n' ELSE '' END "
            f"|| coalesce(' f' || {row}.field_id, '')")


#: Prefix indexes for the prefixes of 1 to 4 letters, the ones that match many words: a longer
#: prefix ("schmi", "becker") is answered from the words themselves, which few words share
#: (0-15 % slower per query, tens of microseconds), while each prefix length indexed is another
#: entry per word written - 1-8 took twice as long to fill as 1-4 (revision ``prefix_01``).
FTS_PREFIXES = "1 2 3 4"

SQLITE_TABLES = [
    ("CREATE VIRTUAL TABLE search_fts USING fts5(body, meta, content='', "
     f"tokenize='unicode61 remove_diacritics 2', prefix='{FTS_PREFIXES}')"),
]


def _sqlite_triggers(tables=SOURCE_TABLES) -> list[str]:
    stmts = []
    for name, body in _doc_statements("NEW").items():
        table, event = name.split(":")
        if table not in tables:
            continue
        stmts.append(
            f"CREATE TRIGGER search_{table}_{event} AFTER {_event_sql(table, event)} ON {table} FOR EACH ROW BEGIN "
            + "; ".join(body) + "; END"
        )
    fts_insert = (f"INSERT INTO search_fts (rowid, body, meta) "
                  f"VALUES (NEW.id, {_indexed_text('NEW')}, {_sqlite_meta('NEW')})")
    fts_delete = (f"INSERT INTO search_fts (search_fts, rowid, body, meta) "
                  f"VALUES ('delete', OLD.id, {_indexed_text('OLD')}, {_sqlite_meta('OLD')})")
    stmts += [
        f"CREATE TRIGGER search_docs_insert AFTER INSERT ON search_docs BEGIN {fts_insert}; END",
        f"CREATE TRIGGER search_docs_update AFTER UPDATE ON search_docs BEGIN {fts_delete}; {fts_insert}; END",
        f"CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs BEGIN {fts_delete}; END",
    ]
    return stmts


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a tsvector column with a GIN index, computed by a BEFORE trigger
# ---------------------------------------------------------------------------------------------

#: the words of a text, normalised (lower case, no accents); used for the index and for queries.
#: ``translate`` looks every character up in the list of accented letters, most of the cost of
#: filling the index (2.0 of 2.9 s for 380,000 docs): a text whose characters are all one byte
#: (ASCII: nothing to translate) skips it - the same words, 3.8× faster (revision words_01)
PG_WORDS = (
    "CREATE OR REPLACE FUNCTION kontor_search_words(t text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT coalesce(array_remove(regexp_split_to_array("
    "CASE WHEN octet_length(t) = length(t) THEN lower(t) "
    f"ELSE translate(lower(coalesce(t, '')), '{_ACCENTED}', '{_PLAIN}') END, '[^[:alnum:]]+'), ''), '{{}}') $$"
)
#: the index vector: the words, and the words that say what the doc is (as in
#: :func:`_sqlite_meta`, with a "#" that no word of a text can contain)
PG_DOC_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kontor_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tsv := array_to_tsvector(kontor_search_words({_indexed_text('NEW')}) || array_remove(ARRAY[
    '#x' || NEW.record_type,
    CASE WHEN NEW.kind = 'name' THEN '#x' || NEW.record_type || 'n' END,
    '#f' || NEW.field_id::text], NULL));
  RETURN NEW;
END $$
"""
PG_TABLES = [
    "ALTER TABLE search_docs ADD COLUMN tsv tsvector",
    "CREATE INDEX ix_search_docs_tsv ON search_docs USING gin (tsv)",
]


def _pg_triggers(tables=SOURCE_TABLES) -> list[str]:
    stmts = [PG_WORDS, PG_DOC_FUNCTION]
    for name, body in _doc_statements("NEW").items():
        table, event = name.split(":")
        if table not in tables:
            continue
        fn = f"kontor_search_{table}_{event}"
        ret = "OLD" if event == "delete" else "NEW"
        stmts.append(
            f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            + "; ".join(body) + f"; RETURN {ret}; END $$"
        )
        stmts.append(
            f"CREATE TRIGGER search_{table}_{event} AFTER {_event_sql(table, event)} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {fn}()"
        )
    stmts.append(
        "CREATE TRIGGER search_docs_insert BEFORE INSERT OR UPDATE OF body ON search_docs "
        "FOR EACH ROW EXECUTE FUNCTION kontor_search_doc()"
    )
    return stmts


# ---------------------------------------------------------------------------------------------
# Used by the migration and by migrations/env.py
# ---------------------------------------------------------------------------------------------

def has_index(conn) -> bool:
    from sqlalchemy import inspect

    return inspect(conn).has_table("search_docs")


def drop_triggers(conn) -> None:
    if not has_index(conn):
        return
    pg = conn.dialect.name == "postgresql"
    for name, table in trigger_names():
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}" if pg else f"DROP TRIGGER IF EXISTS {name}")


def source_tables(conn) -> tuple[str, ...]:
    """The tables that feed the index and exist in this database (at an older revision, while
    the migrations run, not all of them do yet)."""
    present = set(sa_inspect(conn).get_table_names())
    return tuple(t for t in SOURCE_TABLES if t in present)


def create_triggers(conn) -> None:
    """(Re)create the triggers, of the source tables the database has; a no-op before the search
    tables exist."""
    if not has_index(conn):
        return
    drop_triggers(conn)
    tables = source_tables(conn)
    for stmt in (_pg_triggers(tables) if conn.dialect.name == "postgresql" else _sqlite_triggers(tables)):
        conn.exec_driver_sql(stmt)


def drop_source(conn, table: str, kind: str) -> None:
    """Take a source table out of the index: its triggers (and on PostgreSQL their functions) and
    its docs of ``kind``. For the downgrade of the revision that added it."""
    pg = conn.dialect.name == "postgresql"
    for event in _EVENTS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS search_{table}_{event}"
                             + (f" ON {table}" if pg else ""))
        if pg:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS kontor_search_{table}_{event}()")
    conn.exec_driver_sql(f"DELETE FROM search_docs WHERE kind = '{kind}'")


@contextmanager
def triggers_set_aside(conn):
    """For a migration that rebuilds a table on SQLite (batch mode): every trigger as it is in the
    database (not as the current code would write it: the search index's, the deals' sums') is
    dropped and put back afterwards, unchanged; so are the expression indexes (the duplicate
    lookups' ``lower(...)``), which the batch mode can neither reflect nor copy. The block must not
    change records (neither the search index nor the sums would follow); a no-op on PostgreSQL,
    which alters tables in place."""
    if conn.dialect.name != "sqlite":
        yield
        return
    saved = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all()
    for name, _sql in saved:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    expressions = [(name, sql) for name, sql in conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        if any(column is None for _seq, _cid, column in conn.exec_driver_sql(f'PRAGMA index_info("{name}")'))]
    for name, _sql in expressions:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _name, sql in expressions:
        conn.exec_driver_sql(sql)
    for _name, sql in saved:
        conn.exec_driver_sql(sql)


def create_index_objects(conn) -> None:
    """The dialect's full-text objects next to the portable ``search_docs`` table."""
    for stmt in (PG_TABLES if conn.dialect.name == "postgresql" else SQLITE_TABLES):
        conn.exec_driver_sql(stmt)


def drop_index_objects(conn) -> None:
    drop_triggers(conn)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS kontor_search_doc() CASCADE")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS kontor_search_words(text)")
        for table in SOURCE_TABLES:
            for event in _EVENTS:
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS kontor_search_{table}_{event}()")
    else:
        conn.exec_driver_sql("DROP TABLE IF EXISTS search_fts")


def _insert_docs(conn, key: str, ids: list[int] | None = None, *, bin_column: bool = True,
                 files: bool = True) -> None:
    """The docs of the records of type ``key`` (those with ``ids``; all without), none of a record
    in the recycle bin (``bin_column``: the tables have it - not yet while older migrations run;
    ``files``: the names of their files - not before the ``filesearch_01`` revision)."""
    table = RECORD_TABLES[key]
    where = "r.deleted_at IS NULL" if bin_column else "1 = 1"
    if ids is not None:
        where += " AND r.id IN (" + ", ".join(str(int(i)) for i in ids) + ")"
    conn.exec_driver_sql(
        f"{_INSERT} SELECT '{key}', r.id, 'name', r.id, NULL, {_name_sql(key, 'r')} "
        f"FROM {table} r WHERE {where}"
    )
    if key in _DETAIL_OWNERS:
        conn.exec_driver_sql(
            f"{_INSERT} SELECT '{key}', r.id, d.kind, d.id, NULL, d.value "
            f"FROM contact_details d JOIN {table} r ON r.id = d.{key}_id WHERE d.kind IN ({_KINDS_IN}) AND {where}"
        )
    conn.exec_driver_sql(
        f"{_INSERT} SELECT '{key}', r.id, 'field', v.id, v.field_id, v.value "
        f"FROM custom_field_values v JOIN {table} r ON r.id = v.{key}_id "
        f"JOIN custom_fields f ON f.id = v.field_id WHERE f.kind IN ({_FIELD_KINDS_IN}) AND {where}"
    )
    if files:
        conn.exec_driver_sql(
            f"{_INSERT} SELECT '{key}', r.id, 'file', a.id, NULL, a.name "
            f"FROM attachments a JOIN {table} r ON r.id = a.{key}_id WHERE {where}"
        )


#: ids per statement when docs are taken out or put back
_DOC_CHUNK = 500


def take_out(conn, key: str, ids: list[int]) -> None:
    """Records of type ``key`` went into the recycle bin: their docs leave the index, so that they
    take no place among a search's candidates (what a search answers must not depend on them)."""
    for start in range(0, len(ids), _DOC_CHUNK):
        part = ", ".join(str(int(i)) for i in ids[start:start + _DOC_CHUNK])
        conn.exec_driver_sql(f"DELETE FROM search_docs WHERE record_type = '{key}' AND record_id IN ({part})")


def put_back(conn, key: str, ids: list[int]) -> None:
    """Records of type ``key`` came back from the recycle bin: their docs again."""
    for start in range(0, len(ids), _DOC_CHUNK):
        _insert_docs(conn, key, ids[start:start + _DOC_CHUNK])


#: SQLite: the full-text rows of every doc, as the docs' insert trigger writes them one by one
_FTS_FILL = (f"INSERT INTO search_fts (rowid, body, meta) SELECT search_docs.id, {_indexed_text('search_docs')}, "
             f"{_sqlite_meta('search_docs')} FROM search_docs")


def refill_fulltext(conn) -> None:
    """Recompute the full-text rows of the docs there are, keeping the docs (their ids) as they
    are: for a revision that changes what the index holds of a doc (the meta words). Expects the
    triggers of the new revision in place (PostgreSQL: its ``BEFORE`` trigger computes ``tsv``)."""
    if not has_index(conn):
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("UPDATE search_docs SET body = body")
        return
    conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    conn.exec_driver_sql(_FTS_FILL)


def rebuild(conn) -> int:
    """Refill the index from the records (after a restore, a data migration, or if it was ever in
    doubt). Runs in the caller's transaction; returns the number of docs."""
    if not has_index(conn):
        return 0
    drop_triggers(conn)
    conn.exec_driver_sql("DELETE FROM search_docs")
    if conn.dialect.name != "postgresql":
        # contentless FTS5: emptied as a whole, never row by row with values it may not hold
        conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    create_triggers(conn)
    sqlite = conn.dialect.name != "postgresql"
    if sqlite:
        # the full-text rows in one statement once the docs are in, not a trigger call per doc
        conn.exec_driver_sql("DROP TRIGGER search_docs_insert")
    bin_column = any(c["name"] == "deleted_at" for c in sa_inspect(conn).get_columns("companies"))
    files = "attachments" in source_tables(conn)
    for key in RECORD_TABLES:
        _insert_docs(conn, key, bin_column=bin_column, files=files)
    if sqlite:
        conn.exec_driver_sql(_FTS_FILL)
        conn.exec_driver_sql(next(stmt for stmt in _sqlite_triggers(source_tables(conn))
                                  if stmt.startswith("CREATE TRIGGER search_docs_insert ")))
    return conn.exec_driver_sql("SELECT count(*) FROM search_docs").scalar_one()


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For Alembic's autogenerate: the full-text objects are made by hand, not from the models."""
    if type_ == "table" and name and name.startswith("search_fts"):
        return False
    if type_ == "column" and name == "tsv" and getattr(obj, "table", None) is not None \
            and obj.table.name == "search_docs":
        return False
    return not (type_ == "index" and name == "ix_search_docs_tsv")
