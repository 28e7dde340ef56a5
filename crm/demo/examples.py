"""The three example companies of the feature text (product.md §7) as demo data.

* Müller: Basis (all contacts and projects; everyone), Finanzen (all deals; accounting, the
  department head and the boss).
* Meier: Company (qualified leads, customers, deals, projects; internal staff only), Leads
  (unqualified addresses for the call centre; internal staff and three external agents). Nothing
  lives in Basis, so the agents see nothing but Leads.
* Schmidt: Basis (unqualified leads; everyone), Nord and Süd (qualified leads of the region with
  their deals and projects; that region's sales staff and all non-sales staff). The company field
  "Kundenstatus" is shared with Nord and Süd. Two assignment rules put new companies with a
  postcode starting with 1, 2 or 3 into Nord, with 7, 8 or 9 into Süd (their people, deals and
  projects follow when applied to existing records).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import delete, select, update

from ..auth.services import create_user
from ..common import utcnow
from ..customfields.models import CustomField, CustomFieldValue
from ..extensions import db
from ..groups.models import BASIS_ID, Group, group_members
from ..history.models import RecordEvent
from ..history.services import start_histories
from ..notes.models import Note
from ..records.models import Company, ContactDetail, Deal, Person, Project, Tag
from ..rules.models import AssignmentRule
from ..settings.models import ACCOUNT_ID, Account
from ..stages.models import DealReason
from ..tasks.models import Task
from . import words

DEMO_PASSWORD = "demo1234"
#: the won/lost reasons every example ships with (Settings -> Deal stages), in their order
REASONS = {"lost": ("Preis zu hoch", "Mitbewerber", "Kein Budget"), "won": ("Preis", "Beziehung", "Produkt")}


@dataclass
class DemoUser:
    name: str
    email: str
    role: str
    groups: list[str]
    note: str
    default: str | None = None


@dataclass
class Example:
    key: str
    account: str
    groups: list[str]
    users: list[DemoUser]
    build: object = None
    users_by_email: dict = field(default_factory=dict)


def ascii_slug(text: str) -> str:
    """"Müller" -> "mueller": for made-up email addresses and web sites."""
    text = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ı", "i")):
        text = text.replace(a, b)
    return "".join(c for c in text if c.isascii() and c.isalnum())


class Builder:
    """Creates records directly (the command line runs as the system, not as a user)."""

    def __init__(self, seed: int, users: dict, groups: dict):
        self.rnd = random.Random(seed)
        self.users = users
        self.groups = groups
        self.used_names: set[str] = set()
        self.tags: dict[str, Tag] = {}
        self.today = date.today()
        # (a generator of its own: the reasons leave every other record of an example as it was)
        self.reason_rnd = random.Random(seed + 1)
        self.reasons: dict[str, list[DealReason]] = {}

    def load_reasons(self) -> None:
        """The example's won/lost reasons (:data:`REASONS`), unless the database has some."""
        if db.session.scalar(select(DealReason.id).limit(1)) is None:
            for outcome, names in REASONS.items():
                db.session.add_all([DealReason(name=n, outcome=outcome, position=i) for i, n in enumerate(names, 1)])
            db.session.flush()
        for r in db.session.scalars(select(DealReason).where(DealReason.retired_at.is_(None))):
            self.reasons.setdefault(r.outcome, []).append(r)

    def tag(self, name: str) -> Tag:
        if name not in self.tags:
            tag = db.session.scalar(select(Tag).where(Tag.name == name)) or Tag(name=name)
            db.session.add(tag)
            self.tags[name] = tag
        return self.tags[name]

    def company_name(self, city: str) -> str:
        for _ in range(100):
            name = f"{self.rnd.choice(words.COMPANY_STEMS)} {self.rnd.choice(words.COMPANY_KINDS)} {self.rnd.choice(words.LEGAL)}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        return f"{city} Handel GmbH"

    def address(self, city: tuple[str, str]) -> str:
        street = f"{self.rnd.choice(words.STREETS)} {self.rnd.randint(1, 140)}"
        return f"{street}\n{city[1]}{self.rnd.randint(100, 999)} {city[0]}"

    def phone(self) -> str:
        return f"+49 {self.rnd.randint(30, 991)} {self.rnd.randint(100000, 9999999)}"

    def company(self, group: str, city: tuple[str, str], owner: str, tags=(), name: str | None = None) -> Company:
        name = name or self.company_name(city[0])
        domain = ascii_slug(name.split(" ")[0])
        c = Company(name=name, website=f"https://www.{domain}-{ascii_slug(city[0])[:3]}.example",
                    background=f"Sitz in {city[0]}.", group_id=self.groups[group].id,
                    responsible_id=self.users[owner].id, created_by_id=self.users[owner].id,
                    updated_by_id=self.users[owner].id)
        c.contact_details = [
            ContactDetail(kind="email", value=f"info@{domain}.example", position=0),
            ContactDetail(kind="phone", value=self.phone(), position=0),
            ContactDetail(kind="address", value=self.address(city), position=0),
        ]
        c.tags = [self.tag(t) for t in tags]
        db.session.add(c)
        return c

    def person(self, group: str, owner: str, company: Company | None = None, city=None, tags=()) -> Person:
        female = self.rnd.random() < 0.5
        first = self.rnd.choice(words.FIRST_F if female else words.FIRST_M)
        last = self.rnd.choice(words.LAST)
        p = Person(salutation="Frau" if female else "Herr", first_name=first, last_name=last,
                   company=company, position=self.rnd.choice(words.POSITIONS) if company else "",
                   group_id=self.groups[group].id, responsible_id=self.users[owner].id,
                   created_by_id=self.users[owner].id, updated_by_id=self.users[owner].id)
        mail_domain = (company.contact_details[0].value.split("@")[1] if company else "mail.example")
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        p.contact_details = [ContactDetail(kind="email", value=f"{local}@{mail_domain}", position=0),
                             ContactDetail(kind="phone", value=self.phone(), position=0)]
        if city and not company:
            p.contact_details.append(ContactDetail(kind="address", value=self.address(city), position=0))
        p.tags = [self.tag(t) for t in tags]
        db.session.add(p)
        return p

    def deal(self, group: str, owner: str, company: Company, person: Person | None, name: str) -> Deal:
        stage = self.rnd.choices(["open", "won", "lost"], [6, 3, 1])[0]
        d = Deal(name=name, stage=stage, currency="EUR", company=company, person=person,
                 target_date=self.today + timedelta(days=self.rnd.randint(-60, 180)),
                 description="", group_id=self.groups[group].id, responsible_id=self.users[owner].id,
                 created_by_id=self.users[owner].id, updated_by_id=self.users[owner].id)
        d.value = self.rnd.randint(8, 400) * 250
        if stage in self.reasons and self.reason_rnd.random() < 0.8:  # most won and lost deals say why
            d.reason_id = self.reason_rnd.choice(self.reasons[stage]).id
        db.session.add(d)
        return d

    def project(self, group: str, owner: str, company: Company, person: Person | None, name: str) -> Project:
        start = self.today - timedelta(days=self.rnd.randint(0, 200))
        p = Project(name=name, status=self.rnd.choice(["planned", "active", "active", "done", "on_hold"]),
                    start_date=start, target_date=start + timedelta(days=self.rnd.randint(30, 240)),
                    company=company, person=person, group_id=self.groups[group].id,
                    responsible_id=self.users[owner].id, created_by_id=self.users[owner].id,
                    updated_by_id=self.users[owner].id)
        db.session.add(p)
        return p

    def notes(self, record, author: str, person: Person | None, company: Company | None, topic: str, n: int):
        db.session.flush()
        for _ in range(n):
            kind = self.rnd.choice(list(words.NOTE_TEXTS))
            text = self.rnd.choice(words.NOTE_TEXTS[kind]).format(
                p=person.display_name if person else "der Zentrale", c=company.name if company else "", topic=topic)
            note = Note(body=text, kind=kind, author_id=self.users[author].id,
                        occurred_at=utcnow() - timedelta(days=self.rnd.randint(0, 90), hours=self.rnd.randint(0, 8)))
            note.created_at = note.occurred_at
            note.attach_to(record.KEY, record.id)
            db.session.add(note)

    def task(self, record, creator: str, assignee: str, text: str | None = None, days: int | None = None):
        db.session.flush()
        t = Task(title=text or self.rnd.choice(words.TASK_TEXTS), created_by_id=self.users[creator].id,
                 assignee_id=self.users[assignee].id,
                 due_date=self.today + timedelta(days=days if days is not None else self.rnd.randint(-5, 30)))
        if record is not None:
            t.attach_to(record.KEY, record.id)
        db.session.add(t)
        return t


