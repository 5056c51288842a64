"""What the container runs, run here (no Docker engine is needed): the Dockerfile's user, volume,
environment, command and health check, and the daemon they start, restarted with a changed watch list."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, wait_for, write_config
from tests.feedserver import Route, now_rfc822, rss


def _instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    logical, buf = [], ""
    for line in text.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        buf += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(buf.strip())
            buf = ""
    return [(s.split(None, 1)[0].upper(), s.split(None, 1)[1] if " " in s else "") for s in logical]


def _one(name: str) -> str:
    found = [arg for op, arg in _instructions() if op == name]
    assert len(found) == 1, f"expected one {name}, found {found}"
    return found[0]


def _env() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, arg in _instructions():
        if op == "ENV":
            env.update(dict(tok.split("=", 1) for tok in shlex.split(arg)))
    return env


def _healthcheck() -> list[str]:
    arg = _one("HEALTHCHECK")
    options, _, command = arg.partition(" CMD ")
    assert command.startswith("["), "HEALTHCHECK CMD must be exec form"
    return json.loads(command)


def test_the_image_runs_the_daemon_as_a_non_root_user_with_state_on_a_volume():
    base = _one("FROM")
    assert base.startswith("python:") and base.endswith("-slim")
    assert _one("USER") not in ("root", "0", "")
    env = _env()
    assert json.loads(_one("VOLUME")) == [env["WATCHER_STATE"]]
    assert json.loads(_one("CMD")) == ["watcher", "run"]
    port = env["WATCHER_LISTEN"].rpartition(":")[2]
    assert env["WATCHER_LISTEN"].startswith("0.0.0.0:") and _one("EXPOSE") == port
    check = _healthcheck()
    assert check[0] == "python" and "/healthz" in check[-1]
    assert "curl" not in " ".join(check)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _items(db: Path, source: str) -> int:
    try:
        conn = sqlite3.connect(db)
        try:
            return conn.execute("SELECT COUNT(*) FROM items WHERE source = ?", (source,)).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    t = time.monotonic()
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err[-2000:]
    assert time.monotonic() - t < 10
    return err


def test_the_health_check_passes_against_the_running_daemon_and_restarts_apply_the_watch_list(feed_server, tmp_path):
    """The container's command in the container's environment: /app is the working directory, with
    sources.yaml mounted in it, WATCHER_STATE the volume, WATCHER_LISTEN from the image."""
    feeds = {name: [{"title": f"{name} item {i}", "link": f"https://example.org/{name}/{i}", "guid": f"{name}{i}",
                     "pubDate": now_rfc822()} for i in range(3)] for name in ("a", "b")}
    for name, items in feeds.items():
        feed_server.routes[f"/{name}.xml"] = Route(rss(items))
    app = tmp_path / "app"
    app.mkdir()
    state = tmp_path / "volume"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env.update(_env())
    env.update({"WATCHER_STATE": str(state), "WATCHER_LISTEN": f"127.0.0.1:{port}"})
    exe = Path(sys.executable).parent / "watcher"
    cmd = json.loads(_one("CMD"))
    cmd = [str(exe), *cmd[1:]] if exe.exists() else [sys.executable, "-m", "watcher", *cmd[1:]]
    check = [sys.executable, *_healthcheck()[1:]]

    def healthy() -> bool:
        return subprocess.run(check, env=env, capture_output=True, timeout=10).returncode == 0

    def source(name: str) -> dict:
        return {"name": name, "kind": "feed", "url": feed_server.url(f"/{name}.xml"), "every": "1s"}

    db = state / "watcher.sqlite3"
    write_config(app / "sources.yaml", [source("a")])
    assert not healthy(), "nothing listens yet: the check must fail"
    proc = subprocess.Popen(cmd, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(healthy, 20, step=0.2), "the HEALTHCHECK command should pass against `watcher run`"
        assert wait_for(lambda: _items(db, "a") == 3, 20, step=0.2)
        _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    conn = sqlite3.connect(db)
    conn.execute("BEGIN IMMEDIATE")  # nothing left locked
    conn.rollback()
    conn.close()
    assert not healthy()

    # Restart with source a removed and b added: b is polled (a silent baseline), a no more.
    write_config(app / "sources.yaml", [source("b")])
    proc = subprocess.Popen(cmd, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: _items(db, "b") == 3, 20, step=0.2)
        hits_a = feed_server.hits.get("/a.xml", 0)
        assert wait_for(lambda: feed_server.hits.get("/b.xml", 0) >= 3, 10, step=0.2)
        assert feed_server.hits.get("/a.xml", 0) == hits_a
        assert healthy()
        _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM items WHERE source = 'b' AND silent = 0").fetchone()[0] == 0
    finally:
        conn.close()


def test_compose_example_runs_the_image_with_a_mail_catcher():
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    watcher, mail = doc["services"]["watcher"], doc["services"]["mailcatcher"]
    assert watcher.get("build") == "." or "image" in watcher
    assert any(str(v).endswith(":/app/state") for v in watcher["volumes"])
    assert any(":/app/sources.yaml" in str(v) for v in watcher["volumes"])
    assert any(str(p).endswith(":8080") for p in watcher["ports"])
    assert mail["image"].startswith("axllent/mailpit")


@pytest.mark.parametrize("listen", ["nonsense", "0.0.0.0"])
def test_watcher_listen_must_be_host_port(tmp_path, listen):
    from watcher.config import ConfigError, load_config

    cfg = write_config(tmp_path / "s.yaml", [])
    with pytest.raises(ConfigError, match="WATCHER_LISTEN"):
        load_config(cfg, {"WATCHER_LISTEN": listen})
    assert load_config(cfg, {"WATCHER_LISTEN": "0.0.0.0:9000"}).settings.listen == "0.0.0.0:9000"


def test_the_deploy_docs_example_loads():
    import re

    from watcher.config import parse_config

    blocks = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "deploy.md").read_text(), re.DOTALL)
    assert blocks
    for block in blocks:
        doc = yaml.safe_load(block)
        doc.setdefault("sources", [])
        env = {name: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" for name in re.findall(r"_env:\s*(\w+)", block)}
        config = parse_config(yaml.safe_dump(doc), "deploy.md", env)
        assert config.settings.smtp is not None and config.settings.smtp.security == "none"
