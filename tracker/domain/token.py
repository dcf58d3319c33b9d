"""The Token aggregate: an API bearer token, stored only as a hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from tracker.domain.base import entity_id

ROLES = ("reader", "reporter", "admin")


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Token(Aggregate):
    """A named bearer token with a role. The secret itself is never stored."""

    @event("TokenIssued")
    def __init__(self, key: str, role: str, secret_hash: str,
                 provenance: dict[str, Any]) -> None:
        self.key = key
        self.role = role
        self.secret_hash = secret_hash
        self.revoked: str | None = None

    @staticmethod
    def create_id(key: str) -> UUID:
        return entity_id("token", key)

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.secret_hash, token_hash(secret))

    def allows(self, role: str) -> bool:
        return self.revoked is None and ROLES.index(self.role) >= ROLES.index(role)

    def revoke(self, reason: str, provenance: dict[str, Any]) -> None:
        if self.revoked is None:
            self._revoked(reason=reason, provenance=provenance)

    @event("TokenRevoked")
    def _revoked(self, reason: str, provenance: dict[str, Any]) -> None:
        self.revoked = reason

    def reissue(self, role: str, secret_hash: str, provenance: dict[str, Any]) -> None:
        """A revoked token's name given to a new token (a new secret, a role); the old
        secret stays refused, and the revocation stays in the log."""
        if self.revoked is None:
            raise ValueError(f"token {self.key!r} is active; revoke it first")
        self._reissued(role=role, secret_hash=secret_hash, provenance=provenance)

    @event("TokenReissued")
    def _reissued(self, role: str, secret_hash: str, provenance: dict[str, Any]) -> None:
        self.role = role
        self.secret_hash = secret_hash
        self.revoked = None
