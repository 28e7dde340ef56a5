"""The write oracle (issue 12, "Proof"): after every state-changing request by a user ``u``, every
row that ``u`` could not fully see before the request is byte-identical afterwards.

* **Which requests**: every POST/PUT/PATCH/DELETE rule of the coverage table (``coverage.WRITE``,
  so a new route is covered as soon as it is listed there; a new *kind* of write fails
  :func:`test_every_write_kind_has_valid_inputs`), sent with **valid, plausible** input as a user
  of each role: edits of records that hidden records link to, deletes of them (page, bulk, API),
  group assignments with cascade and their undo, imports and their undo, tags, notes, tasks,
  the admin pages and the API. A refused request is checked the same way (test_writes.py tries
  the refused ones systematically).
* **Which rows**: the rows of the records ``u`` does not fully see, by the oracle of world.py
  (product.md §4, not ``crm.visibility``) applied to the state of the database just before the
  request, and of everything attached to them: tag links and their tags, contact details, notes,
  tasks, files, custom field values, search documents. All columns, ``version`` and ``updated_at``
  included; a row that disappears counts as changed.
* **The recycle bin** (product.md §8): a record in the bin is on no surface for anyone, so its
  rows (and what hangs on it) are protected from every request except the bin's own actions
  (restore, purge) by a user who may act on it there: an admin or its deleter, fully seeing its
  group. A purge acts as the system: on a purge request, and only there, the linking rows of what
  it removes may change exactly by the link set to NULL with a new version and time of change
  (:func:`_detached_from`, like the records a group delete moves).
* **Two more invariants**: while the group system is off, no request changes any record's group
  (product.md §8: "While the extension is off, no path changes any record's group"); and an
  import's undo deletes exactly as many records as its audit entry (and message) reports.

Worlds: the fixed world of the leak test with the extension on and off (explicit examples that
hit findings 1, 2 and 6 of issue 12 on every run) and a few random worlds (Hypothesis).
Between requests the oracle may change the world as *another* user would (link a hidden record
to one the actor just imported, move a just-assigned record out of the actor's sight): the
plausible situations in which an action meets records its actor cannot see.
"""
from __future__ import annotations

import csv
import io
import itertools
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from sqlalchemy import func, select, update

from crm.audit.models import AuditEntry
from crm.auth.models import User
from crm.common import utcnow
from crm.customfields.models import CustomField, custom_field_shares
from crm.extensions import db
from crm.groups.models import BASIS_ID, Group, group_members
from crm.imports.models import ImportItem, ImportJob
from crm.records.trash import RETENTION_DAYS
from crm.settings.models import ACCOUNT_ID, Account

from . import figures
from .coverage import ANY_RECORD, KEY_OF, PLURALS, WRITE, fill
from .leakcheck import make_ctx
from .probes import Browser, form_data
from .test_random_worlds import worlds
from .world import (
    COMMON_TAG,
    MODEL,
    PLURAL,
    TYPES,
    FieldSpec,
    RecordSpec,
    UserSpec,
    World,
    WorldSpec,
    build,
    fixed_spec,
    level,
    reset_database,
)

PROFILE = os.environ.get("KONTOR_ADV_PROFILE", "ci")
EXAMPLES = {"ci": 1, "thorough": 40}[PROFILE]
_worlds = itertools.count(1)

TABLE = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}
#: tables of things that belong to one record, by the record's foreign key columns
ATTACHED = {
    "contact_details": ("company", "person"),
    "notes": TYPES,
    "tasks": TYPES,
    "custom_field_values": TYPES,
    "attachments": TYPES,
}
TAG_LINKS = {k: f"{k}_tags" for k in TYPES}
WATCHED = (*TABLE.values(), *ATTACHED, *TAG_LINKS.values(), "tags", "search_docs")
#: a column that marks a row as deleted while it stays in its table (a recycle bin)
GONE_COLUMNS = ("deleted_at", "trashed_at")


# ----------------------------------------------------------------------------------------------
# the state of the database, as the oracle of world.py sees it
# ----------------------------------------------------------------------------------------------

@dataclass
class Snapshot:
    #: table -> primary key -> {column: value}
    rows: dict[str, dict[tuple, dict]]
    spec: WorldSpec  # the world as it is now: groups, users, fields, records (key "<type>#<id>")

    def record(self, rtype: str, rid: int) -> RecordSpec | None:
        return self._records.get((rtype, rid))

    def __post_init__(self):
        self._records = {(r.type, int(r.key.split("#")[1])): r for r in self.spec.records}

    def level(self, user_key: str, rtype: str, rid: int) -> str:
        return level(self.spec, self.spec.user(user_key), self.record(rtype, rid))

    def ids(self, user_key: str, rtype: str, *levels: str) -> list[int]:
        return sorted(rid for (t, rid) in self._records if t == rtype and self.level(user_key, t, rid) in levels)

    def trashed(self, rtype: str, rid: int) -> bool:
        """In the recycle bin (or gone)."""
        return _gone(self.rows[TABLE[rtype]].get((rid,)))

    def links_to(self, rtype: str, rid: int) -> list[tuple[str, int]]:
        """Records that link to (rtype, rid) through company_id / person_id."""
        out = []
        for key in ("person", "deal", "project"):
            for pk, row in self.rows[TABLE[key]].items():
                if row.get(f"{rtype}_id") == rid:
                    out.append((key, pk[0]))
        return out

    def group_name(self, gid: int) -> str:
        return self._group_names[gid]


def _user_keys(world: World) -> dict[int, str]:
    return {uid: key for key, uid in world.user_ids.items()}


def snapshot(world: World) -> Snapshot:
    """Every watched row, and the world as a spec read back from the database."""
    rows: dict[str, dict[tuple, dict]] = {}
    tables = {t.name: t for t in db.metadata.sorted_tables}
    with db.engine.connect() as conn:
        for name in WATCHED:
            table = tables[name]
            pk = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
            rows[name] = {}
            for row in conn.execute(select(table)).mappings():
                rows[name][tuple(row[c] for c in pk)] = dict(row)
        enabled = bool(conn.scalar(select(Account.groups_enabled).where(Account.id == ACCOUNT_ID)))
        names = dict(conn.execute(select(Group.id, Group.name)).all())
        members: dict[int, set[str]] = {}
        for uid, gid in conn.execute(select(group_members.c.user_id, group_members.c.group_id)):
            members.setdefault(uid, set()).add(names[gid])
        keys = _user_keys(world)
        users = tuple(UserSpec(keys.get(uid, f"user{uid}"), role, frozenset(members.get(uid, set())))
                      for uid, role in conn.execute(select(User.id, User.role).order_by(User.id)))
        shares: dict[int, set[str]] = {}
        for fid, gid in conn.execute(select(custom_field_shares.c.field_id, custom_field_shares.c.group_id)):
            shares.setdefault(fid, set()).add(names[gid])
        fields = tuple(FieldSpec(f"f{fid}", entity, "text", frozenset(shares.get(fid, set())))
                       for fid, entity in conn.execute(select(CustomField.id, CustomField.entity)))
    records = tuple(RecordSpec(f"{key}#{pk[0]}", key, names[row["group_id"]])
                    for key, table in TABLE.items() for pk, row in rows[table].items())
    snap = Snapshot(rows, WorldSpec(enabled, tuple(n for i, n in names.items() if i != BASIS_ID), users, fields,
                                    records))
    snap._group_names = names
    return snap


