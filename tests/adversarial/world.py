"""Worlds for the adversarial suite: a spec (plain data), a builder that writes it into the database,
unique tokens in every field, and an oracle that says who may see which token.

The oracle reads product.md §4 directly and never imports ``crm.visibility``:

* full - the extension is off, or the user is a member of the record's group (Basis: everyone);
* restricted - not full, but a custom field of the record's type is shared with one of the user's
  groups: the display name, the group name and the values of exactly those shared fields;
* hidden - otherwise.

Notes follow their record (full only); a task of a record follows it too, a task without a record
belongs to its creator and assignee. So do files: their names and their bytes are tokens too.

Every token is unique in the world and cannot occur by chance in a page (letters ``kx`` + a
serial + a field code + ``q``; numbers and years far from anything the app prints), so "token in
response" means "that field's value reached the response".
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select, text

from crm.auth.services import hash_password
from crm.customfields.models import CustomField, CustomFieldValue
from crm.extensions import db
from crm.groups.models import BASIS_ID, Group, group_members
from crm.history.models import CUSTOM_PREFIX, FieldChange, RecordEvent
from crm.models import Account, Company, Deal, Note, Person, Project, Tag, Task, User
from crm.records.models import ContactDetail

BASIS = "Basis"
TYPES = ("company", "person", "deal", "project")
PLURAL = {"company": "companies", "person": "people", "deal": "deals", "project": "projects"}
MODEL = {"company": Company, "person": Person, "deal": Deal, "project": Project}
NAME_FIELDS = {"company": ("name",), "person": ("first_name", "last_name"), "deal": ("name",),
               "project": ("name",)}
PASSWORD = "adversarial-password"
COMMON_TAG = "Gemeinsam"  # on several records of every type: the tag filter's side channel


# ----------------------------------------------------------------------------------------------
# the spec
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserSpec:
    key: str
    role: str  # admin / extended / normal
    groups: frozenset[str]  # explicit memberships (Basis is implicit)

    @property
    def all_groups(self) -> frozenset[str]:
        return self.groups | {BASIS}


@dataclass(frozen=True)
class FieldSpec:
    key: str
    entity: str
    kind: str  # text / number / date / url
    shared_with: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RecordSpec:
    key: str
    type: str
    group: str
    company: str | None = None  # key of a company record (people, deals, projects)
    person: str | None = None  # key of a person record (deals, projects)
    notes: int = 1
    task: bool = True
    files: int = 1
    common_tag: bool = False


@dataclass(frozen=True)
class PrivateTaskSpec:
    creator: str
    assignee: str | None


@dataclass(frozen=True)
class WorldSpec:
    enabled: bool
    groups: tuple[str, ...]  # besides Basis
    users: tuple[UserSpec, ...]
    fields: tuple[FieldSpec, ...]
    records: tuple[RecordSpec, ...]
    private_tasks: tuple[PrivateTaskSpec, ...] = ()

    def user(self, key: str) -> UserSpec:
        return next(u for u in self.users if u.key == key)

    def record(self, key: str) -> RecordSpec:
        return next(r for r in self.records if r.key == key)


# ----------------------------------------------------------------------------------------------
# the oracle
# ----------------------------------------------------------------------------------------------

def level(spec: WorldSpec, user: UserSpec, record: RecordSpec) -> str:
    if not spec.enabled or record.group in user.all_groups:
        return "full"
    if any(f.entity == record.type and f.shared_with & user.all_groups for f in spec.fields):
        return "restricted"
    return "hidden"


def field_shared_with(spec: WorldSpec, user: UserSpec, field_key: str) -> bool:
    f = next(f for f in spec.fields if f.key == field_key)
    return spec.enabled and bool(f.shared_with & user.all_groups)


# ----------------------------------------------------------------------------------------------
# tokens
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    """One value in one field. ``owner`` says whose it is:

    * ``("field", record_key, name)`` - a plain field (``name`` in NAME_FIELDS: the display name);
    * ``("custom", record_key, field_key)`` - a custom field value;
    * ``("note", record_key)`` / ``("task", record_key)`` - a note body / task title of a record;
    * ``("history", record_key)`` - an old value in the record's change history (of a plain field
      and of every custom field, shared ones included: a restricted viewer sees no history);
    * ``("file", record_key)`` / ``("file_bytes", record_key)`` - a file's name / a word in its bytes;
    * ``("private", creator_key, assignee_key)`` - a task without a record.
    """

    text: str  # what is written into the database (or the number/year as text)
    owner: tuple
    kind: str = "text"  # text / number / year
    pattern: re.Pattern | None = None

    def found_in(self, body: str) -> bool:
        if self.pattern is not None:
            return self.pattern.search(body) is not None
        return self.text.lower() in body.lower()

    @property
    def record_key(self) -> str | None:
        return self.owner[1] if self.owner[0] in ("field", "custom", "note", "task", "history", "file",
                                                  "file_bytes") else None

    @property
    def is_name(self) -> bool:
        return self.owner[0] == "field" and self.owner[2] in ("name", "first_name", "last_name")


def _digits_pattern(digits: str) -> re.Pattern:
    """A number as any page may print it: 8412345 / 8.412.345 / 8,412,345 / 8 412 345."""
    groups = []
    head = len(digits) % 3 or 3
    groups.append(digits[:head])
    groups += [digits[i:i + 3] for i in range(head, len(digits), 3)]
    sep = r"[.,\u00a0\u202f' ]?"
    return re.compile(r"(?<![\d])" + sep.join(groups) + r"(?![\d])")


def _year_pattern(year: int) -> re.Pattern:
    return re.compile(rf"(?<![\d]){year}(?![\d])")


class TokenMint:
    def __init__(self, start: int = 1):
        self._n = itertools.count(start)
        self._years = itertools.count(2201)
        self._numbers = itertools.count(11)

    def text(self, code: str) -> str:
        return f"kx{next(self._n):05d}{code}q"

    def number(self) -> int:
        # 8-digit integers 9_1nn_nn7: far from ids, counts, years and each other
        return 91_000_007 + 10_000 * next(self._numbers)

    def year(self) -> int:
        return next(self._years)


# ----------------------------------------------------------------------------------------------
# the built world
# ----------------------------------------------------------------------------------------------

@dataclass
class World:
    spec: WorldSpec
    tokens: list[Token] = field(default_factory=list)
    user_ids: dict[str, int] = field(default_factory=dict)
    user_emails: dict[str, str] = field(default_factory=dict)
    group_ids: dict[str, int] = field(default_factory=dict)
    field_ids: dict[str, int] = field(default_factory=dict)
    record_ids: dict[str, int] = field(default_factory=dict)
    note_ids: dict[str, list[int]] = field(default_factory=dict)
    file_ids: dict[str, list[int]] = field(default_factory=dict)
    task_ids: dict[str, int] = field(default_factory=dict)
    private_task_ids: list[int] = field(default_factory=list)
    api_tokens: dict[str, str] = field(default_factory=dict)

    # -- lookups ------------------------------------------------------------------------------
    def users(self) -> tuple[UserSpec, ...]:
        return self.spec.users

    def records_of(self, rtype: str) -> list[RecordSpec]:
        return [r for r in self.spec.records if r.type == rtype]

    def record_by_id(self, rtype: str, record_id: int) -> RecordSpec | None:
        for r in self.records_of(rtype):
            if self.record_ids[r.key] == record_id:
                return r
        return None

    def level(self, user: UserSpec, record: RecordSpec) -> str:
        return level(self.spec, user, record)

    def visible(self, user: UserSpec, rtype: str) -> list[RecordSpec]:
        return [r for r in self.records_of(rtype) if self.level(user, r) != "hidden"]

    def all_record_ids(self) -> list[int]:
        return sorted(set(self.record_ids.values()))

    def unused_id(self) -> int:
        return max([*self.record_ids.values(), *self.group_ids.values(), *self.user_ids.values(),
                    *self.field_ids.values(), *[i for ids in self.note_ids.values() for i in ids],
                    *[i for ids in self.file_ids.values() for i in ids],
                    *self.task_ids.values(), *self.private_task_ids, 0]) + 1000

    def tokens_of(self, record_key: str) -> list[Token]:
        return [t for t in self.tokens if t.record_key == record_key and t.owner[0] in ("field", "custom")]

    def name_tokens(self, record_key: str) -> list[Token]:
        return [t for t in self.tokens_of(record_key) if t.is_name]

    # -- the oracle on tokens -----------------------------------------------------------------
    def allowed(self, user: UserSpec, token: Token) -> bool:
        kind = token.owner[0]
        if kind == "private":
            return user.key in token.owner[1:]
        record = self.spec.record(token.owner[1])
        lvl = self.level(user, record)
        if lvl == "full":
            return True
        if lvl == "hidden":
            return False
        if kind == "field":
            return token.is_name
        if kind == "custom":
            return field_shared_with(self.spec, user, token.owner[2])
        return False  # notes, tasks and files of restricted records

    def forbidden(self, user: UserSpec) -> list[Token]:
        return [t for t in self.tokens if not self.allowed(user, t)]


# ----------------------------------------------------------------------------------------------
# the builder
# ----------------------------------------------------------------------------------------------

def _file(key: str, record_id: int, name: str, data: bytes, uploader_id: int, at: datetime) -> int:
    """A file on a record, its bytes in the app's store (as an upload leaves it)."""
    from io import BytesIO

    from crm.files.models import Attachment
    from crm.files.storage import new_key, storage

    storage_key = new_key()
    storage().put(storage_key, BytesIO(data), "text/plain")
    f = Attachment(storage_key=storage_key, name=name, content_type="text/plain", size=len(data),
                   uploaded_by_id=uploader_id, created_at=at)
    f.attach_to(key, record_id)
    db.session.add(f)
    db.session.flush()
    return f.id


