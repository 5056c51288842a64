"""Download feedparser's own test feeds (illformed/, encoding/, entities/, wellformed/, ...) once.

    .venv/bin/python bench/fetch_feedparser_corpus.py [--dir DIR]

They ship in feedparser's source distribution on PyPI, not in its wheel: this runs
`pip download --no-deps --no-binary :all: feedparser==<installed version>` and keeps the test
folders under ~/.cache/sanctuary-watch/feedparser-corpus (or $SANCTUARY_CORPUS_DIR), outside the
repository. tests/test_hardening_hostile.py serves every file to the poller; it skips when the
corpus is absent, except under CI, where .ci/run calls this first and a missing corpus fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.hardening_helpers import CORPUS_HOME, fetch_feedparser_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=CORPUS_HOME, help=f"where to keep it (default {CORPUS_HOME})")
    args = parser.parse_args()
    where = fetch_feedparser_corpus(args.dir, quiet=True)
    count = sum(1 for p in where.rglob("*") if p.is_file() and p.name != ".complete")
    print(f"{count} files in {where}")


if __name__ == "__main__":
    main()