def protected(snap: Snapshot, user_key: str, user_id: int, bin_action: bool = False) -> dict[str, set[tuple]]:
    """Primary keys, per table, of the rows of every record the user does not fully see and of
    everything attached to them.

    A record in the recycle bin is on no surface for anyone (product.md §8): its rows are
    protected from every request, except from the bin's own actions (``bin_action``: restore,
    purge) by a user who may act on it there - an admin or its deleter, fully seeing its group."""
    me = snap.spec.user(user_key)
    not_full = {k: set(snap.ids(user_key, k, "restricted", "hidden")) for k in TYPES}
    for key, table in TABLE.items():
        for pk, row in snap.rows[table].items():
            if row["deleted_at"] is not None and not (
                    bin_action and (me.role == "admin" or row["deleted_by_id"] == user_id)):
                not_full[key].add(pk[0])
    out: dict[str, set[tuple]] = {t: set() for t in WATCHED}
    for key, table in TABLE.items():
        out[table] = {pk for pk in snap.rows[table] if pk[0] in not_full[key]}
    for table, keys in ATTACHED.items():
        out[table] = {pk for pk, row in snap.rows[table].items()
                      if any(row.get(f"{k}_id") in not_full[k] for k in keys)}
    tag_ids = set()
    for key, table in TAG_LINKS.items():
        out[table] = {pk for pk, row in snap.rows[table].items() if row[f"{key}_id"] in not_full[key]}
        tag_ids |= {snap.rows[table][pk]["tag_id"] for pk in out[table]}
    out["tags"] = {pk for pk in snap.rows["tags"] if pk[0] in tag_ids}
    out["search_docs"] = {pk for pk, row in snap.rows["search_docs"].items()
                          if row["record_id"] in not_full.get(row["record_type"], set())}
    return out


def _gone(row: dict | None) -> bool:
    return row is None or any(row.get(c) is not None for c in GONE_COLUMNS)


# ----------------------------------------------------------------------------------------------
# one run: a world, its actors, the requests and the checks after each
# ----------------------------------------------------------------------------------------------

#: changes that admin pages make to records by design (product.md §6): deleting a group moves its
#: records to the group chosen; deleting a custom field deletes its values. The oracle allows
#: exactly these columns/rows to change on those two requests, nothing else.
GROUP_DELETE = {("POST", "/settings/groups/<int:group_id>/delete"), ("DELETE", "/api/v1/groups/<api_id:group_id>")}
FIELD_DELETE = {("POST", "/settings/fields/<int:field_id>/delete"),
                ("DELETE", "/api/v1/custom-fields/<api_id:field_id>")}
MOVED_COLUMNS = {"group_id", "version", "updated_at", "updated_by_id"}


@dataclass
class Run:
    app: object
    world: World
    world_id: str
    browsers: dict[str, Browser]
    failures: list[str] = field(default_factory=list)
    sent: int = 0
    _snap: Snapshot | None = None
    _audit_seen: int = 0  # the last audit entry the undo check has looked at

    def snap(self) -> Snapshot:
        if self._snap is None:
            self._snap = snapshot(self.world)
        return self._snap

    def changed_behind(self) -> None:
        """The test changed the database itself (as another user would): read it again."""
        self._snap = None

    def send(self, b: Browser, method: str, url: str, rule: str, *, data=None, json=None, target=None,
             allow: dict | None = None):
        """Send one request as ``b`` and check the oracle's invariants against the state before."""
        before = self.snap()
        write = WRITE.get((method, rule))
        guarded = protected(before, b.user.key, self.world.user_ids[b.user.key],
                            bin_action=write is not None and write.kind in ("trash", "merge_undo"))
        api = url.startswith("/api/")
        body = ({"json": json if json is not None else {}} if api and data is None
                else {"data": data if data is not None else {}})  # (the API's uploads: multipart data)
        resp = b.send(method, url, rule=rule, target=target, api=api, **body)
        self.sent += 1
        figures.add("unauthorized_attempts")
        context = f"{method} {url} as {b.user.key} ({b.user.role}, world {self.world_id})"
        if resp.status_code >= 500:
            self.fail(f"{context}: HTTP {resp.status_code}")
        self._snap = None
        after = self.snap()
        self._compare(context, before, after, guarded, allow or {})
        if not before.spec.enabled:
            self._no_group_moved(context, before, after)
        self._undo_counts_agree(context, before, after)
        return resp

    def fail(self, msg: str) -> None:
        self.failures.append(msg)

    def _compare(self, context, before: Snapshot, after: Snapshot, guarded, allow: dict) -> None:
        problems = []
        for table, pks in guarded.items():
            for pk in sorted(pks, key=repr):
                old, new = before.rows[table].get(pk), after.rows[table].get(pk)
                if old == new:
                    continue
                allowed = allow.get(table)
                if allowed is not None and allowed(old, new):
                    continue
                if new is None:
                    problems.append(f"{table} {pk} deleted")
                else:
                    cols = {c: (old[c], new[c]) for c in old if old[c] != new.get(c)}
                    problems.append(f"{table} {pk} changed {cols}")
        if problems:
            figures.add("unauthorized_writes")
            self.fail(f"{context} CHANGED ROWS THE USER CANNOT FULLY SEE: {problems[:6]}")

    def _no_group_moved(self, context, before: Snapshot, after: Snapshot) -> None:
        moved = []
        for key, table in TABLE.items():
            for pk, row in before.rows[table].items():
                new = after.rows[table].get(pk)
                if new is not None and new["group_id"] != row["group_id"]:
                    moved.append(f"{key} {pk[0]}: {before.group_name(row['group_id'])} -> "
                                 f"{after.group_name(new['group_id'])}")
        if moved:
            figures.add("unauthorized_writes")
            self.fail(f"{context} MOVED RECORDS WHILE THE GROUP SYSTEM IS OFF: {moved[:6]}")

    def _undo_counts_agree(self, context, before: Snapshot, after: Snapshot) -> None:
        """An import's undo deletes as many records as its audit entry reports."""
        entries = db.session.execute(
            select(AuditEntry.details).where(AuditEntry.action == "import_undone",
                                             AuditEntry.id > self._audit_seen)).scalars().all()
        self._audit_seen = db.session.scalar(select(func.max(AuditEntry.id))) or 0
        db.session.rollback()
        for details in entries:
            job = db.session.get(ImportJob, details["job_id"])
            items = db.session.execute(select(ImportItem.record_type, ImportItem.record_id)
                                       .where(ImportItem.job_id == job.id)).all()
            db.session.rollback()
            went = sum(1 for key, rid in items if not _gone(before.rows[TABLE[key]].get((rid,)))
                       and _gone(after.rows[TABLE[key]].get((rid,))))
            reported = sum((details.get("counts") or {}).values())
            if went != reported:
                self.fail(f"{context}: the undo reports {reported} records deleted, {went} went")


