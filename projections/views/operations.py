"""The operations view: each operation's status and its history, lead and partners, as
("operation", id) documents (the fold: projections.operation_status); its incidents and
their killed are read from the incidents and casualties views (`by operation`)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import bindparam, select

import projections.views.documents as documents
from projections.decode import RawEvent
from projections.operation_status import OPERATION_EVENTS, fold_operation, op_doc_id
from projections.views.base import Queries
from tracker.exceptions import EntityNotFoundError

FIGS = ("best", "low", "high")


def _fold(docs: documents.Docs, e: RawEvent) -> None:
    entry = docs.entry("operation", e.oid)
    docs.put("operation", e.oid, fold_operation(entry.doc, e))


documents.register(OPERATION_EVENTS, _fold, lambda e: [("operation", e.oid)])


class OperationQueries(Queries):
    def operations(self, operation: str | None = None, actor: str | None = None
                   ) -> dict[str, Any]:
        """Operations (status, lead, partners) with their incidents and killed; `actor`:
        only those it leads or is a partner of (an id, name or alias; actors linked by
        `same_actor` are one, shown and found under the id their cluster is counted
        under)."""
        if operation is not None:
            doc = self._doc("operation", op_doc_id(operation))
            if doc is None or doc.get("retracted"):
                raise EntityNotFoundError("operation", operation)
            return {**self._operation_row(doc, {}), "history": doc["history"],
                    "as_of": self._as_of()}
        wanted = self.actor_filter(actor) if actor else None
        d = self.tbl("docs")
        docs = [orjson.loads(body) for (body,) in self._query(
            "operations", lambda valid: select(d.c.doc).where(
                d.c.kind == "operation", valid(d)))]
        docs = [d for d in docs if not d.get("retracted")]
        merged: dict[str, str] = {}
        rows = []
        for d in sorted(docs, key=lambda d: d["id"]):
            lead, partners = self._merged_actors(d, merged)
            if wanted is None or wanted == lead or wanted in partners:
                rows.append(self._operation_row(d, merged))
        return {"as_of": self._as_of(), "operations": rows}

    def _merged_actors(self, doc: dict[str, Any], merged: dict[str, str]
                       ) -> tuple[str, list[str]]:
        """The operation's lead and partners as the actors they are counted under at this
        position (same_actor): a partner merged into the lead, or into another partner, is
        listed once. `merged` memoises the resolution over one read."""
        def resolve(key: str) -> str:
            if key not in merged:
                merged[key] = self.actor_cluster(key)[0]
            return merged[key]

        lead = resolve(doc["lead"])
        partners: list[str] = []
        for p in doc.get("partners") or ():
            r = resolve(p)
            if r != lead and r not in partners:
                partners.append(r)
        return lead, partners

    def _operation_row(self, doc: dict[str, Any], merged: dict[str, str]) -> dict[str, Any]:
        t, i = self.tbl("tallies"), self.tbl("incidents")
        tally = self._query("operation tally", lambda valid: select(
            t.c.best, t.c.low, t.c.high).where(
                t.c.dim == "operation", t.c.key == bindparam("id"),
                valid(t)), {"id": doc["id"]})
        ids = [r[0] for r in self._query("operation incidents", lambda valid: select(
            i.c.key).where(i.c.operation == bindparam("id"), i.c.live == 1,
                           valid(i)).order_by(i.c.key), {"id": doc["id"]})]
        killed = dict(zip(FIGS, tally[0], strict=True)) if tally else dict.fromkeys(FIGS, 0)
        lead, partners = self._merged_actors(doc, merged)
        return {"id": doc["id"], "name": doc["name"], "status": doc["status"],
                "lead": lead, "partners": partners, "started": doc.get("started"),
                "incidents": ids, "killed": killed}
