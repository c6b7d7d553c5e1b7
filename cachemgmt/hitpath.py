"""The early hit path: cache hits answered at the ASGI level, before Django and DRF run.

``CacheHitApp`` wraps the HTTP application (``pggit_project.asgi``). For a ``GET`` of a cached
endpoint it answers, on the event loop and without a database query, when *everything* below holds;
otherwise it hands the request, untouched, to the ordinary path (Django, DRF, ``@cached_response``),
which answers exactly as it would without this layer:

- the view is a ``@cached_response``/``CachedViewSetMixin`` handler whose authorisation for a
  ``GET`` is the project's default: ``JWTAuthentication`` only, ``RolePermissions`` (or
  ``IsAuthenticated``) only, no throttles, one JSON renderer only (DRF's or the project's, which
  writes the same bytes: ``KNOWN_RENDERERS``), no versioning, DRF's content
  negotiation or the project's (``KNOWN_NEGOTIATION``), and none of DRF's request-handling hooks
  overridden;
- the request has no body, no cookie, no ``?format=``, a ``Host`` that ``ALLOWED_HOSTS`` accepts,
  an ``Accept`` the JSON renderer answers with plain ``application/json``, and a ``Bearer`` token
  that SimpleJWT's own token classes validate (signature, expiry, type; the signature once per
  process: ``pggit_project.authentication.ValidatedTokens``);
- the token's user exists, is active, holds the view's read permissions and has not changed
  password since the token was issued (``UserStates``: what this process read of the user, used
  only while the user-state generation it was read under is current);
- L1 holds the entry under the generations last read, and Redis confirms them and the user-state
  generation current while counting the hit (``CacheStore.l1_hit``: one round trip);
- for an answer about the engine's state (status, branches, commits), the engine-state version
  read from PostgreSQL after the request arrived (one more round trip, shared by the hits waiting
  for it, on a connection of the hit path's own: ``cachemgmt.state_version``) is the one the entry
  was computed under;
- an ordinary answer of this view was seen before (``_templates``): the headers Django, DRF and the
  middleware add around a stored entry (``Allow``, ``Vary``, the security headers...) are copied
  from it, so a hit here is byte-identical to a hit through the ordinary path, with its own
  ``X-Request-ID`` and ``X-Cache: hit-l1``.

Any doubt (an invalid token, an unknown user, a missing permission, a miss, an error) means the
ordinary path answers: it then does its own authentication (401 with ``WWW-Authenticate``),
authorisation (403), host validation (400), lookups and counting. When the database cannot be
reached, the connection used to read user states is closed (a new one is made once it is back),
a warning is logged, and the early path answers 503 in the API's error shape, as the ordinary
path does. Once any part of the process has failed to reach the database
(``pggit_project.outage``), the early path reads user states again (one read at a time; other
requests meanwhile take the ordinary path) until a read succeeds, so it answers like the ordinary
path.
``/health/deep`` reports the early path's last failed read (check ``cache_hit_path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import threading
import time
from types import SimpleNamespace
from typing import Any, NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_backends, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.http import QueryDict
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve
from rest_framework.authentication import SessionAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin
from rest_framework_simplejwt.authentication import AUTH_HEADER_TYPE_BYTES
from rest_framework_simplejwt.authentication import JWTAuthentication as SimpleJWTAuthentication
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import BlacklistMixin

from cachemgmt import state_version
from cachemgmt.constants import CACHE_STATUS_HEADER, HIT_L1, HIT_L2, MISS
from cachemgmt.decorators import audience_of, digest_of, response_from
from cachemgmt.redis_link import RedisUnavailable
from cachemgmt.runtime import get_store
from pggit_project import renderers
from pggit_project.authentication import JWTAuthentication
from pggit_project.constants import REQUEST_ID_HEADER
from pggit_project.errors import body_for_status, error_response
from pggit_project.negotiation import ContentNegotiation
from pggit_project.outage import Reachability, database_reachability
from pggit_project.permissions import VIEW_SENSITIVE, RolePermissions, required_permissions
from pggit_project.request_id import bind_request_id, choose_request_id
from pggit_project.tokens import password_digest

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("pggit.access")

# How long this process keeps what it read about a user (exists, active, staff) at most. Whether
# it is still true is checked on every hit (the user-state generation, see ``UserStates``).
USER_STATE_TTL_SECONDS = 60.0
# A read of one user's state also reads, in the same query, the states of the users this process
# used within the last TTL whose state is missing, stale or due to expire within this fraction of
# the TTL (at most USER_STATE_BATCH_MAX users in all): after a start, an expiry or a user change,
# the users seen recently are read again in one query, not one by one.
USER_STATE_RENEW_FRACTION = 0.25
USER_STATE_BATCH_MAX = 1000
# One read at a time: a thread needing a state while another thread reads waits for that read
# (which may bring its state along) at most this long, then reads itself.
USER_STATE_READ_WAIT_SECONDS = 1.0

# The attributes in which django.contrib.auth's ModelBackend keeps a user's permissions.
PERMISSION_CACHES = ("_perm_cache", "_user_perm_cache", "_group_perm_cache")

# Permission classes the early path knows how to check (IsAuthenticated: no permission needed).
KNOWN_PERMISSION_CLASSES = (IsAuthenticated, RolePermissions)
# The early path answers bearer-token requests only: for them JWT authenticates first and a
# session authenticator after it is never consulted, so these lists answer alike.
KNOWN_AUTHENTICATION = tuple(
    [jwt, *session]
    for jwt in (JWTAuthentication, SimpleJWTAuthentication)
    for session in ([], [SessionAuthentication])
)
# Hosts Django accepts in debug mode when ALLOWED_HOSTS is empty (HttpRequest.get_host).
DEBUG_HOSTS = [".localhost", "127.0.0.1", "[::1]"]
ACCEPTED = (None, b"*/*", b"application/json")
# Content negotiation classes whose answer for these Accept values, without a format override and
# with the JSON renderer only, is that renderer with "application/json" — the answer an early hit
# gives: DRF's, and the project's (DRF's with that answer known in advance, the API's default:
# pggit_project.negotiation). Any other class, a subclass of these included, may answer otherwise.
KNOWN_NEGOTIATION = (DefaultContentNegotiation, ContentNegotiation)
# Renderer lists whose answer is JSON as an early hit sends it: DRF's renderer alone, or the
# project's (pggit_project.renderers: DRF's bytes, encoded by orjson), by identity.
KNOWN_RENDERERS = ([JSONRenderer], [renderers.JSONRenderer])
# DRF's request-handling steps: when a view overrides one, its reads take the ordinary path.
HOOKS = (
    "dispatch",
    "initialize_request",
    "initial",
    "perform_authentication",
    "check_permissions",
    "check_throttles",
    "determine_version",
    "perform_content_negotiation",
    "get_authenticators",
    "get_permissions",
    "get_throttles",
    "get_renderers",
    "get_content_negotiator",
)
_OUTCOMES = {MISS.encode(), HIT_L1.encode(), HIT_L2.encode()}
_CACHE_HEADER = CACHE_STATUS_HEADER.lower().encode()
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.lower().encode()


class DatabaseUnavailable(Exception):
    """Reading a user's state failed: the database cannot be reached (answered 503)."""


