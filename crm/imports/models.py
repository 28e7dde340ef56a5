"""Import jobs: an uploaded CSV file, its column mapping, its progress and the records it made.

The state lives in the database, not in a process, so any app server can show the progress of a
job another one runs, and an undo finds exactly the records the import created.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..common import utcnow
from ..extensions import db
from ..records.models import Company, ContactDetail, Person

#: An import's ``message`` as stored for a report written since: a key of this table, translated
#: when shown in the reader's language (:attr:`ImportJob.shown_message`), or ``"file_errors"``
#: (counted by ``error_count``). Other text (a refusal's summary; reports of older releases, written
#: in the language of the page that started them) is shown as it was stored.
JOB_MESSAGES = {
    "cancelled": _l("The import was cancelled. Nothing was imported."),
    "crashed": _l("The import stopped because of an error on our side. Nothing was imported."),
    "interrupted": _l("The import was interrupted. Nothing was imported."),
}
FILE_ERRORS = "file_errors"

#: skip a duplicate row; update the existing record with the row's values; create a record anyway
ON_DUPLICATE = ("skip", "update", "create")


class ImportJob(db.Model):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    record_type: Mapped[str] = mapped_column(String(8))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), nullable=True)
    filename: Mapped[str] = mapped_column(String(255), default="")
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    delimiter: Mapped[str] = mapped_column(String(1), default=",")
    #: the decoded file; emptied once the job has finished
    content: Mapped[str] = mapped_column(Text, default="")
    header: Mapped[list] = mapped_column(JSON, default=list)
    #: column index (as text) -> target field name
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    #: mapping (uploaded) -> queued (mapping chosen) -> checking -> saving -> done | failed |
    #: cancelled; done -> undone
    status: Mapped[str] = mapped_column(String(10), default="mapping")
    #: the owner asked to stop it: the runner stops at its next check and saves nothing
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: how often a worker took it up (one whose worker died is taken up once more, then failed)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    #: [{"line": n, "field": label, "message": text}, ...] (the first few hundred)
    errors: Mapped[list] = mapped_column(JSON, default=list)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[int] = mapped_column(Integer, default=0)
    #: what the import does with a row that matches a record the importer fully sees, or repeats an
    #: earlier row of the file: one of :data:`ON_DUPLICATE` (crm/imports/queries.py finds them)
    on_duplicate: Mapped[str] = mapped_column(String(8), default="skip", server_default="skip")
    #: existing records the import changed (``on_duplicate == "update"``), and rows it left out
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: a people import: create the companies the file names that the importer fully sees none of
    #: (in the job's group), and how many it created
    create_companies: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    companies_created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the language of the page that queued it (:func:`crm.i18n.ui_locale`): the worker reads the
    #: file's numbers and dates and writes the report in it, a retry after a dead worker too
    locale: Mapped[str] = mapped_column(String(10), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: the audit entry of the import (marked undone by an undo)
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id", ondelete="SET NULL"), nullable=True)

    user = relationship("User")
    group = relationship("Group")

    @property
    def shown_message(self) -> str:
        """The message in the reader's language (:data:`JOB_MESSAGES`): an English admin reads a
        report that a German page started in English."""
        if self.message == FILE_ERRORS:
            return ngettext("Nothing was imported: %(num)s error in the file.",
                            "Nothing was imported: %(num)s errors in the file.", self.error_count)
        text = JOB_MESSAGES.get(self.message or "")
        return str(text) if text is not None else (self.message or "")


class ImportItem(db.Model):
    """One record an import created, with the version it had then (for a safe undo)."""

    __tablename__ = "import_items"
    __table_args__ = (Index("ix_import_items_job", "job_id", "record_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    record_type: Mapped[str] = mapped_column(String(8))
    record_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


# What the duplicate lookups of an import (crm/imports/queries.py) compare, indexed: a 20,000-row
# file against 100,000 people is a few thousand index probes instead of a scan per chunk.
Index("ix_people_name_key", func.lower(Person.last_name).op("||")(literal_column("'|'"))
      .op("||")(func.lower(Person.first_name)))
Index("ix_companies_name_lower", func.lower(Company.name))
Index("ix_contact_details_email_lower", func.lower(ContactDetail.value),
      sqlite_where=text("kind = 'email'"), postgresql_where=text("kind = 'email'"))