def _mueller(b: Builder) -> None:
    topics = ["Wartungsvertrag Heizung", "Austausch Gasbrennwertkessel", "Wärmepumpe", "Badsanierung",
              "Lüftungsanlage", "Legionellenprüfung", "Photovoltaik mit Speicher"]
    staff = ["katrin.mueller", "sabine.wolf", "jonas.schaefer", "lea.hoffmann", "mehmet.yilmaz"]
    for i in range(14):
        city = b.rnd.choice(words.MIDDLE)
        owner = b.rnd.choice(["jonas.schaefer", "sabine.wolf", "lea.hoffmann"])
        c = b.company("Basis", city, owner, tags=b.rnd.sample(["Wartungskunde", "Gewerbe", "Wohnungswirtschaft", "Neukunde"], 1))
        people = [b.person("Basis", owner, c) for _ in range(b.rnd.randint(1, 3))]
        topic = b.rnd.choice(topics)
        b.notes(c, owner, people[0], c, topic, b.rnd.randint(1, 3))
        if i % 2 == 0:
            pr = b.project("Basis", "lea.hoffmann", c, people[0], f"{topic} {city[0]}")
            b.notes(pr, "lea.hoffmann", people[0], c, topic, 1)
        for _ in range(b.rnd.randint(0, 2)):
            d = b.deal("Finanzen", b.rnd.choice(["sabine.wolf", "thomas.berger"]), c, people[0],
                       f"{b.rnd.choice(topics)} – {c.name.split(' ')[0]}")
            b.notes(d, "thomas.berger", people[0], c, "Zahlungsplan", 1)
            b.task(d, "sabine.wolf", "thomas.berger", "Anzahlung prüfen")
        if i % 3 == 0:
            b.task(c, owner, b.rnd.choice(staff))
    for _ in range(6):  # private customers
        b.person("Basis", "mehmet.yilmaz", None, city=b.rnd.choice(words.MIDDLE), tags=["Privatkunde"])
    b.task(None, "katrin.mueller", "katrin.mueller", "Quartalszahlen mit Buchhaltung besprechen", 7)


