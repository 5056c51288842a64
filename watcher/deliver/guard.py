"""Where a webhook may be sent: no loopback, private, link-local, metadata or other non-public address.

The rule applies to the addresses a host resolves to at send time, all of them:
one bad address refuses the host, so a name that resolves to a public and a
private address does not pass. The request then goes to the address that was
checked (the sender pins it), so a second lookup answering otherwise (DNS
rebinding) cannot redirect it. An endpoint with `allow_private: true` skips the rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

# Cloud instance metadata services: AWS/GCP/Azure/OpenStack, AWS over IPv6, AWS ECS, Alibaba.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)


class Refused(Exception):
    """The address of an endpoint is not one webhooks may be sent to."""


def _embedded_v4(addr: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:
            return addr.sixtofour
        if addr.teredo is not None:
            return addr.teredo[1]
    return None


def refusal(addr: IPAddress) -> str | None:
    """Why this address is refused, or None if it is a public unicast address."""
    inner = _embedded_v4(addr)
    if inner is not None and (why := refusal(inner)) is not None:
        return why
    if addr in METADATA:
        return "a cloud metadata address"
    if addr.is_loopback:
        return "a loopback address"
    if addr.is_link_local:
        return "a link-local address"
    if addr.is_multicast:
        return "a multicast address"
    if addr.is_unspecified:
        return "an unspecified address"
    if addr.is_private:
        return "a private address"
    if addr.is_reserved or not addr.is_global:
        return "not a public address"
    return None


def literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """Every address the system resolver gives for host (IPv4 and IPv6, TCP)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    out: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        ip = str(sockaddr[0]).split("%")[0]
        if ip not in out:
            out.append(ip)
    return out


async def vet(host: str, port: int, allow_private: bool, resolve: Resolver = system_resolver) -> list[IPAddress]:
    """The addresses to connect to for host; raises Refused (before any request) when the rule forbids them."""
    fixed = literal(host)
    if fixed is not None:
        addresses: list[IPAddress] = [fixed]
    else:
        try:
            found = await resolve(host, port)
        except OSError as e:
            raise LookupError(f"cannot resolve {host}: {e}") from None
        addresses = [a for a in (literal(ip) for ip in found) if a is not None]
        if not addresses:
            raise LookupError(f"cannot resolve {host}: no addresses")
    if not allow_private:
        for addr in addresses:
            why = refusal(addr)
            if why is not None:
                shown = host if fixed is not None else f"{host} ({addr})"
                raise Refused(f"refused: {shown} is {why} (set allow_private: true to allow)")
    return addresses
