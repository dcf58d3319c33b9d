"""The docs page, /api/v1/docs: Swagger UI (from the swagger-ui-bundle package, Apache-2.0)
and its assets, served by the app itself so that the page works without internet.

The page is ours rather than flask-smorest's, whose template starts Swagger UI with an
inline script: here the start-up script is a file of this origin too, so the page runs
under the app's Content-Security-Policy (script-src 'self', api.hygiene), and it sets
`validatorUrl: null` (Swagger UI would otherwise send the document to validator.swagger.io
whenever the page is served on a non-local host name).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template_string, send_from_directory
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs_assets", __name__)
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
          "favicon-32x32.png", "favicon-16x16.png")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ title }}</title>
  <link rel="stylesheet" href="/api/v1/docs/assets/swagger-ui.css">
  <link rel="icon" href="/api/v1/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-spec-url="{{ spec_url }}"></div>
<script src="/api/v1/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/v1/docs/assets/docs.js"></script>
</body>
</html>
"""

# The start-up script: the document's URL from the page, no outside validator.
START = """window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({url: root.dataset.specUrl, dom_id: "#swagger-ui",
                               validatorUrl: null});
});
"""


@bp.get("/api/v1/docs")
def page() -> Any:
    """The docs page (Swagger UI over /api/v1/openapi.json)."""
    return render_template_string(PAGE, title=current_app.config["API_TITLE"],
                                  spec_url="/api/v1/" + current_app.config["OPENAPI_JSON_PATH"])


@bp.get("/api/v1/docs/assets/<name>")
def asset(name: str) -> Any:
    """One of Swagger UI's files (ETag and If-None-Match handled by Flask)."""
    if name == "docs.js":
        return Response(START, mimetype="text/javascript",
                        headers={"Cache-Control": "max-age=86400"})
    if name not in ASSETS:
        from werkzeug.exceptions import NotFound

        raise NotFound(f"no docs asset named {name!r}")
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)
