"""the board's figures as sums per group (issue 17): ``deal_sums`` (group, stage, reason, currency,
responsible, kind) and ``deal_month_sums`` (group, currency, month of the target date, stage, kind),
each with the number of deals and their value (and an index of each in the order the figures add
them up), kept by triggers on ``deals`` (crm/pipeline/models.py: on SQLite one row per key, on
PostgreSQL rows appended per change and added up every minute)
and filled here from the deals there are. The pipeline page reads a few rows per group the viewer
sees in full instead of every deal: a user in 200 groups at 1M people added up 300,000 deals on
each view. The deals' indexes that served those aggregates go: ``ix_deals_figures`` (both
databases) and SQLite's ``ix_deals_sums`` / ``ix_deals_days``.

The triggers' SQL and the refill are written out below as crm/pipeline/models.py made them when
this revision was written: a revision does not follow later code (tests/test_deal_sums.py fails
when the code's triggers are no longer those the migrations make - then a new revision is due).

Revision ID: sums_01
Revises: valueidx_01
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "sums_01"
down_revision = "valueidx_01"
branch_labels = None
depends_on = None

#: the triggers as this revision makes them (crm/pipeline/models.py wrote the same on 2026-12-02; a later
#: change to them comes with a revision of its own)
TRIGGERS = {
    'sqlite': [
        (
            'CREATE TRIGGER deal_sums_insert AFTER INSERT ON deals FOR EACH ROW BEGIN INSERT INTO deal_sums '
            '(group_id, stage_id, reason_id, currency, responsible_id, kind, deals, cents) SELECT NEW.group_id, '
            "NEW.stage_id, coalesce(NEW.reason_id, 0), NEW.currency, CASE WHEN NEW.stage = 'open' THEN "
            'coalesce(NEW.responsible_id, 0) ELSE 0 END, NEW.stage, 1, coalesce(NEW.value_cents, 0) WHERE '
            'NEW.deleted_at IS NULL AND NEW.pending_import_id IS NULL ON CONFLICT (group_id, stage_id, reason_id, '
            'currency, responsible_id, kind) DO UPDATE SET deals = deal_sums.deals + excluded.deals, cents = '
            'deal_sums.cents + excluded.cents; INSERT INTO deal_month_sums (group_id, currency, month, stage_id, '
            "kind, deals, cents) SELECT NEW.group_id, NEW.currency, substr(NEW.target_date, 1, 8) || '01', "
            'NEW.stage_id, NEW.stage, 1, coalesce(NEW.value_cents, 0) WHERE NEW.deleted_at IS NULL AND '
            'NEW.pending_import_id IS NULL AND NEW.target_date IS NOT NULL ON CONFLICT (group_id, currency, month, '
            'stage_id, kind) DO UPDATE SET deals = deal_month_sums.deals + excluded.deals, cents = '
            'deal_month_sums.cents + excluded.cents; END'
        ),
        (
            'CREATE TRIGGER deal_sums_delete AFTER DELETE ON deals FOR EACH ROW BEGIN INSERT INTO deal_sums '
            '(group_id, stage_id, reason_id, currency, responsible_id, kind, deals, cents) SELECT OLD.group_id, '
            "OLD.stage_id, coalesce(OLD.reason_id, 0), OLD.currency, CASE WHEN OLD.stage = 'open' THEN "
            'coalesce(OLD.responsible_id, 0) ELSE 0 END, OLD.stage, -1, -coalesce(OLD.value_cents, 0) WHERE '
            'OLD.deleted_at IS NULL AND OLD.pending_import_id IS NULL ON CONFLICT (group_id, stage_id, reason_id, '
            'currency, responsible_id, kind) DO UPDATE SET deals = deal_sums.deals + excluded.deals, cents = '
            'deal_sums.cents + excluded.cents; INSERT INTO deal_month_sums (group_id, currency, month, stage_id, '
            "kind, deals, cents) SELECT OLD.group_id, OLD.currency, substr(OLD.target_date, 1, 8) || '01', "
            'OLD.stage_id, OLD.stage, -1, -coalesce(OLD.value_cents, 0) WHERE OLD.deleted_at IS NULL AND '
            'OLD.pending_import_id IS NULL AND OLD.target_date IS NOT NULL ON CONFLICT (group_id, currency, month, '
            'stage_id, kind) DO UPDATE SET deals = deal_month_sums.deals + excluded.deals, cents = '
            'deal_month_sums.cents + excluded.cents; END'
        ),
        (
            'CREATE TRIGGER deal_sums_update AFTER UPDATE OF group_id, stage_id, reason_id, currency, '
            'responsible_id, stage, value_cents, target_date, deleted_at, pending_import_id ON deals FOR EACH ROW '
            'BEGIN INSERT INTO deal_sums (group_id, stage_id, reason_id, currency, responsible_id, kind, deals, '
            'cents) SELECT OLD.group_id, OLD.stage_id, coalesce(OLD.reason_id, 0), OLD.currency, CASE WHEN '
            "OLD.stage = 'open' THEN coalesce(OLD.responsible_id, 0) ELSE 0 END, OLD.stage, -1, "
            '-coalesce(OLD.value_cents, 0) WHERE OLD.deleted_at IS NULL AND OLD.pending_import_id IS NULL ON '
            'CONFLICT (group_id, stage_id, reason_id, currency, responsible_id, kind) DO UPDATE SET deals = '
            'deal_sums.deals + excluded.deals, cents = deal_sums.cents + excluded.cents; INSERT INTO '
            'deal_month_sums (group_id, currency, month, stage_id, kind, deals, cents) SELECT OLD.group_id, '
            "OLD.currency, substr(OLD.target_date, 1, 8) || '01', OLD.stage_id, OLD.stage, -1, "
            '-coalesce(OLD.value_cents, 0) WHERE OLD.deleted_at IS NULL AND OLD.pending_import_id IS NULL AND '
            'OLD.target_date IS NOT NULL ON CONFLICT (group_id, currency, month, stage_id, kind) DO UPDATE SET '
            'deals = deal_month_sums.deals + excluded.deals, cents = deal_month_sums.cents + excluded.cents; '
            'INSERT INTO deal_sums (group_id, stage_id, reason_id, currency, responsible_id, kind, deals, cents) '
            'SELECT NEW.group_id, NEW.stage_id, coalesce(NEW.reason_id, 0), NEW.currency, CASE WHEN NEW.stage = '
            "'open' THEN coalesce(NEW.responsible_id, 0) ELSE 0 END, NEW.stage, 1, coalesce(NEW.value_cents, 0) "
            'WHERE NEW.deleted_at IS NULL AND NEW.pending_import_id IS NULL ON CONFLICT (group_id, stage_id, '
            'reason_id, currency, responsible_id, kind) DO UPDATE SET deals = deal_sums.deals + excluded.deals, '
            'cents = deal_sums.cents + excluded.cents; INSERT INTO deal_month_sums (group_id, currency, month, '
            'stage_id, kind, deals, cents) SELECT NEW.group_id, NEW.currency, substr(NEW.target_date, 1, 8) || '
            "'01', NEW.stage_id, NEW.stage, 1, coalesce(NEW.value_cents, 0) WHERE NEW.deleted_at IS NULL AND "
            'NEW.pending_import_id IS NULL AND NEW.target_date IS NOT NULL ON CONFLICT (group_id, currency, month, '
            'stage_id, kind) DO UPDATE SET deals = deal_month_sums.deals + excluded.deals, cents = '
            'deal_month_sums.cents + excluded.cents; END'
        ),
    ],
    'postgresql': [
        (
            'CREATE OR REPLACE FUNCTION kontor_deal_sums_insert() RETURNS trigger LANGUAGE plpgsql AS '
            '$$\nBEGIN\nINSERT INTO deal_sums (group_id, stage_id, reason_id, currency, responsible_id, kind, '
            'deals, cents) SELECT group_id, stage_id, reason_id, currency, responsible_id, kind, sum(n), sum(c) '
            'FROM (SELECT group_id, stage_id, coalesce(reason_id, 0) AS reason_id, currency, CASE WHEN stage = '
            "'open' THEN coalesce(responsible_id, 0) ELSE 0 END AS responsible_id, stage AS kind, target_date, 1 "
            'AS n, coalesce(value_cents, 0) AS c FROM new_rows r WHERE r.deleted_at IS NULL AND '
            'r.pending_import_id IS NULL) ch GROUP BY group_id, stage_id, reason_id, currency, responsible_id, '
            'kind HAVING sum(n) <> 0 OR sum(c) <> 0;\nINSERT INTO deal_month_sums (group_id, currency, month, '
            "stage_id, kind, deals, cents) SELECT group_id, currency, date_trunc('month', target_date)::date AS "
            'month, stage_id, kind, sum(n), sum(c) FROM (SELECT group_id, stage_id, coalesce(reason_id, 0) AS '
            "reason_id, currency, CASE WHEN stage = 'open' THEN coalesce(responsible_id, 0) ELSE 0 END AS "
            'responsible_id, stage AS kind, target_date, 1 AS n, coalesce(value_cents, 0) AS c FROM new_rows r '
            'WHERE r.deleted_at IS NULL AND r.pending_import_id IS NULL) ch WHERE target_date IS NOT NULL GROUP BY '
            '1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(c) <> 0;\nRETURN NULL;\nEND\n$$'
        ),
        (
            'CREATE OR REPLACE FUNCTION kontor_deal_sums_delete() RETURNS trigger LANGUAGE plpgsql AS '
            '$$\nBEGIN\nINSERT INTO deal_sums (group_id, stage_id, reason_id, currency, responsible_id, kind, '
            'deals, cents) SELECT group_id, stage_id, reason_id, currency, responsible_id, kind, sum(n), sum(c) '
            'FROM (SELECT group_id, stage_id, coalesce(reason_id, 0) AS reason_id, currency, CASE WHEN stage = '
            "'open' THEN coalesce(responsible_id, 0) ELSE 0 END AS responsible_id, stage AS kind, target_date, -1 "
            'AS n, -coalesce(value_cents, 0) AS c FROM old_rows r WHERE r.deleted_at IS NULL AND '
            'r.pending_import_id IS NULL) ch GROUP BY group_id, stage_id, reason_id, currency, responsible_id, '
            'kind HAVING sum(n) <> 0 OR sum(c) <> 0;\nINSERT INTO deal_month_sums (group_id, currency, month, '
            "stage_id, kind, deals, cents) SELECT group_id, currency, date_trunc('month', target_date)::date AS "
            'month, stage_id, kind, sum(n), sum(c) FROM (SELECT group_id, stage_id, coalesce(reason_id, 0) AS '
            "reason_id, currency, CASE WHEN stage = 'open' THEN coalesce(responsible_id, 0) ELSE 0 END AS "
            'responsible_id, stage AS kind, target_date, -1 AS n, -coalesce(value_cents, 0) AS c FROM old_rows r '
            'WHERE r.deleted_at IS NULL AND r.pending_import_id IS NULL) ch WHERE target_date IS NOT NULL GROUP BY '
            '1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(c) <> 0;\nRETURN NULL;\nEND\n$$'
        ),
        (
            'CREATE OR REPLACE FUNCTION kontor_deal_sums_update() RETURNS trigger LANGUAGE plpgsql AS '
            '$$\nBEGIN\nINSERT INTO deal_sums (group_id, stage_id, reason_id, currency, responsible_id, kind, '
            'deals, cents) SELECT group_id, stage_id, reason_id, currency, responsible_id, kind, sum(n), sum(c) '
            'FROM (SELECT group_id, stage_id, coalesce(reason_id, 0) AS reason_id, currency, CASE WHEN stage = '
            "'open' THEN coalesce(responsible_id, 0) ELSE 0 END AS responsible_id, stage AS kind, target_date, -1 "
            'AS n, -coalesce(value_cents, 0) AS c FROM old_rows r WHERE r.deleted_at IS NULL AND '
            'r.pending_import_id IS NULL UNION ALL SELECT group_id, stage_id, coalesce(reason_id, 0) AS reason_id, '
            "currency, CASE WHEN stage = 'open' THEN coalesce(responsible_id, 0) ELSE 0 END AS responsible_id, "
            'stage AS kind, target_date, 1 AS n, coalesce(value_cents, 0) AS c FROM new_rows r WHERE r.deleted_at '
            'IS NULL AND r.pending_import_id IS NULL) ch GROUP BY group_id, stage_id, reason_id, currency, '
            'responsible_id, kind HAVING sum(n) <> 0 OR sum(c) <> 0;\nINSERT INTO deal_month_sums (group_id, '
            "currency, month, stage_id, kind, deals, cents) SELECT group_id, currency, date_trunc('month', "
            'target_date)::date AS month, stage_id, kind, sum(n), sum(c) FROM (SELECT group_id, stage_id, '
            "coalesce(reason_id, 0) AS reason_id, currency, CASE WHEN stage = 'open' THEN coalesce(responsible_id, "
            '0) ELSE 0 END AS responsible_id, stage AS kind, target_date, -1 AS n, -coalesce(value_cents, 0) AS c '
            'FROM old_rows r WHERE r.deleted_at IS NULL AND r.pending_import_id IS NULL UNION ALL SELECT group_id, '
            "stage_id, coalesce(reason_id, 0) AS reason_id, currency, CASE WHEN stage = 'open' THEN "
            'coalesce(responsible_id, 0) ELSE 0 END AS responsible_id, stage AS kind, target_date, 1 AS n, '
            'coalesce(value_cents, 0) AS c FROM new_rows r WHERE r.deleted_at IS NULL AND r.pending_import_id IS '
            'NULL) ch WHERE target_date IS NOT NULL GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(c) <> '
            '0;\nRETURN NULL;\nEND\n$$'
        ),
        (
            'CREATE TRIGGER deal_sums_insert AFTER INSERT ON deals REFERENCING NEW TABLE AS new_rows FOR EACH '
            'STATEMENT EXECUTE FUNCTION kontor_deal_sums_insert()'
        ),
        (
            'CREATE TRIGGER deal_sums_delete AFTER DELETE ON deals REFERENCING OLD TABLE AS old_rows FOR EACH '
            'STATEMENT EXECUTE FUNCTION kontor_deal_sums_delete()'
        ),
        (
            'CREATE TRIGGER deal_sums_update AFTER UPDATE ON deals REFERENCING OLD TABLE AS old_rows NEW TABLE AS '
            'new_rows FOR EACH STATEMENT EXECUTE FUNCTION kontor_deal_sums_update()'
        ),
    ],
}

#: the sums from the deals there are, as crm.pipeline.models.refill wrote them then
SUMS_FILL = (
    'INSERT INTO deal_sums (group_id, stage_id, reason_id, currency, responsible_id, kind, deals, cents) '
    "SELECT group_id, stage_id, coalesce(reason_id, 0), currency, CASE WHEN stage = 'open' THEN "
    'coalesce(responsible_id, 0) ELSE 0 END, stage, count(*), coalesce(sum(value_cents), 0) FROM deals '
    'WHERE deals.deleted_at IS NULL AND deals.pending_import_id IS NULL GROUP BY group_id, stage_id, '
    "coalesce(reason_id, 0), currency, CASE WHEN stage = 'open' THEN coalesce(responsible_id, 0) ELSE 0 "
    'END, stage'
)
MONTHS_FILL = (
    'INSERT INTO deal_month_sums (group_id, currency, month, stage_id, kind, deals, cents) SELECT '
    'group_id, currency, {month}, stage_id, stage, count(*), coalesce(sum(value_cents), 0) FROM deals '
    'WHERE deals.deleted_at IS NULL AND deals.pending_import_id IS NULL AND target_date IS NOT NULL '
    'GROUP BY group_id, currency, {month}, stage_id, stage'
)
MONTH = {"sqlite": "substr(target_date, 1, 8) || '01'", "postgresql": "date_trunc('month', target_date)::date"}

#: the triggers' names (and on PostgreSQL their functions, ``kontor_<name>``)
TRIGGER_NAMES = ("deal_sums_insert", "deal_sums_update", "deal_sums_delete")

#: the indexes this revision drops, as their revisions made them (pipeidx_01; pipeidx_02: SQLite only)
INDEXES = {
    "ix_deals_figures": (["group_id", "currency", "stage", "target_date", "stage_id", "reason_id",
                          "responsible_id", "value_cents", "deleted_at", "pending_import_id"], False),
    "ix_deals_sums": (["stage_id", "reason_id", "currency", "responsible_id", "stage", "group_id", "value_cents",
                       "deleted_at", "pending_import_id"], True),
    "ix_deals_days": (["target_date", "stage_id", "stage", "currency", "group_id", "value_cents",
                       "deleted_at", "pending_import_id"], True),
}


def _table(name: str, key: list[sa.Column]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        *key,
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    columns = [c.name for c in key]
    if op.get_bind().dialect.name == "sqlite":  # one row per key, added to by the triggers
        op.create_index(f"uq_{name}_key", name, columns, unique=True)
    else:  # rows appended by the triggers, added up by crm.pipeline.models.compact
        op.create_index(f"ix_{name}_key", name, columns, unique=False)


def upgrade():
    conn = op.get_bind()
    _table("deal_sums", [
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("reason_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
    ])
    _table("deal_month_sums", [
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
    ])
    for stmt in TRIGGERS[conn.dialect.name]:
        conn.exec_driver_sql(stmt)
    conn.exec_driver_sql(SUMS_FILL)
    conn.exec_driver_sql(MONTHS_FILL.format(month=MONTH[conn.dialect.name]))
    if conn.dialect.name == "sqlite":  # (the key's index written in one go, not left half-full by the rows' order)
        conn.exec_driver_sql("REINDEX deal_sums")
        conn.exec_driver_sql("REINDEX deal_month_sums")
    op.create_index("ix_deal_sums_added", "deal_sums", ["stage_id", "reason_id", "currency", "responsible_id", "kind",
                                                        "group_id", "deals", "cents"], unique=False)
    op.create_index("ix_deal_month_sums_added", "deal_month_sums", ["currency", "month", "stage_id", "kind", "group_id",
                                                                    "deals", "cents"], unique=False)
    sqlite = conn.dialect.name == "sqlite"
    for name, (_columns, sqlite_only) in INDEXES.items():
        if sqlite or not sqlite_only:
            op.drop_index(name, table_name="deals")


def downgrade():
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    where = sa.text("deleted_at IS NULL AND pending_import_id IS NULL")
    for name, (columns, sqlite_only) in INDEXES.items():
        if sqlite or not sqlite_only:
            op.create_index(name, "deals", columns, unique=False, sqlite_where=where, postgresql_where=where)
    pg = conn.dialect.name == "postgresql"
    for name in TRIGGER_NAMES:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}" + (" ON deals" if pg else ""))
        if pg:
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS kontor_{name}()")
    op.drop_table("deal_month_sums")
    op.drop_table("deal_sums")