def build(spec: WorldSpec, *, issue_api_tokens: bool = True) -> World:
    """Write ``spec`` into the (empty but seeded) database. Runs outside any request."""
    world = World(spec)
    mint = TokenMint()
    add = world.tokens.append
    db.session.get(Account, 1).groups_enabled = spec.enabled
    world.group_ids[BASIS] = BASIS_ID
    for name in spec.groups:
        grp = Group(name=name)
        db.session.add(grp)
        db.session.flush()
        world.group_ids[name] = grp.id
    pw = hash_password(PASSWORD)
    for u in spec.users:
        user = User(email=f"{u.key}@adv.example", name=f"User {u.key}", role=u.role, password_hash=pw)
        db.session.add(user)
        db.session.flush()
        world.user_ids[u.key] = user.id
        world.user_emails[u.key] = user.email
        for g in sorted(u.groups):
            db.session.execute(group_members.insert().values(group_id=world.group_ids[g], user_id=user.id))
    for f in spec.fields:
        cf = CustomField(entity=f.entity, name=f"Feld {f.key}", kind=f.kind, options=[])
        cf.shared_with = [db.session.get(Group, world.group_ids[g]) for g in sorted(f.shared_with)]
        db.session.add(cf)
        db.session.flush()
        world.field_ids[f.key] = cf.id
    common = Tag(name=COMMON_TAG)
    db.session.add(common)
    user_keys = [u.key for u in spec.users]
    base_time = datetime(2030, 1, 1, 12, 0)
    for i, r in enumerate(spec.records):
        obj = _record(r, world, mint, add)
        obj.group_id = world.group_ids[r.group]
        obj.responsible_id = world.user_ids[user_keys[i % len(user_keys)]]
        obj.created_at = base_time + timedelta(hours=i)
        obj.updated_at = base_time + timedelta(hours=i, minutes=30)
        tag = Tag(name=mint.text("tg"))
        add(Token(tag.name, ("field", r.key, "tags")))
        obj.tags = [tag, common] if r.common_tag else [tag]
        db.session.add(obj)
        db.session.flush()
        world.record_ids[r.key] = obj.id
        for f in spec.fields:
            if f.entity != r.type:
                continue
            raw, token = _custom_value(f, mint, r.key)
            add(token)
            value = CustomFieldValue(field_id=world.field_ids[f.key], value=raw)
            value.attach_to(r.type, obj.id)
            db.session.add(value)
        # the change history: an old value of a plain field and of each custom field (canaries)
        changes = []
        for name in ("background" if r.type in ("company", "person") else "description",
                     *(f"{CUSTOM_PREFIX}{world.field_ids[f.key]}" for f in spec.fields if f.entity == r.type)):
            old = mint.text("hs")
            add(Token(old, ("history", r.key)))
            changes.append(FieldChange(field=name, old=f"Alt {old}", new=None))
        event = RecordEvent(kind="changed", at=obj.updated_at, actor_id=obj.responsible_id, fields=changes)
        event.attach_to(r.type, obj.id)
        db.session.add(event)
        world.note_ids[r.key] = []
        for n in range(r.notes):
            body = mint.text("nt")
            add(Token(body, ("note", r.key)))
            note = Note(body=f"Notiz {body}", kind=("note", "call", "email", "meeting")[n % 4],
                        author_id=obj.responsible_id, occurred_at=base_time + timedelta(hours=i, minutes=n))
            note.attach_to(r.type, obj.id)
            db.session.add(note)
            db.session.flush()
            world.note_ids[r.key].append(note.id)
        world.file_ids[r.key] = []
        for n in range(r.files):
            name, word = mint.text("fn"), mint.text("fb")
            add(Token(name, ("file", r.key)))
            add(Token(word, ("file_bytes", r.key)))
            world.file_ids[r.key].append(_file(r.type, obj.id, f"Datei {name}.txt", f"Inhalt {word}\n".encode(),
                                               obj.responsible_id, base_time + timedelta(hours=i, minutes=n)))
        if r.task:
            title = mint.text("tk")
            add(Token(title, ("task", r.key)))
            assignee = world.user_ids[user_keys[(i + 1) % len(user_keys)]]
            task = Task(title=f"Aufgabe {title}", created_by_id=obj.responsible_id, assignee_id=assignee,
                        done=bool(i % 3 == 2), due_date=date(2031, 1 + i % 12, 1 + i % 28))
            task.attach_to(r.type, obj.id)
            db.session.add(task)
            db.session.flush()
            world.task_ids[r.key] = task.id
    for t in spec.private_tasks:
        title = mint.text("pt")
        add(Token(title, ("private", t.creator, t.assignee)))
        task = Task(title=f"Privat {title}", created_by_id=world.user_ids[t.creator],
                    assignee_id=world.user_ids[t.assignee] if t.assignee else None)
        db.session.add(task)
        db.session.flush()
        world.private_task_ids.append(task.id)
    db.session.commit()
    if issue_api_tokens:
        from crm.auth.services import issue_token

        for u in spec.users:
            world.api_tokens[u.key] = issue_token(db.session.get(User, world.user_ids[u.key]))
    return world


