from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.security import check_password_hash

from ..extensions import db
from ..web import safe_next
from . import services, sessions
from .forms import LoginForm, PasswordForm, ProfileForm

bp = Blueprint("auth", __name__)

#: Where a newly issued API token waits (in the signed session cookie) for the one page showing it.
NEW_TOKEN_KEY = "new_api_token"


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        result = services.authenticate(form.email.data, form.password.data, request.remote_addr or "?")
        if result.user is not None:
            sessions.begin(result.user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
        if result.locked_seconds:
            minutes = max(1, (result.locked_seconds + 59) // 60)
            form.form_errors.append(ngettext(
                "Too many failed attempts. Please try again in %(num)d minute.",
                "Too many failed attempts. Please try again in %(num)d minutes.", minutes))
            status = 429
        else:
            form.form_errors.append(_("Email or password is wrong."))
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Ends this browser's session on the server: a copy of its cookie is logged out too."""
    sessions.end_current()
    db.session.commit()
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user, prefix="profile")
    if request.method == "GET":
        form.locale.data = user.locale or ""
    pw_form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        user.name = form.name.data
        user.locale = form.locale.data or None
        db.session.commit()
        flash(_("Your profile was saved."), "success")
        return redirect(url_for("auth.profile"))
    # A token just issued is shown on the page the token form redirected to, once: taken out
    # of the session here, so a reload neither shows it again nor issues another one.
    new_token = session.pop(NEW_TOKEN_KEY, None) if request.method == "GET" else None
    response = render_template("auth/profile.html", form=form, pw_form=pw_form, new_token=new_token)
    return response, (400 if form.errors else 200), ({"Cache-Control": "no-store"} if new_token else {})


@bp.route("/profile/password", methods=["POST"])
def change_password():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user, prefix="profile")
    form.locale.data = user.locale or ""
    pw_form = PasswordForm(prefix="pw")
    if pw_form.validate_on_submit():
        if check_password_hash(user.password_hash, pw_form.current.data):
            had_token = user.api_token_hash is not None
            user.password_hash = services.hash_password(pw_form.new.data)
            # every session ends (other browsers, a copied cookie, the API token); this browser
            # goes on with a new session
            sessions.end_all(user)
            sessions.begin(user)
            db.session.commit()
            flash(_("Your password was changed. You were logged out everywhere else."), "success")
            if had_token:
                flash(_("Your API token was revoked; create a new one below if you need it."), "warning")
            return redirect(url_for("auth.profile"))
        pw_form.current.errors = [_("This is not your current password.")]
    return render_template("auth/profile.html", form=form, pw_form=pw_form, new_token=None), 400


@bp.route("/profile/token", methods=["POST"])
def renew_token():
    user = current_user._get_current_object()
    session[NEW_TOKEN_KEY] = services.issue_token(user)
    # post/redirect/get: reloading the page that shows the token must not issue another one
    return redirect(url_for("auth.profile") + "#api-token", code=303)


@bp.route("/profile/token/revoke", methods=["POST"])
def revoke_token():
    services.revoke_token(current_user._get_current_object())
    flash(_("Your API token was revoked."), "success")
    return redirect(url_for("auth.profile"))
