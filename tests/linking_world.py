"""One raid near Djibo (Burkina Faso) as three sources record it, for the linking tests:
ACLED (its own actor records, named as ACLED names them), UCDP (another actor record) and a
ministry's report naming the desk's own actors `jnim` and `isgs`. Each pair of the three is
a candidate; nothing links the actors until a test records it."""

from __future__ import annotations

from typing import Any

from tracker.ingestion.rows import actor_key

JNIM_ACLED = "JNIM: Group for Support of Islam and Muslims"
ISGS_ACLED = "Islamic State (Greater Sahara)"
ACLED_JNIM, ACLED_ISGS = actor_key("acled", JNIM_ACLED), actor_key("acled", ISGS_ACLED)
UCDP_JNIM_NAME = "Jama'at Nusrat al-Islam wal-Muslimin"
UCDP_JNIM = actor_key("ucdp", UCDP_JNIM_NAME)
DESK = {"name": "Desk", "kind": "analyst"}


def _incident(key: str, day: str, north: float, actors: list[str], killed: int
              ) -> list[dict[str, Any]]:
    return [{"fact": "incident", "id": key, "date": day, "type": "battle",
             "location": {"name": "Djibo", "admin1": "Sahel", "country": "Burkina Faso",
                          "latitude": 14.10 + north, "longitude": -1.63},
             "actors": [{"actor": a, "side": "ab"[n % 2]} for n, a in enumerate(actors)]},
            {"fact": "casualties", "incident": key, "killed": killed}]


def djibo_reports() -> list[dict[str, Any]]:
    """The desk's actors, then ACLED's, UCDP's and the ministry's records of the raid."""
    return [
        {"report": "desk-actors", "source": DESK, "facts": [
            {"fact": "actor", "id": "jnim", "name": "Group for Support of Islam and Muslims",
             "kind": "armed_group", "aliases": ["JNIM"]},
            {"fact": "actor", "id": "isgs", "name": "Islamic State in the Greater Sahara",
             "kind": "armed_group"}]},
        {"report": "acled-bfa", "source": {"name": "ACLED", "kind": "dataset"}, "facts": [
            {"fact": "actor", "id": ACLED_JNIM, "name": JNIM_ACLED, "kind": "armed_group"},
            {"fact": "actor", "id": ACLED_ISGS, "name": ISGS_ACLED, "kind": "armed_group"},
            *_incident("acled:1", "2021-03-01", 0.0, [ACLED_JNIM, ACLED_ISGS], 12)]},
        {"report": "ucdp-bfa", "source": {"name": "UCDP GED", "kind": "dataset"}, "facts": [
            {"fact": "actor", "id": UCDP_JNIM, "name": UCDP_JNIM_NAME,
             "kind": "armed_group"},
            *_incident("ucdp:1", "2021-03-02", 0.02, [UCDP_JNIM], 10)]},
        {"report": "mod-bfa", "source": {"name": "Ministry", "kind": "official"}, "facts": [
            *_incident("mod:djibo", "2021-03-01", 0.01, ["jnim", "isgs"], 12)]},
    ]


def link_actor(how: str, actor: str, other: str, other_name: str) -> dict[str, Any]:
    """A desk report saying `other` is `actor`: by a same_actor fact, or by an alias of
    `actor` that is `other`'s name (which links them too)."""
    fact = ({"fact": "same_actor", "actor": actor, "same_as": other} if how == "same_actor"
            else {"fact": "alias", "actor": actor, "alias": other_name})
    return {"report": f"link-{actor}-{how}", "source": DESK, "facts": [fact]}
