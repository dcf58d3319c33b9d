"""`tracker rebuild` checks a big log's hash chain in a process of its own while it folds
(api.cli.admin._ChainCheck): when that process meets a paused PostgreSQL, the wait for it
ends within the store's own bounds with the command's outage (exit 3), never a hang and
never a switch of readers."""

from __future__ import annotations

import time
from typing import Any

import pytest

from api.cli import admin
from tracker.application import ConflictTracker
from tracker.config import Settings
from tracker.exceptions import StoreUnavailableError

pytestmark = pytest.mark.fault


class _Parent:
    """What the rebuild's own process gives the check: its settings, and its tracker for
    the log's size and the quarantine (asked before the pause)."""

    def __init__(self, settings: Settings, head: int) -> None:
        self.settings = settings
        self.tracker = self
        self.head = head

    def max_position(self) -> int:
        return self.head

    def quarantined(self) -> tuple[int, ...]:
        return ()


def test_the_chain_check_beside_a_rebuild_ends_in_an_outage_on_a_paused_server(
        own_postgres: Any, monkeypatch: Any) -> None:
    settings = Settings(database_url=f"{own_postgres.url}?schema=chain_fault")
    tracker = ConflictTracker.from_settings(settings)
    tracker.record_report({"report": "r1", "source": {"name": "Wire", "kind": "media"},
                           "facts": [{"fact": "incident", "id": "x", "date": "2021-01-01",
                                      "type": "battle",
                                      "location": {"name": "X", "country": "Mali"}}]})
    head = tracker.max_position()
    tracker.close()
    # Reachable, beside: the check holds.
    monkeypatch.setattr(admin, "CHAIN_BESIDE", 0)
    with admin._ChainCheck(_Parent(settings, head)) as check:
        assert check.beside is not None and check.result().ok
    own_postgres.pause()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError), \
                admin._ChainCheck(_Parent(settings, head)) as check:
            check.result()
        assert time.monotonic() - started < 60
    finally:
        own_postgres.resume()