def _meier(b: Builder) -> None:
    topics = ["PV-Anlage Dach", "Batteriespeicher", "Wallbox", "PV-Carport", "Wartung PV"]
    agents = ["tim.brandt", "aylin.demir", "sven.koch"]
    for i in range(12):
        city = b.rnd.choice(words.SOUTH[:6] + words.MIDDLE[:3])
        owner = b.rnd.choice(["julia.krause", "markus.weber"])
        c = b.company("Company", city, owner, tags=["Kunde"] if i % 2 else ["Qualifizierter Lead"])
        people = [b.person("Company", owner, c) for _ in range(b.rnd.randint(1, 3))]
        topic = b.rnd.choice(topics)
        b.notes(c, owner, people[0], c, topic, b.rnd.randint(1, 3))
        d = b.deal("Company", owner, c, people[0], f"{topic} {c.name.split(' ')[0]}")
        b.notes(d, owner, people[0], c, topic, 1)
        if i % 2:
            b.project("Company", "nina.schulz", c, people[0], f"Montage {topic} {city[0]}")
        if i % 3 == 0:
            b.task(d, owner, owner)
    for i in range(30):  # unqualified addresses the call centre phones
        city = b.rnd.choice(words.SOUTH + words.MIDDLE)
        p = b.person("Leads", "nina.schulz", None, city=city, tags=["Kaltakquise"])
        agent = agents[i % 3]
        if i % 2 == 0:
            b.notes(p, agent, p, None, b.rnd.choice(topics), 1)
        if i % 4 == 0:
            b.task(p, agent, agent, "Erneut anrufen", b.rnd.randint(0, 10))
    for _ in range(6):
        city = b.rnd.choice(words.SOUTH)
        c = b.company("Leads", city, "nina.schulz", tags=["Kaltakquise"])
        b.person("Leads", "nina.schulz", c)
    b.task(None, "julia.krause", "markus.weber", "Leads aus dem Callcenter qualifizieren", 3)


