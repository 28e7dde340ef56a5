"""Which rule of ``app.url_map`` is exercised how. A rule (with its method) that is in neither
table fails ``test_every_route_is_covered``: a new route cannot slip in untested. A table entry
whose rule no longer exists fails it too, so the tables stay honest.

``GET``: rule -> :class:`Probe` (``kind`` picks the prober in ``test_leaks.py``; every GET rule is
requested as every user of every world, and anonymously).
``WRITE``: (method, rule) -> :class:`Write` (``kind`` picks the attacker in ``test_writes.py``;
every one of them is also sent without a CSRF token in ``test_csrf.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

PLURALS = ("companies", "people", "deals", "projects")
KEY_OF = {"companies": "company", "people": "person", "deals": "deal", "projects": "project"}
ANY_RECORD = "<any(companies, people, deals, projects):plural>"
MERGEABLE = "<any(people, companies):plural>"


@dataclass(frozen=True)
class Probe:
    kind: str
    how: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Write:
    kind: str
    how: str
    params: dict = field(default_factory=dict)


GET: dict[str, Probe] = {
    "/": Probe("home", "activity stream and own tasks; htmx 'activity-more' with ?before="),
    "/login": Probe("login", "anonymous: the form; logged in: redirect"),
    "/healthz": Probe("health", "anonymous and every user: 200, the same JSON, nothing about records"),
    "/profile": Probe("page", "own profile"),
    "/dashboard": Probe("page", "the home page's dashboard: numbers over fully visible records only (its own "
                        "test: tests/test_dashboard.py); htmx 'dashboard'"),
    "/search": Probe("search", "q = every token and file name of every record; htmx 'search-live'"),
    "/static/<path:filename>": Probe("static", "app.js, app.css, a missing file"),
    "/tasks": Probe("tasks", "scope mine/created/all × status open/done, page 2"),
    "/tasks/<int:task_id>/edit": Probe("attached", "every task id + unknown: 404 unless its record is fully "
                                       "visible (or it is one's own private task)", {"kind": "task"}),
    "/notes/<int:note_id>": Probe("attached", "every note id + unknown; htmx 'note-*' (cancel of the edit)",
                                  {"kind": "note", "view": "show", "target": "note-*"}),
    "/notes/<int:note_id>/edit": Probe("attached", "every note id + unknown; the author's and admins' (403 for "
                                       "others); htmx 'note-*'", {"kind": "note", "view": "edit", "target": "note-*"}),
    f"/{ANY_RECORD}/<int:record_id>/notes": Probe(
        "record", "every record id × every type; htmx 'notes-more' with offsets",
        {"view": "notes", "targets": ("notes-more",)}),
    f"/{ANY_RECORD}/<int:record_id>/history": Probe(
        "record", "every record id × every type (old values are canaries); htmx 'history-body'; restricted "
        "403, hidden 404", {"view": "history", "targets": ("history-body",)}),
    f"/{ANY_RECORD}/<int:record_id>/files": Probe(
        "record", "every record id × every type; htmx 'files'", {"view": "files", "targets": ("files",)}),
    "/files/<int:file_id>": Probe("file", "every file id + unknown, download and ?inline=1: 404 like an unknown id "
                                  "unless its record is fully visible; its bytes and name as canaries"),
    f"/{MERGEABLE}/<int:record_id>/merge": Probe(
        "record", "every record id of people and companies: the merge page (picker); hidden 404 like unknown, "
        "restricted 403, normal users 403", {"view": "merge", "plurals": ("people", "companies")}),
    "/settings": Probe("admin", "redirect for admins, 403 for others"),
    "/settings/account": Probe("admin", "account form"),
    "/settings/audit": Probe("admin", "every action filter, page 2", {"audit": True}),
    "/settings/extensions": Probe("admin", "extension switch"),
    "/settings/fields": Probe("admin", "field list"),
    "/settings/fields/new": Probe("admin", "new field per entity", {"entity_args": True}),
    "/settings/fields/<int:field_id>": Probe("admin", "every field id + unknown", {"ids": "field"}),
    "/settings/stages": Probe("admin", "the deal stages: names, kinds, probabilities; no deal, no count"),
    "/settings/stages/new": Probe("admin", "new stage form"),
    "/settings/stages/<int:stage_id>": Probe("admin", "every stage id + unknown", {"ids": "stage"}),
    "/settings/rules": Probe("admin", "the assignment rules per type: conditions and target groups; no record"),
    "/settings/rules/new": Probe("admin", "new assignment rule form"),
    "/settings/rules/<int:rule_id>": Probe("admin", "every rule id + unknown", {"ids": "rule"}),
    "/settings/rules/apply": Probe("admin", "the preview of applying the rules: counts per target group of records "
                                   "the admin fully sees (tests/test_assignment_rules_pages.py)"),
    "/settings/groups": Probe("admin", "groups with record counts"),
    "/settings/groups/<int:group_id>": Probe("admin", "every group id + unknown", {"ids": "group"}),
    "/settings/groups/<int:group_id>/delete": Probe("admin", "every group id + unknown",
                                                    {"ids": "group", "basis": 403}),
    "/settings/access-review": Probe("admin", "users x groups and counts per level: names and numbers, no record"),
    "/settings/access-review.csv": Probe("admin", "the access review as CSV; non-admins 403"),
    "/settings/users": Probe("admin", "user list"),
    "/settings/users/new": Probe("admin", "new user form"),
    "/settings/users/<int:user_id>": Probe("admin", "every user id + unknown", {"ids": "user"}),
    "/settings/trash": Probe("trash", "the recycle bin: users who may delete; normal users 403"),
    "/deals/pipeline": Probe("pipeline", "board and chart: fully visible deals only; currency and month args"),
    "/import": Probe("imports", "upload page and one's own imports; normal users 403"),
    "/import/<int:job_id>": Probe("imports", "own job, someone else's (404; admins see it), unknown; "
                                  "htmx 'import-status'", {"job": True}),
    "/import/<int:job_id>/map": Probe("imports", "own job only: someone else's and unknown 404", {"job": True,
                                                                                                 "own": True}),
    "/jobs/<int:job_id>/download": Probe("job_download", "an export's CSV: its owner 200 (nothing they may not see), "
                                         "everyone else - admins too - 404 like an unknown id"),
    "/jobs/<int:job_id>": Probe("jobs", "a job of one user: its owner and admins 200, everyone else 404 like "
                                "an unknown id; htmx 'job-status'"),
}

WRITE: dict[tuple[str, str], Write] = {
    ("POST", "/login"): Write("public", "the login form; throttling and lockout in test_hardening"),
    ("POST", "/logout"): Write("self", "ends one's own session only"),
    ("POST", "/profile"): Write("self", "changes one's own name/language only"),
    ("POST", "/profile/password"): Write("self", "needs the current password"),
    ("POST", "/profile/token"): Write("self", "renews one's own API token"),
    ("POST", "/profile/token/revoke"): Write("self", "revokes one's own API token"),
    ("POST", "/views"): Write("self", "saves a list view of one's own (without a name: nothing)"),
    ("POST", "/views/<int:view_id>/delete"): Write("self", "deletes one's own view only; any other id 404"),
    ("POST", f"/{ANY_RECORD}/<int:record_id>/notes"): Write(
        "record", "note on hidden (404) / restricted (403) records", {"view": "notes"}),
    ("POST", f"/{ANY_RECORD}/<int:record_id>/files"): Write(
        "record", "upload to hidden (404) / restricted (403) records", {"view": "files"}),
    ("POST", "/files/<int:file_id>/delete"): Write(
        "file_delete", "files of hidden/restricted records 404; another uploader's file as a normal user 403"),
    ("POST", "/notes/<int:note_id>/delete"): Write(
        "note_delete", "notes of hidden/restricted records; another author's note as a normal user"),
    ("POST", "/tasks"): Write("task_create", "task on hidden/restricted records, unknown record"),
    ("POST", "/tasks/<int:task_id>/toggle"): Write(
        "task", "tasks of hidden/restricted records, someone else's private task"),
    ("POST", "/tasks/<int:task_id>/delete"): Write(
        "task", "as toggle, plus someone else's task as a normal user", {"delete": True}),
    ("POST", "/tasks/<int:task_id>/edit"): Write(
        "task", "as toggle: tasks of hidden/restricted records, someone else's private task", {"edit": True}),
    ("POST", "/tasks/<int:task_id>/reschedule"): Write(
        "task", "as toggle: tasks of hidden/restricted records, someone else's private task",
        {"data": {"when": "tomorrow"}}),
    ("POST", "/notes/<int:note_id>/edit"): Write(
        "note_edit", "notes of hidden/restricted records; another author's note as a non-admin"),
    ("POST", "/settings/account"): Write("admin_only", "non-admins: 403"),
    ("POST", "/settings/extensions"): Write("admin_only", "non-admins: 403", {"data": {"groups_enabled": "y"}}),
    ("POST", "/settings/fields/new"): Write("admin_only", "non-admins: 403"),
    ("POST", "/settings/fields/<int:field_id>"): Write("admin_only", "non-admins: 403", {"ids": "field"}),
    ("POST", "/settings/fields/<int:field_id>/delete"): Write("admin_only", "non-admins: 403", {"ids": "field"}),
    ("POST", "/settings/fields/<int:field_id>/move"): Write("admin_only", "non-admins: 403", {"ids": "field"}),
    ("POST", "/settings/stages/new"): Write("admin_only", "non-admins: 403",
                                            {"data": {"name": "Neu", "probability": "5", "kind": "open"}}),
    ("POST", "/settings/stages/<int:stage_id>"): Write("admin_only", "non-admins: 403", {"ids": "stage"}),
    ("POST", "/settings/stages/<int:stage_id>/move"): Write("admin_only", "non-admins: 403", {"ids": "stage"}),
    ("POST", "/settings/stages/<int:stage_id>/delete"): Write(
        "admin_only", "non-admins: 403; an admin's answer never depends on deals they cannot see "
        "(tests/test_stages.py)", {"ids": "stage", "data": {"move_to": "1"}}),
    ("POST", "/settings/stages/reasons/new"): Write("admin_only", "non-admins: 403",
                                                    {"data": {"name": "Neu", "outcome": "lost"}}),
    ("POST", "/settings/stages/reasons/<int:reason_id>"): Write("admin_only", "non-admins: 403; the worlds have "
                                                                "no reasons, an admin's id answers 404"),
    ("POST", "/settings/stages/reasons/<int:reason_id>/move"): Write("admin_only", "non-admins: 403"),
    ("POST", "/settings/stages/reasons/<int:reason_id>/delete"): Write(
        "admin_only", "non-admins: 403; deleting retires, never refused for deals in use, so no answer depends on "
        "deals the admin cannot see (tests/test_reasons.py)"),
    ("POST", "/settings/rules/new"): Write("admin_only", "non-admins: 403", {"data": {"name": "Neu"}}),
    ("POST", "/settings/rules/<int:rule_id>"): Write("admin_only", "non-admins: 403", {"ids": "rule"}),
    ("POST", "/settings/rules/<int:rule_id>/move"): Write("admin_only", "non-admins: 403", {"ids": "rule"}),
    ("POST", "/settings/rules/<int:rule_id>/delete"): Write("admin_only", "non-admins: 403", {"ids": "rule"}),
    ("POST", "/settings/rules/apply"): Write(
        "admin_only", "non-admins: 403; an admin moves only records they fully see (the oracle's guard)",
        {"data": {"record_type": "company"}}),
    ("POST", "/settings/rules/preview"): Write(
        "admin_only", "non-admins: 403; a job that only counts, its numbers its owner's only "
        "(tests/test_assignment_rules_pages.py)", {"data": {"record_type": "company"}}),
    ("POST", "/settings/groups"): Write("admin_only", "non-admins: 403", {"data": {"name": "Neu"}}),
    ("POST", "/settings/groups/<int:group_id>"): Write("admin_only", "non-admins: 403 (the impact preview too)",
                                                       {"ids": "group"}),
    ("POST", "/settings/groups/<int:group_id>/members/add"): Write("admin_only", "non-admins: 403 (the preview too)",
                                                                   {"ids": "group"}),
    ("POST", "/settings/groups/<int:group_id>/members/remove"): Write("admin_only", "non-admins: 403",
                                                                      {"ids": "group"}),
    ("POST", "/settings/groups/<int:group_id>/delete"): Write("admin_only", "non-admins: 403", {"ids": "group"}),
    ("POST", "/settings/groups/defaults"): Write("admin_only", "non-admins: 403; changes no record"),
    ("POST", "/settings/groups/<int:group_id>/handovers"): Write("admin_only", "non-admins: 403; changes no record",
                                                                 {"ids": "group"}),
    ("POST", "/settings/groups/<int:group_id>/handovers/remove"): Write("admin_only", "non-admins: 403",
                                                                        {"ids": "group"}),
    ("POST", "/settings/groups/<int:group_id>/contacts"): Write("admin_only", "non-admins: 403",
                                                                {"ids": "group"}),
    ("POST", "/settings/users/new"): Write("admin_only", "non-admins: 403"),
    ("POST", "/settings/users/<int:user_id>"): Write("admin_only", "non-admins: 403", {"ids": "user"}),
    ("POST", "/settings/users/<int:user_id>/delete"): Write("admin_only", "non-admins: 403", {"ids": "user"}),
    ("POST", "/settings/users/<int:user_id>/sessions/end"): Write("admin_only", "non-admins: 403",
                                                                   {"ids": "user"}),
    ("POST", f"/settings/trash/{ANY_RECORD}/<int:record_id>/restore"): Write(
        "trash", "any record not in the bin: 404 like an unknown id; normal users 403"),
    ("POST", f"/settings/trash/{ANY_RECORD}/<int:record_id>/purge"): Write(
        "trash", "any record not in the bin: 404 like an unknown id; non-admins 403"),
    ("POST", "/settings/trash/purge-expired"): Write("trash", "admins only (non-admins 403); nothing expired"),
    ("POST", "/import"): Write("import_upload", "normal users 403; a type that cannot be imported: refused"),
    ("POST", "/import/<int:job_id>/map"): Write(
        "import_job", "someone else's job 404; a group not one's own refused; a person linked to a company the "
        "importer does not fully see fails the file: nothing imported", {"step": "map"}),
    ("POST", "/import/<int:job_id>/preview"): Write("import_job", "someone else's job 404", {"step": "preview"}),
    ("POST", f"/{MERGEABLE}/<int:record_id>/merge"): Write(
        "merge", "survivor hidden 404 like unknown, restricted 403; the other hidden/restricted/unknown refused; "
        "normal users 403; nothing changes", {"plurals": ("people", "companies")}),
    ("POST", "/merges/<int:entry_id>/undo"): Write(
        "merge_undo", "someone else's merge and an unknown id: 404; nothing changes"),
    ("POST", "/import/<int:job_id>/undo"): Write("import_job", "someone else's 404, an import not done refused",
                                                 {"step": "undo"}),
    ("POST", "/import/<int:job_id>/cancel"): Write("import_job", "someone else's 404 (admins too: only the owner "
                                                   "cancels), a job not running: nothing changes", {"step": "cancel"}),
    ("POST", "/deals/<int:record_id>/stage"): Write(
        "record", "the board's move: hidden 404 like unknown, restricted 403; htmx 'pipeline-board'",
        {"view": "stage", "plural": "deals"}),
    ("POST", "/jobs/<int:job_id>/cancel"): Write("job_cancel", "someone else's 404 like an unknown id; a finished "
                                                 "job of one's own: refused with a message, nothing changes"),
}

for _plural in PLURALS:
    _key = KEY_OF[_plural]
    GET.update({
        f"/{_plural}": Probe("list", "pages, counts, sorts, group/tag/text filters; htmx 'record-list'",
                             {"rtype": _key}),
        f"/{_plural}/<int:record_id>": Probe("record", "every record id; hidden = unknown 404",
                                             {"view": "detail", "plural": _plural}),
        f"/{_plural}/<int:record_id>/edit": Probe("record", "every record id", {"view": "edit", "plural": _plural}),
        f"/{_plural}/<int:record_id>/access": Probe(
            "record", "every record id; htmx 'access-body'; restricted: own line, hidden 404, off 404",
            {"view": "access", "plural": _plural, "targets": ("access-body",)}),
        f"/{_plural}/<int:record_id>/delete": Probe("record", "every record id",
                                                    {"view": "delete", "plural": _plural}),
        f"/{_plural}/<int:record_id>/handovers": Probe(
            "record", "every record id; the hand-over buttons: restricted 403, hidden 404",
            {"view": "handovers", "plural": _plural}),
        f"/{_plural}/export.csv": Probe("export", "filters; normal users 403", {"rtype": _key}),
        f"/{_plural}/lookup": Probe("lookup", "q = name and hidden tokens", {"rtype": _key}),
        f"/{_plural}/new": Probe("new", "plain and ?<type>_id= every record id", {"rtype": _key}),
    })
    WRITE.update({
        ("POST", f"/{_plural}/bulk/assign"): Write(
            "bulk", "every step with hidden/restricted ids, 'all matching' a forbidden token, a foreign group; "
            "mixed selections move only the fully visible", {"rtype": _key, "action": "assign"}),
        ("POST", f"/{_plural}/bulk/tag"): Write("bulk", "as assign, add and remove", {"rtype": _key, "action": "tag"}),
        ("POST", f"/{_plural}/bulk/delete"): Write("bulk", "as assign; normal users 403",
                                                  {"rtype": _key, "action": "delete"}),
        ("POST", f"/{_plural}/bulk/export.csv"): Write("bulk", "hidden/restricted ids export nothing of them",
                                                      {"rtype": _key, "action": "export"}),
        ("POST", f"/{_plural}/export"): Write("export_job", "a large export as a job: normal users 403; the job's CSV "
                                             "holds nothing the user may not see (filters on hidden tokens)",
                                             {"rtype": _key}),
        ("POST", f"/{_plural}/bulk/undo/<int:entry_id>"): Write(
            "bulk_undo", "someone else's assignment 403, another type's or unknown 404", {"rtype": _key}),
        ("POST", f"/{_plural}/new"): Write("record_new", "group not one's own, links to hidden/restricted records",
                                           {"rtype": _key}),
        ("POST", f"/{_plural}/<int:record_id>/edit"): Write("record", "hidden 404, restricted 403, bad group",
                                                            {"view": "edit", "plural": _plural}),
        ("POST", f"/{_plural}/<int:record_id>/delete"): Write("record", "hidden 404, restricted 403, normal role 403",
                                                              {"view": "delete", "plural": _plural}),
    })


def rules(app) -> set[tuple[str, str]]:
    """(method, rule) of every route, without HEAD/OPTIONS."""
    out = set()
    for rule in app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            out.add((method, rule.rule))
    return out


def covered() -> set[tuple[str, str]]:
    return {("GET", r) for r in GET} | set(WRITE)


def fill(rule: str, **values) -> str:
    """The URL of ``rule`` with its placeholders filled (``<int:record_id>`` -> values['record_id']);
    a deal stage not given is the first of the migration's (every world has it), a hand-over target
    not given Basis; an assignment rule not given is id 1 (the write oracle's admin adds one), a
    won/lost reason likewise."""
    import re

    values = {"stage_id": 1, "target_id": 1, "rule_id": 1, "reason_id": 1, **values}

    def repl(m):
        name = m.group(1).split(":")[-1]
        return str(values[name])

    return re.sub(r"<([^>]+)>", repl, rule)


#: HX-Target ids the suite sends (``*`` stands for an id or a field name). Every target a template
#: swaps into or a view asks ``targets()`` about must be listed here (test_htmx_targets_are_covered).
HTMX_TARGETS = {
    "pipeline-board": "POST the board's move of a deal (write tests, write oracle)",
    "record-list": "GET lists (leak test)",
    "notes-more": "GET notes timeline (leak test)",
    "access-body": "GET who-can-see table (leak test)",
    "history-body": "GET a record's change history (leak test)",
    "dashboard": "GET the home page's dashboard (leak test: page)",
    "handovers": "GET the hand-over buttons of a record (leak test, as a plain GET)",
    "search-live": "GET search (leak test)",
    "activity-more": "GET home (leak test)",
    "*-options": "GET lookup as the link picker asks (leak test)",
    "notes": "POST notes create/delete (writes, CSRF)",
    "files": "GET/POST a record's files section, upload and delete (leak test, writes, CSRF)",
    "tasks": "POST tasks create (writes, CSRF)",
    "task-*": "POST task toggle/delete/reschedule (writes, CSRF)",
    "note-*": "GET/POST a note's edit form in place (leak test, writes)",
    "dialog": "POST bulk actions (writes, CSRF)",
    "assign-preview": "POST bulk assign step=preview (writes)",
    "bulk-message": "POST bulk undo (writes)",
    "import-status": "GET import job state (leak test)",
    "job-status": "GET job state (leak test)",
    "import-preview": "POST import preview (writes)",
    "group-field": "GET a new record's group field for a picked company (leak test: every id, unseen = unused)",
}


# -- the JSON API (interfaces.md), with each user's bearer token -------------------------------

API = "/api/v1"
API_ONE = "<api_id:record_id>"
GET.update({
    f"{API}/search": Probe("api_search", "q = tokens and file names of every record"),
    f"{API}/groups": Probe("api_admin", "admins only"),
    f"{API}/groups/<api_id:group_id>": Probe("api_admin", "every group id + unknown", {"ids": "group"}),
    f"{API}/custom-fields": Probe("api_admin", "admins only"),
    f"{API}/settings": Probe("api_admin", "admins only"),
    f"{API}/access-review": Probe("api_admin", "admins only: names, group ids and counts, no record"),
    f"{API}/type-defaults": Probe("api_admin", "admins only: a group id per record type, no record"),
    f"{API}/groups/<api_id:group_id>/handovers": Probe("api_admin", "admins only: group ids, names and labels, "
                                                       "no record; every group id + unknown", {"ids": "group"}),
    f"{API}/assignment-rules": Probe("api_admin", "admins only: rules (conditions, target groups), no record"),
    f"{API}/users": Probe("api_admin", "admins only"),
    f"{API}/users/<api_id:user_id>": Probe("api_admin", "every user id + unknown", {"ids": "user"}),
    f"{API}/openapi.json": Probe("api_public", "anyone, no record data"),
    f"{API}/files/<api_id:file_id>": Probe("api_file", "as /files/<id>: every file id + unknown, with the token"),
    f"{API}/jobs/<api_id:job_id>": Probe("api_job", "a job of one user: its owner and admins 200, everyone else "
                                         "404 like an unknown id"),
})
WRITE.update({
    ("POST", f"{API}/tokens"): Write("api_public", "wrong passwords: 401, nothing written"),
    ("POST", f"{API}/assignment-rules"): Write("api_admin_only", "non-admins: 403; changes no record"),
    ("PATCH", f"{API}/assignment-rules/<api_id:rule_id>"): Write("api_admin_only", "non-admins: 403", {"ids": "rule"}),
    ("DELETE", f"{API}/assignment-rules/<api_id:rule_id>"): Write("api_admin_only", "non-admins: 403",
                                                                 {"ids": "rule"}),
    ("POST", f"{API}/custom-fields"): Write("api_admin_only", "non-admins: 403"),
    ("PATCH", f"{API}/custom-fields/<api_id:field_id>"): Write("api_admin_only", "non-admins: 403", {"ids": "field"}),
    ("DELETE", f"{API}/custom-fields/<api_id:field_id>"): Write("api_admin_only", "non-admins: 403", {"ids": "field"}),
    ("POST", f"{API}/groups"): Write("api_admin_only", "non-admins: 403"),
    ("PATCH", f"{API}/groups/<api_id:group_id>"): Write("api_admin_only", "non-admins: 403", {"ids": "group"}),
    ("DELETE", f"{API}/groups/<api_id:group_id>"): Write("api_admin_only", "non-admins: 403", {"ids": "group"}),
    ("POST", f"{API}/impact"): Write("api_admin_only", "non-admins: 403; a preview writes nothing",
                                     {"json": {"change": "groups_enabled", "groups_enabled": False}}),
    ("PATCH", f"{API}/settings"): Write("api_admin_only", "non-admins: 403", {"json": {"groups_enabled": False}}),
    ("PATCH", f"{API}/type-defaults"): Write("api_admin_only", "non-admins: 403; changes no record",
                                             {"json": {"record_type": "deal", "group_id": 1}}),
    ("PUT", f"{API}/groups/<api_id:group_id>/handovers"): Write(
        "api_admin_only", "non-admins: 403; changes no record", {"ids": "group", "json": {"target_id": 1}}),
    ("DELETE", f"{API}/groups/<api_id:group_id>/handovers/<api_id:target_id>"): Write(
        "api_admin_only", "non-admins: 403; changes no record", {"ids": "group"}),
    ("POST", f"{API}/users"): Write("api_admin_only", "non-admins: 403"),
    ("PATCH", f"{API}/users/<api_id:user_id>"): Write("api_admin_only", "non-admins: 403", {"ids": "user"}),
    ("DELETE", f"{API}/users/<api_id:user_id>"): Write("api_admin_only", "non-admins: 403", {"ids": "user"}),
    ("PATCH", f"{API}/notes/<api_id:note_id>"): Write(
        "api_note", "notes of hidden/restricted records 404; another author's note as a non-admin 403"),
    ("DELETE", f"{API}/notes/<api_id:note_id>"): Write("api_note", "as PATCH", {"delete": True}),
    ("DELETE", f"{API}/files/<api_id:file_id>"): Write(
        "file_delete", "files of hidden/restricted records 404; another uploader's file as a normal user 403",
        {"api": True}),
    ("PATCH", f"{API}/tasks/<api_id:task_id>"): Write(
        "api_task", "tasks of hidden/restricted records and others' private tasks 404"),
    ("DELETE", f"{API}/tasks/<api_id:task_id>"): Write(
        "api_task", "as PATCH, plus someone else's task as a normal user 403", {"delete": True}),
})
for _plural in PLURALS:
    _key = KEY_OF[_plural]
    GET.update({
        f"{API}/{_plural}": Probe("api_list", "pages, has_more, group/tag/text filters, restricted shape",
                                  {"rtype": _key}),
        f"{API}/{_plural}/{API_ONE}": Probe("api_record", "every record id; hidden = unknown 404",
                                            {"view": "get", "plural": _plural}),
        f"{API}/{_plural}/{API_ONE}/notes": Probe("api_record", "every record id",
                                                  {"view": "notes", "plural": _plural}),
        f"{API}/{_plural}/{API_ONE}/history": Probe("api_record", "every record id (old values are canaries)",
                                                    {"view": "history", "plural": _plural}),
        f"{API}/{_plural}/{API_ONE}/files": Probe("api_record", "every record id; file names as canaries",
                                                  {"view": "files", "plural": _plural}),
    })
    WRITE.update({
        ("POST", f"{API}/{_plural}"): Write("api_create", "foreign group, links to hidden/restricted", {"rtype": _key}),
        ("PATCH", f"{API}/{_plural}/{API_ONE}"): Write("api_record", "hidden 404, restricted 403, foreign group",
                                                      {"view": "patch", "plural": _plural}),
        ("DELETE", f"{API}/{_plural}/{API_ONE}"): Write("api_record", "hidden 404, restricted 403, normal 403",
                                                       {"view": "delete", "plural": _plural}),
        ("POST", f"{API}/{_plural}/{API_ONE}/restore"): Write(
            "trash", "any record not in the bin: 404 like an unknown id, for everyone"),
        ("POST", f"{API}/{_plural}/{API_ONE}/notes"): Write("api_record", "hidden 404, restricted 403",
                                                           {"view": "notes", "plural": _plural}),
        ("POST", f"{API}/{_plural}/{API_ONE}/files"): Write("api_record", "hidden 404, restricted 403",
                                                           {"view": "files", "plural": _plural}),
        ("POST", f"{API}/{_plural}/assign-group"): Write("api_assign", "ids not fully visible are not moved",
                                                        {"rtype": _key}),
    })
    if _plural in ("people", "companies"):
        WRITE[("POST", f"{API}/{_plural}/{API_ONE}/merge")] = Write(
            "merge", "as the page: hidden 404 like unknown, restricted 403, the other hidden 404 / restricted 403",
            {"plurals": (_plural,), "api": True})
