"""Jobs: work that takes longer than a request should, run by the worker (``flask --app app worker``).

A job's state lives in the database, not in the worker, so any app server shows its progress and
its owner can poll it (page or ``GET /api/v1/jobs/<id>``). The CSV import keeps its own, richer
state in ``import_jobs``; this table holds the other kinds (large group assignments and their
undo, large CSV exports, search rebuild).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import db

#: the kinds of job this table holds
KINDS = ("assign", "assign_undo", "rules_apply", "rules_preview", "export", "search_rebuild")
#: queued -> running -> done | failed | cancelled (cancelled only while queued)
STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")


class Job(db.Model):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: who started it (sees it, with the admins); none for the system's own jobs
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True,
                                                nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    #: what the job needs to run (ids, filter, target group; no record data beyond ids)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    #: what it did (counts, the audit entry), once done
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    #: how often a worker took it up (a job whose worker died is taken up once more, then failed)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: the language its messages are written in (of the page or request that started it)
    locale: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: an export's CSV, for its owner only (not the admins: it holds what the owner sees), until
    #: it expires (:func:`crm.jobs.services.expire_exports`); read only by the download
    file_name: Mapped[str | None] = mapped_column(String(200))
    file: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


#: the kinds of job that move records by bulk assignments (``result``: :func:`assignment_audit_ids`)
ASSIGNING = ("assign", "rules_apply")


def assignment_audit_ids(kind: str, result: dict | None) -> list[int]:
    """The audit entries of the bulk assignments a job made, from its ``result``: a group
    assignment's one (``audit_id``, once done), applying the rules' one per assignment done so far
    (``assignments``); none for the other kinds."""
    result = result or {}
    if kind == "assign":
        found = [result.get("audit_id")]
    elif kind == "rules_apply":
        found = [a.get("audit_id") for a in result.get("assignments") or () if isinstance(a, dict)]
    else:
        found = []
    return [i for i in found if isinstance(i, int) and not isinstance(i, bool)]
