"""The classification commands: `watcher classify`, `watcher eval`, `watcher reclassify`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from watcher.text import html_to_text, one_line


def _text_fields(rec: dict[str, Any]) -> tuple[str, str, str]:
    return (
        one_line(html_to_text(str(rec.get("title") or ""))),
        html_to_text(str(rec.get("summary") or "")),
        html_to_text(str(rec.get("body") or "")),
    )


def _source(rec: dict[str, Any]) -> str:
    """The record's publisher type ("doj", "court", ...; "" when absent): evidence for the kind."""
    return str(rec.get("source") or "")


def read_records(stream: TextIO, name: str, errors: TextIO) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record or None, error or None) for each non-blank line."""
    out: list[tuple[int, dict[str, Any] | None, str | None]] = []
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            out.append((n, None, f"not JSON: {e}"))
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("title"), str):
            out.append((n, None, "expected an object with at least a string 'title'"))
            continue
        out.append((n, rec, None))
    for n, _, err in out:
        if err:
            print(f"{name}:{n}: {err}", file=errors)
    return out


def classify_lines(stream: TextIO, out: TextIO, errors: TextIO, *, stories: bool = False) -> int:
    """One output line per input line, in order (ARCHITECTURE.md section 5). Bad lines get
    an `error` line in their place and a `FILE:LINE` message; the exit code is then 1."""
    from watcher.classify import classify

    name = getattr(stream, "name", "<stdin>")
    rows = read_records(stream, name, errors)
    good = [rec for _, rec, _ in rows if rec is not None]
    verdicts = [classify(*_text_fields(rec), source=_source(rec)) for rec in good]
    story_ids: list[str | None] = [None] * len(good)
    if stories:
        from watcher.stories import cluster_records

        story_ids = cluster_records(good, verdicts=verdicts)
    i = 0
    for _, rec, err in rows:
        if rec is None:
            out.write(json.dumps({"id": None, "error": err}) + "\n")
            continue
        v = verdicts[i]
        line: dict[str, Any] = {
            "id": rec.get("id"),
            "relevant": v.relevant,
            "kind": v.kind,
            "score": round(v.score, 3),
            "jurisdictions": [j.as_dict() for j in v.jurisdictions],
            "reasons": list(v.reasons),
        }
        if stories:
            line["story"] = story_ids[i]
        i += 1
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return 1 if any(err for _, _, err in rows) else 0


def evaluate_file(path: str, out: TextIO) -> int:
    """Classifier (and, for corpus files, story) figures for a labeled file."""
    from watcher.classify import classify
    from watcher.classify import evaluate as ev

    records = ev.load_jsonl(path)
    if records and "gold" not in records[0] and "relevant_to_sanctuary_jurisdictions" in records[0]:
        out.write(ev.format_executive_orders(ev.flag_executive_orders(path)) + "\n")
        return 0
    out.write(ev.format_report(ev.evaluate(records, classify)) + "\n")
    from watcher.stories import cluster_records
    from watcher.story_eval import story_report

    predicted = cluster_records(records, verdicts=[classify(*_text_fields(r), source=_source(r)) for r in records])
    out.write("\n" + story_report(records, predicted) + "\n")
    return 0


def reclassify(state_dir: Path, publishers: Mapping[str, str]) -> dict[str, int]:
    """Re-run the classifier over every stored item (after the rules changed).

    `publishers` maps source names to publisher types, as the poller passes them.
    Stories already formed are left as they are; the verdicts of their items change.
    """
    from watcher.classify import classify
    from watcher.store import polls as sql
    from watcher.store.db import Database

    counts = {"items": 0, "changed": 0, "relevant": 0}
    with Database(state_dir) as db:
        after = 0
        while batch := db.run_sync(sql.items_page, after, 2000):
            after = batch[-1][0]
            updates = []
            for item_id, source, title, summary, body, old in batch:
                v = classify(title, summary, body, source=publishers.get(source, ""))
                counts["items"] += 1
                counts["relevant"] += v.relevant
                new = json.dumps(v.as_dict(), separators=(",", ":"))
                if new != old:
                    counts["changed"] += 1
                    updates.append((item_id, v, new))
            db.run_sync(sql.save_verdicts, updates)
    return counts
