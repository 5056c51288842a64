"""`watcher classify`, `watcher eval` and `watcher reclassify` as a user runs them."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from tests.conftest import CORPUS, RECORDINGS, SAMPLES, run_cli, write_config
from tests.feedserver import Route

LINES = [
    {"id": "a", "title": "Justice Department sues Chicago and Cook County over sanctuary policies",
     "summary": "The complaint says the city's Welcoming City ordinance and the county's detainer rules obstruct "
                "federal immigration enforcement in violation of the Supremacy Clause.", "source": "doj"},
    {"id": "b", "title": "Refuge volunteers count migrating cranes at the wildlife sanctuary",
     "summary": "Birders gathered at dawn at the state wildlife sanctuary for the annual count.", "source": "news"},
    {"id": "c", "title": "<b>Federal judge blocks</b> grant conditions aimed at sanctuary cities",
     "body": "<p>A federal judge ruled that the Justice Department cannot withhold Byrne JAG funds from "
             "Philadelphia over its sanctuary city policies.</p><script>alert(1)</script>"},
]


def test_classify_json_lines_contract(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in LINES) + "\n")
    r = run_cli("classify", str(f))
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c"]
    assert set(out[0]) == {"id", "relevant", "kind", "score", "jurisdictions", "reasons"}
    assert out[0]["relevant"] and out[0]["kind"] == "lawsuit" and out[0]["score"] > 0.5
    names = {j["name"] for j in out[0]["jurisdictions"]}
    assert {"Chicago", "Cook County"} <= names
    cook = next(j for j in out[0]["jurisdictions"] if j["name"] == "Cook County")
    assert cook == {"name": "Cook County", "state": "IL", "kind": "county", "fips": "17031"}
    assert not out[1]["relevant"] and out[1]["kind"] is None and out[1]["jurisdictions"] == []
    assert out[2]["relevant"] and out[2]["kind"] == "ruling"
    assert all(isinstance(o["reasons"], list) for o in out) and out[0]["reasons"]


def test_classify_reads_stdin_and_reports_bad_lines(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    data = json.dumps(LINES[1]) + "\nnot json\n" + json.dumps({"id": 5}) + "\n"
    r = subprocess.run([sys.executable, "-m", "watcher", "classify"], input=data, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(out) == 3 and out[0]["id"] == "b" and "error" in out[1] and "error" in out[2]
    assert "<stdin>:2: not JSON" in r.stderr and "<stdin>:3: expected an object" in r.stderr
    assert "Traceback" not in r.stderr


def test_classify_with_stories(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in LINES) + "\n")
    r = run_cli("classify", "--stories", str(f))
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert out[0]["story"] and out[1]["story"] is None and out[2]["story"] and out[0]["story"] != out[2]["story"]


@pytest.mark.skipif(not (CORPUS / "dev.jsonl").exists(), reason="shared corpus not present")
def test_eval_prints_the_figures():
    r = run_cli("eval", str(CORPUS / "dev.jsonl"))
    assert r.returncode == 0, r.stderr
    for needle in ("precision", "recall", "F1", "kind accuracy", "pairwise"):
        assert needle.lower() in r.stdout.lower(), needle


@pytest.mark.skipif(not (SAMPLES / "eo_corpus_subset.jsonl").exists(), reason="shared samples not present")
def test_eval_on_executive_orders():
    r = run_cli("eval", str(SAMPLES / "eo_corpus_subset.jsonl"))
    assert r.returncode == 0, r.stderr
    assert "13768" in r.stdout


def test_reclassify_revisits_stored_items(feed_server, tmp_path):
    from watcher.app import poll_once
    from watcher.config import load_config

    feed_server.routes["/doj.json"] = Route((RECORDINGS / "doj_api.json").read_bytes(), "application/json")
    cfg = write_config(tmp_path / "s.yaml", [{"name": "doj", "kind": "json", "preset": "doj", "url": feed_server.url("/doj.json")}])
    asyncio.run(poll_once(load_config(cfg, {}), tmp_path / "st"))
    db = tmp_path / "st" / "watcher.sqlite3"
    conn = sqlite3.connect(db)
    relevant = conn.execute("SELECT COUNT(*) FROM items WHERE relevant = 1").fetchone()[0]
    conn.execute("UPDATE items SET relevant = 0, kind = NULL, verdict = '{}'")
    conn.commit()
    r = run_cli("--config", str(cfg), "--state", str(tmp_path / "st"), "reclassify")
    assert r.returncode == 0, r.stderr
    counts = json.loads(r.stdout.splitlines()[-1])
    assert counts == {"items": 10, "changed": 10, "relevant": relevant} and relevant >= 2
    assert conn.execute("SELECT COUNT(*) FROM items WHERE relevant = 1").fetchone()[0] == relevant
