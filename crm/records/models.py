"""The four record types that carry a group: companies, people, deals and projects."""
from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
    literal,
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, validates

from ..common import utcnow
from ..extensions import db
from ..groups.models import BASIS_ID

DEAL_STAGES = ("open", "won", "lost")
PROJECT_STATUSES = ("planned", "active", "on_hold", "done", "cancelled")
#: a person's salutation ("" for none)
SALUTATIONS = ("Frau", "Herr", "Divers")
CONTACT_KINDS = ("email", "phone", "address")


def sort_key(*parts: str | None) -> str:
    """Case- and accent-insensitive key, so "Ärzte" sorts beside "Arzt" on SQLite and PostgreSQL."""
    text = " ".join(p.strip() for p in parts if p and p.strip())
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))[:200]


def _tag_table(key: str, table: str) -> Table:
    return Table(
        f"{key}_tags",
        db.metadata,
        Column(f"{key}_id", ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True),
        Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


def tag_key(name: str) -> str:
    """What tags are compared by, case-insensitively and the same way in SQL and Python: the name
    NFKC-normalised and case-folded ("Straße", "STRASSE" and "strasse" -> "strasse"; "Ärzte" and
    "ÄRZTE" -> "ärzte"; "İzmir" and "İZMİR" -> "i̇zmir"). Stored in ``tags.key`` so that no
    database's ``lower()`` (ASCII only on SQLite, no "ß" -> "ss" on PostgreSQL) takes part."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


class Tag(db.Model):
    """A tag; ``name`` is one spelling (unique), ``key`` its :func:`tag_key` (indexed, not unique:
    two spellings of one key exist when users who cannot see each other's records typed them,
    product.md §8 - see :func:`crm.records.services.tag_named`)."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    key: Mapped[str] = mapped_column(Text, index=True)

    @validates("name")
    def _keep_key(self, _attr: str, name: str) -> str:
        self.key = tag_key(name)
        return name


TAG_TABLES = {
    "company": _tag_table("company", "companies"),
    "person": _tag_table("person", "people"),
    "deal": _tag_table("deal", "deals"),
    "project": _tag_table("project", "projects"),
}


# The link tables mapped to classes of their own, so that queries of the links are ORM queries the
# safety net scopes (a link is visible with its record). Records still write their links through
# the ``tags`` relationship below; these classes are for reading (and set-based bulk writes).

class CompanyTag(db.Model):
    __table__ = TAG_TABLES["company"]


class PersonTag(db.Model):
    __table__ = TAG_TABLES["person"]


class DealTag(db.Model):
    __table__ = TAG_TABLES["deal"]


class ProjectTag(db.Model):
    __table__ = TAG_TABLES["project"]


TAG_LINKS = {"company": CompanyTag, "person": PersonTag, "deal": DealTag, "project": ProjectTag}


def pending_index(table: str) -> Index:
    """The rows of unfinished imports: a partial index, empty while no import runs, so that
    finding, publishing or removing a job's pending rows reads only them."""
    where = text("pending_import_id IS NOT NULL")
    return Index(f"ix_{table}_pending", "pending_import_id", sqlite_where=where, postgresql_where=where)


def trash_index(table: str) -> Index:
    """The recycle bin's rows (its page, the purge): a partial index of them only. A full index of
    ``deleted_at`` holds one value, NULL, for nearly every row, and SQLite's planner took it for
    the visibility rule's ``deleted_at IS NULL`` - then sorted every visible row for a list's
    first page (1.45 s instead of 0.84 s for a deal list at 1M deals, ``bench/pipeline.py``)."""
    where = text("deleted_at IS NOT NULL")
    return Index(f"ix_{table}_deleted_at", "deleted_at", sqlite_where=where, postgresql_where=where)


def live_index(name: str, *columns, also: str = "") -> Index:
    """An index of the records that exist only (partial: ``deleted_at IS NULL AND pending_import_id
    IS NULL``, what :func:`crm.visibility.not_trashed` puts in every predicate, so every list and
    figure can use it; ``also``: a further condition of the index's WHERE)."""
    where = text("deleted_at IS NULL AND pending_import_id IS NULL" + (f" AND {also}" if also else ""))
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


#: the deals by value for a list sorted by value of a viewer who sees more than a few groups (or
#: every deal): SQLite walks it and tests each deal's group instead of sorting every deal the viewer
#: sees (781 ms for a user in 200 groups at 1M people, 300,000 deals; 94 ms with it). Made on SQLite
#: only (``ddl_if``; the migrations likewise; Alembic's comparison leaves them out by these names,
#: migrations/env.py). (The board's figures read sums per group: crm/pipeline/models.py.)
_SQLITE_ONLY = (live_index("ix_deals_value", "value_cents", "id").ddl_if(dialect="sqlite"),)


def count_term(model):
    """The term only a list's capped count says (:func:`crm.records.queries.count_capped`): true
    of every row (ids start at 1), and the last condition of :func:`count_index` - SQLite uses a
    partial index only for a statement whose WHERE implies the index's, so no other statement can
    take that index, however the planner weighs it. The 0 is written into the statement's text
    (``literal_execute``): a bound parameter's value is unknown when SQLite plans, and the index
    would be of no use."""
    return model.id > literal(0, literal_execute=True)


def count_index(table: str) -> Index:
    """SQLite: the groups of the records that exist, for the capped count of a list - a count of
    one viewer's groups' rows up to 10,001 read from the index alone (the partial index's WHERE
    says what the rule's ``deleted_at IS NULL AND pending_import_id IS NULL`` would otherwise test
    on each row of the table): 13 ms → 1 ms for a user in one group at 1M people. Its WHERE also
    says :func:`count_term`: an index like it that any list could use was tried - the planner
    then took it for the page of a user in 20 groups sorted by last change and sorted all their
    rows (75 → 365 ms, bench/NOTES.md). PostgreSQL counts from its own plans and gets none.
    ``deleted_at`` and ``pending_import_id`` are in it (always NULL there) so that it covers the
    rule's terms."""
    return live_index(f"ix_{table}_live_groups", "group_id", "deleted_at", "pending_import_id",
                      also="id > 0").ddl_if(dialect="sqlite")  # (also: count_term)


COUNT_INDEXES = {table: count_index(table) for table in ("companies", "people", "deals", "projects")}
SQLITE_ONLY_INDEXES = frozenset(index.name for index in (*_SQLITE_ONLY, *COUNT_INDEXES.values()))


class RecordMixin:
    """Columns every grouped record has. ``group_id`` is never NULL: no record is "ungrouped".

    ``deleted_at`` set: the record is in the recycle bin (Papierkorb). It is gone from every
    surface for everyone (the predicates of :mod:`crm.visibility` say ``deleted_at IS NULL``),
    while links from other records keep pointing at it; see :mod:`crm.records.trash`.

    ``pending_import_id`` set: the record is one of the rows an import job is still writing (the
    job's id; :mod:`crm.imports.services` writes in short batches). Until the job's final step
    clears it, the record does not exist for anyone, on any surface (the predicates say
    ``pending_import_id IS NULL`` too); a failed job's pending rows are deleted."""

    KEY: str = ""

    id: Mapped[int] = mapped_column(primary_key=True)
    sort_key: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # (indexed: trash_index)
    pending_import_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @declared_attr
    def deleted_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    @declared_attr
    def group_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("groups.id"), nullable=False, default=BASIS_ID, index=True)

    @declared_attr
    def responsible_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    @declared_attr
    def group(cls):
        return relationship("Group", lazy="joined", innerjoin=True)

    @declared_attr
    def responsible(cls):
        return relationship("User", foreign_keys=[cls.responsible_id])

    @declared_attr
    def created_by(cls):
        return relationship("User", foreign_keys=[cls.created_by_id])

    @declared_attr
    def updated_by(cls):
        return relationship("User", foreign_keys=[cls.updated_by_id])

    @declared_attr
    def tags(cls):
        return relationship(
            "Tag", secondary=lambda: TAG_TABLES[cls.KEY], order_by="Tag.name", lazy="selectin"
        )

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}

    @property
    def display_name(self) -> str:
        return self.name  # type: ignore[attr-defined]

    def compute_sort_key(self) -> str:
        return sort_key(self.name)  # type: ignore[attr-defined]


