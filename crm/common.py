"""Small pieces shared by the feature packages: time, the record-attachment mixin."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

#: The four record types that carry a group, in their canonical order.
RECORD_KEYS = ("company", "person", "deal", "project")
RECORD_TABLES = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}


def to_int(raw, default: int | None = None, *, max_digits: int = 12) -> int | None:
    """A whole number from a query string or form: ASCII digits only (``"²".isdigit()`` is True but
    ``int("²")`` fails), at most ``max_digits`` of them; else ``default``."""
    text = str(raw) if raw is not None else ""
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return default


def utcnow() -> datetime:
    """Naive UTC; Flask-Babel converts to the configured time zone for display."""
    return datetime.now(UTC).replace(tzinfo=None)


class AttachedMixin:
    """Belongs to one of the four record types through one of four foreign keys.

    Notes, contact details and custom field values belong to exactly one record; tasks to at
    most one (``ATTACHMENT_REQUIRED = False``). Real foreign keys keep the database honest:
    deleting a record deletes what hangs on it.
    """

    ATTACHMENT_REQUIRED = True
    EXTRA_TABLE_ARGS: tuple = ()

    @declared_attr.directive
    def __table_args__(cls):
        return (cls.attachment_check(), *cls.EXTRA_TABLE_ARGS)

    @declared_attr
    def company_id(cls) -> Mapped[int | None]:
        return _attach_fk(cls, "company")

    @declared_attr
    def person_id(cls) -> Mapped[int | None]:
        return _attach_fk(cls, "person")

    @declared_attr
    def deal_id(cls) -> Mapped[int | None]:
        return _attach_fk(cls, "deal")

    @declared_attr
    def project_id(cls) -> Mapped[int | None]:
        return _attach_fk(cls, "project")

    @classmethod
    def attachment_check(cls) -> CheckConstraint:
        cols = [f"{k}_id" for k in RECORD_KEYS]
        count = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in cols)
        op = "= 1" if cls.ATTACHMENT_REQUIRED else "<= 1"
        return CheckConstraint(f"{count} {op}", name="one_record")

    @property
    def record_key(self) -> str | None:
        for key in RECORD_KEYS:
            if getattr(self, f"{key}_id", None) is not None:
                return key
        return None

    @property
    def record_id(self) -> int | None:
        key = self.record_key
        return getattr(self, f"{key}_id") if key else None

    def attach_to(self, key: str, record_id: int) -> None:
        for k in RECORD_KEYS:
            setattr(self, f"{k}_id", record_id if k == key else None)


def _attach_fk(cls, key: str):
    return mapped_column(
        Integer, ForeignKey(f"{RECORD_TABLES[key]}.id", ondelete="CASCADE"), nullable=True, index=True
    )
