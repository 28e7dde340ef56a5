"""Locking a group row against its concurrent deletion (issue 16).

Deleting a group moves its records and removes the row; a bulk assignment, an undo or a record
form puts records into a group. Run at the same time, the one that moves records into the group
failed on the foreign key (a 500 on PostgreSQL), or the delete did. Both sides therefore take the
group row first, in the writing transaction:

* PostgreSQL: ``SELECT … FOR UPDATE`` by the delete, ``FOR SHARE`` by the others: concurrent
  assignments into one group do not wait for each other, a delete waits for them (and then counts
  and moves their records too), and they wait for a delete (and then find no group).
* SQLite has one writer at a time, taken at the first write of a transaction; reads before it see
  whatever is committed then. A no-op ``UPDATE`` of the row takes the write lock, so what is read
  afterwards stays true until the commit.
"""
from __future__ import annotations

from sqlalchemy import select, update

from ..extensions import db
from ..groups.models import Group


def lock_group(group_id: int, *, exclusive: bool = False) -> Group | None:
    """The group, locked until the end of the transaction (``exclusive``: for deleting it), or
    None if it is gone (deleted meanwhile, or never there)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Group).where(Group.id == group_id).values(builtin=Group.builtin)
                           .execution_options(synchronize_session=False))
        stmt = select(Group).where(Group.id == group_id)
    else:
        stmt = select(Group).where(Group.id == group_id).with_for_update(read=not exclusive, of=Group)
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def lock_groups(group_ids) -> set[int]:
    """Several groups, shared (PostgreSQL), ordered by id so that two callers never deadlock;
    returns the ids that still exist."""
    ids = sorted({int(i) for i in group_ids if i is not None})
    if not ids:
        return set()
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Group).where(Group.id.in_(ids)).values(builtin=Group.builtin)
                           .execution_options(synchronize_session=False))
        return set(db.session.scalars(select(Group.id).where(Group.id.in_(ids))))
    return set(db.session.scalars(
        select(Group.id).where(Group.id.in_(ids)).order_by(Group.id).with_for_update(read=True)))
