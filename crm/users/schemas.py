"""Typed input and output of user administration (the settings pages and the API build the same
models; :mod:`crm.users.services` owns every rule)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from ..auth.models import LOCALES, ROLES
from ..schematypes import Email, Id, Ids, Input, Password, line

Name = line(120)


class UserCreate(Input):
    """A new user. ``default_group_id`` None (or Basis) means none - but a user given exactly one
    group gets that one; ``group_ids`` are the groups besides Basis (every user is always in Basis)."""

    email: Email
    name: Name
    password: Password
    role: Literal[ROLES] = "normal"
    locale: Literal[LOCALES] | None = None
    active: bool = True
    default_group_id: Id | None = None
    group_ids: Ids = []


class UserUpdate(Input):
    """A change of a user: only the fields sent change (a PATCH); ``password`` set means a new
    password, ``locale`` / ``default_group_id`` null mean "as the browser says" / none (a user left
    without one who joins exactly one group in the change gets that one; leaving the default group
    clears it). A user's ``email`` and ``name`` cannot be emptied: a null there is refused (422),
    not "not sent"."""

    null_refused = frozenset({"email", "name"})

    email: Email = None
    name: Name = None
    password: Password = None
    role: Literal[ROLES] = None
    locale: Literal[LOCALES] | None = None
    active: bool = None
    default_group_id: Id | None = None
    group_ids: Ids = None


class UserOut(BaseModel):
    """A user as the API shows it."""

    id: int
    email: str
    name: str
    role: Literal[ROLES]
    active: bool
    locale: Literal[LOCALES] | None
    default_group_id: int | None
    group_ids: list[int]
    created_at: str | None


class UserList(BaseModel):
    items: list[UserOut]
