"""Helpers for the hardening suite (issue 8): servers that misbehave in more ways, the daemon as a process
that can be killed, feedparser's own test corpus, and the crash-loop scenario that bench/crash_loop.py
runs in full.

The servers extend the ones the other tests use (tests/feedserver.py, tests/hookserver.py,
tests/mailserver.py) rather than replacing them.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

from tests.conftest import ROOT, wait_for, write_config
from tests.feedserver import FeedServer, Route, now_rfc822, rss
from tests.hookserver import SECRET, Hook, HookServer
from tests.mailserver import MailServer, Recorder

# --- servers that fail in more ways ------------------------------------------------------------------

RESET = 0  # in a Hook's statuses: answer by resetting the connection (TCP RST)
HANG = -1  # in a Hook's statuses: read the request, then answer nothing for a minute


def _reset(h) -> None:  # type: ignore[no-untyped-def]
    """Close the handler's connection with SO_LINGER 0: the peer gets a TCP RST, not a FIN. The file
    objects of the handler hold the socket open too, so they are closed first."""
    sock = h.connection
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for f in (h.rfile, h.wfile):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        sock.close()
    except OSError:
        pass


class ScriptedHookServer(HookServer):
    """A HookServer whose scripts of answers may also reset the connection (RESET) or hang once (HANG)."""

    def _answer(self, h, status, headers=None):  # type: ignore[no-untyped-def]
        if status == RESET:
            h.close_connection = True
            _reset(h)
            return None
        if status == HANG:
            h.close_connection = True
            self._stop.wait(60)
            return None
        return super()._answer(h, status, headers)


class HostileFeedServer(FeedServer):
    """A FeedServer with one more mode, `reset` (the connection is reset as the request arrives)."""

    def _handle(self, h):  # type: ignore[no-untyped-def]
        route = self.routes.get(h.path)
        if route is not None and route.mode == "reset":
            with self._lock:
                self.hits[h.path] = self.hits.get(h.path, 0) + 1
            h.close_connection = True
            _reset(h)
            return None
        return super()._handle(h)


class FlakyRecorder(Recorder):
    """The aiosmtpd handler, which can also answer 421 (service not available) to every MAIL FROM."""

    unavailable: bool = False
    mail_attempts: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # noqa: N802
        self.mail_attempts += 1
        if self.unavailable:
            return "421 4.3.2 Service not available, closing transmission channel"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


class FlakyMailServer(MailServer):
    def __init__(self, port: int | None = None):
        super().__init__(port)
        from aiosmtpd.controller import Controller

        self.handler = FlakyRecorder()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)


# --- the daemon as a process -------------------------------------------------------------------------


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")} | (extra or {})


class DaemonProcess:
    """`watcher run` in a subprocess with JSON logs appended to `log`; can be killed and started again."""

    def __init__(self, cfg: Path, state: Path, env: dict[str, str], log: Path):
        self.cmd = [sys.executable, "-m", "watcher", "--config", str(cfg), "--state", str(state),
                    "--log-format", "json", "run"]
        self.env = clean_env(env)
        self.log = log
        self.proc: subprocess.Popen | None = None
        self._mark = 0

    def start(self) -> DaemonProcess:
        self._mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("a") as err:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=err)
        return self

    def kill(self) -> bool:
        """SIGKILL; True if the process was still running when the signal went."""
        assert self.proc is not None
        alive = self.proc.poll() is None
        if alive:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        return alive

    def stop(self, timeout: float = 20) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def url(self, timeout: float = 20.0) -> str:
        """The web face's base URL, from this start's 'web face listening' log line."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.log.open("rb") as f:
                f.seek(self._mark)
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if line.startswith("{") and '"web face listening"' in line:
                        return "http://" + json.loads(line)["listen"]
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            time.sleep(0.05)
        raise AssertionError("no 'web face listening' line: " + self.log.read_text()[-2000:])

    def tracebacks(self) -> list[str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "Traceback" in line]


