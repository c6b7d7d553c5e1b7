"""Where a webhook may be sent (API.md, Webhooks: URL): the SSRF rules.

- http(s) only, with a host;
- a host that is, or resolves to, a loopback, private or unique-local (or otherwise non-global)
  address is refused unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` is on;
- link-local (cloud metadata), multicast, unspecified and reserved addresses are always refused.

The rules are applied when an endpoint is saved (a host that cannot be resolved yet is accepted)
and again at every delivery, on the addresses the host resolves to then; the delivery connects to
the address that was checked (``webhooks.delivery.transport``), so DNS rebinding cannot slip a
private address in between.

Name resolution goes through ``resolve_host``, whose resolver can be replaced
(``set_resolver``): tests point host names at local servers without touching /etc/hosts.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"http": 80, "https": 443}


class TargetRefused(Exception):
    """The URL or one of the addresses its host resolves to may not be a webhook target."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


_resolver: Resolver = system_resolver


def set_resolver(resolver: Resolver) -> Resolver:
    """Replace the resolver (tests); returns the previous one so it can be put back."""
    global _resolver
    previous, _resolver = _resolver, resolver
    return previous


def literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (the host itself when it is an IP literal).

    Raises ``OSError`` (``socket.gaierror``) when the name does not resolve.
    """
    literal = literal_address(host)
    if literal is not None:
        return [str(literal)]
    return _resolver(host, port)


def _private_reason(ip: Address) -> str:
    kind = "a loopback" if ip.is_loopback else "a private"
    return f"{kind} address is refused (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"


def refusal_reason(address: str, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be connected to, or None when it may."""
    ip: Address = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return "a link-local address (e.g. cloud metadata) is never a webhook target"
    if ip.is_multicast:
        return "a multicast address is never a webhook target"
    if ip.is_unspecified:
        return "an unspecified address is never a webhook target"
    if ip.is_loopback or ip.is_private:
        return None if allow_private else _private_reason(ip)
    if ip.is_reserved:
        return "a reserved address is never a webhook target"
    if not ip.is_global:  # e.g. shared address space (100.64.0.0/10)
        return None if allow_private else _private_reason(ip)
    return None


def check_addresses(host: str, addresses: list[str], *, allow_private: bool) -> None:
    """Raise ``TargetRefused`` when any address of ``host`` is refused (all must pass)."""
    if not addresses:
        raise TargetRefused(f"{host} resolves to no address")
    for address in addresses:
        reason = refusal_reason(address, allow_private=allow_private)
        if reason and literal_address(host) is not None:
            raise TargetRefused(f"{host}: {reason}")
        if reason:
            raise TargetRefused(f"{host} resolves to {address}: {reason}")


def parse_target(url: str) -> tuple[SplitResult, str, int]:
    """The split URL, its host and port; ``TargetRefused`` when it is not an http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"the URL cannot be parsed: {exc}") from None
    if parts.scheme not in DEFAULT_PORTS:
        raise TargetRefused("only http and https URLs are accepted")
    host = parts.hostname
    if not host:
        raise TargetRefused("the URL has no host")
    return parts, host, port or DEFAULT_PORTS[parts.scheme]


def check_url_on_save(url: str, *, allow_private: bool) -> None:
    """The save-time check: syntax, then the addresses the host resolves to now, if any."""
    _, host, port = parse_target(url)
    try:
        addresses = resolve_host(host, port)
    except OSError:
        return  # not resolvable yet: accepted, checked again at every delivery
    check_addresses(host, addresses, allow_private=allow_private)
