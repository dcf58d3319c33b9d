"""Transcodings for value types the library's JSON transcoder does not know."""

from __future__ import annotations

from datetime import date

from eventsourcing.persistence import Transcoding


class DateAsISO(Transcoding):
    """Stores a plain `date` as 'YYYY-MM-DD' (eventsourcing 9.5 refuses it otherwise)."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)
