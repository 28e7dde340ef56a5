"""Writing the audit log. Entries are added to the caller's transaction: they land together with
the change they describe, or not at all.

Not every write is audited. What is (the actions in :data:`ACTIONS`):

* the group system: the extension switch, groups created / renamed / deleted, every membership
  added or removed, a group's contact persons, a user's default group, the default group of a record
  type, custom fields created / renamed / deleted / shared;
* the deal stages: created, changed (name, probability), deleted (and where their deals moved);
  the won/lost reasons: created, renamed, deleted;
* users: created (page, API, command line), changed (role, name, e-mail, active, password), their
  sessions ended;
* records changing group: a bulk assignment (with what it moved, for its undo) and its undo, and a
  form or API save that moves a record to another group;
* imports and their undo; records moved to the recycle bin, restored from it and purged;
* two records merged into one, and the undo of a merge;
* files attached to records: uploaded and deleted (record, file name, size).

Not audited: creating or editing a record in its group, its notes, tasks, tags, contact details
and custom field values (the record's ``updated_at`` / ``updated_by`` say who changed it last).
"""
from __future__ import annotations

from ..extensions import db
from .models import AuditEntry

#: actions that appear in the log, for the filter on the audit page
ACTIONS = (
    "extension_switched", "group_created", "group_renamed", "group_deleted", "member_added",
    "member_removed", "field_created", "field_renamed", "field_deleted", "field_shared",
    "group_assigned", "assignment_undone", "user_created", "user_changed", "user_deleted", "default_group_set",
    "import", "import_undone", "sessions_ended", "records_deleted", "records_restored", "records_purged",
    "file_uploaded", "file_deleted",
    "contacts_set", "type_default_set", "handover_set", "handover_removed",
    "stage_created", "stage_changed", "stage_deleted",
    "reason_created", "reason_changed", "reason_deleted",
    "rule_created", "rule_changed", "rule_deleted", "rules_applied",
    "records_merged", "merge_undone",
)


def audit(actor, action: str, **details) -> AuditEntry:
    """Add an entry; ``actor`` is a User or a Viewer (or None for the command line)."""
    actor_id = getattr(actor, "user_id", None) or getattr(actor, "id", None)
    entry = AuditEntry(actor_id=actor_id, action=action, details=details)
    db.session.add(entry)
    db.session.flush()
    return entry
