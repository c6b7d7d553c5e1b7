"""Where a webhook may be sent (docs/api.md, Webhooks: URL): the SSRF rules.

- http(s) only, with a host;
- a host that is, or resolves to, a loopback, private or unique-local (or otherwise non-global)
  address is refused unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` is on;
- link-local (cloud metadata), multicast, unspecified and reserved addresses are always refused.

The rules are applied when an endpoint is saved (a host that cannot be resolved yet is accepted)
and again at every delivery, on the addresses the host resolves to then; the delivery connects to
the address that was checked (``webhooks.delivery.transport``), so DNS rebinding cannot slip a
private address in between.

At save, the syntax and IP literals are checked at once; a host name is looked up by
``SaveLookups``, bounded three ways so that a slow or hanging resolver never holds up the web
process: at most ``SAVE_LOOKUP_THREADS`` lookups run at once (when all are taken, the save does
not wait: the name is checked at delivery), a save waits at most ``WEBHOOK_SAVE_RESOLVE_SECONDS``
for its answer (then it is accepted and checked at delivery), and a save never joins a lookup of
the same name that has already run longer than that. While a save waits, its request's thread
is not taken from the other requests: the request pool runs another thread in its place
(``pggit_project.serving.waiting_elsewhere``).

Name resolution goes through ``resolve_host``, whose resolver can be replaced
(``set_resolver``): tests point host names at local servers without touching /etc/hosts.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import httpx

from pggit_project.serving import waiting_elsewhere

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2000
# Dot-separated labels of 1 to 63 letters, digits, "-" (not first or last) and "_"; a final dot.
_HOST_NAME = re.compile(
    r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?"
)
DEFAULT_PORTS = {"http": 80, "https": 443}
# Save-time name lookups running at once in a process (the system resolver has been seen to stall
# for seconds once about 32 lookups run at once).
SAVE_LOOKUP_THREADS = 4


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


class SaveLookups:
    """Host-name lookups of save-time checks, bounded in threads and in waiting time (see the
    module docstring). ``addresses`` returns ``None`` when the answer is not known in time."""

    def __init__(self, threads: int = SAVE_LOOKUP_THREADS) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="webhook-save-lookup")
        self._free = threads
        self._lock = threading.Lock()
        self._running: dict[tuple[str, int], tuple[Future, float]] = {}

    def addresses(
        self, host: str, port: int, *, timeout: float, before_waiting: Callable[[], None]
    ) -> list[str] | None:
        """The addresses of ``host``; ``None`` when it does not resolve, does not answer within
        ``timeout`` seconds, or every lookup thread is taken. ``before_waiting`` runs before the
        caller waits for a lookup (it gives back what others may need meanwhile)."""
        key = (host, port)
        now = time.monotonic()
        started = False
        with self._lock:
            running = self._running.get(key)
            if running is not None and now - running[1] > timeout:
                return None  # that lookup already ran out of the time a save may wait
            if running is None:
                if self._free == 0:
                    return None  # every lookup thread waits for a slow resolver: do not queue
                self._free -= 1
                running = (self._executor.submit(resolve_host, host, port), now)
                self._running[key] = running
                started = True
        if started:  # outside the lock: a finished lookup runs the callback at once, here
            running[0].add_done_callback(lambda done: self._finished(key, done))
        before_waiting()
        try:
            # (on a request thread, the request pool runs another thread while this one waits)
            with waiting_elsewhere():
                return running[0].result(timeout=max(0.0, timeout - (now - running[1])))
        except (FutureTimeout, OSError):
            return None

    def _finished(self, key: tuple[str, int], done: Future) -> None:
        with self._lock:
            if self._running.get(key, (None,))[0] is done:
                del self._running[key]
            self._free += 1

    def busy(self) -> int:
        """Lookups running now."""
        with self._lock:
            return len(self._running)


save_lookups = SaveLookups()


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
    return _refusal_reason(address, allow_private)


@functools.lru_cache(maxsize=4096)
def _refusal_reason(address: str, allow_private: bool) -> str | None:
    """``refusal_reason``, kept per address text and setting (a function of those alone; the
    ``ipaddress`` properties it reads test the address against a dozen networks each, about
    15 us a call; an invalid address raises ``ValueError`` every time, nothing is kept)."""
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


def parse_target(url: str) -> tuple[httpx.URL, str, int]:
    """``_parse_target`` without the literal address."""
    parsed, host, port, _ = _parse_target(url)
    return parsed, host, port


def _parse_target(url: str) -> tuple[httpx.URL, str, int, Address | None]:
    """The URL as the delivery client reads it (httpx), its host, its port and the host's
    address when the host is an IP literal (else ``None``); ``TargetRefused``
    when it is not an http(s) URL a webhook can be sent to.

    Parsing with the client's own parser means the host checked is the host connected to (other
    parsers read e.g. ``http://a.example\\@b.example/`` differently). Refused besides: user info
    (credentials in the URL would be shown to every reader of the endpoint; receivers
    authenticate deliveries by their signature), a fragment (never sent), port 0 or above 65535,
    and host names that are not dot-separated labels of letters, digits, ``-`` and ``_``.
    """
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise TargetRefused(f"the URL cannot be parsed: {exc}") from None
    if parsed.scheme not in DEFAULT_PORTS:
        raise TargetRefused("only http and https URLs are accepted")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise TargetRefused("the URL has no host")
    if parsed.userinfo:
        raise TargetRefused(
            "a user name or password in the URL is not accepted (it would be shown to everyone "
            "who can read the endpoint; receivers verify the signature instead)"
        )
    if parsed.fragment or url.rstrip().endswith("#"):
        raise TargetRefused("a URL fragment (#...) is never sent; remove it")
    port = parsed.port
    if port is not None and not 1 <= port <= 65535:
        raise TargetRefused(f"port {port} is not a TCP port (1 to 65535)")
    literal = literal_address(host)
    if literal is None and not _HOST_NAME.fullmatch(host):
        raise TargetRefused(f"{host!r} is not a valid host name")
    return parsed, host, port or DEFAULT_PORTS[parsed.scheme], literal


def _nothing() -> None:
    return None


def check_url_on_save(
    url: str,
    *,
    allow_private: bool,
    lookup_seconds: float,
    before_lookup: Callable[[], None] = _nothing,
) -> None:
    """The save-time check: syntax, an IP literal at once, a host name on the addresses it
    resolves to within ``lookup_seconds`` (``SaveLookups``; ``before_lookup`` runs before
    waiting). A name without an answer in time is accepted: it is checked at every delivery."""
    _, host, port, literal = _parse_target(url)
    if literal is not None:
        # what check_addresses says of a literal host's one address, without parsing it again
        reason = refusal_reason(str(literal), allow_private=allow_private)
        if reason:
            raise TargetRefused(f"{host}: {reason}")
        return
    addresses = save_lookups.addresses(
        host, port, timeout=lookup_seconds, before_waiting=before_lookup
    )
    if addresses is not None:
        check_addresses(host, addresses, allow_private=allow_private)
