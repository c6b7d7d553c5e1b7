"""An httpx transport that applies the SSRF rules after DNS resolution and connects to the
address it checked (so a DNS answer cannot change between the check and the connection).

httpcore asks its network backend to ``connect_tcp(host, port)``; ``GuardedBackend`` resolves the
host, refuses the target when any address is refused (``webhooks.targets``), then connects to the
checked address. TLS still uses the URL's host name for SNI and certificate verification (httpcore
takes it from the request, not from the socket). Proxies from the environment are ignored and
redirects are never followed (``delivery_client``).

Names are resolved by ``AddressResolver``: IP literals without a thread, names with the system
resolver (``getaddrinfo``, so /etc/hosts and search domains apply) on threads of the worker's
own, one per in-flight delivery at most, and a name looked up by several deliveries at once is
resolved once for all of them. A slow DNS answer for one endpoint therefore never delays the
deliveries to others (asyncio's default executor has only ``cpu_count + 4`` threads).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpcore
import httpx

from webhooks.targets import check_addresses, literal_address, resolve_host

CONNECTIONS_PER_POOL = 16


class AddressResolver:
    """Resolves the hosts of one worker's deliveries (see the module docstring).

    ``max_threads`` should be the worker's concurrency: every delivery in flight then has a
    thread for its lookup, however long other lookups take. A lookup abandoned by its delivery
    (timeout) keeps its thread until ``getaddrinfo`` returns, and a later delivery to the same
    host joins it instead of taking another thread.
    """

    def __init__(self, *, max_threads: int) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, max_threads), thread_name_prefix="webhook-resolver"
        )
        self._lookups: dict[tuple[str, int], asyncio.Future[list[str]]] = {}

    async def resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses of ``host``; ``OSError`` when it does not resolve, ``TimeoutError``."""
        literal = literal_address(host)
        if literal is not None:
            return [str(literal)]
        key = (host, port)
        lookup = self._lookups.get(key)
        if lookup is None:
            loop = asyncio.get_running_loop()
            lookup = loop.run_in_executor(self._executor, resolve_host, host, port)
            self._lookups[key] = lookup
            lookup.add_done_callback(lambda done: self._finished(key, done))
        return list(await asyncio.wait_for(asyncio.shield(lookup), timeout))

    def _finished(self, key: tuple[str, int], lookup: asyncio.Future[list[str]]) -> None:
        if self._lookups.get(key) is lookup:
            del self._lookups[key]
        if not lookup.cancelled():
            lookup.exception()  # retrieved: nobody may be waiting any more (all timed out)

    def close(self) -> None:
        """Stop without waiting for lookups still running (their answers are not needed)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that only connects to addresses the SSRF rules allow."""

    def __init__(
        self,
        *,
        allow_private: bool,
        resolver: AddressResolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ):
        self.allow_private = allow_private
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.resolver.resolve(host, port, timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"no address for {host} within {timeout:g} s") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        check_addresses(host, addresses, allow_private=self.allow_private)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None  # noqa: S101 (check_addresses refuses an empty list)
        raise last_error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks are never delivered over unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """``AsyncHTTPTransport`` whose connection pool uses ``GuardedBackend``."""

    def __init__(
        self, *, allow_private: bool, max_connections: int, resolver: AddressResolver
    ) -> None:
        super().__init__(trust_env=False)
        # httpx does not take a network backend, so its pool is rebuilt around ours (same
        # defaults as httpx's, HTTP/1.1 only).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )


def delivery_client(
    *, allow_private: bool, timeout: float, max_connections: int, resolver: AddressResolver
) -> httpx.AsyncClient:
    """A client with the guarded transport, no redirects, no environment proxies."""
    return httpx.AsyncClient(
        transport=GuardedTransport(
            allow_private=allow_private, max_connections=max_connections, resolver=resolver
        ),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )


class DeliveryClients:
    """The clients of one worker: ``concurrency`` connections split over several pools.

    httpcore's pool matches queued requests to connections in time proportional to the number of
    connections, for every request; one pool of 64 spends more CPU there than on sending.
    Several small pools (a delivery always uses the same one) keep that cost flat.
    """

    def __init__(self, *, allow_private: bool, timeout: float, concurrency: int) -> None:
        shards = max(1, math.ceil(concurrency / CONNECTIONS_PER_POOL))
        per_pool = math.ceil(concurrency / shards)
        self.resolver = AddressResolver(max_threads=concurrency)
        self.clients = [
            delivery_client(
                allow_private=allow_private,
                timeout=timeout,
                max_connections=per_pool,
                resolver=self.resolver,
            )
            for _ in range(shards)
        ]

    def for_delivery(self, delivery_id: int) -> httpx.AsyncClient:
        return self.clients[delivery_id % len(self.clients)]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.resolver.close()
