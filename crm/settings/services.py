"""Account settings (admins only): the account's name and the extension switches. The group
system's switch is :func:`crm.groups.services.set_groups_enabled` (audited)."""
from __future__ import annotations

from ..auth.services import require_admin
from ..groups import services as groups
from .schemas import AccountUpdate, SettingsOut, SettingsUpdate


def rename_account(actor, data: AccountUpdate) -> None:
    require_admin(actor)
    groups.account().name = data.name


def current_settings(actor) -> SettingsOut:
    require_admin(actor)
    return SettingsOut(groups_enabled=bool(groups.account().groups_enabled))


def update_settings(actor, data: SettingsUpdate) -> bool:
    """Apply what ``data`` sets; True if anything changed."""
    require_admin(actor)
    if data.groups_enabled is not None:
        return groups.set_groups_enabled(actor, data.groups_enabled)
    return False