# ----------------------------------------------------------------------------------------------
# valid, plausible requests per kind of write (coverage.WRITE)
# ----------------------------------------------------------------------------------------------

NAME = {"company": "name", "person": "last_name", "deal": "name", "project": "name"}


def _plurals(rule: str, params: dict) -> list[str]:
    return [params["plural"]] if "plural" in params else list(PLURALS) if ANY_RECORD in rule else []


def _targets(run: Run, b: Browser, rtype: str, n: int = 1) -> list[int]:
    """Up to ``n`` records the user fully sees, those that other records link to first (most of
    all records the user does not fully see)."""
    snap = run.snap()
    full = [rid for rid in snap.ids(b.user.key, rtype, "full") if not snap.trashed(rtype, rid)]
    return _most_linked(run, b, rtype, full)[:n]


def _most_linked(run: Run, b: Browser, rtype: str, ids: list[int]) -> list[int]:
    """``ids``, those that records the user does not fully see link to first."""
    snap = run.snap()

    def weight(rid):
        links = snap.links_to(rtype, rid) if rtype in ("company", "person") else []
        unseen = [x for x in links if snap.level(b.user.key, *x) != "full"]
        return (-len(unseen), -len(links), rid)

    return sorted(ids, key=weight)


def _not_full(run: Run, b: Browser, rtype: str) -> list[int]:
    return run.snap().ids(b.user.key, rtype, "restricted", "hidden")


def _own_groups(run: Run, b: Browser) -> list[int]:
    snap = run.snap()
    me = snap.spec.user(b.user.key)
    ids = {n: i for i, n in snap._group_names.items()}
    return sorted(ids[g] for g in me.all_groups)


def _other_group(run: Run, b: Browser, rtype: str, rid: int) -> int:
    """One of the user's groups that the record is not in (Basis if it is elsewhere)."""
    current = run.snap().rows[TABLE[rtype]][(rid,)]["group_id"]
    own = _own_groups(run, b)
    return next((g for g in own if g != current), own[0])


def _submit(run: Run, b: Browser, page_url: str, post_url: str, rule: str, changes: dict, method="POST",
            allow=None):
    """Fetch the page, fill its form like a user (``changes``), post it."""
    page = b.get(page_url)
    fields = form_data(page, post_url) if page.status_code == 200 else None
    if fields is None:
        return run.send(b, method, post_url, rule, data=dict(changes), allow=allow)
    keep = [(k, v) for k, v in fields if k not in changes]
    data: dict[str, list] = {}
    for k, v in [*keep, *changes.items()]:
        data.setdefault(k, []).extend(v if isinstance(v, list) else [v])
    return run.send(b, method, post_url, rule, data=data, allow=allow)


