"""The four record types described once, so pages, API, search and exports share one view of them."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import literal

from ..decimals import DecimalRule
from .models import Company, Deal, Person, Project, RecordMixin


@dataclass(frozen=True)
class RecordType:
    key: str  # "company": custom field entity, notes' foreign key prefix
    plural: str  # "companies": URL prefix, blueprint name, API collection
    model: type[RecordMixin]
    label: object
    label_plural: object
    #: fields that make the display name; the only plain fields a restricted record shows
    name_fields: tuple[str, ...]
    #: API/CSV field names in order (besides id, group, custom fields)
    fields: tuple[str, ...]
    #: sort choices: key -> (label, model attribute name); "name" sorts by the display name
    sorts: dict = field(default_factory=dict)
    has_contact_details: bool = False
    #: record types that point at this one by ``company_id`` / ``person_id``
    related: tuple[str, ...] = ()
    #: references to other records (foreign key -> record type key)
    references: tuple[tuple[str, str], ...] = ()
    #: whole phrases per type, since German nouns have a gender ("Neue Firma", "Neues Angebot")
    new_label: object = None
    hidden_label: object = None
    not_found: object = None
    #: the default groups' "may choose" checkbox, whole (German: "von Angeboten", dative plural)
    own_group_label: object = None


_COMMON_SORTS = {"updated": (_l("Last change"), "updated_at")}

COMPANY = RecordType(
    key="company", plural="companies", model=Company,
    label=_l("Company"), label_plural=_l("Companies"),
    name_fields=("name",),
    fields=("name", "website", "background", "emails", "phones", "addresses", "tags"),
    sorts={"name": (_l("Name"), "sort_key"), **_COMMON_SORTS},
    has_contact_details=True,
    related=("person", "deal", "project"),
    new_label=_l("New company"), hidden_label=_l("hidden company"), not_found=_l("There is no such company."),
    own_group_label=_l("Creators of companies may choose one of their groups"),
)
PERSON = RecordType(
    key="person", plural="people", model=Person,
    label=_l("Person"), label_plural=_l("People"),
    name_fields=("first_name", "last_name"),
    fields=("salutation", "title", "first_name", "last_name", "company_id", "position", "emails",
            "phones", "addresses", "background", "tags"),
    sorts={"name": (_l("Name"), "sort_key"), "position": (_l("Position"), "position"), **_COMMON_SORTS},
    has_contact_details=True,
    related=("deal", "project"),
    references=(("company_id", "company"),),
    new_label=_l("New person"), hidden_label=_l("hidden person"), not_found=_l("There is no such person."),
    own_group_label=_l("Creators of people may choose one of their groups"),
)
DEAL = RecordType(
    key="deal", plural="deals", model=Deal,
    label=_l("Deal"), label_plural=_l("Deals"),
    name_fields=("name",),
    fields=("name", "value", "currency", "stage", "company_id", "person_id", "target_date",
            "description", "reason", "reason_note", "tags"),
    sorts={
        "name": (_l("Name"), "sort_key"),
        "value": (_l("Value"), "value_cents"),
        "stage": (_l("Stage"), "stage"),
        "target_date": (_l("Target date"), "target_date"),
        **_COMMON_SORTS,
    },
    references=(("company_id", "company"), ("person_id", "person")),
    new_label=_l("New deal"), hidden_label=_l("hidden deal"), not_found=_l("There is no such deal."),
    own_group_label=_l("Creators of deals may choose one of their groups"),
)
PROJECT = RecordType(
    key="project", plural="projects", model=Project,
    label=_l("Project"), label_plural=_l("Projects"),
    name_fields=("name",),
    fields=("name", "status", "company_id", "person_id", "start_date", "target_date", "description",
            "tags"),
    sorts={
        "name": (_l("Name"), "sort_key"),
        "status": (_l("Status"), "status"),
        "target_date": (_l("Target date"), "target_date"),
        **_COMMON_SORTS,
    },
    references=(("company_id", "company"), ("person_id", "person")),
    new_label=_l("New project"), hidden_label=_l("hidden project"), not_found=_l("There is no such project."),
    own_group_label=_l("Creators of projects may choose one of their groups"),
)

TYPES: dict[str, RecordType] = {t.key: t for t in (COMPANY, PERSON, DEAL, PROJECT)}
BY_PLURAL: dict[str, RecordType] = {t.plural: t for t in TYPES.values()}

DEAL_STAGE_LABELS = {"open": _l("open"), "won": _l("won"), "lost": _l("lost")}
PROJECT_STATUS_LABELS = {
    "planned": _l("planned"), "active": _l("active"), "on_hold": _l("on hold"),
    "done": _l("done"), "cancelled": _l("cancelled"),
}
CURRENCIES = ("EUR", "CHF", "USD", "GBP")
#: A deal's value: whole cents (the column holds cents), from 0 to 999,999,999,999.
DEAL_VALUE = DecimalRule(places=2, minimum=Decimal(0), maximum=Decimal("999999999999"),
                         range_message=_l("Between 0 and 999,999,999,999."))


def display_name_column(rtype: RecordType, model=None):
    """The SQL expression of a record's display name (``model``: an alias or a table's columns)."""
    model = model or rtype.model
    if rtype.key == "person":
        return model.first_name + literal(" ") + model.last_name
    return model.name