class UserState(NamedTuple):
    active: bool
    superuser: bool
    password: str  # the revocation claim tokens must carry (``pggit_project.tokens``)
    permissions: frozenset[str]
    generation: int
    # The user as read, with Django's permission caches filled (``ModelBackend``'s
    # ``_perm_cache``...): never handed out itself, only copies (``user_copy``).
    user: Any = None

    def user_copy(self):
        """A request's own copy of the user, its permissions known (no query for ``has_perm``)."""
        user = copy.copy(self.user)
        for name in PERMISSION_CACHES:
            cached = getattr(self.user, name, None)
            if cached is not None:
                setattr(user, name, set(cached))
        return user

    def holds(self, required: tuple[str, ...]) -> bool:
        return self.active and (self.superuser or self.permissions.issuperset(required))


# The early path's own reads of user states (``/health/deep``, check ``cache_hit_path``).
database_health = Reachability()


class UserStates:
    """user id (the token's claim) → ``UserState`` (active, superuser, password digest,
    permissions, user-state generation).

    A state is read from the database after reading the user-state generation
    (``CacheStore.user_generation``), and used only while that generation is current: every hit
    checks it in its one Redis round trip. A user saved or deleted anywhere bumps it — through
    Django (``post_save``/``post_delete``: at once, in every process) or by any other means
    (``QuerySet.update()``, SQL: the trigger of sql/engine/cache/announce.sql announces it, and the
    listener bumps it). Group and permission changes bump it too (``forget_permissions``; by
    SQL: the triggers cachemgmt 0006 attaches to the membership and permission tables).
    ``ttl`` only bounds the memory a state is kept in.

    A state is read in one query (the user, its own and its groups' permissions: ``_read_users``),
    together with the states of the other users used within the last ``ttl`` that are missing,
    read under an older generation or about to expire (``_batch``), one read at a time (``_read``:
    threads that need states while a read runs wait for it, then use what it brought). Each state
    so read is kept under the generation read before the query, exactly as a state read alone.
    """

    def __init__(
        self,
        ttl: float = USER_STATE_TTL_SECONDS,
        batch_max: int = USER_STATE_BATCH_MAX,
    ) -> None:
        self.ttl = ttl
        self.batch_max = batch_max
        self._states: dict[str, tuple[UserState, float]] = {}
        # user id → when its state was last asked for (``get``): the users a batch reads (an id
        # that matched no user is dropped, until it is asked for again)
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # held by the read in progress (``_read``)
        self._epoch = 0  # bumped by every forget: a read that overlapped one is not kept

    def get(self, user_id: Any) -> UserState | None:
        key = str(user_id)
        now = time.monotonic()
        self._used[key] = now
        state = self._states.get(key)
        if state is None or state[1] <= now:
            return None
        return state[0]

    def _current(self, user_id: Any, generation: int) -> UserState | None:
        """The state kept for the user, unexpired and read under ``generation``, or ``None``."""
        state = self.get(user_id)
        return state if state is not None and state.generation == generation else None

    def load(self, user_id: Any) -> UserState | None:
        """Read the user from the database (``None``: no such user, or the user-state generation
        is unknown just now) and remember it; ``DatabaseUnavailable`` when the database cannot
        be reached. A state another read (a batch) kept under the current generation meanwhile is
        used as it is, except while the database is believed unreachable (every load is then a
        probe).

        Runs in ``sync_to_async``'s thread, outside Django's request cycle: the connection is
        given back (closed, or returned to the pool) after each read as a request's would be,
        and closed when the read failed, so that a restarted database is reached again.
        """
        with self._lock:
            epoch = self._epoch
        generation = get_store().user_generation()  # before the read: see the class docstring
        if generation is None:
            return None
        probe = database_reachability.failing()
        if not probe:
            state = self._current(user_id, generation)
            if state is not None:
                return state
        try:
            _give_back_connection()
            state = self._read(user_id, generation, epoch, probe=probe)
        except DatabaseError as exc:
            database_health.record_failure(exc)
            database_reachability.record_failure(exc)
            logger.warning(
                "cache: the early hit path cannot read user states (%s); cached reads answer "
                "503 until the database is back",
                database_health.error,
            )
            if not connection.in_atomic_block:
                connection.close()
            raise DatabaseUnavailable from exc
        finally:
            _give_back_connection()
        database_health.record_success()
        database_reachability.record_success()
        return state

    def for_request(self, user_id: Any) -> UserState | bool | None:
        """For the ordinary path (a request's thread, its database connection): the user's state,
        current under the user-state generation just read, from memory or read now; ``None``: no
        such user; ``False``: this process cannot vouch for the generation just now (Redis
        unreachable; local mode before its follower is connected) — the caller reads the user
        itself. Database errors propagate as for any query of the request."""
        store = get_store()
        if store.redis is None and not store.local_ready.is_set():
            return False
        with self._lock:
            epoch = self._epoch
        generation = store.user_generation()  # one Redis round trip; before any read
        if generation is None:
            return False
        state = self._current(user_id, generation)
        if state is not None:
            return state
        state = self._read(user_id, generation, epoch)
        # the database answered: the early path may use remembered states again (while it
        # believes the database unreachable it re-reads every state, as a probe)
        database_health.record_success()
        database_reachability.record_success()
        return state

    def _read(self, user_id: Any, generation: int, epoch: int, probe: bool = False):
        """Read the user's state in a batch (``_batch``) and keep what was read; one read at a
        time: a read in progress in another thread is waited for (``USER_STATE_READ_WAIT_SECONDS``
        at most) and its states used when it brought this user's under ``generation`` — unless
        this read is a probe of the database."""
        waited = self._reading.acquire(timeout=USER_STATE_READ_WAIT_SECONDS)
        try:
            if waited and not probe:
                state = self._current(user_id, generation)
                if state is not None:
                    return state
            batch = self._batch(user_id, generation)
            users = _read_users(batch)
            return self._keep(user_id, batch, users, generation, epoch)
        finally:
            if waited:
                self._reading.release()

    def _batch(self, user_id: Any, generation: int) -> list[str]:
        """The user ids to read: ``user_id`` first, then the users asked for within the last
        ``ttl`` whose state is missing, read under another generation or due to expire soon."""
        key = str(user_id)
        now = time.monotonic()
        forgotten = now - self.ttl
        renew_before = now + self.ttl * USER_STATE_RENEW_FRACTION
        batch = [key]
        for other, used in list(self._used.items()):
            if used <= forgotten:
                self._used.pop(other, None)
                continue
            if other == key or len(batch) >= self.batch_max:
                continue
            kept = self._states.get(other)
            if kept is None or kept[1] <= renew_before or kept[0].generation != generation:
                batch.append(other)
        return batch

    def _keep(self, user_id, batch: list[str], users: dict, generation, epoch) -> UserState | None:
        """Keep the states read (``batch``: the ids asked for; ``users``: user id → (user,
        permissions) of those found) unless a forget overlapped the read; the state of
        ``user_id`` (``None``: no such user)."""
        expires = time.monotonic() + self.ttl
        states = {
            key: UserState(
                active=bool(user.is_active),
                superuser=bool(user.is_superuser),
                password=password_digest(user.password),
                permissions=permissions,
                generation=generation,
                user=user,
            )
            for key, (user, permissions) in users.items()
        }
        with self._lock:
            for key in batch:
                if key not in states:
                    self._used.pop(key, None)
            if epoch == self._epoch:
                for key, state in states.items():
                    self._states[key] = (state, expires)
        return states.get(str(user_id))

    def forget(self, user_id: Any) -> None:
        with self._lock:
            self._epoch += 1
            self._states.pop(str(user_id), None)

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._states.clear()


