"""Bearer tokens with roles reader < reporter < admin."""

from __future__ import annotations

from flask import current_app, g, request

from api.wiring import get_services
from tracker.exceptions import AuthError, ForbiddenError


def principal(role: str) -> str:
    """The name of the token on this request, if its role allows `role`.

    :raise AuthError: no token, or an unknown or revoked one (401).
    :raise ForbiddenError: the token's role is below `role` (403).
    """
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError("this request needs a bearer token (Authorization: Bearer TOKEN)")
    token = get_services().tracker.authenticate(secret.strip())
    if token is None:
        raise AuthError("the bearer token is unknown or revoked")
    if not token.allows(role):
        raise ForbiddenError(f"token '{token.key}' has role '{token.role}'; "
                             f"this request needs '{role}'")
    g.principal = token.key
    return str(token.key)


def check_read() -> None:
    """Reads are open unless TRACKER_READ_REQUIRES_TOKEN is set."""
    if current_app.config.get("READ_REQUIRES_TOKEN"):
        principal("reader")
