"""Aggregate ids are uuid5 of the entity's kind and key: every stored event names its
aggregate by one, so the way they are computed may change, the ids never."""

from uuid import NAMESPACE_URL, uuid5

import pytest

from tracker.domain.base import entity_id


@pytest.mark.parametrize("kind, key", [
    ("incident", "acled:MLI1234"), ("link", "incident:a:1|b:2"), ("actor", "jnim"),
    ("report", "r" * 300), ("actor", "forces-armées-maliennes"), ("incident", "日本:1"),
    ("link", ""),
])
def test_an_entity_id_is_the_uuid5_of_its_kind_and_key(kind, key):
    entity_id.cache_clear()
    made = entity_id(kind, key)
    assert made == uuid5(NAMESPACE_URL, f"/{kind}s/{key}")
    assert made.version == 5 and made.variant == "specified in RFC 4122"
    assert entity_id(kind, key) is made  # cached
