"""Writing the audit log. Entries are added to the caller's transaction: they land together with
the change they describe, or not at all."""
from __future__ import annotations

from ..extensions import db
from .models import AuditEntry

#: actions that appear in the log, for the filter on the audit page
ACTIONS = (
    "extension_switched", "group_created", "group_renamed", "group_deleted", "member_added",
    "member_removed", "field_created", "field_renamed", "field_deleted", "field_shared",
    "group_assigned", "assignment_undone", "user_created", "user_changed", "user_deleted", "default_group_set",
    "import", "import_undone", "sessions_ended", "records_deleted", "records_restored", "records_purged",
)


def audit(actor, action: str, **details) -> AuditEntry:
    """Add an entry; ``actor`` is a User or a Viewer (or None for the command line)."""
    actor_id = getattr(actor, "user_id", None) or getattr(actor, "id", None)
    entry = AuditEntry(actor_id=actor_id, action=action, details=details)
    db.session.add(entry)
    db.session.flush()
    return entry
