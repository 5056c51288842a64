"""Logs: one structured line per event, and never a secret, even at debug level and on failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT, write_config
from tests.feedserver import Route, now_rfc822, rss

SECRETS = {
    "SMTP_USERNAME": "smtp-user-7f3a",
    "SMTP_PASSWORD": "smtp-pass-9c1e-do-not-log",
    "HOOK_SECRET": "whsec_c2VjcmV0LW5ldmVyLWxvZ2dlZC0xMjM0NTY3OA==",
    "API_TOKEN": "token-5b2d-do-not-log",
}


def test_no_secret_reaches_the_logs(feed_server, tmp_path):
    relevant = {"title": "Justice Department sues Denver over sanctuary city ordinances", "guid": "x1",
                "link": "https://example.org/x1", "pubDate": now_rfc822(),
                "description": "The suit says Denver's sanctuary laws obstruct immigration detainers."}
    feed_server.routes["/f.xml"] = Route(rss([]))
    feed_server.routes["/api"] = Route(status=401)
    feed_server.routes["/hook"] = Route(status=500)
    sources = [
        {"name": "f", "kind": "feed", "url": feed_server.url("/f.xml"), "every": "1s"},
        {"name": "api", "kind": "json", "preset": "courtlistener", "token_env": "API_TOKEN",
         "url": feed_server.url("/api"), "every": "1s"},
    ]
    cfg = write_config(
        tmp_path / "s.yaml", sources,
        settings={"smtp": {"host": "127.0.0.1", "port": 9, "security": "none", "username_env": "SMTP_USERNAME",
                           "password_env": "SMTP_PASSWORD"}},
        subscribers=[{"email": "reader@example.org", "schedule": "immediate"}],
        webhooks=[{"name": "desk", "url": feed_server.url("/hook"), "secret_env": "HOOK_SECRET", "allow_private": True}],
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")} | SECRETS
    cmd = [sys.executable, "-m", "watcher", "--config", str(cfg), "--state", str(tmp_path / "st"),
           "--log-format", "json", "--log-level", "debug", "run"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)  # the baseline
        feed_server.routes["/f.xml"] = Route(rss([relevant]))
        time.sleep(5)  # a relevant story: mail fails (no SMTP), the webhook fails (500), the API refuses (401)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err[-2000:]
    lines = [line for line in err.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(e.get("source") == "api" and e["level"] == "warning" for e in events)
    assert feed_server.hits.get("/hook", 0) >= 1, "the webhook was attempted (and failed)"
    for name, value in SECRETS.items():
        assert value not in out + err, f"{name} leaked into the output"
    token_requests = [h for p, h in feed_server.requests if p == "/api"]
    assert token_requests and token_requests[0]["authorization"] == f"Token {SECRETS['API_TOKEN']}"  # it was used
