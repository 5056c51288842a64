from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "watcher" / "recordings"  # shipped in the package: the demo replays them
SHARED = Path(os.environ.get("WATCHER_SHARED", ROOT.parent / "shared"))
SAMPLES = SHARED / "samples"
CORPUS = SHARED / "corpus"


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server


def wait_for(pred: Callable[[], object], timeout: float, step: float = 0.05) -> object:
    """Poll `pred` every `step` seconds until it gives a true value (returned) or `timeout` passes (None)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = pred()
        if got:
            return got
        time.sleep(step)
    return None


def write_config(path: Path, sources: list[dict], settings: dict | None = None, **sections: object) -> Path:
    """A sources.yaml for tests. Fast timeouts and no politeness delays against localhost."""
    base = {"listen": "127.0.0.1:0",  # any free port: daemons under test never fight over 8080
            "fetch": {"timeout": "3s", "connect_timeout": "2s", "read_timeout": "2s", "host_spacing": "0s",
                      "per_host": 16, "backoff_base": "1s"}}
    base.update(settings or {})
    doc = {"settings": base, "sources": sources, **sections}
    path.write_text(json.dumps(doc, indent=2))  # JSON is YAML
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=timeout,
    )


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def integrity_ok(db_path: Path) -> bool:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