user_states = UserStates()


def _read_users(user_ids: list[str]) -> dict[str, tuple[Any, frozenset[str]]]:
    """user id → (the user, its permissions) of the users found among ``user_ids``, in one query.

    The permissions are those ``get_all_permissions`` gives for an active user that is not a
    superuser (none otherwise, as ``ModelBackend`` gives none to an inactive user, and a superuser
    holds every permission): its own and its groups', read in the same query as the user
    (``_state_query``) when ``ModelBackend`` is the only backend that answers permissions, and
    left in the caches ``ModelBackend`` keeps on the user (``_perm_cache``...), so that
    ``has_perm`` asks nothing more. With another permission backend, the users are read in one
    query and each one's permissions asked of the backends (``get_all_permissions``)."""
    model = get_user_model()
    field = model._meta.get_field(jwt_settings.USER_ID_FIELD)
    values = []
    for user_id in user_ids:
        try:
            values.append(field.get_prep_value(field.to_python(user_id)))
        except (ValidationError, TypeError, ValueError):
            continue  # no user has such an id
    if not values:
        return {}
    found = {}
    if not _model_backend_only():
        for user in model.objects.filter(**{f"{field.name}__in": values}):
            permissions = (
                frozenset(user.get_all_permissions())
                if user.is_active and not user.is_superuser
                else frozenset()
            )
            found[str(getattr(user, field.attname))] = (user, permissions)
        return found
    sql, attnames = _state_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [values])
        rows = cursor.fetchall()
    for row in rows:
        user = model.from_db(connection.alias, attnames, row[:-2])
        permissions = frozenset()
        if user.is_active and not user.is_superuser:
            user._user_perm_cache = set(row[-2])
            user._group_perm_cache = set(row[-1])
            user._perm_cache = user._user_perm_cache | user._group_perm_cache
            permissions = frozenset(user._perm_cache)
        found[str(getattr(user, field.attname))] = (user, permissions)
    return found