def db_rows(state: Path, sql: str, *args: object) -> list[tuple]:
    conn = sqlite3.connect(f"file:{state / 'watcher.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def public_pages(base_url: str, story_ids: list[str]) -> dict[str, str]:
    """Every public page of a running daemon, by path: what anyone on the network can read."""
    import httpx

    paths = ["/", "/?all=1", "/feed.json?all=1", "/feed.atom?all=1", "/feed.json", "/feed.atom", "/metrics",
             "/readyz", "/healthz", "/stories/nope", "/unsubscribe?token=x"]
    paths += [f"/stories/{sid}" for sid in story_ids]
    with httpx.Client(base_url=base_url, timeout=10) as web:
        return {p: web.get(p).text for p in paths}


# --- feedparser's own test corpus --------------------------------------------------------------------

CORPUS_HOME = Path(os.environ.get("SANCTUARY_CORPUS_DIR", Path.home() / ".cache" / "sanctuary-watch" / "feedparser-corpus"))
CORPUS_DIRS = ("illformed", "encoding", "entities", "compression", "http", "wellformed")


def feedparser_version() -> str:
    from importlib.metadata import version

    return version("feedparser")


def corpus_dir(home: Path = CORPUS_HOME) -> Path:
    return home / f"feedparser-{feedparser_version()}"


def fetch_feedparser_corpus(home: Path = CORPUS_HOME, quiet: bool = True) -> Path:
    """The test feeds from feedparser's source distribution (the installed version), downloaded from
    PyPI with pip once and kept under `home`, outside the repository. Returns the folder holding
    illformed/, encoding/, ... Idempotent."""
    dest = corpus_dir(home)
    if (dest / ".complete").exists():
        return dest
    ver = feedparser_version()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               f"feedparser=={ver}", "-d", tmp]
        subprocess.run(cmd, check=True, capture_output=quiet, timeout=300)
        [tarball] = list(Path(tmp).glob("feedparser-*.tar.gz"))
        staging = Path(tmp) / "x"
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers()
                       if m.isfile() and re.match(rf"^feedparser-{re.escape(ver)}/tests/({'|'.join(CORPUS_DIRS)})/", m.name)]
            tar.extractall(staging, members=members, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / f"feedparser-{ver}" / "tests"), dest)
    (dest / ".complete").write_text(ver)
    return dest


_HEADER = re.compile(rb"^Header:\s*([\w-]+):\s*(.+?)\s*$", re.M)


def corpus_route(path: Path) -> Route:
    """How feedparser's test server serves one corpus file: its `Header: Content-type` comment as the
    Content-Type, and compressed files with their Content-Encoding."""
    body = path.read_bytes()
    ctype = "application/xml"
    headers: dict[str, str] = {}
    for name, value in _HEADER.findall(body[:4096]):
        if name.lower() == b"content-type":
            ctype = value.decode("latin-1")
    if path.suffix == ".gz":
        headers["Content-Encoding"] = "gzip"
    elif path.suffix == ".z":
        headers["Content-Encoding"] = "deflate"
    return Route(body, content_type=ctype, headers=headers)


# --- the crash loop (part 1) -------------------------------------------------------------------------

CITIES = ["Denver, CO", "Chicago, IL", "Boston, MA", "Seattle, WA", "Portland, OR", "Philadelphia, PA",
          "San Francisco, CA", "Los Angeles, CA", "Minneapolis, MN", "Newark, NJ", "Baltimore, MD", "Austin, TX",
          "Oakland, CA", "Sacramento, CA", "San Diego, CA", "Phoenix, AZ", "Albuquerque, NM", "Santa Fe, NM",
          "Providence, RI", "Hartford, CT", "New Haven, CT", "Burlington, VT", "Pittsburgh, PA", "Milwaukee, WI",
          "Madison, WI", "Detroit, MI", "Ann Arbor, MI", "Ithaca, NY", "Rochester, NY", "Syracuse, NY"]
ACTIONS = [
    ("Justice Department sues {city} over sanctuary policies",
     "The Justice Department filed a lawsuit against {city}, alleging its sanctuary ordinances obstruct federal "
     "immigration enforcement and violate the Supremacy Clause."),
    ("DOJ threatens to withhold grants from {city} over sanctuary city law",
     "The Attorney General warned {city} that it will withhold Byrne JAG funds unless it ends sanctuary policies "
     "limiting cooperation with ICE."),
    ("Federal judge blocks funding cuts to sanctuary city {city}",
     "A federal judge issued an injunction blocking the Justice Department from cutting grants to {city} over its "
     "sanctuary ordinance."),
]
FILLER = [{"title": "Routine grant for rural broadband announced", "link": "https://example.org/filler",
           "guid": "filler", "pubDate": now_rfc822(-5), "description": "A county library gets funds."}]
SUBSCRIBER = "crash.reader.5521@example.org"
PRIVATE = [SUBSCRIBER, "crash.reader", "hook-crashpath-9931", SECRET, SECRET.removeprefix("whsec_")]


