"""The input of a merge: the other record and, per field, which side's value the survivor keeps."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..input_types import Id, Input

#: which record's value the survivor gets: its own ("keep") or the other one's ("other")
Side = Literal["keep", "other"]

#: the prefix of a custom field's key among the choices ("custom_fields.Kundenstatus")
CUSTOM_KEY = "custom_fields."

#: the fields whose value is chosen per side, by record type (contact details and tags are united)
MERGEABLE = {
    "company": ("name", "website", "background", "responsible_id", "group_id"),
    "person": ("salutation", "title", "first_name", "last_name", "company_id", "position", "background",
               "responsible_id", "group_id"),
}

CHOICES_DESCRIPTION = (
    "Per field, whose value the survivor keeps: \"keep\" (its own, the default for every field not "
    "named) or \"other\". Keys: the plain fields (company: name, website, background; person: "
    "salutation, title, first_name, last_name, company_id, position, background), responsible_id, "
    "group_id (only while the group system is on) and custom fields as \"custom_fields.<field name>\". "
    "Contact details and tags of both are united.")


class MergeInput(Input):
    """Merge ``other_id`` into the record of the URL (the survivor)."""

    other_id: Id = Field(description="The record that goes to the recycle bin once merged")
    choices: dict[str, Side] = Field(default_factory=dict, max_length=200, description=CHOICES_DESCRIPTION)
    keep_version: int | None = Field(default=None, description="The survivor's version as the client saw it "
                                                               "(a change since is refused with 409)")
    other_version: int | None = Field(default=None, description="The other record's version as the client saw it")
