"""Typed input of the sign-in that the API offers: a token for email and password."""
from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ..schematypes import Input, line


class TokenRequest(Input):
    """``POST /api/v1/tokens``: the email and password of the login page (the same limits)."""

    email: line(254)
    password: Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=500)]
