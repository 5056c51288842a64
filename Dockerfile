# Sanctuary Watch: `watcher run` in a container. See docs/deploy.md.
#   docker build -t sanctuary-watch .
#   docker run -p 8080:8080 -v sw-state:/app/state -v ./sources.yaml:/app/sources.yaml:ro sanctuary-watch
# Without a mounted sources.yaml the embedded default (the real sources) is used.
# Try it with no network: docker run -p 8080:8080 sanctuary-watch watcher demo
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    WATCHER_STATE=/app/state \
    WATCHER_LISTEN=0.0.0.0:8080

WORKDIR /app
COPY pyproject.toml README.md ./
COPY watcher ./watcher
RUN pip install . \
 && useradd --system --uid 10001 --no-create-home --home-dir /app watcher \
 && mkdir -p /app/state \
 && chown watcher:watcher /app/state

USER watcher
VOLUME ["/app/state"]
EXPOSE 8080
# slim images have no curl: the check is Python's urllib, on the port of WATCHER_LISTEN, ignoring any proxy
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; port = os.environ.get('WATCHER_LISTEN', '0.0.0.0:8080').rpartition(':')[2]; u.build_opener(u.ProxyHandler({})).open(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["watcher", "run"]
