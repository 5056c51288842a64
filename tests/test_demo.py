"""`watcher demo` as a user runs it: no network, stories found, digests written, webhooks verified, a clean exit.

The process runs with an audit hook (a `sitecustomize` on PYTHONPATH) that reports every
socket connect and name lookup that is not loopback, and with proxies pointing at a closed
port: the demo must need neither.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT
from watcher.demo import LETTER, RULING, TIMELINE, WILDLIFE, ReplayTransport

AUDIT = '''
import ipaddress, os, sys

def _local(host):
    if host in (None, "", "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except ValueError:
        return False

def _hook(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple) and not _local(args[1][0]):
        os.write(2, f"NETWORK-AUDIT connect {args[1]!r}\\n".encode())
    elif event == "socket.getaddrinfo" and not _local(args[0]):
        os.write(2, f"NETWORK-AUDIT lookup {args[0]!r}\\n".encode())

sys.addaudithook(_hook)
'''


def _texts(path: Path) -> str:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    parts = [str(msg["Subject"])]
    parts += [p.get_content() for p in msg.walk() if p.get_content_type() in ("text/plain", "text/html")]
    return "\n".join(parts)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def test_demo_runs_with_no_network(tmp_path):
    audit = tmp_path / "audit"
    audit.mkdir()
    (audit / "sitecustomize.py").write_text(AUDIT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env.update({"PYTHONPATH": f"{audit}{os.pathsep}{env.get('PYTHONPATH', '')}",
                "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
                "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": ""})
    state = tmp_path / "demo-state"
    cmd = [sys.executable, "-m", "watcher", "demo", "--duration", "40", "--state", str(state), "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        m = re.search(r"dashboard at (http://127\.0\.0\.1:\d+)/", first)
        assert m, first
        base = m.group(1)
        outbox = state / "outbox"
        end = time.monotonic() + 40
        while time.monotonic() < end and not list(outbox.glob("*.eml")):
            time.sleep(0.5)
        assert _get(base + "/healthz")[0] == 200
        status, body = _get(base + "/feed.json")  # the dashboard's feed, where it exists
        if status != 404:
            assert status == 200 and LETTER in json.dumps(json.loads(body))
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]

    assert "NETWORK-AUDIT" not in err, [line for line in err.splitlines() if "NETWORK-AUDIT" in line]
    assert "poll failed" not in err and "internal error" not in err
    assert len(re.findall(r'"webhook verified".*story="Attorney General Sends Letters', err)) >= 1, err[-3000:]
    assert f'"webhook verified" type=story.created story="{RULING}"' in err
    assert "webhook rejected" not in err and WILDLIFE not in "".join(
        line for line in err.splitlines() if "webhook verified" in line)

    digests = [_texts(p) for p in sorted(outbox.glob("*.eml"))]
    assert any(LETTER in d for d in digests), digests
    assert not any("black bears" in d for d in digests)
    assert "demo stopped:" in out and "0 rejected" in out
    assert "whsec_" not in out + err  # the generated secret is never shown


def test_demo_refuses_a_real_state(tmp_path):
    (tmp_path / "watcher.sqlite3").write_bytes(b"")
    r = subprocess.run([sys.executable, "-m", "watcher", "demo", "--duration", "1", "--state", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "did not make" in r.stderr


async def test_replay_serves_baseline_first_then_releases_with_etags():
    now = [0.0]
    transport = ReplayTransport(clock=lambda: now[0], wall_clock=lambda: 1_760_000_000.0)
    url = "https://demo.sanctuary-watch.invalid/doj-press"

    async def get(etag: str | None = None):
        import httpx

        headers = {"If-None-Match": etag} if etag else {}
        return await transport.handle_async_request(httpx.Request("GET", url, headers=headers))

    now[0] = 100.0  # even late, a source's first answer is its recording as captured
    first = await get()
    assert first.status_code == 200 and LETTER.encode() not in first.content
    second = await get(first.headers["ETag"])
    assert second.status_code == 200 and LETTER.encode() in second.content
    assert (await get(second.headers["ETag"])).status_code == 304
    import httpx

    assert (await transport.handle_async_request(httpx.Request("GET", "https://example.org/doj-press"))).status_code == 404
    assert [r.alerts for r in TIMELINE].count(False) == 1
