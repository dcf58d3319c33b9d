"""gunicorn settings for the API: `gunicorn -c python:api.gunicorn_conf 'api:create_app()'`.

- threads: each worker serves several requests at once (gunicorn's gthread worker), so a
  dashboard's open live feed (/api/v1/stream, up to 25 s per connection) holds a thread,
  not a whole worker.
- The API answers every refusal itself, in its one JSON error shape, so gunicorn's own
  (HTML) refusals are moved past the app's bounds:
  - limit_request_line = 0: gunicorn would answer a request line over 4 KiB itself;
  - limit_request_field_size: gunicorn would answer a header line over 8 KiB with an HTML
    431; it now lets header lines up to 64 KiB (and, as by default, up to 100 header lines)
    through, and the app refuses over MAX_HEADER_FIELD_BYTES per line or MAX_HEADER_BYTES
    in all (api/config.py) with a JSON 431. Beyond gunicorn's bounds (a line over 64 KiB,
    more than 100 headers) gunicorn still answers itself: cap the request size at the
    proxy in front (nginx's large_client_header_buffers).
Command-line options (--workers, --bind…) override these.
"""

workers = 2
threads = 4
timeout = 30
graceful_timeout = 30
limit_request_line = 0
limit_request_field_size = 64 * 1024
limit_request_fields = 100
