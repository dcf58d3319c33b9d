"""The docs page's assets (Swagger UI, from the swagger-ui-bundle package, Apache-2.0),
served by the app itself so that /api/v1/docs works without internet."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_assets", __name__)
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
          "favicon-32x32.png", "favicon-16x16.png")


@bp.get("/api/v1/docs/assets/<name>")
def asset(name: str) -> Any:
    """One of Swagger UI's files (ETag and If-None-Match handled by Flask)."""
    if name not in ASSETS:
        from werkzeug.exceptions import NotFound

        raise NotFound(f"no docs asset named {name!r}")
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
