# Sanctuary Watch: `watcher run` in a container.
#   docker build -t sanctuary-watch .
#   docker run -v sw-state:/app/state -v ./sources.yaml:/app/sources.yaml:ro sanctuary-watch
# Without a mounted sources.yaml the embedded default (the real sources) is used.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WATCHER_STATE=/app/state

WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install . \
 && useradd --system --uid 10001 --no-create-home --home-dir /app watcher \
 && mkdir -p /app/state \
 && chown watcher:watcher /app/state

USER watcher
VOLUME ["/app/state"]
CMD ["watcher", "run"]
