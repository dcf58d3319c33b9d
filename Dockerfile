# One image, several commands: the API (default) and the projection follower.
#   docker build -t conflict-tracker .
#   docker run -p 8000:8000 -e TRACKER_DATABASE_URL=... -e TRACKER_REDIS_URL=... conflict-tracker
#   docker run -e ... conflict-tracker tracker project --follow
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --create-home --uid 10001 tracker
WORKDIR /app

COPY pyproject.toml README.md ./
COPY tracker ./tracker
COPY projections ./projections
COPY api ./api
COPY seeds ./seeds
RUN pip install . && mkdir -p /app/var && chown tracker:tracker /app/var

USER tracker
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/v1/healthz', timeout=2).status != 200)"
CMD ["gunicorn", "-c", "python:api.gunicorn_conf", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "api:create_app()"]