def _model_backend_only() -> bool:
    """Whether ``ModelBackend`` itself is the only backend asked for permissions
    (``PermissionsMixin`` asks every backend that has ``get_all_permissions``)."""
    answering = [b for b in get_backends() if hasattr(b, "get_all_permissions")]
    return len(answering) == 1 and type(answering[0]) is ModelBackend


@functools.cache
def _state_query() -> tuple[str, list[str]]:
    """The query reading users' states (one parameter: an array of user ids) and the attribute
    names of the user's columns it selects first; then two arrays of ``app_label.codename``: the
    user's own permissions (``user_permissions``) and its groups' (``groups``' ``permissions``),
    what ``ModelBackend`` reads in two more queries. Built once from the models' metadata."""
    quote = connection.ops.quote_name
    user = get_user_model()._meta
    own = user.get_field("user_permissions")
    groups = user.get_field("groups")
    of_group = groups.related_model._meta.get_field("permissions")
    permission = Permission._meta
    content_type = permission.get_field("content_type").related_model._meta
    user_pk = f"u.{quote(user.pk.column)}"

    app_label = quote(content_type.get_field("app_label").column)
    codename = quote(permission.get_field("codename").column)
    type_of = quote(permission.get_field("content_type").column)

    def names(joined: str) -> str:
        # names quoted from the models' metadata only, no value
        return (
            f"ARRAY(SELECT ct.{app_label} || '.' || p.{codename} "  # noqa: S608
            f"FROM {quote(permission.db_table)} p JOIN {quote(content_type.db_table)} ct "
            f"ON ct.{quote(content_type.pk.column)} = p.{type_of} {joined})"
        )

    own_names = names(
        f"JOIN {quote(own.m2m_db_table())} up "
        f"ON up.{quote(own.m2m_reverse_name())} = p.{quote(permission.pk.column)} "
        f"WHERE up.{quote(own.m2m_column_name())} = {user_pk}"
    )
    group_names = names(
        f"JOIN {quote(of_group.m2m_db_table())} gp "
        f"ON gp.{quote(of_group.m2m_reverse_name())} = p.{quote(permission.pk.column)} "
        f"JOIN {quote(groups.m2m_db_table())} ug "
        f"ON ug.{quote(groups.m2m_reverse_name())} = gp.{quote(of_group.m2m_column_name())} "
        f"WHERE ug.{quote(groups.m2m_column_name())} = {user_pk}"
    )
    fields = user.concrete_fields
    id_column = quote(user.get_field(jwt_settings.USER_ID_FIELD).column)
    columns = ", ".join(f"u.{quote(f.column)}" for f in fields)
    sql = (
        f"SELECT {columns}, {own_names}, {group_names} "  # noqa: S608 (names from the metadata)
        f"FROM {quote(user.db_table)} u WHERE u.{id_column} = ANY(%s)"
    )
    return sql, [f.attname for f in fields]


