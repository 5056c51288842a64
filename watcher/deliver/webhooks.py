"""Webhook bodies and Standard Webhooks signatures. Pure: no clock, no randomness, no I/O.

A `standard` body is `{"type", "timestamp", "data": {story}}`, minified JSON; the
`timestamp` is when the event happened. A `slack` body is a Slack-compatible
message (`text` plus `blocks`) in which every piece of outside text is escaped.

Signing follows the Standard Webhooks spec (v1, symmetric): the content signed is
`{webhook-id}.{webhook-timestamp}.{body}`, the key is the base64 part of a
`whsec_...` secret, the signature HMAC-SHA256 in base64, sent as `v1,<sig>`; with
several secrets (rotation) the header carries one signature per secret, separated
by spaces. `webhook-timestamp` is the time of the attempt, in whole seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from watcher.domain import Story, iso_utc
from watcher.text import safe_url

EVENT_TYPES = ("story.created", "story.updated")
TEST_EVENT = "webhook.test"
SECRET_PREFIX = "whsec_"

KIND_LABELS = {
    "funding_threat": "Funding threat",
    "legal_threat": "Legal threat",
    "letter": "Letter",
    "ruling": "Ruling",
    "lawsuit": "Lawsuit",
    "policy": "Policy",
    "legislation": "Legislation",
    "enforcement": "Enforcement",
    "statement": "Statement",
}

SLACK_SOURCES = 10  # items listed in a Slack message; the rest are counted
SLACK_TEXT_MAX = 2900  # a section's text may hold 3,000 characters


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def standard_body(event_type: str, story: Story, at: float) -> str:
    data = story.as_dict()
    for item in data["items"]:
        item["url"] = safe_url(item["url"])  # only http(s) links leave us, as on every other surface
    return _json({"type": event_type, "timestamp": iso_utc(at), "data": data})


# --- Slack -------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack's three control characters, escaped as Slack asks: &, <, >."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _slack_link(url: str, text: str) -> str:
    """`<url|text>` for http(s) URLs (a `|` in the URL is percent-encoded); else the text alone."""
    label = slack_escape(_clip(text.replace("\n", " "), 200)) or "link"
    if not url.lower().startswith(("http://", "https://")):
        return label
    return f"<{slack_escape(url.replace('|', '%7C').replace(' ', '%20'))}|{label}>"


def place_label(name: str, state: str, kind: str) -> str:
    return name if kind == "state" else f"{name}, {state}"


def slack_body(event_type: str, story: Story) -> str:
    title = story.title or "(untitled)"
    updated = event_type == "story.updated"
    lead = story.items[0].url if story.items else ""
    places = ", ".join(place_label(j.name, j.state, j.kind) for j in story.jurisdictions) or "none named"
    kind = KIND_LABELS.get(story.kind, story.kind)
    lines = [f"• {_slack_link(r.url, r.title)} ({slack_escape(r.source)})" for r in story.items[:SLACK_SOURCES]]
    if len(story.items) > SLACK_SOURCES:
        lines.append(f"and {len(story.items) - SLACK_SOURCES} more")
    sources = _clip("\n".join(lines), SLACK_TEXT_MAX) if lines else "none"
    heading = ("Update: " if updated else "") + (_slack_link(lead, title) if lead else slack_escape(_clip(title, 200)))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{heading}*"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Kind*\n{slack_escape(kind)}"},
                {"type": "mrkdwn", "text": f"*Jurisdictions*\n{slack_escape(_clip(places, 1900))}"},
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Sources*\n{sources}"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Sanctuary Watch · {event_type} · score {story.score:.2f}"}],
        },
    ]
    fallback = ("Update: " if updated else "") + f"{kind}: {title}"
    return _json({"text": slack_escape(_clip(fallback, 300)), "blocks": blocks})


def render(fmt: str, event_type: str, story: Story, at: float) -> str:
    """The body of one delivery, frozen when the delivery is created."""
    if fmt == "slack":
        return slack_body(event_type, story)
    return standard_body(event_type, story, at)


# --- signing -----------------------------------------------------------------


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret."""
    raw = secret.strip().removeprefix(SECRET_PREFIX)
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    if not key:
        raise ValueError("empty webhook secret")
    return key


def sign(keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,<base64>` per key, space-separated."""
    content = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    sigs = (base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode() for key in keys)
    return " ".join(f"v1,{s}" for s in sigs)


def headers(msg_id: str, timestamp: int, body: bytes, keys: Sequence[bytes]) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (unsigned when there are no keys)."""
    out = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if keys:
        out["webhook-signature"] = sign(keys, msg_id, timestamp, body)
    return out
