"""GET /: the dashboard, a single page served by the API itself.

Server-rendered HTML plus one small script of our own (no framework, no build step, no
third-party code, nothing loaded from another host): it reads only the public JSON API, the
same endpoints dashboards use, so it is also the reference client. A knowledge-time slider
(and `?as_of=` in the URL, so a view can be shared) re-renders everything as it was known
then; `/api/v1/stream` keeps the live view current.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard/static")


@bp.get("/")
def index() -> Any:
    return render_template("dashboard.html", as_of=request.args.get("as_of", ""),
                           country=request.args.get("country", ""),
                           group=request.args.get("group", "jnim"))
