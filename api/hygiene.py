"""What every request and response goes through, whatever the route: header sizes, control
characters in parameters, security headers. One place, registered by `create_app`.

- Headers: a header line over MAX_HEADER_FIELD_BYTES, or all of them together over
  MAX_HEADER_BYTES, is a JSON 431 naming the header. gunicorn is configured to let headers
  up to its own hard bounds through (api/gunicorn_conf.py) so that this answer, in the one
  error shape, is the one clients see.
- Parameters: a control character (U+0000-U+001F, U+007F-U+009F) in a query parameter (its
  name or value) or a path parameter is a JSON 422 naming the parameter, before any route
  runs (so before an export starts streaming): no identifier, name or filter holds one, and
  PostgreSQL cannot even compare text holding NUL.
- Security headers on every response: nosniff, no framing, and a Content-Security-Policy
  allowing only this origin (the dashboard and the docs page load nothing from elsewhere
  and run no inline script).
"""

from __future__ import annotations

import re

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge, UnprocessableEntity

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}


class HeadersTooLarge(RequestHeaderFieldsTooLarge):
    """431, with the header named in `errors` (api.errors reads `data` as webargs fills it)."""

    def __init__(self, description: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(description)
        self.data = {"messages": {"headers": fields}} if fields else {}


class ParameterRefused(UnprocessableEntity):
    """422 naming the parameter, in the shape webargs reports a field's messages."""

    def __init__(self, location: str, field: str, message: str) -> None:
        super().__init__()
        self.data = {"messages": {location: {field: [message]}}}


def refuse_large_headers() -> None:
    """431 (JSON) when one header line or all of them exceed the configured bounds."""
    per_field = int(current_app.config["MAX_HEADER_FIELD_BYTES"])
    total_bound = int(current_app.config["MAX_HEADER_BYTES"])
    total = 0
    for name, value in request.headers.items():
        size = len(name) + 2 + len(value)  # "Name: value", as sent
        total += size + 2
        if size > per_field:
            raise HeadersTooLarge(
                f"the header {name} is {size} bytes; at most {per_field} bytes per header",
                {name: [f"{size} bytes, over {per_field}"]})
    if total > total_bound:
        raise HeadersTooLarge(
            f"the request's headers are {total} bytes; at most {total_bound} bytes in all")


def _unprocessable(location: str, field: str, message: str) -> UnprocessableEntity:
    return ParameterRefused(location, field, message)


def refuse_control_characters() -> None:
    """422 naming the parameter when a query or path parameter holds a control character."""
    for name, value in request.args.items(multi=True):
        if CONTROL.search(name):
            raise _unprocessable("query", "query", f"a parameter name holds a control "
                                                   f"character: {name!r}")
        found = CONTROL.search(value)
        if found:
            raise _unprocessable("query", name, "must not contain control characters "
                                                f"(found U+{ord(found.group()):04X})")
    for name, value in (request.view_args or {}).items():
        found = CONTROL.search(value) if isinstance(value, str) else None
        if found:
            raise _unprocessable("path", name, "must not contain control characters "
                                               f"(found U+{ord(found.group()):04X})")


def security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def register_hygiene(app: Flask) -> None:
    app.before_request(refuse_large_headers)
    app.before_request(refuse_control_characters)
    app.after_request(security_headers)
