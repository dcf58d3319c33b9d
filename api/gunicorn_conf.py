"""gunicorn settings for the API: `gunicorn -c python:api.gunicorn_conf 'api:create_app()'`.

- threads: each worker serves several requests at once (gunicorn's gthread worker), so a
  dashboard's open live feed (/api/v1/stream, up to 25 s per connection) holds a thread,
  not a whole worker.
- limit_request_line = 0: gunicorn would answer a request line over 4 KiB itself, with an
  HTML page; the API answers every request itself, in its one JSON error shape. Cap the
  request size at the proxy in front (nginx's large_client_header_buffers).
Command-line options (--workers, --bind…) override these.
"""

workers = 2
threads = 4
timeout = 30
graceful_timeout = 30
limit_request_line = 0