def _schmidt(b: Builder, status_field: CustomField) -> None:
    topics = ["Förderband", "Regalbediengerät", "Hubtisch", "Rollenbahn", "Wartungsvertrag Fördertechnik"]
    statuses = status_field.options

    def region(group, cities, sales):
        for i in range(10):
            city = b.rnd.choice(cities)
            owner = sales[i % len(sales)]
            c = b.company(group, city, owner, tags=["Kunde"] if i % 3 else ["Qualifizierter Lead"])
            db.session.flush()
            value = CustomFieldValue(field_id=status_field.id, value=statuses[min(i % 5, len(statuses) - 1)])
            value.attach_to("company", c.id)
            db.session.add(value)
            people = [b.person(group, owner, c) for _ in range(b.rnd.randint(1, 3))]
            topic = b.rnd.choice(topics)
            b.notes(c, owner, people[0], c, topic, b.rnd.randint(1, 3))
            d = b.deal(group, owner, c, people[0], f"{topic} {c.name.split(' ')[0]}")
            b.notes(d, owner, people[0], c, topic, 1)
            if i % 2 == 0:
                b.project(group, owner, c, people[0], f"Inbetriebnahme {topic} {city[0]}")
            if i % 3 == 0:
                b.task(d, owner, owner)

    region("Nord", words.NORTH, ["lars.petersen", "jana.hansen"])
    region("Süd", words.SOUTH, ["franz.huber", "maria.bauer"])
    for _ in range(15):  # unqualified leads, everyone sees them
        city = b.rnd.choice(words.NORTH + words.SOUTH)
        c = b.company("Basis", city, "eva.richter", tags=["Messekontakt"])
        b.person("Basis", "eva.richter", c)
    b.task(None, "claudia.schmidt", "eva.richter", "Messeplanung LogiMAT", 14)


EXAMPLES = {
    "mueller": Example(
        "mueller", "Müller Haustechnik GmbH", ["Finanzen"],
        [
            DemoUser("Katrin Müller", "katrin.mueller@mueller.example", "admin", ["Finanzen"], "Chefin"),
            DemoUser("Sabine Wolf", "sabine.wolf@mueller.example", "extended", ["Finanzen"], "Abteilungsleiterin"),
            DemoUser("Thomas Berger", "thomas.berger@mueller.example", "normal", ["Finanzen"], "Buchhaltung", "Finanzen"),
            DemoUser("Jonas Schäfer", "jonas.schaefer@mueller.example", "normal", [], "Vertrieb"),
            DemoUser("Lea Hoffmann", "lea.hoffmann@mueller.example", "normal", [], "Projektleitung"),
            DemoUser("Mehmet Yılmaz", "mehmet.yilmaz@mueller.example", "normal", [], "Kundendienst"),
        ],
    ),
    "meier": Example(
        "meier", "Meier Solartechnik GmbH", ["Company", "Leads"],
        [
            DemoUser("Frank Meier", "frank.meier@meier.example", "admin", ["Company", "Leads"], "Geschäftsführer", "Company"),
            DemoUser("Julia Krause", "julia.krause@meier.example", "extended", ["Company", "Leads"], "Vertriebsleitung", "Company"),
            DemoUser("Markus Weber", "markus.weber@meier.example", "normal", ["Company", "Leads"], "Vertrieb", "Company"),
            DemoUser("Nina Schulz", "nina.schulz@meier.example", "normal", ["Company", "Leads"], "Innendienst", "Leads"),
            DemoUser("Tim Brandt", "tim.brandt@callcenter.example", "normal", ["Leads"], "Callcenter (extern)", "Leads"),
            DemoUser("Aylin Demir", "aylin.demir@callcenter.example", "normal", ["Leads"], "Callcenter (extern)", "Leads"),
            DemoUser("Sven Koch", "sven.koch@callcenter.example", "normal", ["Leads"], "Callcenter (extern)", "Leads"),
        ],
    ),
    "schmidt": Example(
        "schmidt", "Schmidt Fördertechnik GmbH", ["Nord", "Süd"],
        [
            DemoUser("Claudia Schmidt", "claudia.schmidt@schmidt.example", "admin", ["Nord", "Süd"], "Geschäftsführerin"),
            DemoUser("Peter Lang", "peter.lang@schmidt.example", "extended", ["Nord", "Süd"], "Buchhaltung"),
            DemoUser("Eva Richter", "eva.richter@schmidt.example", "normal", ["Nord", "Süd"], "Marketing"),
            DemoUser("Lars Petersen", "lars.petersen@schmidt.example", "normal", ["Nord"], "Vertrieb Nord", "Nord"),
            DemoUser("Jana Hansen", "jana.hansen@schmidt.example", "normal", ["Nord"], "Vertrieb Nord", "Nord"),
            DemoUser("Franz Huber", "franz.huber@schmidt.example", "normal", ["Süd"], "Vertrieb Süd", "Süd"),
            DemoUser("Maria Bauer", "maria.bauer@schmidt.example", "extended", ["Süd"], "Vertriebsleitung Süd", "Süd"),
        ],
    ),
}


