"""An httpx transport that applies the SSRF rules after DNS resolution and connects to the
address it checked (so a DNS answer cannot change between the check and the connection).

httpcore asks its network backend to ``connect_tcp(host, port)``; ``GuardedBackend`` resolves the
host, refuses the target when any address is refused (``webhooks.targets``), then connects to the
checked address. TLS still uses the URL's host name for SNI and certificate verification (httpcore
takes it from the request, not from the socket). Proxies from the environment are ignored and
redirects are never followed (``delivery_client``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from webhooks.targets import check_addresses, resolve_host

CONNECTIONS_PER_POOL = 16


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that only connects to addresses the SSRF rules allow."""

    def __init__(self, *, allow_private: bool, inner: httpcore.AsyncNetworkBackend | None = None):
        self.allow_private = allow_private
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
            addresses = await asyncio.wait_for(asyncio.to_thread(resolve_host, host, port), timeout)
        except (OSError, TimeoutError) as exc:
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

    def __init__(self, *, allow_private: bool, max_connections: int) -> None:
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
            network_backend=GuardedBackend(allow_private=allow_private),
        )


def delivery_client(
    *, allow_private: bool, timeout: float, max_connections: int
) -> httpx.AsyncClient:
    """A client with the guarded transport, no redirects, no environment proxies."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow_private=allow_private, max_connections=max_connections),
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
        self.clients = [
            delivery_client(allow_private=allow_private, timeout=timeout, max_connections=per_pool)
            for _ in range(shards)
        ]

    def for_delivery(self, delivery_id: int) -> httpx.AsyncClient:
        return self.clients[delivery_id % len(self.clients)]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
