"""The portable part of the search index: one row per searchable text of a record.

The rows are written by database triggers only (see :mod:`crm.search.schema`), never by the
application; the full-text structures next to this table differ per database and are not part
of the SQLAlchemy metadata.
"""
from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class SearchDoc(db.Model):
    __tablename__ = "search_docs"
    __table_args__ = (
        Index("ix_search_docs_record", "record_type", "record_id"),
        Index("ix_search_docs_source", "source_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: company / person / deal / project
    record_type: Mapped[str] = mapped_column(String(8))
    record_id: Mapped[int] = mapped_column(Integer)
    #: name / email / phone / field
    kind: Mapped[str] = mapped_column(String(8))
    #: the row the text comes from: the record (name), contact_details.id, custom_field_values.id
    source_id: Mapped[int] = mapped_column(Integer)
    field_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # (no group: a search reads it from the record, so that moving records leaves the index alone)
    body: Mapped[str] = mapped_column(Text)