def _give_back_connection() -> None:
    """What Django does at the start and end of a request: close the connection when it is
    unusable or past ``CONN_MAX_AGE`` (with the pool: give it back). Not inside a transaction
    (a test's): the connection is then in use."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def forget_user(sender, instance, **kwargs) -> None:
    """``post_save``/``post_delete`` receiver of the user model: forget the user here at once,
    and make every process's user states stale once the change has committed."""
    user_states.forget(getattr(instance, jwt_settings.USER_ID_FIELD))
    transaction.on_commit(_bump_users, using=kwargs.get("using"))


def forget_permissions(sender=None, **kwargs) -> None:
    """``m2m_changed`` of group memberships and permissions, ``post_save``/``post_delete`` of
    groups and permissions: every process reads its users' permissions again."""
    user_states.clear()
    transaction.on_commit(_bump_users, using=kwargs.get("using"))


def _bump_users() -> None:
    # If Redis is unreachable, the first call that reaches it again bumps everything, users too.
    with contextlib.suppress(RedisUnavailable):
        get_store().bump_users()


class _Plan:
    __slots__ = (
        "digest_parts",
        "engine_state",
        "names",
        "namespace",
        "request_id",
        "required",
        "scheme",
        "token",
        "vary_on_user",
        "view",
    )