def is_empty() -> bool:
    from ..auth.models import User

    return db.session.scalar(select(User.id).limit(1)) is None and all(
        db.session.scalar(select(m.id).limit(1)) is None for m in (Company, Person, Deal, Project))


def loaded_example() -> Example | None:
    """The example whose users are in the database, if any (for printing the demo logins again)."""
    from ..auth.models import User

    emails = set(db.session.scalars(select(User.email)))
    for example in EXAMPLES.values():
        if all(u.email in emails for u in example.users):
            return example
    return None


def wipe() -> None:
    """Remove all data but the built-in rows (for ``demo load --reset``)."""
    from ..audit.models import AssignmentChange, AuditEntry
    from ..auth.models import RateCounter, User
    from ..records.models import TAG_TABLES

    for model in (AssignmentChange, AuditEntry, RecordEvent, Note, Task, CustomFieldValue, ContactDetail):
        db.session.execute(delete(model))
    for table in TAG_TABLES.values():
        db.session.execute(delete(table))
    for model in (Deal, Project, Person, Company, Tag, CustomField, DealReason):
        db.session.execute(delete(model))
    db.session.execute(delete(group_members))
    db.session.execute(delete(AssignmentRule))
    db.session.execute(update(User).values(default_group_id=None))
    db.session.execute(delete(Group).where(Group.id != BASIS_ID))
    db.session.execute(delete(User))
    db.session.execute(delete(RateCounter))


def load(key: str, seed: int = 7) -> Example:
    """Load one example into an empty database (the caller commits)."""
    example = EXAMPLES[key]
    acc = db.session.get(Account, ACCOUNT_ID) or Account(id=ACCOUNT_ID)
    acc.name = example.account
    acc.groups_enabled = True
    db.session.add(acc)
    groups = {"Basis": db.session.get(Group, BASIS_ID)}
    for name in example.groups:
        g = Group(name=name)
        db.session.add(g)
        groups[name] = g
    db.session.flush()
    users = {}
    for du in example.users:
        user = create_user(du.email, DEMO_PASSWORD, du.role, du.name)
        user.default_group_id = groups[du.default].id if du.default else None
        users[du.email.split("@")[0]] = user
        for gname in du.groups:
            db.session.execute(group_members.insert().values(group_id=groups[gname].id, user_id=user.id))
    db.session.flush()
    builder = Builder(seed, users, groups)
    builder.load_reasons()
    if key == "mueller":
        _mueller(builder)
    elif key == "meier":
        _meier(builder)
    else:
        status = CustomField(entity="company", name="Kundenstatus", kind="select", position=1,
                             options=["Top-Kunde", "Stammkunde", "Neukunde", "Kleiner Fisch"])
        status.shared_with = [groups["Nord"], groups["Süd"]]
        db.session.add(status)
        db.session.add(CustomField(entity="deal", name="Wahrscheinlichkeit %", kind="number", position=1))
        db.session.flush()
        _schmidt(builder, status)
        # the regions' assignment rules (issue 18): new companies sort themselves by postcode
        db.session.add_all([
            AssignmentRule(record_type="company", position=1, name="PLZ 1–3 → Nord", group_id=groups["Nord"].id,
                           conditions=[{"kind": "postcode", "value": "1,2,3"}], follow=True),
            AssignmentRule(record_type="company", position=2, name="PLZ 7–9 → Süd", group_id=groups["Süd"].id,
                           conditions=[{"kind": "postcode", "value": "7,8,9"}], follow=True),
        ])
    db.session.flush()
    start_histories()
    return example
