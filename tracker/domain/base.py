"""Helpers shared by the aggregates: deterministic ids and dotted field paths."""

from __future__ import annotations

import copy
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

ENTITY_KINDS = ("actor", "incident", "operation", "report")


def entity_id(kind: str, key: str) -> UUID:
    """The aggregate id of the entity a report calls `key`: the same key, the same id."""
    return uuid5(NAMESPACE_URL, f"/{kind}s/{key}")


def get_path(state: dict[str, Any], path: str) -> Any:
    """Reads a dotted path ('location.admin1') from nested dicts; None when absent."""
    node: Any = state
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return copy.deepcopy(node)


def set_path(state: dict[str, Any], path: str, value: Any) -> None:
    """Writes a dotted path into nested dicts, creating the dicts it needs."""
    parts = path.split(".")
    node = state
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = copy.deepcopy(value)