class _Eligible(NamedTuple):
    namespace: str
    names: tuple[str, ...]
    vary_on_user: bool
    required: tuple[str, ...]  # the permissions a GET needs


# view function → what its early hits need, or None when its reads take the ordinary path.
_eligible: dict[Any, _Eligible | None] = {}
# (view function, scheme) → the headers of its last ordinary cached answer, X-Cache removed.
_templates: dict[tuple[Any, str], list[tuple[bytes, bytes]]] = {}
_authenticator = JWTAuthentication()
# (event loop, user id) → the read of that user's state in progress.
_loading: dict[tuple[int, str], asyncio.Task] = {}


def _setting(view_function, cls, name: str):
    initkwargs = getattr(view_function, "initkwargs", None) or {}
    return initkwargs[name] if name in initkwargs else getattr(cls, name, None)


def _eligibility(view_function) -> _Eligible | None:
    cls = getattr(view_function, "cls", None)
    if cls is None or not issubclass(cls, APIView):
        return None
    actions = getattr(view_function, "actions", None)
    handler_name = actions.get("get") if actions else "get"
    handler = getattr(cls, handler_name or "", None)
    if not getattr(handler, "pggit_cached", False):
        return None
    for hook in HOOKS:
        found = getattr(cls, hook, None)
        if found not in (getattr(APIView, hook, None), getattr(ViewSetMixin, hook, None)):
            return None
    authentication = list(_setting(view_function, cls, "authentication_classes") or ())
    permissions = list(_setting(view_function, cls, "permission_classes") or ())
    if authentication not in KNOWN_AUTHENTICATION or not permissions:
        return None
    if any(permission not in KNOWN_PERMISSION_CLASSES for permission in permissions):
        return None
    required: tuple[str, ...] = ()
    if RolePermissions in permissions:
        view = SimpleNamespace(
            required_permissions=_setting(view_function, cls, "required_permissions"),
            queryset=_setting(view_function, cls, "queryset"),
        )
        required = tuple(required_permissions(view, handler_name, "GET"))
        if not required:
            return None  # superusers only: not worth an early path
    if list(_setting(view_function, cls, "throttle_classes") or ()):
        return None
    if list(_setting(view_function, cls, "renderer_classes") or ()) not in KNOWN_RENDERERS:
        return None
    if _setting(view_function, cls, "versioning_class") is not None:
        return None
    if _setting(view_function, cls, "content_negotiation_class") not in KNOWN_NEGOTIATION:
        return None
    return _Eligible(
        handler.cache_namespace, handler.cache_names, handler.cache_vary_on_user, required
    )


