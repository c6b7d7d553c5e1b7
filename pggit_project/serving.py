"""HTTP on the ASGI server without a new thread per request: Django's synchronous path on a pool.

Django's own ``ASGIHandler`` runs the synchronous middleware and views of each request in a
``ThreadSensitiveContext``: a new thread per request (about 6,800 in one 30-second benchmark), and
several hops between the event loop and threads per request (``request_started``, the middleware
chain, ``response.close``). ``PooledHTTPHandler`` keeps Django's ASGI request parsing and response
sending, and runs everything synchronous of a request — ``request_started``, the (synchronous)
middleware chain and view, ``response.close()`` with ``request_finished`` — in **one** call on a
fixed pool of ``PGGIT_WEB_THREADS`` threads, exactly as a threaded WSGI server would. Each pool
thread keeps its own database connection wrapper between requests (``request_finished`` hands the
connection back to the psycopg pool), so nothing is created per request either.

A streaming response (none of the API's; admin or a third-party view may return one) is sent
chunk by chunk from the event loop, its iterator advanced on the pool; it is closed on the pool
after the last chunk. The measurement that chose this model is in docs/benchmarks.md ("HTTP
serving model") and the reasoning in docs/architecture.md ("Serving").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import queue
import threading
import time
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import ResolverMatch, get_resolver, set_script_prefix
from django.utils.translation import get_language

from pggit_project.constants import REQUEST_ID_HEADER
from pggit_project.request_id import bind_request_id, choose_request_id

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("pggit.access")
_REQUEST_ID = REQUEST_ID_HEADER.lower().encode()

_END = object()


class PooledHTTPHandler(ASGIHandler):
    """ASGI application for HTTP: Django's synchronous request path on a fixed thread pool."""

    def __init__(self, threads: int) -> None:
        base.BaseHandler.__init__(self)  # not ASGIHandler.__init__: its middleware chain is async
        self.load_middleware(is_async=False)
        self.pool = RequestPool(threads, "pggit-http")

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"PooledHTTPHandler serves HTTP only, not {scope['type']!r}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        try:
            response = await self.pool.run(loop, self._respond, scope, body_file)
            if response.streaming and response.is_async:
                try:
                    await self.send_response(response, send)
                finally:
                    await self.pool.run(loop, response.close)
            elif response.streaming:
                await self._send_streaming(loop, response, send)
            else:
                await self.send_response(response, send)
        finally:
            body_file.close()

    async def read_body(self, receive):
        """Django's, except that a body that arrives in one message no larger than
        ``FILE_UPLOAD_MAX_MEMORY_SIZE`` (every GET's empty one, an API request's JSON) is kept in
        a ``BytesIO`` — what Django's ``SpooledTemporaryFile`` holds such a body in — without
        building the spooled file. Anything else goes to Django's ``read_body`` (the first message
        given to it again)."""
        first = await receive()
        body = first.get("body", b"")
        if (
            first["type"] == "http.request"
            and not first.get("more_body", False)
            and len(body) <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        ):
            return io.BytesIO(body)
        pending = [first]

        async def replayed():
            return pending.pop() if pending else await receive()

        return await super().read_body(replayed)

    def resolve_request(self, request):
        """Django's, with the path's match kept (per URL configuration, language and path; at
        most ``RESOLVED_PATHS``, least recently used dropped): resolving an API path tries the
        routes of every app before it (about 90 µs a request). A path that does not resolve (a
        404) is not kept. Each request gets its own copy of the match (and of its kwargs)."""
        if hasattr(request, "urlconf"):
            return super().resolve_request(request)
        known = _resolve(get_resolver(), get_language(), request.path_info)
        match = ResolverMatch(
            known.func,
            known.args,
            dict(known.kwargs),
            known.url_name,
            known.app_names,
            known.namespaces,
            known.route,
            known.tried,
            known.captured_kwargs,
            known.extra_kwargs,
        )
        request.resolver_match = match
        return match

    def _respond(self, scope: dict[str, Any], body_file):
        """On a pool thread: the whole synchronous part of one request (a closed response unless
        it streams: then the caller closes it after sending)."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
        if not response.streaming:
            response.close()  # request_finished: the database connection goes back to the pool
            _break_cycles(request, response)
        return response

    async def _send_streaming(self, loop, response, send) -> None:
        try:
            await self.send_response_start(response, send)
            chunks = iter(response.streaming_content)
            while True:
                part = await self.pool.run(loop, next, chunks, _END)
                if part is _END:
                    break
                for chunk, _ in self.chunk_bytes(part):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body"})
        finally:
            await self.pool.run(loop, response.close)

    async def send_response_start(self, response, send) -> None:
        headers = [
            (
                header.encode("ascii") if isinstance(header, str) else bytes(header),
                value.encode("latin1") if isinstance(value, str) else bytes(value),
            )
            for header, value in response.items()
        ]
        headers += [
            (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
            for cookie in response.cookies.values()
        ]
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )


class RequestPool:
    """A fixed set of threads running calls handed over by the event loop, each call's outcome
    handed back with one ``call_soon_threadsafe``.

    What ``loop.run_in_executor`` on a ``ThreadPoolExecutor`` does, with less work per call:
    there a call is a ``concurrent.futures.Future`` (its condition variable taken to set the
    result and again by each of its callbacks), an asyncio future chained to it by two callbacks
    and a work item; that hand-back was about a seventh of a loaded web process's samples
    (docs/benchmarks.md, "Issue 16: the request pool's hand-off"). Here a call is one queue entry
    and one asyncio future, settled on the loop. As with the executor, a call whose awaiting task
    is cancelled before the call begins is not run, and one already running runs to its end on
    its thread (a request is never cut in the middle of its transaction), its outcome dropped.
    The threads start with the first call and are daemons: one waiting for work never holds the
    process at exit, and uvicorn's shutdown waits for the requests in flight before that.

    A call that waits on something outside the process (a webhook's save-time name lookup:
    ``waiting_elsewhere``) does not take a thread from the others: while it waits, the pool
    runs one more thread, which ends after its next call once nothing waits any more. So
    ``threads`` can be what the process's CPU needs, not that plus every wait that may happen
    at once; the threads alive never exceed ``threads`` plus the calls waiting, nor twice
    ``threads`` (saves of one host name may all join one lookup). A save waiting outside a
    transaction has given its database connection back first; one inside an atomic block (the
    admin's) keeps it while another thread stands in for it."""

    def __init__(self, threads: int, name: str) -> None:
        self.size, self.name = threads, name
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()
        self._alive = 0  # threads running calls (or waiting for one)
        self._waiting = 0  # calls of those threads waiting on something outside the process
        self._named = 0  # threads started so far (each thread's number in its name)

    def run(self, loop: asyncio.AbstractEventLoop, function, *args) -> asyncio.Future:
        """``function(*args)`` on a pool thread; the future (of ``loop``) of its result."""
        if not self._started:
            self._start()
        future = loop.create_future()
        self._calls.put((loop, future, function, args))
        return future

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            for _ in range(self.size):
                self._add_thread()
            self._started = True

    def _add_thread(self) -> None:
        """One more thread taking calls (under ``_lock``)."""
        threading.Thread(target=self._work, name=f"{self.name}_{self._named}", daemon=True).start()
        self._named += 1
        self._alive += 1

    def _wanted(self) -> int:
        """The threads the pool should have now: its size plus one per call waiting elsewhere,
        at most twice its size (saves of one host name may all join one lookup and wait)."""
        return self.size + min(self._waiting, self.size)

    @contextlib.contextmanager
    def waiting(self):
        """Around a pool call's wait on something outside the process: another thread takes
        calls meanwhile (see the class docstring)."""
        with self._lock:
            self._waiting += 1
            try:
                if self._alive < self._wanted():
                    self._add_thread()
            except RuntimeError:  # no thread can be started now: the call waits as before
                logger.warning(
                    "%s: no thread to stand in for a waiting call", self.name, exc_info=True
                )
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def _work(self) -> None:
        _pool_thread.pool = self
        take = self._calls.get
        while True:
            loop, future, function, args = take()
            if future.cancelled():  # its task was cancelled before the call began: not run
                loop = future = function = args = None
                continue
            try:
                value, failed = function(*args), False
            except BaseException as error:  # (the awaiting task's to raise, as with an executor)
                value, failed = error, True
            try:
                loop.call_soon_threadsafe(_settle, future, value, failed)
            except Exception:  # (the loop closed, say): nobody awaits the outcome any more
                logger.warning("%s: an outcome could not reach its loop", self.name, exc_info=True)
            # (nothing of the last call kept alive while the thread waits for the next)
            loop = future = function = args = value = None
            if self._alive > self._wanted():  # (read without the lock: a hint)
                with self._lock:
                    if self._alive > self._wanted():  # a wait it stood in for ended
                        self._alive -= 1
                        return


_pool_thread = threading.local()  # .pool: the RequestPool whose thread this is


@contextlib.contextmanager
def waiting_elsewhere():
    """Around a wait on something outside the process (a name lookup, say): on a request
    pool's thread, the pool runs another thread meanwhile (``RequestPool.waiting``); elsewhere
    (a management command, a worker, a test's own thread) nothing happens."""
    pool = getattr(_pool_thread, "pool", None)
    if pool is None:
        yield
        return
    with pool.waiting():
        yield


def _settle(future: asyncio.Future, value, failed: bool) -> None:
    """On the loop: a pool call's outcome into its future, unless that was cancelled meanwhile
    (the outcome is then dropped)."""
    if future.done():
        return
    if failed:
        future.set_exception(value)
    else:
        future.set_result(value)


def _break_cycles(request, response) -> None:
    """Drop the references that make a finished request's objects a reference cycle.

    Django and DRF link a request's objects both ways: the request and its ``auser`` partial and
    message storage, DRF's request and view (``view.request``, ``parser_context["view"]``), the
    response and its renderer context, a serializer and its child, fields and context. Left so,
    each request's whole graph (the request, the view, the serializers, the page's model
    instances: about 190 container objects for a list page) outlives the request until the cyclic
    garbage collector finds it, and those collections, which hold the interpreter lock, were a
    fifth of a web process's CPU under load and its longest pauses (docs/benchmarks.md, "Issue
    16: the request graph freed when the request ends"). Once a non-streaming response is closed
    (``request_finished`` has run) nothing reads these objects again: the event loop sends the
    response's status, headers, cookies and content only. Emptying their attribute dictionaries
    lets reference counting free the graph at once.
    """
    context = response.__dict__.pop("renderer_context", None) or {}
    data = response.__dict__.pop("data", None)
    done = [context.get("view"), context.get("request"), request]
    for value in [data, *(data.values() if isinstance(data, dict) else ())]:
        serializer = getattr(value, "serializer", None)  # DRF's ReturnDict / ReturnList
        if serializer is not None:
            done += [serializer, serializer.__dict__.get("child")]
    for thing in done:
        if thing is not None:
            thing.__dict__.clear()


RESOLVED_PATHS = 4096


@functools.lru_cache(maxsize=RESOLVED_PATHS)
def _resolve(resolver, language: str | None, path: str):
    """``resolver.resolve(path)``, kept (the language is part of the key for URL configurations
    with language prefixes)."""
    return resolver.resolve(path)


class LivenessApp:
    """ASGI middleware: ``GET /health`` answered on the event loop, without a thread or Django.

    Liveness does no I/O and its answer never changes within a process, so once Django has
    answered it ordinarily (status 200) for a scheme and ``Host`` (which proves that host allowed),
    later requests like it get the same status, headers and body, with their own
    ``X-Request-ID`` (the client's when well formed, as ``RequestIdMiddleware`` does) and the same
    access log line. A request with anything that could change the answer — another method, a
    query string, a cookie, a body, an ``Accept`` other than JSON — takes the ordinary path.
    """

    PATHS = ("/health", "/health/")
    ACCEPTED = (None, b"*/*", b"application/json")
    MAX_TEMPLATES = 64  # one per (scheme, Host) seen; bounded against made-up Host headers

    def __init__(self, app) -> None:
        self.app = app
        self._templates: dict[tuple[str, bytes], tuple[list[tuple[bytes, bytes]], bytes]] = {}

    async def __call__(self, scope, receive, send) -> None:
        key = self._key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        template = self._templates.get(key)
        if template is None:
            await self.app(scope, receive, self._learning(key, send))
            return
        started = time.monotonic()
        offered = dict(scope["headers"]).get(_REQUEST_ID)
        request_id = choose_request_id(offered.decode("latin-1") if offered else None)
        headers, body = template
        headers = [
            (name, request_id.encode() if name.lower() == _REQUEST_ID else value)
            for name, value in headers
        ]
        bind_request_id(request_id)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            access_logger.info(
                "GET %s 200 %.1fms", scope["path"], (time.monotonic() - started) * 1000
            )
        finally:
            bind_request_id(None)

    def _key(self, scope) -> tuple[str, bytes] | None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or scope.get("path") not in self.PATHS
            or scope.get("query_string")
            or scope.get("root_path")
        ):
            return None
        host = None
        for name, value in scope.get("headers", ()):
            name = name.lower()
            if name in (b"cookie", b"content-length", b"transfer-encoding"):
                return None
            if name == b"accept" and value not in self.ACCEPTED:
                return None
            if name == b"host":
                if host is not None:
                    return None
                host = value
        return (scope.get("scheme", "http"), host or b"")

    def _learning(self, key, send):
        state: dict[str, Any] = {}

        async def learning_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                state["headers"] = [(bytes(n), bytes(v)) for n, v in message.get("headers", ())]
            elif message["type"] == "http.response.body" and "headers" in state:
                if message.get("more_body"):
                    state.clear()  # a streamed answer is not learnt
                elif len(self._templates) < self.MAX_TEMPLATES:
                    self._templates[key] = (state["headers"], bytes(message.get("body", b"")))
            await send(message)

        return learning_send
