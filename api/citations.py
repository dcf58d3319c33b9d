"""Citations: a view's answer with the signed checkpoint and the proofs that let anyone
check it offline (tracker.citation_verify). Shared by `GET /api/v1/cite` and `tracker cite`.

A citation names its query, the log position the answer was read at, the answer (exactly
the JSON the view returns), the latest signed checkpoint covering that position, and, for
each figure it cites, the incidents it adds up; then the evidence: every event of those
incidents up to the position, grouped by report, each with its entry (what the log hashes)
and its inclusion proof under the checkpoint. With `since` (the size of a checkpoint the
reader kept), a consistency proof from it.

Citable: `casualties` grouped by any dimension (each row's killed, and the total), with any
filters; `incident` (its killed). `key` cites one row only.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from projections.casualty_tallies import incident_rows
from projections.readmodel.queries import IncidentFilter, QueryError
from tracker.domain.base import entity_id
from tracker.domain.link import pair_key
from tracker.exceptions import EventUnreadableError
from tracker.transparency import NoCheckpointError, Signer, Transparency

CITABLE_VIEWS = ("casualties", "incident")
CITABLE_DIMENSIONS = ("country", "admin1", "admin2", "actor", "month", "type", "operation")
# A citation carries every event behind its figures: past this many incidents, narrow the
# query (filters, or `key` for one row).
MAX_INCIDENTS = 5000


def _dump(schema: str, data: Any) -> Any:
    from api import schemas

    return getattr(schemas, schema)().dump(data)


def cite(services: Any, args: dict[str, Any], since: int | None = None,
         signer: Signer | None = None) -> dict[str, Any]:
    """The citation of one view query (`args`: view, by, id, key, filters, as_of)."""
    from api.services import parse_as_of

    view = args.get("view")
    if view not in CITABLE_VIEWS:
        raise QueryError(f"view must be one of: {', '.join(CITABLE_VIEWS)}", "view")
    if services.settings.inline_projection:
        services.runner.catch_up()
    with services.views(parse_as_of(args.get("as_of"))) as views:
        position = views.at if views.as_of is not None else views.position
        if view == "casualties":
            answer, figures, clusters = _casualties(views, args)
        else:
            answer, figures, clusters = _incident(views, args)
    query = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
             for k, v in args.items() if v is not None and k != "min_position"}
    query = {("from" if k == "from_" else k): v for k, v in query.items()}
    return bundle(services.tracker.recorder, query, position, answer, figures, since, signer,
                  clusters)


def _casualties(views: Any, args: dict[str, Any]
                ) -> tuple[Any, list[dict[str, Any]], dict[str, list[str]]]:
    by = args.get("by")
    if by not in CITABLE_DIMENSIONS:
        raise QueryError("a citation of casualties needs by = one of: "
                         + ", ".join(CITABLE_DIMENSIONS), "by")
    filters = IncidentFilter.from_args(args)
    if filters.figures_from:
        # A citation proves the figures the evidence rules give; one source's own are
        # not what its verifier recomputes.
        raise QueryError("figures_from cannot be cited: cite the incidents (source=) or "
                         "each incident", "figures_from")
    answer = _dump("CasualtiesSchema", views.casualties(by, filters))
    wanted = args.get("key")
    keys = {r["key"]: i for i, r in enumerate(answer["rows"])}
    if wanted is not None and wanted not in keys:
        raise QueryError(f"no row {wanted!r} in the answer", "key")
    members: dict[str, list[str]] = {k: [] for k in keys}
    everything: list[str] = []
    clusters: dict[str, list[str]] = {}
    for doc in views.iter_incidents(filters, summary=False):
        if len(doc.get("members") or ()) > 1:
            clusters[doc["id"]] = list(doc["members"])
        # The rows the incident counts in (by=actor: each actor involved).
        rows = [k for (dim, k) in incident_rows(doc).tallies if dim == by]
        cited = [k for k in rows if wanted is None or k == wanted]
        for row in cited:
            members.setdefault(row, []).append(doc["id"])
        if cited:
            everything.append(doc["id"])
            if len(everything) > MAX_INCIDENTS:
                raise QueryError(f"the answer rests on more than {MAX_INCIDENTS} incidents: "
                                 "cite one row (key=…) or narrow it with filters", "key")
    figures = []
    for key, i in keys.items():
        if wanted is not None and key != wanted:
            continue
        figures.append({"path": ["rows", i, "killed"], "count_path": ["rows", i, "incidents"],
                        "by": by, "key": key, "incidents": members.get(key, [])})
    if wanted is None:
        figures.append({"path": ["total"], "incidents": everything})
    counted = set(everything)
    return answer, figures, {k: v for k, v in clusters.items() if k in counted}


def _incident(views: Any, args: dict[str, Any]
              ) -> tuple[Any, list[dict[str, Any]], dict[str, list[str]]]:
    if not args.get("id"):
        raise QueryError("a citation of an incident needs id", "id")
    raw = views.incident(args["id"])
    answer = _dump("IncidentDetailSchema", raw)
    members = list(raw.get("members") or [answer["id"]])
    clusters = {answer["id"]: members} if len(members) > 1 else {}
    return answer, [{"path": ["killed"], "incidents": [answer["id"]]}], clusters


def _report_of(entry: dict[str, Any]) -> str:
    """The report a stored event came from; a damaged event (its state not a JSON object)
    is named by its log position, as /events and /history name it."""
    try:
        data = orjson.loads(entry["state"])
    except orjson.JSONDecodeError as e:
        raise EventUnreadableError(entry["position"], entry["topic"], str(e)) from e
    if not isinstance(data, dict):
        raise EventUnreadableError(entry["position"], entry["topic"],
                                   "its state is not a JSON object")
    provenance = data.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise EventUnreadableError(entry["position"], entry["topic"],
                                   "its provenance is not a JSON object")
    return str(provenance.get("report"))


def bundle(recorder: Any, query: dict[str, Any], position: int, answer: Any,
           figures: list[dict[str, Any]], since: int | None = None,
           signer: Signer | None = None, clusters: dict[str, list[str]] | None = None
           ) -> dict[str, Any]:
    """The citation: checkpoint, evidence with proofs, consistency from `since`. A cited
    incident that is a cluster (records linked by same_incident) brings every member's
    events and the events of the links between its members."""
    tp = Transparency(recorder)
    tp.head()  # the tree caught up with the log
    clusters = clusters or {}
    ids = sorted({m for f in figures for i in f["incidents"] for m in clusters.get(i, [i])})
    aggregates = [entity_id("incident", i) for i in ids]
    for members in clusters.values():
        aggregates += [entity_id("link", pair_key("incident", a, b))
                       for n, a in enumerate(members) for b in members[n + 1:]]
    positions: list[int] = []
    for aggregate in aggregates:
        positions += [p for p in recorder.positions_of(aggregate).values() if p <= position]
    needed = max(tp.leaf_indexes([position]).values(), default=-1) + 1 if position else 0
    checkpoint = tp.latest(min_size=needed)
    if checkpoint is None and signer is not None:
        checkpoint = tp.checkpoint(signer)
    if checkpoint is None:
        raise NoCheckpointError(
            f"no signed checkpoint covers log position {position} yet: the operator signs "
            "one with `tracker checkpoint` (or cite with --key to sign one now)")
    size = checkpoint["size"]
    indexes = tp.leaf_indexes(positions)
    proofs = tp.inclusion_proofs(list(indexes.values()), size)
    by_report: dict[str, dict[str, Any]] = {}
    for entry in recorder.log_entries(positions):
        report = _report_of(entry)
        item = by_report.setdefault(report, {"report": report, "positions": [],
                                             "inclusion": []})
        p = entry["position"]
        item["positions"].append(p)
        item["inclusion"].append({
            "position": p, "index": indexes[p],
            "proof": [h.hex() for h in proofs[indexes[p]]],
            "entry": {"previous": entry["previous"], "aggregate": entry["aggregate"],
                      "version": entry["version"], "topic": entry["topic"],
                      "state": base64.b64encode(entry["state"]).decode()}})
    out: dict[str, Any] = {
        "query": query, "position": position, "answer": answer,
        "checkpoint": {"text": checkpoint["text"], "size": size, "root": checkpoint["root"],
                       "time": checkpoint["time"], "origin": checkpoint["origin"]},
        "figures": figures,
        "clusters": clusters,
        "evidence": sorted(by_report.values(), key=lambda e: e["positions"][0]),
    }
    if since is not None:
        if since > size:
            raise QueryError(f"since {since} is beyond the cited checkpoint's size {size}",
                             "since")
        proof = tp.consistency(since, size)
        out["consistency"] = {"from": since, "to": size, "proof": proof["proof"]}
    return out