class Company(RecordMixin, db.Model):
    __tablename__ = "companies"
    KEY = "company"

    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(300), default="")
    background: Mapped[str] = mapped_column(Text, default="")

    contact_details = relationship(
        "ContactDetail", order_by="ContactDetail.position", cascade="all, delete-orphan",
        passive_deletes=True, lazy="selectin",
        primaryjoin="ContactDetail.company_id == Company.id",
    )

    __table_args__ = (
        Index("ix_companies_group_sort", "group_id", "sort_key"),
        Index("ix_companies_group_updated", "group_id", "updated_at"),
        Index("ix_companies_sort", "sort_key"),
        Index("ix_companies_updated_id", "updated_at", "id"),  # newest first, ties by id: the activity stream
        pending_index("companies"),
        trash_index("companies"),
        COUNT_INDEXES["companies"],
    )


class Person(RecordMixin, db.Model):
    __tablename__ = "people"
    KEY = "person"

    salutation: Mapped[str] = mapped_column(String(20), default="")
    title: Mapped[str] = mapped_column(String(60), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100))
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    position: Mapped[str] = mapped_column(String(120), default="")
    background: Mapped[str] = mapped_column(Text, default="")

    company = relationship("Company", foreign_keys=[company_id])
    contact_details = relationship(
        "ContactDetail", order_by="ContactDetail.position", cascade="all, delete-orphan",
        passive_deletes=True, lazy="selectin",
        primaryjoin="ContactDetail.person_id == Person.id",
    )

    __table_args__ = (
        Index("ix_people_group_sort", "group_id", "sort_key"),
        Index("ix_people_group_updated", "group_id", "updated_at"),
        Index("ix_people_sort", "sort_key"),
        Index("ix_people_updated_id", "updated_at", "id"),  # newest first, ties by id: the activity stream
        pending_index("people"),
        trash_index("people"),
        COUNT_INDEXES["people"],
    )

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    def compute_sort_key(self) -> str:
        return sort_key(self.last_name, self.first_name)