def write_record(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    view = params["view"]
    for plural in _plurals(rule, params):
        rtype = KEY_OF[plural]
        if view == "stage":  # the board's move: of deals the user does not fully see too (refused)
            snap = run.snap()
            unseen = [r for lvl in ("restricted", "hidden") for r in snap.ids(b.user.key, rtype, lvl)[:1]]
            for rid in [*_targets(run, b, rtype), *unseen]:
                for stage_id in ("2", "1"):
                    run.send(b, method, fill(rule, plural=plural, record_id=rid), rule, data={"stage_id": stage_id},
                             target="pipeline-board" if stage_id == "2" else None)
            continue
        for rid in _targets(run, b, rtype):
            url = fill(rule, plural=plural, record_id=rid)
            if view == "notes":
                run.send(b, method, url, rule, data={"body": "Notiz vom Orakel", "kind": "call"}, target="notes")
            elif view == "files":
                run.send(b, method, url, rule, data={"files": (io.BytesIO(b"Orakel"), "Orakel.txt")}, target="files")
            elif view == "edit":
                changes = {NAME[rtype]: f"Geändert {rid}", "tags": "Orakel"}
                if run.snap().spec.enabled:
                    changes["group_id"] = str(_other_group(run, b, rtype, rid))
                    _submit(run, b, url, url, rule, changes)
                else:
                    _submit(run, b, url, url, rule, changes)
                    # the group field is not offered while the system is off: sent anyway
                    _submit(run, b, url, url, rule, {**changes, "group_id": str(_foreign_or_any(run, b))})
            elif view == "delete":
                run.send(b, method, url, rule)


def _foreign_or_any(run: Run, b: Browser) -> int:
    names = run.snap()._group_names
    own = set(_own_groups(run, b))
    return next((g for g in sorted(names) if g not in own), max(names))


def write_record_new(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    rtype = params["rtype"]
    url = fill(rule)
    parents = {"company": [], "person": ["company"], "deal": ["company", "person"],
               "project": ["company", "person", "deal"]}[rtype]
    for key in parents or [None]:
        page = url if key is None else f"{url}?{key}_id={next(iter(_targets(run, b, key, 1)), 0)}"
        _submit(run, b, page, url, rule, {NAME[rtype]: "Neu vom Orakel"})


def write_note_delete(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """Delete or change a note the user may change (pages and API): one of a fully visible record,
    their own or (admins) anyone's."""
    snap = run.snap()
    for pk, row in sorted(snap.rows["notes"].items()):
        key = next(k for k in TYPES if row.get(f"{k}_id"))
        if snap.level(b.user.key, key, row[f"{key}_id"]) == "full" and (
                b.user.role == "admin" or row["author_id"] == run.world.user_ids[b.user.key]):
            url = fill(rule, note_id=pk[0])
            if rule.startswith("/api/"):
                run.send(b, method, url, rule, json={"body": "Geändert vom Orakel", "kind": "call"})
            elif rule.endswith("/edit"):
                run.send(b, method, url, rule, target=f"note-{pk[0]}",
                         data={f"note{pk[0]}-body": "Geändert vom Orakel", f"note{pk[0]}-kind": "email"})
            else:
                run.send(b, method, url, rule, target="notes")
            return


def write_file_delete(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """Delete a file the user may delete (pages and API): one of a fully visible record, their own
    upload or (extended users, admins) anyone's."""
    snap = run.snap()
    for pk, row in sorted(snap.rows["attachments"].items()):
        key = next(k for k in TYPES if row.get(f"{k}_id"))
        if snap.level(b.user.key, key, row[f"{key}_id"]) == "full" and (
                b.user.role != "normal" or row["uploaded_by_id"] == run.world.user_ids[b.user.key]):
            run.send(b, method, fill(rule, file_id=pk[0]), rule, target=None if rule.startswith("/api/") else "files")
            return


def write_task_create(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    for rtype in TYPES:
        for rid in _targets(run, b, rtype, 1):
            run.send(b, method, fill(rule), rule, target="tasks",
                     data={"title": "Aufgabe vom Orakel", "assignee_id": str(run.world.user_ids[b.user.key]),
                           "record_type": rtype, "record_id": str(rid)})
            break
    run.send(b, method, fill(rule), rule, data={"title": "Privat vom Orakel", "assignee_id": ""})


def write_task(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    snap = run.snap()
    me = run.world.user_ids[b.user.key]
    for pk, row in sorted(snap.rows["tasks"].items()):
        key = next((k for k in TYPES if row.get(f"{k}_id")), None)
        mine = row["created_by_id"] == me or row["assignee_id"] == me
        if (key is None and mine) or (key and snap.level(b.user.key, key, row[f"{key}_id"]) == "full"
                                      and (b.user.role != "normal" or mine)):
            url = fill(rule, task_id=pk[0])
            if rule.startswith("/api/"):
                run.send(b, method, url, rule, json={"title": "Orakel", "due_date": "2032-02-02", "done": True})
            elif rule.endswith("/edit"):
                run.send(b, method, url, rule, data={"title": "Geändert vom Orakel", "due_date": "2032-02-02",
                                                     "assignee_id": str(me)})
            else:
                run.send(b, method, url, rule, target=f"task-{pk[0]}", data=params.get("data"))
            return


def write_bulk(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    rtype, action = params["rtype"], params["action"]
    url = fill(rule)
    for rid_list in (_targets(run, b, rtype, 3),):
        ids = [str(i) for i in rid_list + _not_full(run, b, rtype)]  # ticked: everything on the page
        if not ids:
            return
        sel = {"scope": "ids", "ids": ids, "step": "run"}
        if action == "assign":
            gid = _other_group(run, b, rtype, rid_list[0]) if rid_list else _own_groups(run, b)[0]
            run.send(b, method, url, rule, target="dialog",
                     data={**sel, "target_id": str(gid), "cascade": ["people", "deals", "projects"]})
        elif action == "tag":
            hidden_tags = _hidden_tag_names(run, b, rtype)
            run.send(b, method, url, rule, target="dialog", data={**sel, "tag_name": "Orakel", "mode": "add"})
            for name in hidden_tags[:1] or ["Orakel"]:
                run.send(b, method, url, rule, target="dialog",
                         data={**sel, "tag_name": name.upper(), "mode": "remove"})
        elif action == "delete":
            run.send(b, method, url, rule, target="dialog", data=sel)
        else:
            run.send(b, method, url, rule, data={"scope": "ids", "ids": ids})


def _hidden_tag_names(run: Run, b: Browser, rtype: str) -> list[str]:
    snap = run.snap()
    nf = set(_not_full(run, b, rtype))
    tag_ids = {row["tag_id"] for row in snap.rows[TAG_LINKS[rtype]].values() if row[f"{rtype}_id"] in nf}
    return sorted(snap.rows["tags"][(t,)]["name"] for t in tag_ids)


def write_bulk_undo(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """Assign some records (as the user, through the page), let another user move one of them out
    of the user's sight, then undo; also try someone else's assignment."""
    rtype = params["rtype"]
    plural = PLURAL[rtype]
    if not run.snap().spec.enabled:
        entry = db.session.scalar(select(func.max(AuditEntry.id))) or 1
        run.send(b, method, fill(rule, entry_id=entry), rule, data={"scope": "ids"})
        return
    full = _targets(run, b, rtype, 3)
    if full:
        gid = _other_group(run, b, rtype, full[0])
        run.send(b, "POST", f"/{plural}/bulk/assign", f"/{plural}/bulk/assign", target="dialog",
                 data={"scope": "ids", "ids": [str(i) for i in full], "step": "run", "target_id": str(gid)})
    entry = db.session.scalar(select(func.max(AuditEntry.id)).where(
        AuditEntry.action == "group_assigned", AuditEntry.actor_id == run.world.user_ids[b.user.key]))
    db.session.rollback()
    if entry is not None:
        _move_out_of_sight(run, b, rtype, full)
        run.send(b, method, fill(rule, entry_id=entry), rule, data={"scope": "ids"}, target="bulk-message")
    others = db.session.scalar(select(func.max(AuditEntry.id)).where(
        AuditEntry.action == "group_assigned", AuditEntry.actor_id != run.world.user_ids[b.user.key]))
    db.session.rollback()
    if others is not None:
        run.send(b, method, fill(rule, entry_id=others), rule, data={"scope": "ids"})


def _move_out_of_sight(run: Run, b: Browser, rtype: str, ids: list[int]) -> None:
    """As another user: put one of ``ids`` into a group the user is not a member of (and edit it)."""
    foreign = [g for g in run.snap()._group_names if g not in _own_groups(run, b)]
    if not foreign or not ids:
        return
    model = MODEL[rtype]
    db.session.execute(update(model).where(model.id == ids[0]).values(
        group_id=foreign[0], version=model.version + 1, updated_at=utcnow()))
    db.session.commit()
    run.changed_behind()


def write_merge(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """Merge two records the user fully sees - those that records the user does not fully see link
    to first (they must stay where they are) - taking the other's name; also a record the user does
    not fully see as the other one (refused)."""
    api = params.get("api", False)
    for plural in params["plurals"]:
        rtype = KEY_OF[plural]
        pair = _targets(run, b, rtype, 2)
        unseen = _not_full(run, b, rtype)[:1]
        if not pair:
            continue
        # the other record (the one that goes to the bin) is the one unseen records link to most
        url = fill(rule, plural=plural, record_id=pair[-1])
        for other in [*unseen, *pair[:-1]]:
            if api:
                run.send(b, method, url, rule, json={"other_id": other, "choices": {NAME[rtype]: "other"}})
            else:
                run.send(b, method, url, rule, data={"other_id": str(other), f"choice:{NAME[rtype]}": "other"})


def write_merge_undo(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """Merge two people or companies (as the user, through the page) and undo it; merge again, let
    another user move the survivor out of the user's sight, and undo again (refused: nothing changes)."""
    for attempt in range(2):
        rtype, pair = next(((t, p) for t in ("company", "person") if len(p := _targets(run, b, t, 2)) == 2),
                           (None, []))
        if rtype is None:
            return
        run.send(b, "POST", f"/{PLURAL[rtype]}/{pair[1]}/merge",
                 "/<any(people, companies):plural>/<int:record_id>/merge", data={"other_id": str(pair[0])})
        entry = db.session.scalar(select(func.max(AuditEntry.id)).where(
            AuditEntry.action == "records_merged", AuditEntry.actor_id == run.world.user_ids[b.user.key]))
        db.session.rollback()
        if entry is None:
            return
        if attempt and run.snap().spec.enabled:
            _move_out_of_sight(run, b, rtype, pair[1:])
        run.send(b, method, fill(rule, entry_id=entry), rule)


API_NAME = NAME


def write_api_record(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    plural, view = params["plural"], params["view"]
    rtype = KEY_OF[plural]
    for rid in _targets(run, b, rtype):
        url = fill(rule, record_id=rid)
        if view == "notes":
            run.send(b, method, url, rule, json={"body": "Notiz vom Orakel", "kind": "meeting"})
        elif view == "files":
            run.send(b, method, url, rule, data={"files": (io.BytesIO(b"Orakel"), "Orakel.txt")})
        elif view == "delete":
            run.send(b, method, url, rule)
        else:
            body = {API_NAME[rtype]: f"API {rid}", "tags": ["Orakel", *_hidden_tag_names(run, b, rtype)[:1]]}
            run.send(b, method, url, rule, json=body)
            gid = _other_group(run, b, rtype, rid) if run.snap().spec.enabled else _foreign_or_any(run, b)
            run.send(b, method, url, rule, json={"group_id": gid})


def write_api_create(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    rtype = params["rtype"]
    body = {API_NAME[rtype]: "API Neu"}
    for fk in {"person": ["company_id"], "deal": ["company_id", "person_id"],
               "project": ["company_id", "person_id"]}.get(rtype, []):
        target = _targets(run, b, fk[:-3], 1)
        if target:
            body[fk] = target[0]
    run.send(b, method, fill(rule), rule, json=body)


def write_api_assign(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    rtype = params["rtype"]
    full = _targets(run, b, rtype, 3)
    ids = full + _not_full(run, b, rtype)
    if not ids:
        return
    body = {"ids": ids, "group_id": _other_group(run, b, rtype, full[0]) if full else _own_groups(run, b)[-1]}
    if rtype == "company":
        body["cascade"] = ["people", "deals", "projects"]
    run.send(b, method, fill(rule), rule, json=body)


def _csv(text: str):
    return (io.BytesIO(text.encode()), "orakel.csv")


def _import(run: Run, b: Browser, csv_text: str, rtype: str = "company") -> int | None:
    resp = run.send(b, "POST", "/import", "/import", data={"record_type": rtype, "file": _csv(csv_text)})
    if resp.status_code != 302:
        return None
    return int(resp.headers["Location"].rstrip("/").split("/")[-2])


def write_import_upload(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    _import(run, b, "Name\nOrakel Import GmbH\n")


def write_import_job(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """The whole import as a user does it: upload, map, (preview,) run; then someone else links a
    record the user cannot see to one of the imported companies; then undo."""
    step = params["step"]
    job = _import(run, b, "Name;Web\nOrakel Eins GmbH;https://eins.example\nOrakel Zwei GmbH;\n"
                  + _duplicate_rows())
    if job is None:
        run.send(b, method, fill(rule, job_id=run.world.unused_id()), rule)
        return
    # every company of the world once more, by name and by website: the import updates those the
    # user fully sees and must leave every other one alone
    mapping = {"col-0": "name", "col-1": "website", "on_duplicate": "update"}
    if run.snap().spec.enabled:
        mapping["group_id"] = str(_own_groups(run, b)[-1])
    if step == "preview":
        run.send(b, method, fill(rule, job_id=job), rule, data=mapping, target="import-preview")
        return
    run.send(b, "POST", fill("/import/<int:job_id>/map", job_id=job), "/import/<int:job_id>/map", data=mapping)
    if step != "undo":
        return
    _link_unseen_to_import(run, b, job)
    run.send(b, method, fill(rule, job_id=job), rule)


def _duplicate_rows() -> str:
    """Rows that repeat every company of the world: its name with a new background, and (as another
    name) its website's domain."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    company = MODEL["company"]
    for name, website in db.session.execute(select(company.name, company.website).order_by(company.id)):
        writer.writerow([name, ""])
        if website:
            writer.writerow([f"Orakel {name}", website])
    db.session.rollback()
    return out.getvalue()


def _link_unseen_to_import(run: Run, b: Browser, job: int) -> None:
    """As another user: link a person, deal or project the importer does not fully see (and that
    is not in the recycle bin) to the first imported company (without touching the company)."""
    first = db.session.scalar(select(func.min(ImportItem.record_id)).where(ImportItem.job_id == job))
    db.session.rollback()
    if first is None:
        return
    snap = run.snap()
    unseen = [(lvl, key, rid) for lvl in ("hidden", "restricted") for key in ("person", "deal", "project")
              for rid in snap.ids(b.user.key, key, lvl) if not snap.trashed(key, rid)]
    if unseen:
        _lvl, key, rid = unseen[0]  # a hidden one if there is one, else a restricted one
        model = MODEL[key]
        db.session.execute(update(model).where(model.id == rid).values(
            company_id=first, version=model.version + 1, updated_at=utcnow()))
        db.session.commit()
        run.changed_behind()


def write_admin_only(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """Admin pages, as an admin: each form submitted as the page offers it (with a small change)."""
    snap = run.snap()
    kind = params.get("ids")
    ids = {"field": sorted(pk[0] for pk in _fields()), "group": sorted(i for i in snap._group_names if i != BASIS_ID),
           "user": sorted(run.world.user_ids.values()), "rule": _rules()}.get(kind, [None])
    for tid in ids[-1:]:
        url = fill(rule, field_id=tid, group_id=tid, user_id=tid, rule_id=tid)
        allow = None
        changes: dict = {}
        if (method, rule) in GROUP_DELETE:
            changes = {"move_to": str(BASIS_ID)}
            allow = _moved_from(snap, tid)
        elif (method, rule) in FIELD_DELETE:
            allow = _values_of_field(tid)
        elif rule == "/settings/extensions":
            changes = {"groups_enabled": "y"} if snap.spec.enabled else {}
        elif rule == "/settings/rules/new":
            changes = _every_record_rule(snap)
        elif rule == "/settings/rules/apply":  # with a rule every record matches: it moves what it may
            new = "/settings/rules/new"
            _submit(run, b, new, new, new, _every_record_rule(snap))
            page = "/settings/rules/apply?record_type=company"
        elif rule in ("/settings/groups", "/settings/fields/new"):
            changes = {"name": "Orakel", "entity": "company", "kind": "text"}
        elif rule == "/settings/users/new":
            changes = {"email": "orakel@adv.example", "name": "Orakel", "password": "orakel-passwort-1",
                       "role": "normal"}
        elif rule.endswith(("/members/add", "/members/remove")):
            changes = {"user_ids": [str(uid) for uid in sorted(run.world.user_ids.values())]}
        elif rule == "/settings/users/<int:user_id>/delete":
            url = fill(rule, user_id=max(run.world.user_ids.values()))
        elif rule == "/settings/users/<int:user_id>/sessions/end":
            url = fill(rule, user_id=_bystander(run, b))
        if rule != "/settings/rules/apply":
            page = url.removesuffix("/move") if rule.endswith("/move") else url
        if rule.endswith("/sessions/end"):
            page = url.removesuffix("/sessions/end")  # the button is on the user's page
        if rule in ("/settings/groups", "/settings/groups/defaults"):
            page = "/settings/groups"
        if rule.startswith("/settings/rules/<int:rule_id>/"):
            page = "/settings/rules"  # the move and delete buttons are on the list
        if "/members/" in rule:
            page = url.rsplit("/members/", 1)[0]  # the add and remove forms are on the group's page
        if rule.endswith("/contacts"):
            page = url.removesuffix("/contacts")  # so is the form naming the contact persons
        if "/handovers" in rule:  # and the hand-over forms
            page = url.rsplit("/handovers", 1)[0]
        _submit(run, b, page, url, rule, changes, allow=allow)


def _bystander(run: Run, b: Browser) -> int:
    """A user whose sessions an admin ends: not the admin, not the main actor (whose requests come
    later), not the user the admin deletes."""
    main = actors(run.world.spec)[0].key
    ids = sorted(uid for key, uid in run.world.user_ids.items() if key not in (b.user.key, main))
    return (ids[:-1] or ids or [run.world.unused_id()])[0]


def _every_record_rule(snap: Snapshot) -> dict:
    """The new-rule form filled with a company rule that several companies of every world match
    (their common tag), into the newest group, people, deals and projects following."""
    return {"name": "Orakel", "record_type": "company", "conditions-0-kind": "tag",
            "conditions-0-value": COMMON_TAG, "follow": "y", "group_id": str(max(snap._group_names))}


def _rules() -> list[int]:
    from crm.rules.models import AssignmentRule

    ids = sorted(db.session.scalars(select(AssignmentRule.id)))
    db.session.rollback()
    return ids


def _fields() -> list[tuple]:
    rows = db.session.execute(select(CustomField.id)).all()
    db.session.rollback()
    return [tuple(r) for r in rows]


def _moved_from(snap: Snapshot, gid: int) -> dict:
    """Deleting group ``gid`` moves its records (their group, version and last change only)."""
    def record_moved(old, new):
        return new is not None and old["group_id"] == gid and all(
            old[c] == new[c] for c in old if c not in MOVED_COLUMNS)

    def doc_moved(old, new):
        return new is not None and all(old[c] == new[c] for c in old if c != "group_id")

    return {**{t: record_moved for t in TABLE.values()}, "search_docs": doc_moved}


def _values_of_field(fid: int) -> dict:
    return {"custom_field_values": lambda old, new: new is None and old["field_id"] == fid,
            "search_docs": lambda old, new: new is None and old.get("field_id") == fid}


def write_api_admin_only(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    snap = run.snap()
    kind = params.get("ids")
    groups = sorted(i for i in snap._group_names if i != BASIS_ID)
    fields = [pk[0] for pk in _fields()]
    tid = (groups or [BASIS_ID])[-1] if kind == "group" else (fields or [1])[-1] if kind == "field" else None
    if kind == "user":  # a bystander is changed, the newest user deleted (as on the pages)
        tid = max(run.world.user_ids.values()) if method == "DELETE" else _bystander(run, b)
    url = fill(rule, group_id=tid, field_id=tid, user_id=tid)
    allow = None
    body: dict = {}
    if rule.endswith("/groups") and method == "POST":
        body = {"name": "Orakel API", "member_ids": [run.world.user_ids[b.user.key]]}
    elif rule.endswith("/groups/<api_id:group_id>") and method == "PATCH":
        body = {"name": "Orakel umbenannt"}
    elif (method, rule) in GROUP_DELETE:
        url += f"?move_to={BASIS_ID}"
        allow = _moved_from(snap, tid)
    elif rule.endswith("/custom-fields") and method == "POST":
        body = {"entity": "person", "name": "Orakel", "kind": "text", "shared_with": groups[:1]}
    elif method == "PATCH" and "custom-fields" in rule:
        body = {"shared_with": groups[-1:]}
    elif (method, rule) in FIELD_DELETE:
        allow = _values_of_field(tid)
    elif rule.endswith("/settings"):
        body = {"groups_enabled": snap.spec.enabled}
    elif rule.endswith("/handovers") and method == "PUT":
        body = {"target_id": BASIS_ID, "label": "Orakel übergeben"}
    elif rule.endswith("/assignment-rules") and method == "POST":
        body = {"record_type": "deal", "name": "Orakel API", "group_id": (groups or [BASIS_ID])[-1],
                "conditions": [{"kind": "tag", "value": "Orakel"}]}
    elif "/assignment-rules/" in rule:
        url = fill(rule, rule_id=(_rules() or [1])[-1])
        body = {"name": "Orakel umbenannt"} if method == "PATCH" else {}
    elif rule.endswith("/type-defaults"):
        body = {"record_type": "deal", "group_id": (groups or [BASIS_ID])[-1], "allow_own": True}
    elif rule.endswith("/users/<api_id:user_id>") and method == "PATCH":
        body = {"name": "Orakel umbenannt", "role": "extended"}
    elif rule.endswith("/users"):
        body = {"email": "orakel-api@adv.example", "name": "Orakel", "password": "orakel-passwort-1",
                "role": "normal", "default_group_id": BASIS_ID}
    run.send(b, method, url, rule, json=body, allow=allow)


#: a purge removes records for good and detaches the links to them as the system (product.md §8):
#: on these requests the oracle allows exactly that on the linking rows - a link to a record the
#: purge may remove set to NULL, with the row's version and time of change - and nothing else
PURGES = {("POST", f"/settings/trash/{ANY_RECORD}/<int:record_id>/purge"), ("POST", "/settings/trash/purge-expired")}
DETACHED_COLUMNS = {"version", "updated_at"}


def _detached_from(purged: dict[str, set[int]]) -> dict:
    """Allowed changes of a purge of ``purged`` (record key -> ids): links to them set to NULL."""
    def detached(old, new):
        if new is None or new["version"] <= old["version"]:
            return False
        changed = {c for c in old if old[c] != new[c]}
        links = {c for c in changed if c.endswith("_id") and c[:-3] in TABLE}
        return bool(links) and changed <= links | DETACHED_COLUMNS and all(
            new[c] is None and old[c] in purged.get(c[:-3], ()) for c in links)

    return {TABLE[k]: detached for k in ("person", "deal", "project")}


def _admin(run: Run) -> Browser | None:
    admin = actors(run.world.spec)[1]
    return run.browsers[admin.key] if admin is not None else None


def _trash_own(run: Run, b: Browser, rtype: str) -> int | None:
    """``b`` deletes (API) the record of type ``rtype`` it fully sees that hidden records link to
    most; its id if it went into the bin."""
    plural = PLURAL[rtype]
    for rid in _targets(run, b, rtype, 1):
        run.send(b, "DELETE", f"/api/v1/{plural}/{rid}", f"/api/v1/{plural}/<api_id:record_id>")
        if run.snap().trashed(rtype, rid):
            return rid
    return None


def _for_purge(run: Run, admin: Browser, rtype: str) -> int | None:
    """The record an admin purges: of those in the bin the admin may act on and those the admin
    could delete, the one most linked to by records the admin does not fully see (deleted
    first if need be)."""
    snap = run.snap()
    in_bin = [pk[0] for pk, row in snap.rows[TABLE[rtype]].items()
              if row["deleted_at"] is not None and snap.level(admin.user.key, rtype, pk[0]) == "full"]
    best = _most_linked(run, admin, rtype, in_bin + _targets(run, admin, rtype, 1))[:1]
    if not best or snap.trashed(rtype, best[0]):
        return next(iter(best), None)
    return _trash_own(run, admin, rtype)


def _trash_behind(run: Run, b: Browser, rtype: str, *, days: int = 0) -> int | None:
    """As another user: put a record ``b`` does not fully see into the bin (``days`` ago); a
    record of the bin ``b`` may not act on - that ``b`` asks to restore or purge all the same."""
    snap = run.snap()
    me = run.world.user_ids[b.user.key]
    ids = [rid for rid in _not_full(run, b, rtype) if not snap.trashed(rtype, rid)]
    others = [uid for uid in run.world.user_ids.values() if uid != me]
    if not ids or not others:
        return None
    model = MODEL[rtype]
    db.session.execute(update(model).where(model.id == ids[0]).values(
        deleted_at=utcnow() - timedelta(days=days), deleted_by_id=others[0], version=model.version + 1,
        updated_at=utcnow()))
    db.session.commit()
    run.changed_behind()
    return ids[0]


def _age(run: Run, rtype: str, rid: int, days: int) -> None:
    """Time passes: the record went into the bin ``days`` days ago."""
    model = MODEL[rtype]
    db.session.execute(update(model).where(model.id == rid).values(deleted_at=utcnow() - timedelta(days=days)))
    db.session.commit()
    run.changed_behind()


def write_trash(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """The recycle bin (product.md §8). Restore: the user deletes a record that hidden records
    link to and restores it; an admin restores one the user deleted; the user asks to restore
    one another user deleted (and one moved out of the user's sight in the bin). Purge (admins):
    of a record the admin deleted, and of one in the bin the admin does not fully see.
    Purge-expired: with an expired record the admin deleted and an expired one the admin does
    not fully see. Only the purge may change rows the actor cannot fully see, and only by
    detaching the links to what it removes (:func:`_detached_from`)."""
    admin = _admin(run)
    if rule.endswith("/purge-expired"):
        if admin is not b:
            run.send(b, method, fill(rule), rule)  # (refused: admins only)
        if admin is None:
            return
        for rtype in TYPES:
            rid = _for_purge(run, admin, rtype)
            if rid is not None:
                _age(run, rtype, rid, RETENTION_DAYS + 1)
            _trash_behind(run, admin, rtype, days=RETENTION_DAYS + 5)
        run.send(admin, method, fill(rule), rule, allow=_detached_from(_expired(run, admin)))
        return
    plurals = PLURALS if ANY_RECORD in rule else [p for p in PLURALS if f"/{p}/" in rule]
    for plural in plurals:
        rtype = KEY_OF[plural]
        if rule.endswith("/purge"):
            for actor in dict.fromkeys(x for x in (b, admin) if x is not None):
                if actor is admin:
                    rid = _for_purge(run, actor, rtype)
                else:
                    rid = _trash_own(run, actor, rtype) if actor.user.role != "normal" else None
                if rid is not None:
                    run.send(actor, method, fill(rule, plural=plural, record_id=rid), rule,
                             allow=_detached_from({rtype: {rid}}) if actor is admin else None)
                other = _trash_behind(run, actor, rtype)
                if other is not None:
                    run.send(actor, method, fill(rule, plural=plural, record_id=other), rule)
            continue
        # restore: by the deleter, by an admin, by someone who may not
        for deleter, restorer in dict.fromkeys([(b, b), (b, admin), (admin, b)]):
            if deleter is None or restorer is None or deleter.user.role == "normal":
                continue
            rid = _trash_own(run, deleter, rtype)
            if rid is not None:
                run.send(restorer, method, fill(rule, plural=plural, record_id=rid), rule)
        rid = _trash_own(run, b, rtype) if b.user.role != "normal" else None
        if rid is not None and run.snap().spec.enabled:
            _move_out_of_sight(run, b, rtype, [rid])
            run.send(b, method, fill(rule, plural=plural, record_id=rid), rule)
        other = _trash_behind(run, b, rtype)
        if other is not None:
            run.send(b, method, fill(rule, plural=plural, record_id=other), rule)


def _expired(run: Run, b: Browser) -> dict[str, set[int]]:
    """The records of the bin ``b`` (an admin) may purge as expired: older than the retention
    time, in a group ``b`` fully sees."""
    snap = run.snap()
    limit = utcnow() - timedelta(days=RETENTION_DAYS)
    return {key: {pk[0] for pk, row in snap.rows[table].items()
                  if row["deleted_at"] is not None and _naive(row["deleted_at"]) < limit
                  and snap.level(b.user.key, key, pk[0]) == "full"}
            for key, table in TABLE.items()}


def _naive(at):
    return at.replace(tzinfo=None) if at.tzinfo is not None else at


def write_job_cancel(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """Cancelling a job: the user's own waiting group assignment (its records stay as they are),
    and a job of another user's (answered like an unknown id). A cancel changes no record."""
    from crm.jobs.models import Job

    def waiting(user_key: str) -> int:
        job = Job(kind="assign", user_id=run.world.user_ids[user_key], status="queued", total=1,
                  params={"type": "company", "group_id": BASIS_ID, "cascade": [], "source": "list",
                          "ids": sorted(run.world.record_ids.values())[:1]})
        db.session.add(job)
        db.session.commit()
        return job.id

    run.send(b, method, fill(rule, job_id=waiting(b.user.key)), rule)
    others = [key for key in run.world.user_ids if key != b.user.key]
    if others:
        run.send(b, method, fill(rule, job_id=waiting(others[0])), rule)


def write_export_job(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    """A large export as a job (every export with a row is large here): it writes a job, no record."""
    threshold = run.app.config["EXPORT_JOB_ROWS"]
    run.app.config["EXPORT_JOB_ROWS"] = 0
    try:
        run.send(b, method, fill(rule), rule)
    finally:
        run.app.config["EXPORT_JOB_ROWS"] = threshold


def write_self(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    data = {
        "/profile": {"profile-name": "Orakel", "profile-locale": "de"},
        "/profile/password": {"pw-current": "adversarial-password", "pw-new": "adversarial-password",
                              "pw-repeat": "adversarial-password"},
    }.get(rule, {})
    run.send(b, method, fill(rule, view_id=1), rule, data=data)


def write_public(run: Run, b: Browser, method: str, rule: str, params: dict) -> None:
    creds = {"email": run.world.user_emails[b.user.key], "password": "adversarial-password"}
    if rule.startswith("/api/"):
        run.send(b, method, fill(rule), rule, json=creds)
    else:
        run.send(Browser(run.app, run.world, b.user, run.world_id), method, fill(rule), rule, data=creds)


WRITERS = {
    "merge": write_merge,
    "merge_undo": write_merge_undo,
    "record": write_record,
    "record_new": write_record_new,
    "note_delete": write_note_delete,
    "file_delete": write_file_delete,
    "note_edit": write_note_delete,
    "api_note": write_note_delete,
    "api_task": write_task,
    "task_create": write_task_create,
    "task": write_task,
    "bulk": write_bulk,
    "bulk_undo": write_bulk_undo,
    "api_record": write_api_record,
    "api_create": write_api_create,
    "api_assign": write_api_assign,
    "import_upload": write_import_upload,
    "import_job": write_import_job,
    "job_cancel": write_job_cancel,
    "export_job": write_export_job,
    "admin_only": write_admin_only,
    "api_admin_only": write_api_admin_only,
    "trash": write_trash,
    "self": write_self,
    "public": write_public,
    "api_public": write_public,
}
ADMIN_KINDS = ("admin_only", "api_admin_only")
#: kinds that change who the world's users are, what they see or whether they are logged in: last
LAST = ("admin_only", "api_admin_only", "self", "public", "api_public")


def actors(spec: WorldSpec) -> tuple[UserSpec, UserSpec | None]:
    """Who sends the requests: the user who fully sees most records that records they do not fully
    see link to (the situation the oracle is about), extended users (who may delete and import)
    before admins before normal ones; and an admin for the admin pages."""
    rank = {"extended": 0, "admin": 1, "normal": 2}

    def key(u):
        unseen_links = sum(1 for r in spec.records if level(spec, u, r) != "full"
                           for ref in (r.company, r.person) if ref and level(spec, u, spec.record(ref)) == "full")
        return (-unseen_links, rank[u.role])

    main = min(spec.users, key=key)
    admin = next((u for u in spec.users if u.role == "admin"), None)
    return main, admin


def ordered_writes() -> list[tuple[tuple[str, str], object]]:
    def order(item):
        (method, rule), write = item
        return (write.kind in LAST, LAST.index(write.kind) if write.kind in LAST else 0, rule == "/logout",
                rule, method)

    return sorted(WRITE.items(), key=order)


def run_write_oracle(app, spec: WorldSpec, world_id: str, kinds=None) -> Run:
    """Every write of the coverage table (``kinds``: only the writes of those kinds)."""
    world = build(spec)
    ctx = make_ctx(app, world, world_id)
    browsers = {b.user.key: b for b in ctx.browsers}
    run = Run(app, world, world_id, browsers)
    run._audit_seen = db.session.scalar(select(func.max(AuditEntry.id))) or 0
    db.session.rollback()
    main, admin = actors(spec)
    for (method, rule), write in ordered_writes():
        if kinds is not None and write.kind not in kinds:
            continue
        user = admin if write.kind in ADMIN_KINDS else main  # (non-admins are refused: test_writes.py)
        if user is not None:
            WRITERS[write.kind](run, browsers[user.key], method, rule, write.params)
    return run


def _assert_clean(run: Run) -> None:
    if run.failures:
        distinct: dict[str, str] = {}
        for msg in run.failures:
            distinct.setdefault(re.sub(r"\d+", "#", msg)[:140], msg)
        raise AssertionError(f"{len(run.failures)} problems in world {run.world_id} "
                             f"({run.sent} requests):\n" + "\n".join(list(distinct.values())[:40]))


# ----------------------------------------------------------------------------------------------
# the tests
# ----------------------------------------------------------------------------------------------

def test_every_write_kind_has_valid_inputs():
    """A new kind of write in coverage.WRITE needs its valid, plausible requests here."""
    assert {w.kind for w in WRITE.values()} <= set(WRITERS)


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(spec=worlds())
@example(spec=fixed_spec(True))  # finding 2 (delete through ON DELETE SET NULL), finding 6 (undo)
@example(spec=fixed_spec(False))  # finding 1 (API assign-group while the group system is off)
def test_no_write_changes_what_its_actor_cannot_fully_see(app, spec):
    reset_database()
    run = run_write_oracle(app, spec, f"write-oracle-{next(_worlds)}")
    _assert_clean(run)


@pytest.mark.parametrize("enabled", [True, False])
def test_an_import_with_duplicates_never_updates_what_its_actor_cannot_see(app, enabled):
    """The import steps alone (quick; the test above runs them too, among every other write), with
    every company of the world in the file once more and "update the existing record" chosen."""
    reset_database()
    run = run_write_oracle(app, fixed_spec(enabled), f"write-oracle-import-{enabled}",
                           kinds={"import_upload", "import_job"})
    _assert_clean(run)