def _record(r: RecordSpec, world: World, mint: TokenMint, add):
    def tok(name: str, code: str) -> str:
        value = mint.text(code)
        add(Token(value, ("field", r.key, name)))
        return value

    def year_date(name: str) -> date:
        year = mint.year()
        add(Token(str(year), ("field", r.key, name), "year", _year_pattern(year)))
        return date(year, 3, 14)

    def details(obj) -> None:
        email = f"{mint.text('em')}@adv.example"
        add(Token(email.split("@")[0], ("field", r.key, "emails")))
        # a phone number is digits (the forms refuse letters, so an edit form sent back keeps it)
        phone = str(mint.number())
        add(Token(phone, ("field", r.key, "phones"), "number", _digits_pattern(phone)))
        obj.contact_details = [
            ContactDetail(kind="email", value=email, position=0),
            ContactDetail(kind="phone", value=f"+49 {phone}", position=0),
            ContactDetail(kind="address", value=f"{tok('addresses', 'ad')} Weg 1\n20095 Hamburg", position=0),
        ]

    ref = world.record_ids.get
    if r.type == "company":
        obj = Company(name=tok("name", "nm"), website=f"https://{tok('website', 'ws')}.example",
                      background=tok("background", "bg"))
        details(obj)
    elif r.type == "person":
        obj = Person(first_name=tok("first_name", "fn"), last_name=tok("last_name", "ln"),
                     title=tok("title", "ti"), position=tok("position", "po"),
                     background=tok("background", "bg"), salutation="Frau",
                     company_id=ref(r.company) if r.company else None)
        details(obj)
    elif r.type == "deal":
        cents = mint.number() * 100 + 37
        add(Token(str(cents // 100), ("field", r.key, "value"), "number", _digits_pattern(str(cents // 100))))
        obj = Deal(name=tok("name", "nm"), value_cents=cents, currency="EUR", stage="open",
                   target_date=year_date("target_date"), description=tok("description", "ds"),
                   company_id=ref(r.company) if r.company else None,
                   person_id=ref(r.person) if r.person else None)
    else:
        obj = Project(name=tok("name", "nm"), status="active", start_date=year_date("start_date"),
                      target_date=year_date("target_date"), description=tok("description", "ds"),
                      company_id=ref(r.company) if r.company else None,
                      person_id=ref(r.person) if r.person else None)
    return obj


def _custom_value(f: FieldSpec, mint: TokenMint, record_key: str) -> tuple[str, Token]:
    owner = ("custom", record_key, f.key)
    if f.kind == "number":
        n = mint.number()
        return str(n), Token(str(n), owner, "number", _digits_pattern(str(n)))
    if f.kind == "date":
        year = mint.year()
        return date(year, 7, 21).isoformat(), Token(str(year), owner, "year", _year_pattern(year))
    value = mint.text("cf")
    if f.kind == "url":
        return f"https://{value}.example/x", Token(value, owner)
    return f"Wert {value}", Token(value, owner)


# ----------------------------------------------------------------------------------------------
# the fixed world of the main leak test
# ----------------------------------------------------------------------------------------------

def fixed_spec(enabled: bool = True) -> WorldSpec:
    """Four groups, six users of every role and membership pattern, every kind of reference
    crossing group borders, shared and unshared fields of every kind."""
    U = UserSpec
    users = (
        U("admin_n", "admin", frozenset({"Nord"})),
        U("ext_s", "extended", frozenset({"Süd"})),
        U("norm_n", "normal", frozenset({"Nord"})),
        U("norm_all", "normal", frozenset({"Nord", "Süd", "Finanzen"})),
        U("norm_b", "normal", frozenset()),
        U("agent", "extended", frozenset({"Agenten"})),
    )
    F = FieldSpec
    fields = (
        F("kstatus", "company", "text", frozenset({"Nord", "Süd"})),
        F("intern", "company", "number", frozenset()),
        F("rolle", "person", "text", frozenset({"Süd"})),
        F("linkedin", "person", "url", frozenset()),
        F("chance", "deal", "number", frozenset({"Finanzen"})),
        F("phase", "project", "date", frozenset({BASIS})),
        F("budget", "project", "text", frozenset()),
    )
    R = RecordSpec
    records = (
        R("c_basis", "company", BASIS, common_tag=True),
        R("c_nord", "company", "Nord", notes=2, common_tag=True),
        R("c_sued", "company", "Süd", common_tag=True),
        R("c_fin", "company", "Finanzen"),
        R("c_agent", "company", "Agenten"),
        R("p_basis", "person", BASIS, company="c_sued", common_tag=True),
        R("p_nord", "person", "Nord", company="c_nord"),
        R("p_sued", "person", "Süd", company="c_basis", common_tag=True),
        R("p_fin", "person", "Finanzen", company="c_fin"),
        R("p_agent", "person", "Agenten", company="c_sued"),
        R("d_basis", "deal", BASIS, company="c_fin", person="p_sued", common_tag=True),
        R("d_nord", "deal", "Nord", company="c_sued", person="p_nord"),
        R("d_sued", "deal", "Süd", company="c_sued", person="p_sued", common_tag=True),
        R("d_fin", "deal", "Finanzen", company="c_nord", person="p_fin", common_tag=True),
        R("pr_basis", "project", BASIS, company="c_agent", person="p_agent"),
        R("pr_nord", "project", "Nord", company="c_nord", person="p_sued", common_tag=True),
        R("pr_sued", "project", "Süd", company="c_basis", common_tag=True),
        R("pr_fin", "project", "Finanzen", person="p_fin"),
    )
    private = (
        PrivateTaskSpec("norm_n", "norm_n"),
        PrivateTaskSpec("ext_s", "agent"),
        PrivateTaskSpec("admin_n", None),
    )
    return WorldSpec(enabled, ("Nord", "Süd", "Finanzen", "Agenten"), users, fields, records, private)


# ----------------------------------------------------------------------------------------------
# resetting the database between worlds (Hypothesis examples)
# ----------------------------------------------------------------------------------------------

def reset_database() -> None:
    """Empty every table and put the built-in rows back (Basis, the account)."""
    from crm.bootstrap import seed_builtin_rows

    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        from tests.conftest import _empty_pg

        _empty_pg()  # (as between tests: DELETE and the sequences back to 1)
        return
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(text(f'DELETE FROM "{table.name}"'))
    db.session.commit()
    seed_builtin_rows()


_MOVES_BY_ITSELF = {("user_sessions", "last_seen_at")}


def dump_database(exclude: tuple[str, ...] = ("rate_counters",)) -> dict[str, list]:
    """Every row of every table, sorted: compared before and after a refused write."""
    out = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            if table.name in exclude:
                continue
            # a login's last-seen time moves by itself (every few minutes of use): not a change
            columns = [c for c in table.c if (table.name, c.name) not in _MOVES_BY_ITSELF]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return out


def diff_dumps(before: dict, after: dict) -> list[str]:
    out = []
    for name, rows in before.items():
        if rows != after[name]:
            gone = [r for r in rows if r not in after[name]]
            new = [r for r in after[name] if r not in rows]
            out.append(f"{name}: -{gone[:3]} +{new[:3]}")
    return out


__all__ = [
    "BASIS",
    "COMMON_TAG",
    "PASSWORD",
    "PLURAL",
    "TYPES",
    "FieldSpec",
    "Group",
    "PrivateTaskSpec",
    "RecordSpec",
    "Token",
    "UserSpec",
    "World",
    "WorldSpec",
    "build",
    "diff_dumps",
    "dump_database",
    "fixed_spec",
    "level",
    "reset_database",
    "select",
]
