"""The HTTP transport the poller and the webhook sender share, and what its errors mean.

Requests go straight to an httpx transport (`handle_async_request`, the one-method
seam; tests pass `httpx.MockTransport`). By default it is httpx-aiohttp's, over
aiohttp's connection pool. That transport maps every aiohttp connection error (a
reset, a refusal) to an httpx timeout class, so what an error means is judged here,
once, from its cause.
"""

from __future__ import annotations

import httpx


def aiohttp_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    return AiohttpTransport(limits=httpx.Limits(max_connections=max_connections, keepalive_expiry=30.0))


def cause(e: BaseException) -> str:
    """The underlying error, named: 'ClientOSError: [Errno 104] Connection reset by peer'."""
    root = e.__cause__ or e
    text = str(root).strip().splitlines()[0] if str(root).strip() else ""
    return f"{type(root).__name__}: {text}"[:300] if text else type(root).__name__


def timed_out(e: BaseException) -> bool:
    """Whether the error really is a timeout, whatever class the transport raised it as."""
    root = e.__cause__ or e
    return isinstance(root, (TimeoutError, httpx.TimeoutException)) or "Timeout" in type(root).__name__
