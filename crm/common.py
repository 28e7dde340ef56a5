"""Small pieces shared by the feature packages: time, the record-attachment mixin."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from werkzeug.routing import IntegerConverter

#: The four record types that carry a group, in their canonical order.
RECORD_KEYS = ("company", "person", "deal", "project")
RECORD_TABLES = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}


#: The largest id a record, group or user can have (a 32-bit ``INTEGER`` on PostgreSQL).
MAX_ID = 2**31 - 1


def to_int(raw, default: int | None = None, *, max_digits: int = 12) -> int | None:
    """A whole number from a query string or form: ASCII digits only (``"²".isdigit()`` is True but
    ``int("²")`` fails), at most ``max_digits`` of them; else ``default``."""
    text = str(raw) if raw is not None else ""
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return default


def to_id(raw) -> int | None:
    """An id from a query string or form: a whole number from 1 to ``MAX_ID``, else ``None`` (a
    larger number is no id any record can have, and PostgreSQL refuses to compare with it)."""
    value = to_int(raw)
    return value if value is not None and 1 <= value <= MAX_ID else None


def is_web_address(text) -> bool:
    """An absolute ``http``/``https`` address with a host: the only kind Kontor stores as a URL
    and renders as a link (``javascript:``, ``data:`` and the like run in the page). Parsed as
    browsers do it: leading blanks and control characters, tabs and line breaks do not count."""
    if not isinstance(text, str) or not text.strip():
        return False
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


#: a label of a host name: letters (any script) and digits, hyphens inside
_HOST_LABEL = re.compile(r"(?!-)(?:[^\W_]|-){1,63}(?<!-)\Z")
#: what a scheme looks like at the start of an address ("javascript:", "mailto:")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
#: a host name with a port ("firma.de:8080/…"), which also starts like a scheme
_HOST_PORT = re.compile(r"[^:/?#@]+:\d+(?:[/?#]|\Z)")


def with_scheme(text: str) -> str:
    """A web address typed without its scheme as the ``https`` address it names: "www.firma.de" ->
    "https://www.firma.de", "firma.de/kontakt" -> "https://firma.de/kontakt". Only a value that
    is otherwise a host name (labels of letters, digits and hyphens, a dot, a top-level domain of
    letters) and names no other scheme and no user is completed; anything else comes back as it
    was, for :func:`is_web_address` to judge ("abc", "javascript:…", "mailto:…" stay refused)."""
    value = text.strip() if isinstance(text, str) else text
    if not value or "://" in value or value.startswith("/"):
        return text
    if _SCHEME.match(value) and not _HOST_PORT.match(value):
        return text
    candidate = "https://" + value
    try:
        parts = urlsplit(candidate)
        host = parts.hostname
    except ValueError:
        return text
    if not host or "@" in parts.netloc or "." not in host:
        return text
    labels = host.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels) or len(labels[-1]) < 2 \
            or not labels[-1].isalpha():
        return text
    return candidate


def parse_id_list(values) -> list[int]:
    """Ids from a query string or form (``3,5,8``, or several values): each piece, once stripped,
    must be an id (:func:`to_id`); empty pieces are skipped. Raises ``ValueError`` on anything
    else, so that the caller can refuse the request with a clear message instead of guessing."""
    if isinstance(values, str):
        values = [values]
    out: list[int] = []
    for value in values:
        for piece in str(value).split(","):
            piece = piece.strip()
            if not piece:
                continue
            number = to_id(piece)
            if number is None:
                raise ValueError(piece)
            out.append(number)
    return list(dict.fromkeys(out))


def _up_to(limit: int) -> str:
    """A regular expression of the whole numbers 1 to ``limit`` written without sign or leading zero
    (``1`` to ``2147483647``: ``[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|...``)."""
    digits = str(limit)
    arms = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):  # same first i digits as the limit, then a smaller digit, then any
        low = "1" if i == 0 else "0"
        if int(d) > int(low):
            arms.append(f"{digits[:i]}[{low}-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}")
    arms.append(digits)
    return "(?:" + "|".join(arms) + ")"


#: an id in a URL: 1 to ``MAX_ID``, nothing else
ID_PATTERN = _up_to(MAX_ID)


class IdConverter(IntegerConverter):
    """``<int:...>`` in every URL: ids beyond ``MAX_ID`` are simply not found (404). The range is in
    the pattern, not only checked after the match: a rule whose converter refuses a matched value
    makes werkzeug answer 405 for another method's rule of the same URL."""

    regex = r"\d+"

    def __init__(self, url_map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        self.regex = r"0*" + ID_PATTERN  # (a leading zero is read as before: "007" is 7)


def name_among(name: str, names) -> bool:
    """``name`` is one of ``names``, case-insensitively in Python's full Unicode sense. The admins'
    short lists (groups, stages, reasons, fields) compare names so, not with SQL ``lower()``: SQLite
    lowers ASCII only, so a taken name with a non-ASCII capital ("Ärger") passed that check and the
    insert then failed on the unique index (a 500)."""
    key = name.casefold()
    return any(other.casefold() == key for other in names)


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


#: Control characters other than line breaks and tabs: no text field stores them.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_chars(text: str) -> bool:
    """Control characters other than line breaks and tabs (what every text input refuses)."""
    return bool(CONTROL_CHARS.search(text))


#: What a single line (a name, a title, a tag; not a text of several lines) may not hold: every
#: control character - C0 with the tab, DEL, C1 - and the Unicode line and paragraph separators.
LINE_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
#: The line breaks among them (their own message: "Line breaks are not allowed here.").
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def line_problem(text: str) -> str | None:
    """Why ``text`` can't be a single line: "break" (a line break) or "control" (another control
    character); None if it can. One rule for the input models of pages, API and import."""
    if CONTROL_CHARS.search(text):
        return "control"
    if LINE_BREAKS.search(text):
        return "break"
    return "control" if LINE_CONTROL_CHARS.search(text) else None
