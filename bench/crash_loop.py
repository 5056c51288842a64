"""The crash loop of issue 8 in full: `watcher run` SIGKILLed at random moments, 50+ times.

    .venv/bin/python bench/crash_loop.py [--cycles 60] [--seed 8] [--min 0.3] [--max 3.0] [--json]

Local feeds gain items while a real SMTP server (aiosmtpd) and a real webhook receiver (verifying with
`standardwebhooks`) take what the daemon sends; after each kill the daemon starts again; at the end it
runs clean until quiet. The same scenario as tests/test_hardening_crash.py (which runs 14 cycles in CI).
Prints the figures: cycles, kills, events and emails expected against received, duplicates, integrity.
Exits 1 if anything was lost, doubled beyond what the protocols allow, or the file is damaged.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hardening_helpers import run_crash_loop  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=60)
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--min", type=float, default=0.3, help="shortest run before a kill, seconds")
    p.add_argument("--max", type=float, default=3.0, help="longest run before a kill, seconds")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--keep", type=Path, help="work in this folder and keep it (state, config, run.log)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        f = run_crash_loop(work, args.cycles, seed=args.seed, run=(args.min, args.max),
                           say=lambda s: print(s, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(f.as_dict()))
    else:
        print(f"cycles {f.cycles}, kills landed {f.kills}, {f.seconds:.0f} s")
        print(f"items added {f.items_added}, stored {f.items_stored}; stories {f.stories}, story events {f.story_events}")
        print(f"webhooks: expected {f.webhooks_expected}, accepted {f.webhooks_accepted}, requests {f.webhook_requests}, "
              f"re-sends with the same webhook-id {f.webhook_resends}, missing {f.webhooks_missing}, "
              f"unexpected {f.webhooks_unexpected}, unverified {f.webhook_unverified}")
        print(f"email: stories expected {f.email_stories_expected}, missing {f.email_stories_missing}; digests "
              f"{f.digests_expected}, messages received {f.messages_received}, re-sends of the same Message-ID "
              f"{f.message_id_resends} (differing {f.message_id_resends_differing}), stories mailed as new twice "
              f"{f.stories_mailed_new_twice}")
        print(f"delivered while being killed {f.delivered_during_kills}; undelivered at the end {f.undelivered}; "
              f"tracebacks {f.tracebacks}; public leaks {len(f.public_leaks)}; integrity_check {f.integrity}")
    problems = f.problems()
    for line in problems:
        print("PROBLEM:", line)
    for line in f.traceback_lines:
        print("TRACEBACK:", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
