"""Typed input and output of the account settings (the settings pages and the API)."""
from __future__ import annotations

from pydantic import BaseModel

from ..schematypes import Input, line


class AccountUpdate(Input):
    name: line(120)


class SettingsUpdate(Input):
    """The settings the API may change: the extension switches (only what is sent changes)."""

    groups_enabled: bool = None


class SettingsOut(BaseModel):
    groups_enabled: bool
