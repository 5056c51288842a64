"""The `watcher` command line (ARCHITECTURE.md section 3).

Exit codes: 0 success (a failing source is counted, not fatal), 2 bad config or
usage, 1 anything else. A bad config prints `FILE:LINE: what is wrong`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from watcher import __version__
from watcher.config import Config, ConfigError, load_config
from watcher.logs import setup_logging

log = logging.getLogger("watcher.cli")

Command = Callable[[argparse.Namespace, Mapping[str, str]], int]


class UsageError(Exception):
    """Wrong use of a command: exit 2."""


def _config(args: argparse.Namespace, env: Mapping[str, str]) -> Config:
    path = args.config or env.get("WATCHER_CONFIG")
    if path is None and Path("sources.yaml").exists():
        path = "sources.yaml"
    return load_config(path, env)  # None: the embedded default


def _state(args: argparse.Namespace, env: Mapping[str, str]) -> Path:
    return Path(args.state or env.get("WATCHER_STATE") or "state")


def cmd_check(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = _config(args, env)
    enabled = sum(s.enabled for s in config.sources)
    print(
        f"{config.path}: ok: {len(config.sources)} sources ({enabled} enabled), "
        f"{len(config.subscribers)} subscribers, {len(config.webhooks)} webhooks"
    )
    return 0


def cmd_poll(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher.app import poll_once

    if not args.once:
        raise UsageError("poll needs --once (the daemon is `watcher run`)")
    config = _config(args, env)
    names = None
    if args.source:
        known = {s.name for s in config.sources}
        unknown = [n for n in args.source if n not in known]
        if unknown:
            raise UsageError(f"unknown source {unknown[0]!r} (known: {', '.join(sorted(known))})")
        names = args.source
    summary = asyncio.run(poll_once(config, _state(args, env), names))
    for name, error in sorted(summary.errors.items()):
        print(f"{name}: {error}", file=sys.stderr)
    print(json.dumps(summary.counts))
    return 0


def cmd_run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher.app import run_daemon

    config = _config(args, env)
    asyncio.run(run_daemon(config, _state(args, env), shutdown_timeout=args.shutdown_timeout))
    return 0


def cmd_classify(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher.classify_cli import classify_lines

    stream = open(args.file, encoding="utf-8") if args.file else sys.stdin
    with stream:
        return classify_lines(stream, sys.stdout, sys.stderr, stories=args.stories)


def cmd_eval(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher.classify_cli import evaluate_file

    return evaluate_file(args.file, sys.stdout)


def cmd_reclassify(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher.classify_cli import reclassify
    from watcher.sources.base import publisher_of

    publishers = {s.name: publisher_of(s) for s in _config(args, env).sources}
    counts = reclassify(_state(args, env), publishers)
    print(json.dumps(counts))
    return 0


def cmd_deliver(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher.app import deliver_once

    if not args.once:
        raise UsageError("deliver needs --once (the daemon, `watcher run`, delivers continuously)")
    summary = asyncio.run(deliver_once(_config(args, env), _state(args, env)))
    print(json.dumps(summary.as_dict()))
    return 0


def cmd_deliveries(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher import outbox_cli

    if args.action == "list":
        return outbox_cli.list_deliveries(_state(args, env), args.status, args.limit, sys.stdout)
    if (args.id is None) == (not args.all):
        raise UsageError("deliveries retry needs one delivery ID or --all")
    try:
        return outbox_cli.retry(_state(args, env), args.id, sys.stdout)
    except LookupError as e:
        raise UsageError(str(e.args[0])) from None


def cmd_webhooks(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher import outbox_cli

    config = _config(args, env)
    try:
        if args.action == "test":
            return outbox_cli.test_webhook(config, args.name, sys.stdout)
        return outbox_cli.enable(_state(args, env), config, args.name, sys.stdout)
    except LookupError as e:
        raise UsageError(str(e.args[0])) from None


def cmd_digest(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher import outbox_cli

    config = _config(args, env)
    try:
        return outbox_cli.preview_digest(config, _state(args, env), args.email, args.html, sys.stdout)
    except LookupError as e:
        raise UsageError(str(e.args[0])) from None


def cmd_demo(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from watcher import demo

    if args.duration is not None and args.duration <= 0:
        raise UsageError("--duration must be a positive number of seconds")
    state = Path(args.demo_state or args.state or "state-demo")  # never WATCHER_STATE: a real state is not touched
    try:
        demo.prepare_state(state)
    except demo.NotADemoState as e:
        raise UsageError(str(e)) from None
    listen = args.listen or env.get("WATCHER_LISTEN") or "127.0.0.1:8080"  # the image sets 0.0.0.0:8080
    return asyncio.run(demo.run_demo(state, listen, args.duration, out=lambda s: print(s, flush=True)))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="watcher",
        description="Sanctuary Watch: polls sources on sanctuary-jurisdiction policy, classifies, alerts.",
    )
    p.add_argument("--version", action="version", version=f"watcher {__version__}")
    p.add_argument("--config", help="config file (default ./sources.yaml, else the embedded default; env WATCHER_CONFIG)")
    p.add_argument("--state", help="state directory (default ./state; env WATCHER_STATE)")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="log line format")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Command, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        sp.set_defaults(func=fn)
        return sp

    sp = add("run", cmd_run, "run the daemon until SIGTERM or SIGINT")
    sp.add_argument("--shutdown-timeout", type=float, default=10.0, help="seconds to let work in flight finish")
    sp = add("poll", cmd_poll, "poll every (or one) source once, print a JSON summary, exit")
    sp.add_argument("--once", action="store_true", help="required: poll once and exit")
    sp.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    add("check", cmd_check, "validate the config; exit 2 with FILE:LINE: message on the first error")
    sp = add("classify", cmd_classify, "classify JSON lines from FILE or stdin")
    sp.add_argument("file", nargs="?", help="JSON lines {id, title, summary?, body?, url?, source?, published?}")
    sp.add_argument("--stories", action="store_true", help="also group the items into stories")
    sp = add("eval", cmd_eval, "score the classifier on a labeled file in the corpus format")
    sp.add_argument("file", help="JSON lines with a 'gold' object, or executive orders with a relevance label")
    add("reclassify", cmd_reclassify, "re-run the classifier over every stored item")
    sp = add("deliver", cmd_deliver, "send the deliveries that are due now, print a JSON summary, exit")
    sp.add_argument("--once", action="store_true", help="required: deliver once and exit")
    sp = add("deliveries", cmd_deliveries, "inspect the outbox, or make failed and dead deliveries due now")
    actions = sp.add_subparsers(dest="action", required=True, metavar="ACTION")
    ap = actions.add_parser("list", help="the newest deliveries, as a table", description="the newest deliveries, as a table")
    ap.add_argument("--status", choices=("pending", "failed", "sent", "dead", "cancelled"),
                    help="only deliveries in this status")
    ap.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    ap = actions.add_parser("retry", help="make a delivery (or all failed and dead ones) due now",
                            description="make a delivery (or all failed and dead ones) due now")
    ap.add_argument("id", nargs="?", help="the delivery id")
    ap.add_argument("--all", action="store_true", help="every failed (backing off) and dead delivery")
    sp = add("digest", cmd_digest, "show the digest a subscriber would get now")
    actions = sp.add_subparsers(dest="action", required=True, metavar="ACTION")
    ap = actions.add_parser("preview", help="render what EMAIL would get if it went out now (the text part)",
                            description="render what EMAIL would get if it went out now (the text part)")
    ap.add_argument("email", help="the subscriber's address, as in the config")
    ap.add_argument("--html", action="store_true", help="print the HTML part instead")
    sp = add("webhooks", cmd_webhooks, "test a webhook endpoint, or enable one that was disabled")
    actions = sp.add_subparsers(dest="action", required=True, metavar="ACTION")
    ap = actions.add_parser("test", help="send a signed test event now and print the answer",
                            description="send a signed test event now and print the answer")
    ap.add_argument("name", help="the webhook's name in the config")
    ap = actions.add_parser("enable", help="enable an endpoint disabled by a 410 or by failing too long",
                            description="enable an endpoint disabled by a 410 or by failing too long")
    ap.add_argument("name", help="the webhook's name in the config")
    sp = add("demo", cmd_demo, "run the daemon on bundled recordings of the real sources, with no network")
    sp.add_argument("--state", dest="demo_state", metavar="DIR",
                    help="state directory (default ./state-demo, wiped at each start; never ./state)")
    sp.add_argument("--listen", help="HOST:PORT of the dashboard (default: env WATCHER_LISTEN, else 127.0.0.1:8080;"
                                     " port 0: any free port)")
    sp.add_argument("--duration", type=float, metavar="SECONDS", help="stop by itself after this long")
    return p


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ) if env is None else env
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit 2 here
    setup_logging(args.log_format, args.log_level)
    try:
        return int(args.func(args, env))
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    except UsageError as e:
        print(f"watcher {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - the last line of defence: a message, not a traceback
        log.debug("unhandled error", exc_info=True)
        print(f"watcher {args.command}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
