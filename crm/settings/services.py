"""Account administration shared by the settings pages and the JSON API."""
from __future__ import annotations

from flask_babel import gettext as _

from ..audit.services import audit
from ..auth.models import User
from ..auth.services import create_user, find_user_by_email
from ..extensions import db
from ..groups import services as groups
from ..groups.models import Group


class UserError(Exception):
    """A user that cannot be created as asked; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def create_account_user(actor, *, email: str, password: str | None, role: str, name: str,
                        locale: str | None = None, active: bool = True,
                        default_group_id: int | None = None, group_ids=()) -> User:
    """Create a user with default group and memberships, each step audited (the caller commits)."""
    if not password:
        raise UserError("password", _("A new user needs a password."))
    if find_user_by_email(email) is not None:
        raise UserError("email", _("A user with this email exists already."))
    user = create_user(email, password, role, name, locale=locale)
    user.active = active
    audit(actor, "user_created", user=user.email, user_id=user.id, role=user.role)
    groups.set_default_group(actor, user, default_group_id)
    for gid in group_ids:
        groups.add_member(actor, db.session.get(Group, gid), user)
    return user
