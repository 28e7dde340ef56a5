"""search index without groups (issue 17): a search doc no longer carries its record's group, neither
as a column of ``search_docs`` nor as an index word (``x<type>g<group>``); the search reads the group
from the record. Moving records to another group then fires no search trigger at all.

The upgrade drops ``search_docs.group_id``, re-creates the triggers (crm/search/schema.py) and
recomputes the full-text rows of the docs there are (SQLite: the FTS5 rows with the new meta words;
PostgreSQL: ``tsv``), keeping the docs and their ids. The downgrade puts the column back, fills it
from the records and restores the triggers and index words of the revision before - written out
below, since the code no longer has them.

Revision ID: searchgrp_01
Revises: pipeidx_01
Create Date: 2026-11-29
"""
from alembic import op

from crm.search import schema as search_schema

revision = "searchgrp_01"
down_revision = "pipeidx_01"
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    if not search_schema.has_index(conn):
        return
    search_schema.drop_triggers(conn)
    conn.exec_driver_sql("ALTER TABLE search_docs DROP COLUMN group_id")
    search_schema.create_triggers(conn)
    search_schema.refill_fulltext(conn)


# ---------------------------------------------------------------------------------------------
# The revision before: its triggers and index words, as crm/search/schema.py had them
# ---------------------------------------------------------------------------------------------

_TABLES = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}
_SOURCES = (*_TABLES.values(), "contact_details", "custom_field_values", "attachments")
_EVENTS = ("insert", "update", "delete")
_DETAIL_OWNERS = ("company", "person")
_VALUE_OWNERS = ("company", "person", "deal", "project")
_INSERT = "INSERT INTO search_docs (record_type, record_id, kind, source_id, field_id, group_id, body)"
_KINDS_IN = "'email', 'phone'"
_FIELD_KINDS_IN = "'text', 'select'"
_WATCHED = {
    "people": "first_name, last_name, group_id",
    "contact_details": "kind, value, company_id, person_id",
    "custom_field_values": "field_id, value, company_id, person_id, deal_id, project_id",
    "attachments": "name, company_id, person_id, deal_id, project_id",
}


def _name_sql(key, row):
    if key == "person":
        return f"trim(coalesce({row}.first_name, '') || ' ' || coalesce({row}.last_name, ''))"
    return f"{row}.name"


def _indexed_text(row):
    digits = f"{row}.body"
    for ch in (" ", "-", "/", "(", ")", "+", ".", "\u00a0"):
        digits = f"replace({digits}, '{ch}', '')"
    return f"CASE WHEN {row}.kind = 'phone' THEN {row}.body || ' ' || {digits} ELSE {row}.body END"


def _owner(row, keys):
    rtype = "CASE " + " ".join(f"WHEN {row}.{k}_id IS NOT NULL THEN '{k}'" for k in keys) + " END"
    rid = "coalesce(" + ", ".join(f"{row}.{k}_id" for k in keys) + ")"
    group = "coalesce(" + ", ".join(
        f"(SELECT group_id FROM {_TABLES[k]} WHERE id = {row}.{k}_id)" for k in keys) + ")"
    return rtype, rid, group


def _doc_statements():
    out = {}
    for key, table in _TABLES.items():
        name = _name_sql(key, "NEW")
        out[f"{table}:insert"] = [f"{_INSERT} VALUES ('{key}', NEW.id, 'name', NEW.id, NULL, NEW.group_id, {name})"]
        out[f"{table}:update"] = [
            (f"UPDATE search_docs SET body = {name} WHERE record_type = '{key}' "
             f"AND record_id = NEW.id AND kind = 'name' AND body <> {name}"),
            (f"UPDATE search_docs SET group_id = NEW.group_id WHERE record_type = '{key}' "
             f"AND record_id = NEW.id AND group_id <> NEW.group_id"),
        ]
        out[f"{table}:delete"] = [f"DELETE FROM search_docs WHERE record_type = '{key}' AND record_id = OLD.id"]
    rtype, rid, group = _owner("NEW", _DETAIL_OWNERS)
    detail = (f"{_INSERT} SELECT {rtype}, {rid}, NEW.kind, NEW.id, NULL, {group}, NEW.value "
              f"WHERE NEW.kind IN ({_KINDS_IN})")
    rtype, rid, group = _owner("NEW", _VALUE_OWNERS)
    value = (f"{_INSERT} SELECT {rtype}, {rid}, 'field', NEW.id, NEW.field_id, {group}, NEW.value "
             f"FROM custom_fields f WHERE f.id = NEW.field_id AND f.kind IN ({_FIELD_KINDS_IN})")
    file = f"{_INSERT} SELECT {rtype}, {rid}, 'file', NEW.id, NULL, {group}, NEW.name"
    for table, kinds, insert in (("contact_details", f"kind IN ({_KINDS_IN})", detail),
                                 ("custom_field_values", "kind = 'field'", value),
                                 ("attachments", "kind = 'file'", file)):
        delete = f"DELETE FROM search_docs WHERE {kinds} AND source_id = OLD.id"
        out[f"{table}:insert"] = [insert]
        out[f"{table}:update"] = [delete, insert]
        out[f"{table}:delete"] = [delete]
    return out


