"""Settings -> Account and Extensions (admins only). Users, groups, custom fields and the audit
log have their own pages (crm/users, crm/groups, crm/customfields, crm/audit)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..adminpages import admin_blueprint
from ..errors import Refused, apply_to_form
from ..extensions import db
from ..groups.services import account as current_account
from ..groups.services import preview_switch
from ..visibility import current_viewer
from . import services
from .forms import AccountForm, ExtensionsForm
from .schemas import AccountUpdate, SettingsUpdate

bp = admin_blueprint("settings", __name__)

#: the name of the submit button that asks for the impact preview instead of the change
PREVIEW = "preview"


@bp.get("")
def index():
    return redirect(url_for("users.index"))


@bp.route("/account", methods=["GET", "POST"])
def account():
    form = AccountForm(obj=current_account())
    if form.validate_on_submit():
        try:
            services.rename_account(current_viewer(), AccountUpdate.parse({"name": form.name.data}))
        except Refused as refused:
            db.session.rollback()
            apply_to_form(form, refused)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("settings.account"))
    return render_template("settings/account.html", form=form), 400 if form.errors or form.form_errors else 200


@bp.route("/extensions", methods=["GET", "POST"])
def extensions():
    acc = current_account()
    form = ExtensionsForm(obj=acc)
    impact = None
    if form.validate_on_submit():
        enabled = bool(form.groups_enabled.data)
        if PREVIEW in request.form:  # what the switch would change; nothing is saved
            impact = preview_switch(current_viewer(), enabled)
        else:
            if services.update_settings(current_viewer(), SettingsUpdate(groups_enabled=enabled)):
                db.session.commit()
                flash(_("The group system is now on.") if enabled
                      else _("The group system is now off: everyone sees every record. "
                             "Group assignments are kept."), "success")
            return redirect(url_for("settings.extensions"))
    return render_template("settings/extensions.html", form=form, enabled=acc.groups_enabled, impact=impact)
