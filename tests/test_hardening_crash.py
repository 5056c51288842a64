"""Issue 8, part 1: kill `watcher run` with SIGKILL at random moments across poll and delivery cycles.

Local feeds gain items while a real SMTP server (aiosmtpd) and a real webhook receiver (verifying with
`standardwebhooks`) take what the daemon sends. After every kill the daemon starts again; at the end it
runs clean until quiet. Then every story event must have reached the receiver under exactly one
webhook-id (a re-send after a kill carries the same id, as the protocol allows), every story mailed must
be in the digest its delivery names, a Message-ID may repeat only as an exact re-send of the same digest,
the public pages must show nothing private, and PRAGMA integrity_check must say ok.

CI runs 14 cycles; `bench/crash_loop.py` runs the same scenario with 50 or more.
"""

from __future__ import annotations

import os

from tests.hardening_helpers import run_crash_loop

CYCLES = int(os.environ.get("CRASH_CYCLES", "14"))


def test_sigkill_at_random_moments_loses_and_doubles_nothing(tmp_path):
    figures = run_crash_loop(tmp_path, CYCLES, seed=8)
    print(figures.as_dict())
    assert figures.problems() == [], figures.as_dict()
    assert figures.kills >= CYCLES // 2, "most kills should land while the daemon runs"
    assert figures.story_events >= 3 and figures.webhooks_expected >= 3 and figures.email_stories_expected >= 3