class Deal(RecordMixin, db.Model):
    __tablename__ = "deals"
    KEY = "deal"

    name: Mapped[str] = mapped_column(String(200))
    value_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    #: the kind of the deal's stage (open / won / lost), kept with ``stage_id`` by the service
    stage: Mapped[str] = mapped_column(String(8), default="open")
    stage_id: Mapped[int] = mapped_column(ForeignKey("deal_stages.id", ondelete="RESTRICT"), index=True)
    target_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    #: why a won or lost deal ended so (an admin's list per outcome, crm.stages); none while open
    reason_id: Mapped[int | None] = mapped_column(
        ForeignKey("deal_reasons.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    reason_note: Mapped[str] = mapped_column(Text, default="")

    company = relationship("Company", foreign_keys=[company_id])
    person = relationship("Person", foreign_keys=[person_id])

    __table_args__ = (
        Index("ix_deals_group_sort", "group_id", "sort_key"),
        Index("ix_deals_group_updated", "group_id", "updated_at"),
        Index("ix_deals_sort", "sort_key"),
        Index("ix_deals_updated_id", "updated_at", "id"),  # newest first, ties by id: the activity stream
        # a stage's cards on the board: soonest target date, larger value, id (crm.pipeline.queries.board)
        Index("ix_deals_board", "stage_id", "target_date", text("value_cents DESC"), "id"),
        *_SQLITE_ONLY,
        # the list sorted by value, group by group (crm.records.queries.list_page)
        live_index("ix_deals_group_value", "group_id", "value_cents", "id"),
        pending_index("deals"),
        trash_index("deals"),
        COUNT_INDEXES["deals"],
        CheckConstraint("stage IN ('open', 'won', 'lost')", name="stage"),
    )

    @property
    def value(self) -> Decimal | None:
        return None if self.value_cents is None else Decimal(self.value_cents) / 100

    @value.setter
    def value(self, amount: Decimal | None) -> None:
        self.value_cents = None if amount is None else int((Decimal(amount) * 100).to_integral_value())


class Project(RecordMixin, db.Model):
    __tablename__ = "projects"
    KEY = "project"

    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    target_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True, index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")

    company = relationship("Company", foreign_keys=[company_id])
    person = relationship("Person", foreign_keys=[person_id])

    __table_args__ = (
        Index("ix_projects_group_sort", "group_id", "sort_key"),
        Index("ix_projects_group_updated", "group_id", "updated_at"),
        Index("ix_projects_sort", "sort_key"),
        Index("ix_projects_updated_id", "updated_at", "id"),  # newest first, ties by id: the activity stream
        pending_index("projects"),
        trash_index("projects"),
        COUNT_INDEXES["projects"],
    )


class ContactDetail(db.Model):
    """An email address, phone number or postal address of a company or a person."""

    __tablename__ = "contact_details"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(40), default="")
    value: Mapped[str] = mapped_column(String(500))
    position: Mapped[int] = mapped_column(Integer, default=0)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), nullable=True, index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=True, index=True
    )

    __table_args__ = (
        CheckConstraint(
            "(company_id IS NULL) <> (person_id IS NULL)", name="one_owner"
        ),
        Index("ix_contact_details_value", "value"),
    )


MODELS: dict[str, type[RecordMixin]] = {
    "company": Company, "person": Person, "deal": Deal, "project": Project,
}


def _set_sort_key(mapper, connection, target: RecordMixin) -> None:
    target.sort_key = target.compute_sort_key()


for _model in MODELS.values():
    event.listen(_model, "before_insert", _set_sort_key)
    event.listen(_model, "before_update", _set_sort_key)
