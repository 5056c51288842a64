"""SQL for stories: their rows, their items and the events that alert people."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from watcher.domain import Jurisdiction, Story, StoryRef, Verdict

MAX_REASONS = 8


class StoryEvent(NamedTuple):
    """A row of `story_events`: what alerts people (and creates the outbox's deliveries)."""

    type: str  # "story.created" | "story.updated"
    id: int


def recent_story_states(conn: sqlite3.Connection, since: float) -> list[dict[str, Any]]:
    """The clustering state of stories updated since `since` (epoch seconds), oldest first."""
    rows = conn.execute("SELECT state FROM stories WHERE updated >= ? ORDER BY first_seen, id", (since,))
    return [json.loads(r[0]) for r in rows]


def save_story(
    conn: sqlite3.Connection,
    state: dict[str, Any],
    verdict: Verdict,
    item_id: int,
    *,
    alert: bool,
    now: float,
) -> StoryEvent | None:
    """Upsert the story an item went into, link the item, and record the event it causes.

    Returns the event, or None when the item was silent (baseline, too old). A
    story's first alerting event is `story.created`, even if silent items came
    before it: nobody was told of it yet. Later ones are `story.updated`.
    """
    sid = state["id"]
    row = conn.execute("SELECT score, reasons, alerted FROM stories WHERE id = ?", (sid,)).fetchone()
    if row is None:
        score, reasons, alerted = verdict.score, list(verdict.reasons)[:MAX_REASONS], False
        conn.execute(
            """INSERT INTO stories (id, kind, title, url, score, jurisdictions, reasons, first_seen, updated, alerted, state)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)""",
            (sid, state["kind"], state["title"], state.get("title_url", ""), score,
             json.dumps(state["jurisdictions"]), json.dumps(reasons), now, now, json.dumps(state)),
        )
    else:
        score = max(row["score"], verdict.score)
        reasons = json.loads(row["reasons"])
        reasons += [r for r in verdict.reasons if r not in reasons][: max(0, MAX_REASONS - len(reasons))]
        alerted = bool(row["alerted"])
        conn.execute(
            """UPDATE stories SET title = ?, url = ?, score = ?, jurisdictions = ?, reasons = ?, updated = ?, state = ?
               WHERE id = ?""",
            (state["title"], state.get("title_url", ""), score, json.dumps(state["jurisdictions"]),
             json.dumps(reasons), now, json.dumps(state), sid),
        )
    conn.execute("UPDATE items SET story_id = ? WHERE id = ?", (sid, item_id))
    if not alert:
        return None
    event = "story.updated" if alerted else "story.created"
    cur = conn.execute(
        "INSERT INTO story_events (story_id, type, item_id, at) VALUES (?, ?, ?, ?)", (sid, event, item_id, now)
    )
    if not alerted:
        conn.execute("UPDATE stories SET alerted = 1 WHERE id = ?", (sid,))
    return StoryEvent(event, int(cur.lastrowid or 0))


def story_rows(conn: sqlite3.Connection, ids: Sequence[str]) -> list[sqlite3.Row]:
    marks = ",".join("?" * len(ids))
    return list(conn.execute(f"SELECT * FROM stories WHERE id IN ({marks})", tuple(ids)))


def story_of_row(row: sqlite3.Row, items: tuple[StoryRef, ...] = ()) -> Story:
    """A `stories` row as a Story, with the items given."""
    return Story(
        id=row["id"],
        title=row["title"],
        kind=row["kind"],
        score=row["score"],
        jurisdictions=tuple(Jurisdiction(**j) for j in json.loads(row["jurisdictions"])),
        reasons=tuple(json.loads(row["reasons"])),
        first_seen=row["first_seen"],
        updated=row["updated"],
        items=items,
    )
