"""The one place where the API relies on a private method of flask-smorest (0.47).

`TrackerApi._register_error_handlers`: flask-smorest registers its own error handlers in
`Api.init_app` (an HTML-free but differently shaped JSON); the tracker has one error shape
for every error (api.errors), so the library's registration is turned off here.
tests/test_adapters.py checks `init_app` still calls it, so an upgrade that renames it
fails there instead of silently answering errors in two shapes.
"""

from __future__ import annotations

from flask_smorest import Api

from api.schemas import ErrorSchema


class TrackerApi(Api):
    """flask-smorest's Api with our error shape: our handlers, our ErrorSchema."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """Ours are registered by api.errors (one shape for every error)."""