def _event_sql(table, event):
    return f"UPDATE OF {_WATCHED.get(table, 'name, group_id')}" if event == "update" else event.upper()


def _sqlite_meta(row):
    return (f"'x' || {row}.record_type || ' x' || {row}.record_type || 'g' || {row}.group_id "
            f"|| CASE WHEN {row}.kind = 'name' THEN ' x' || {row}.record_type || 'n' ELSE '' END "
            f"|| coalesce(' f' || {row}.field_id, '')")


def _sqlite_triggers():
    stmts = []
    for name, body in _doc_statements().items():
        table, event = name.split(":")
        stmts.append(f"CREATE TRIGGER search_{table}_{event} AFTER {_event_sql(table, event)} ON {table} "
                     f"FOR EACH ROW BEGIN " + "; ".join(body) + "; END")
    fts_insert = (f"INSERT INTO search_fts (rowid, body, meta) "
                  f"VALUES (NEW.id, {_indexed_text('NEW')}, {_sqlite_meta('NEW')})")
    fts_delete = (f"INSERT INTO search_fts (search_fts, rowid, body, meta) "
                  f"VALUES ('delete', OLD.id, {_indexed_text('OLD')}, {_sqlite_meta('OLD')})")
    return [
        *stmts,
        f"CREATE TRIGGER search_docs_insert AFTER INSERT ON search_docs BEGIN {fts_insert}; END",
        f"CREATE TRIGGER search_docs_update AFTER UPDATE ON search_docs BEGIN {fts_delete}; {fts_insert}; END",
        f"CREATE TRIGGER search_docs_delete AFTER DELETE ON search_docs BEGIN {fts_delete}; END",
    ]


_PG_DOC_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kontor_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tsv := array_to_tsvector(kontor_search_words({_indexed_text('NEW')}) || array_remove(ARRAY[
    '#x' || NEW.record_type,
    '#x' || NEW.record_type || 'g' || NEW.group_id::text,
    CASE WHEN NEW.kind = 'name' THEN '#x' || NEW.record_type || 'n' END,
    '#f' || NEW.field_id::text], NULL));
  RETURN NEW;
END $$
"""


def _pg_triggers():
    stmts = [_PG_DOC_FUNCTION]
    for name, body in _doc_statements().items():
        table, event = name.split(":")
        fn = f"kontor_search_{table}_{event}"
        ret = "OLD" if event == "delete" else "NEW"
        stmts.append(f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     + "; ".join(body) + f"; RETURN {ret}; END $$")
        stmts.append(f"CREATE TRIGGER search_{table}_{event} AFTER {_event_sql(table, event)} ON {table} "
                     f"FOR EACH ROW EXECUTE FUNCTION {fn}()")
    stmts.append("CREATE TRIGGER search_docs_insert BEFORE INSERT OR UPDATE OF body, group_id ON search_docs "
                 "FOR EACH ROW EXECUTE FUNCTION kontor_search_doc()")
    return stmts


def downgrade():
    conn = op.get_bind()
    if not search_schema.has_index(conn):
        return
    pg = conn.dialect.name == "postgresql"
    for table in (*_SOURCES, "search_docs"):
        for event in _EVENTS:
            name = f"search_{table if table != 'search_docs' else 'docs'}_{event}"
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if pg else ""))
    conn.exec_driver_sql("ALTER TABLE search_docs ADD COLUMN group_id INTEGER")
    group = "CASE record_type " + " ".join(
        f"WHEN '{k}' THEN (SELECT group_id FROM {t} WHERE {t}.id = search_docs.record_id)"
        for k, t in _TABLES.items()) + " END"
    if pg:
        # the BEFORE trigger recomputes each doc's tsv (with its group word) as the group is set
        for stmt in _pg_triggers():
            conn.exec_driver_sql(stmt)
        conn.exec_driver_sql(f"UPDATE search_docs SET group_id = {group}")
        return
    conn.exec_driver_sql(f"UPDATE search_docs SET group_id = {group}")
    conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
    conn.exec_driver_sql(
        f"INSERT INTO search_fts (rowid, body, meta) SELECT search_docs.id, {_indexed_text('search_docs')}, "
        f"{_sqlite_meta('search_docs')} FROM search_docs")
    for stmt in _sqlite_triggers():
        conn.exec_driver_sql(stmt)