def _process_settings_allow() -> bool:
    return (
        settings.PGGIT_CACHE_ENABLED
        and not settings.DATABASES["default"].get("ATOMIC_REQUESTS")
        and getattr(settings, "FORCE_SCRIPT_NAME", None) is None
        and jwt_settings.CHECK_USER_IS_ACTIVE
        # access tokens are not looked up in the blacklist (only refresh tokens are)
        and not any(issubclass(cls, BlacklistMixin) for cls in jwt_settings.AUTH_TOKEN_CLASSES)
        and not settings.USE_X_FORWARDED_HOST
    )


def _host_allowed(host: bytes | None) -> bool:
    """Whether Django would accept this ``Host`` header (``HttpRequest.get_host``)."""
    if not host:
        return False
    domain, _port = split_domain_port(host.decode("latin-1"))
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = DEBUG_HOSTS
    return bool(domain) and validate_host(domain, allowed)


def _plan(scope: dict[str, Any]) -> _Plan | None:
    """What the early path needs of this request, or ``None`` when it must not try."""
    if scope.get("method") != "GET" or scope.get("root_path") or not _process_settings_allow():
        return None
    headers: dict[bytes, bytes] = {}
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name in headers:
            return None  # a repeated header: let Django decide how it combines
        headers[name] = value
    if b"cookie" in headers or b"transfer-encoding" in headers:
        return None
    if not _host_allowed(headers.get(b"host")):
        return None  # the ordinary path answers 400
    if headers.get(b"content-length", b"0") != b"0" or headers.get(b"accept") not in ACCEPTED:
        return None
    parts = headers.get(b"authorization", b"").split()
    if len(parts) != 2 or parts[0] not in AUTH_HEADER_TYPE_BYTES:
        return None
    query = QueryDict(scope.get("query_string", b"").decode())
    if "format" in query:
        return None
    path = scope["path"]
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view_function = match.func
    if view_function not in _eligible:
        _eligible[view_function] = _eligibility(view_function)
    eligible = _eligible[view_function]
    if eligible is None:
        return None
    plan = _Plan()
    plan.namespace, plan.names, plan.vary_on_user, plan.required = eligible
    plan.engine_state = state_version.is_engine_state(plan.names)
    plan.view = view_function
    plan.token = parts[1]
    plan.digest_parts = (path, query, JSONRenderer.media_type)
    plan.scheme = scope.get("scheme", "http")
    plan.request_id = headers.get(_REQUEST_ID_HEADER, b"").decode("latin-1") or None
    return plan


async def _user_state(user_id: Any) -> UserState | None:
    """The user's state; when it must be read, concurrent requests share one query.

    While this process fails to reach the database (``pggit_project.outage``) the state is read
    again, as a probe: one read at a time (the others step aside to the ordinary path, which
    answers 503 while the database is down), so that reads waiting for the connection pool's
    timeout do not queue up in ``sync_to_async``'s one thread."""
    loop = asyncio.get_running_loop()
    if database_reachability.failing():
        if any(task.get_loop() is loop for task in _loading.values()):
            return None
    else:
        state = user_states.get(user_id)
        if state is not None:
            return state
    key = (id(loop), str(user_id))
    loading = _loading.get(key)
    if loading is None or loading.get_loop() is not loop:
        loading = loop.create_task(sync_to_async(user_states.load)(user_id))
        _loading[key] = loading
        loading.add_done_callback(lambda _task: _loading.pop(key, None))
    return await asyncio.shield(loading)


