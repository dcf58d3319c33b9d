"""Defaults of the API; `create_app` then applies TRACKER_* environment variables
(`from_prefixed_env`) and finally the test configuration."""

from __future__ import annotations

API_TITLE = "Conflict tracker API"
API_VERSION = "v1"
OPENAPI_VERSION = "3.0.3"
OPENAPI_URL_PREFIX = "/api/v1"
OPENAPI_JSON_PATH = "openapi.json"
# The docs page (/api/v1/docs, Swagger UI) is served by api/routes/docs.py with the files
# the swagger-ui-bundle package ships: it works without internet, under the app's CSP.
API_SPEC_OPTIONS = {
    "info": {"description": "Every reported fact is an immutable event with its source. "
                            "Views are folded from the event log; every view endpoint takes "
                            "`as_of` (knowledge time) to show it as it stood then."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
}
# Settings shared with the CLI (TRACKER_DATABASE_URL etc.); None means "Settings' default".
DATABASE_URL = None
REDIS_URL = None
REDIS_PREFIX = "tracker"
VIEWS_URL = None
VIEWS_PATH = None
INLINE_PROJECTION = None
READ_REQUIRES_TOKEN = False
# A report body above this size is refused with 413.
MAX_CONTENT_LENGTH = 8 * 1024 * 1024
# Every request's waits on PostgreSQL end within this many seconds (then 503 with
# Retry-After). A connection being opened when it passes still takes up to its connect
# timeout (2 s, libpq's least), so a request answers within ~8.5 s, under the 10 s
# promised, gunicorn's timeout and a client's patience. 0 turns it off.
REQUEST_TIMEOUT = 6.0
# /verify reads the whole log: its own, longer deadline (0: none).
VERIFY_TIMEOUT = 300.0
# Request headers: one line over MAX_HEADER_FIELD_BYTES, or all together over
# MAX_HEADER_BYTES, are refused with a JSON 431 (api.hygiene); gunicorn's own bounds
# (api/gunicorn_conf.py) are set above these so that the app is the one answering.
MAX_HEADER_FIELD_BYTES = 8190
MAX_HEADER_BYTES = 32 * 1024
# How long a read with min_position waits for the views before answering 503.
MIN_POSITION_TIMEOUT = 5.0
JSON_SORT_KEYS = False
# /healthz says "degraded" when the views are behind by more than HEALTH_MAX_LAG log
# positions for more than HEALTH_GRACE seconds.
HEALTH_MAX_LAG = 1000
HEALTH_GRACE = 10.0