@dataclass
class CrashFigures:
    cycles: int = 0
    kills: int = 0  # SIGKILLs that landed while the daemon ran
    seconds: float = 0.0
    items_added: int = 0
    items_stored: int = 0
    story_events: int = 0
    stories: int = 0
    webhooks_expected: int = 0
    webhooks_accepted: int = 0
    webhook_requests: int = 0
    webhook_resends: int = 0  # requests beyond the first for one webhook-id (allowed: same id)
    webhook_unverified: int = 0
    webhooks_missing: int = 0
    webhooks_unexpected: int = 0
    events_with_other_than_one_webhook: int = 0
    email_stories_expected: int = 0
    email_stories_missing: int = 0
    digests_expected: int = 0
    messages_received: int = 0
    message_id_resends: int = 0  # the same digest handed over again (allowed: same Message-ID, same text)
    message_id_resends_differing: int = 0
    stories_mailed_new_twice: int = 0
    delivered_during_kills: int = 0  # webhook requests and messages that arrived before the last, clean run
    undelivered: int = 0  # webhook or email deliveries not 'sent' at the end
    public_leaks: list[str] = field(default_factory=list)
    tracebacks: int = 0
    traceback_lines: list[str] = field(default_factory=list)  # the log lines that carry one, shortened
    integrity: str = ""
    final_exit: int | None = None

    def problems(self) -> list[str]:
        out = []
        for name in ("webhooks_missing", "webhooks_unexpected", "events_with_other_than_one_webhook",
                     "webhook_unverified", "email_stories_missing", "message_id_resends_differing",
                     "stories_mailed_new_twice", "undelivered", "tracebacks"):
            if getattr(self, name):
                out.append(f"{name} = {getattr(self, name)}")
        if self.items_stored != self.items_added:
            out.append(f"items stored {self.items_stored} != added {self.items_added}")
        if self.webhooks_accepted != self.webhooks_expected:
            out.append(f"webhooks accepted {self.webhooks_accepted} != expected {self.webhooks_expected}")
        if self.integrity != "ok":
            out.append(f"integrity_check: {self.integrity}")
        if self.public_leaks:
            out.append(f"public pages leak: {self.public_leaks}")
        if self.final_exit != 0:
            out.append(f"the last clean run exited {self.final_exit}")
        return out

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _text_part(data: bytes) -> tuple[str, str, str]:
    msg = message_from_bytes(data, policy=policy.default)
    return str(msg["Message-ID"]), str(msg["Subject"]), msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def run_crash_loop(tmp: Path, cycles: int, *, seed: int = 8, run: tuple[float, float] = (0.3, 3.0),
                   say: Callable[[str], None] = lambda s: None) -> CrashFigures:
    """Feeds that gain items, a real SMTP server and a real webhook receiver; `watcher run` started and
    SIGKILLed at random moments `cycles` times, then run clean until quiet. Returns what was counted."""
    rng = random.Random(seed)
    figures = CrashFigures(cycles=cycles)
    t0 = time.monotonic()
    with FeedServer() as feeds, ScriptedHookServer() as hooks, MailServer() as smtp:
        paths = ["/doj.xml", "/news.xml", "/wire.xml"]
        items: dict[str, list[dict[str, str]]] = {p: list(FILLER) for p in paths}
        for p in paths:
            feeds.routes[p] = Route(rss(items[p]))
        hooks.hooks["/hook-crashpath-9931"] = Hook()
        sources = [{"name": p.strip("/").removesuffix(".xml"), "kind": "feed", "url": feeds.url(p), "every": "1s"}
                   for p in paths]
        cfg = write_config(
            tmp / "sources.yaml", sources,
            {"public_url": "https://watch.example.org",
             "smtp": smtp.settings(),
             "webhooks": {"retry": ["0.3s", "0.3s", "0.5s", "1s", "1s", "2s"], "jitter": 0, "timeout": "3s"}},
            subscribers=[{"email": SUBSCRIBER, "schedule": "immediate"}],
            webhooks=[{"name": "desk", "url": hooks.url("/hook-crashpath-9931"), "secret_env": "HOOK_SECRET",
                       "allow_private": True}])
        state = tmp / "state"
        daemon = DaemonProcess(cfg, state, {"HOOK_SECRET": SECRET}, tmp / "run.log")
        added: list[str] = []
        n = 0
        for cycle in range(cycles):
            for _ in range(rng.choice((0, 1, 1, 2))):  # the feeds gain items as the daemon lives and dies
                p = rng.choice(paths)
                title, text = ACTIONS[n % len(ACTIONS)]
                city = CITIES[(n // len(ACTIONS)) % len(CITIES)]
                suffix = f" (report {n})" if n >= len(ACTIONS) * len(CITIES) else ""
                guid = f"crash-{n}"
                items[p].insert(0, {"title": title.format(city=city) + suffix, "link": f"https://example.org/c/{n}",
                                    "guid": guid, "pubDate": now_rfc822(), "description": text.format(city=city)})
                feeds.routes[p] = Route(rss(items[p]))
                added.append(guid)
                n += 1
            daemon.start()
            time.sleep(rng.uniform(*run))
            figures.kills += daemon.kill()
            say(f"cycle {cycle + 1}/{cycles}: {len(added)} items added, {figures.kills} kills")

        # now let it run clean until everything is delivered and nothing moves
        figures.delivered_during_kills = len(hooks.received) + len(smtp.handler.received)
        daemon.start()
        url = daemon.url()

        def quiet() -> bool:
            stored = db_rows(state, "SELECT COUNT(*) FROM items WHERE key LIKE 'crash-%'")[0][0]
            open_ = db_rows(state, "SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'failed')")[0][0]
            digests = db_rows(state, "SELECT COUNT(*) FROM digests WHERE status IN ('pending', 'failed')")[0][0]
            return stored == len(added) and open_ == 0 and digests == 0

        def settled() -> bool:
            if not quiet():
                return False
            before = (len(hooks.received), len(smtp.handler.received))
            time.sleep(1.5)
            return quiet() and before == (len(hooks.received), len(smtp.handler.received))

        wait_for(settled, 90, step=0.2)
        story_ids = [r[0] for r in db_rows(state, "SELECT id FROM stories ORDER BY id")]
        pages = public_pages(url, story_ids[:5])
        figures.public_leaks = sorted({f"{path}: {p}" for path, body in pages.items() for p in PRIVATE
                                       if p.lower() in body.lower()})
        figures.final_exit = daemon.stop()
        figures.traceback_lines = [line[:3000] for line in daemon.tracebacks()]
        figures.tracebacks = len(figures.traceback_lines)

        # what the store says should have left, against what arrived
        figures.items_added = len(added)
        figures.items_stored = db_rows(state, "SELECT COUNT(*) FROM items WHERE key LIKE 'crash-%'")[0][0]
        figures.story_events = db_rows(state, "SELECT COUNT(*) FROM story_events")[0][0]
        figures.stories = len(story_ids)
        figures.undelivered = db_rows(state, "SELECT COUNT(*) FROM deliveries WHERE status != 'sent'")[0][0]
        hook_rows = db_rows(state, "SELECT id, event_id FROM deliveries WHERE channel = 'webhook'")
        per_event = {e: 0 for (e,) in db_rows(state, "SELECT id FROM story_events")}
        for _, event_id in hook_rows:
            per_event[event_id] = per_event.get(event_id, 0) + 1
        figures.events_with_other_than_one_webhook = sum(1 for c in per_event.values() if c != 1)
        expected = {i for i, _ in hook_rows}
        accepted = set(hooks.accepted)
        figures.webhooks_expected = len(expected)
        figures.webhooks_accepted = len(accepted & expected)
        figures.webhooks_missing = len(expected - accepted)
        figures.webhooks_unexpected = len(accepted - expected)
        figures.webhook_requests = len(hooks.received)
        figures.webhook_unverified = sum(1 for r in hooks.received if not r.verified)
        ok_ids = [r.id for r in hooks.received if 200 <= r.status < 300]
        figures.webhook_resends = len(ok_ids) - len(set(ok_ids))

        got: dict[str, list[tuple[str, str]]] = {}
        for r in smtp.handler.received:
            mid, subject, text = _text_part(r.data)
            got.setdefault(mid, []).append((subject, text))
        figures.messages_received = len(smtp.handler.received)
        figures.message_id_resends = sum(len(v) - 1 for v in got.values())
        figures.message_id_resends_differing = sum(1 for v in got.values() if len(set(v)) > 1)
        mail_rows = db_rows(state, "SELECT d.digest_id, s.title, s.id FROM deliveries d JOIN stories s ON s.id = d.story_id"
                                   " WHERE d.channel = 'email'")
        figures.email_stories_expected = len({sid for _, _, sid in mail_rows})
        figures.digests_expected = len({d for d, _, _ in mail_rows})
        missing = set()
        for digest_id, title, sid in mail_rows:
            texts = [t for mid, v in got.items() if mid.startswith(f"<{digest_id}@") for _, t in v]
            if not any(title in t for t in texts):
                missing.add(sid)
        figures.email_stories_missing = len(missing)
        new_in: dict[str, set[str]] = {}
        for mid, v in got.items():
            for line in v[0][1].splitlines():
                new_in.setdefault(line.strip(), set()).add(mid)
        figures.stories_mailed_new_twice = sum(1 for title in {t for _, t, _ in mail_rows} if len(new_in.get(title, ())) > 1)
        conn = sqlite3.connect(state / "watcher.sqlite3")
        try:
            figures.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
    figures.seconds = round(time.monotonic() - t0, 1)
    return figures
