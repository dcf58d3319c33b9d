"""Document encoding shared by the view stores: canonical (sorted keys) and fast."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(doc: Any) -> str:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


def loads(body: str | bytes) -> Any:
    return orjson.loads(body)
