"""Checkpoints, proofs and citations: what lets anyone check a figure without the database
(see docs/citing.md; the verifier is tracker/citation_verify.py)."""

from __future__ import annotations

import time
from typing import Any

from flask import abort, current_app
from flask.views import MethodView
from marshmallow import fields, validate

from api.auth import check_read
from api.citations import CITABLE_DIMENSIONS, CITABLE_VIEWS, cite
from api.routes import TrackerBlueprint
from api.routes.common import not_modified, wait_for
from api.schemas import FilterArgsSchema, NoArgsSchema, StrictSchema
from api.wiring import get_services
from tracker.transparency import MAX_SIZE, Signer, Transparency, load_signer

blp = TrackerBlueprint("transparency", __name__, url_prefix="/api/v1",
                       description="Signed checkpoints of the log, RFC 9162 proofs, and "
                                   "citations that verify offline with the public key.")


class CheckpointSchema(StrictSchema):
    id = fields.Integer(required=True)
    origin = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "tree size (events)"})
    root = fields.String(required=True, metadata={"description": "Merkle root, hex"})
    time = fields.String(required=True)
    text = fields.String(required=True, metadata={
        "description": "the signed note (C2SP tlog-checkpoint): keep it to check later"})


class CheckpointsSchema(StrictSchema):
    checkpoints = fields.List(fields.Nested(CheckpointSchema), required=True)
    next = fields.Integer(allow_none=True, metadata={"description": "pass as before"})


class CheckpointsArgsSchema(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    before = fields.Integer(validate=validate.Range(min=1, max=MAX_SIZE))


class InclusionArgsSchema(StrictSchema):
    position = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_SIZE))
    size = fields.Integer(validate=validate.Range(min=1, max=MAX_SIZE), metadata={
        "description": "tree size (a checkpoint's); default the current"})


class InclusionSchema(StrictSchema):
    position = fields.Integer(required=True)
    index = fields.Integer(required=True, metadata={"description": "leaf index"})
    size = fields.Integer(required=True)
    leaf = fields.String(required=True)
    root = fields.String(required=True)
    proof = fields.List(fields.String(), required=True)


class ConsistencyArgsSchema(StrictSchema):
    from_ = fields.Integer(required=True, data_key="from",
                           validate=validate.Range(min=0, max=MAX_SIZE))
    to = fields.Integer(validate=validate.Range(min=0, max=MAX_SIZE))


class ConsistencySchema(StrictSchema):
    from_ = fields.Integer(required=True, data_key="from", attribute="from")
    to = fields.Integer(required=True)
    from_root = fields.String(required=True)
    to_root = fields.String(required=True)
    proof = fields.List(fields.String(), required=True)


class CiteArgsSchema(FilterArgsSchema):
    view = fields.String(required=True, validate=validate.OneOf(CITABLE_VIEWS))
    by = fields.String(validate=validate.OneOf(CITABLE_DIMENSIONS))
    id = fields.String(metadata={"description": "the incident (view=incident)"})
    key = fields.String(metadata={"description": "cite this row only (view=casualties)"})
    since = fields.Integer(validate=validate.Range(min=0, max=MAX_SIZE), metadata={
        "description": "size of a checkpoint you kept: adds a consistency proof from it"})


class CitationSchema(StrictSchema):
    query = fields.Dict(required=True)
    position = fields.Integer(required=True)
    answer = fields.Dict(required=True)
    checkpoint = fields.Dict(required=True)
    figures = fields.List(fields.Dict(), required=True)
    evidence = fields.List(fields.Dict(), required=True)
    consistency = fields.Dict()


def _transparency() -> Transparency:
    return Transparency(get_services().tracker.recorder)


def _signer() -> Signer | None:
    path = current_app.config.get("SIGNING_KEY")
    return load_signer(path) if path else None


@blp.route("/checkpoint")
class LatestCheckpoint(MethodView):
    @blp.arguments(NoArgsSchema, location="query")
    @blp.response(200, CheckpointSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """The latest signed checkpoint (404 when none was signed yet)"""
        check_read()
        found = _transparency().latest()
        if found is None:
            abort(404, "no checkpoint has been signed yet (the operator runs "
                       "`tracker checkpoint`)")
        return _cached(found, found["id"])

    get = blp.errors(401, 403, 404, 422, 503)(get)


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @blp.arguments(CheckpointsArgsSchema, location="query")
    @blp.response(200, CheckpointsSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Every signed checkpoint, newest first (paged: next -> before)"""
        check_read()
        found = _transparency().list(limit=args["limit"], before=args.get("before"))
        nxt = found[-1]["id"] if len(found) == args["limit"] else None
        return {"checkpoints": found, "next": nxt}

    get = blp.errors(401, 403, 422, 503)(get)


@blp.route("/proof/inclusion")
class InclusionProof(MethodView):
    @blp.arguments(InclusionArgsSchema, location="query")
    @blp.response(200, InclusionSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """RFC 9162 inclusion proof of the event at a log position in the tree of a size"""
        check_read()
        proof = _transparency().inclusion(args["position"], args.get("size"))
        return _cached(proof, proof["size"])

    get = blp.errors(401, 403, 422, 503)(get)


@blp.route("/proof/consistency")
class ConsistencyProof(MethodView):
    @blp.arguments(ConsistencyArgsSchema, location="query")
    @blp.response(200, ConsistencySchema)
    def get(self, args: dict[str, Any]) -> Any:
        """RFC 9162 consistency proof: the tree of size `from` is a prefix of size `to`"""
        check_read()
        proof = _transparency().consistency(args["from_"], args.get("to"))
        return _cached(proof, proof["to"])

    get = blp.errors(401, 403, 422, 503)(get)


@blp.route("/cite")
class Cite(MethodView):
    @blp.arguments(CiteArgsSchema, location="query")
    @blp.response(200, CitationSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """A view's answer with the signed checkpoint and the inclusion proofs of every
        event behind its figures: checkable offline (`tracker verify-citation`). E.g.
        `?view=casualties&by=country&key=Mali`. 409 when no checkpoint covers it yet."""
        check_read()
        if args.get("min_position"):
            wait_for(args["min_position"])
        since = args.pop("since", None)
        return cite(get_services(), args, since=since, signer=_signer())

    get = blp.errors(401, 403, 404, 409, 422, 503)(get)


def _cached(data: dict[str, Any], *parts: Any) -> Any:
    """Proofs of a given size never change: an ETag over the request and the size."""
    import hashlib

    from flask import request

    tag = '"' + hashlib.sha256(f"{request.full_path}|{parts}".encode()).hexdigest()[:32] + '"'
    return not_modified(tag) or (data, 200, {"ETag": tag})


# -- the headers every view answer carries -----------------------------------------------

LATEST_TTL = 5.0


def latest_checkpoint_header() -> str | None:
    """`<size> <root hex>` of the latest checkpoint (read at most every few seconds per
    process; None when there is none or the event store cannot say)."""
    cache = current_app.extensions.setdefault("tracker_latest_checkpoint",
                                              {"at": -LATEST_TTL, "value": None})
    now = time.monotonic()
    if now - cache["at"] > LATEST_TTL:
        try:
            found = _transparency().latest()
        except Exception:  # noqa: BLE001 - a header must never fail a view
            found = None
        cache.update(at=now, value=f"{found['size']} {found['root']}" if found else None)
    value: str | None = cache["value"]
    return value