async def _try_hit(plan: _Plan) -> tuple[list[tuple[bytes, bytes]], bytes, str] | None:
    """The hit's headers, body and request id, or ``None`` (the ordinary path answers)."""
    template = _templates.get((plan.view, plan.scheme))
    if template is None:
        return None
    try:
        token = _authenticator.get_validated_token(plan.token)
        user_id = token[jwt_settings.USER_ID_CLAIM]
    except Exception:
        return None
    state = await _user_state(user_id)
    if state is None or not state.holds(plan.required):
        return None
    if jwt_settings.CHECK_REVOKE_TOKEN and (
        token.get(jwt_settings.REVOKE_TOKEN_CLAIM) != state.password
    ):
        return None
    audience = audience_of(
        str(user_id), vary_on_user=plan.vary_on_user, sensitive=state.holds((VIEW_SENSITIVE,))
    )
    digest = digest_of(*plan.digest_parts, audience)
    engine_version = None
    if plan.engine_state:
        engine_version = await state_version.current_async()  # one round trip to PostgreSQL
        if engine_version is None:
            return None
    confirmed = get_store().l1_hit(
        plan.namespace,
        plan.names,
        digest,
        user_generation=state.generation,
        on_user_change=user_states.clear,
        state=engine_version,
    )
    if confirmed is None:
        return None
    # From here on the hit is counted: the answer is built from values already at hand.
    entry = confirmed[0]
    request_id = choose_request_id(plan.request_id)
    response = response_from(entry, HIT_L1)
    headers = [(name.encode("ascii"), value.encode("latin-1")) for name, value in response.items()]
    present = {name.lower() for name, _ in headers}
    for name, value in template:
        lowered = name.lower()
        if lowered == b"content-length":
            value = str(len(entry.body)).encode()
        elif lowered == _REQUEST_ID_HEADER:
            value = request_id.encode()
        elif lowered in present:
            continue
        headers.append((name, value))
    return headers, entry.body, request_id


def _learning(plan: _Plan, send):
    """``send`` that remembers the headers of an ordinary cached answer of ``plan.view``."""

    async def learning_send(message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.start" and message.get("status") == 200:
            headers = [(bytes(name), bytes(value)) for name, value in message.get("headers", ())]
            names = {name.lower() for name, _ in headers}
            outcome = next((v for n, v in headers if n.lower() == _CACHE_HEADER), None)
            if outcome in _OUTCOMES and {b"content-length", _REQUEST_ID_HEADER} <= names:
                _templates[(plan.view, plan.scheme)] = [
                    (name, value) for name, value in headers if name.lower() != _CACHE_HEADER
                ]
        await send(message)

    return learning_send


async def _send_unavailable(plan: _Plan, send) -> None:
    """503 in the API's error shape (``pggit_project.errors``), as the ordinary path answers
    when the database cannot be reached."""
    request_id = choose_request_id(plan.request_id)
    bind_request_id(request_id)
    try:
        response = error_response(
            body_for_status(503, "The database is unavailable; try again shortly.")
        )
        response[REQUEST_ID_HEADER] = request_id
        headers = [
            (name.encode("ascii"), value.encode("latin-1")) for name, value in response.items()
        ]
        headers.append((b"content-length", str(len(response.content)).encode()))
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})
        access_logger.info("GET %s 503 (database unavailable)", plan.digest_parts[0])
    finally:
        bind_request_id(None)


class CacheHitApp:
    """ASGI middleware: answers cache hits early (see the module docstring), else ``app``."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        try:
            plan = _plan(scope)
            hit = await _try_hit(plan) if plan is not None else None
        except DatabaseUnavailable:
            await _send_unavailable(plan, send)
            return
        except Exception:
            logger.exception("cache: the early hit path failed; the ordinary path answers")
            plan = hit = None
        if hit is None:
            await self.app(scope, receive, _learning(plan, send) if plan is not None else send)
            return
        headers, body, request_id = hit
        bind_request_id(request_id)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            access_logger.info(
                "GET %s 200 %.1fms", scope["path"], (time.monotonic() - started) * 1000
            )
        finally:
            bind_request_id(None)
