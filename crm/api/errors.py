"""Every API answer is JSON, errors included: ``{"error": {"code", "message", "fields"}}``."""
from __future__ import annotations

from flask import jsonify
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from ..errors import Refused

#: Short messages for the HTTP errors Werkzeug raises with its (HTML-minded) default descriptions.
_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("A valid bearer token is required."),
    403: _l("You may not do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("The request conflicts with the current state."),
    413: _l("The request body is too large."),
    415: _l("Send a JSON body with Content-Type: application/json."),
    429: _l("Too many requests."),
    500: _l("Something went wrong on our side."),
}
#: Headers of an HTTP error that a JSON answer keeps (Allow for 405, Retry-After for 429, ...).
_KEEP_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


class ApiError(Refused):
    """A refusal of the API edge itself (the body is not JSON, a query parameter is out of range):
    the one error type (:class:`crm.errors.Refused`) with the HTTP headers it may need."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message, fields, code=code, status=status)
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict | None = None):
    body = {"error": {"code": code, "message": str(message), "fields": {k: str(v) for k, v in (fields or {}).items()}}}
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def http_error_response(err: HTTPException):
    """The JSON answer for a Werkzeug HTTP error (unknown URL, wrong method, body too large...)."""
    status = err.code or 500
    message = err.description
    if message == type(err).description:
        message = _MESSAGES.get(status, message)
    code = err.name.lower().replace(" ", "_").replace("'", "")
    headers = {k: v for k, v in err.get_headers() if k in _KEEP_HEADERS}
    return error_response(status, code, message, headers=headers)
