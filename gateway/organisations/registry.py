"""The registry as the request path reads it: organisations and registered staff, held per
process for at most ``registry_cache_seconds`` (2 s), so an API call does not look up its caller
in the database each time.

A change reaches every holder of a copy:
- in the process that makes it, at its commit: a flush or a statement that touches the registry's
  tables marks the transaction, and its commit (or rollback) clears the copies of that database;
- in every other process on PostgreSQL, through ``NOTIFY kindkoppeling_registry``, sent in the
  transaction that makes the change (so it is delivered when, and only if, that commits) and
  heard by a ``LISTEN`` thread that each ``serve`` process runs (:class:`Listener`);
- and whatever happens to a notification, no copy outlives its lifetime: that is the bound a
  suspension, or a removed staff member, takes to stop a token on every replica (SECURITY.md).

An organisation is held with its keys and certificates, which the token endpoint and
``/organisations/me`` read, so removing one takes effect within the same bound. A copy is the
rows' column values; each request gets instances of its own, attached to its session as if just
loaded (no statement), so nothing a request does to its instances reaches another request.
Hand-written because the invalidation is the point: a general-purpose cache (``cachetools``)
would add a dependency for the one dictionary with an expiry time below.
"""

from __future__ import annotations

import select
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, TypeVar

import psycopg
import structlog
from sqlalchemy import URL, Engine, event, inspect, make_url
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from gateway.organisations.models import Organisation, OrganisationCertificate, OrganisationKey
from gateway.staff.models import StaffMember

log = structlog.get_logger(__name__)

CHANNEL = "kindkoppeling_registry"
CHANGED = "registry.changed"  # session.info: this transaction changed the registry
REGISTRY = (Organisation, OrganisationKey, OrganisationCertificate, StaffMember)
TABLES = frozenset(model.__tablename__ for model in REGISTRY)

T = TypeVar("T", Organisation, StaffMember)


@dataclass
class RegistryCache:
    """The copies held for one database."""

    lifetime: float = 2.0
    clock: Callable[[], float] = time.monotonic
    _rows: dict[tuple[type, Any], tuple[float, _Row | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _generation: int = 0  # how many times the copies were cleared
    # On PostgreSQL, the serve process's listener: copies are served only while it hears every
    # notification, that is while it is connected and has none waiting (a change may be).
    listener: Listener | None = None

    def organisation(self, session: Session, organisation_id: object) -> Organisation | None:
        """The organisation with this id; anything that is not a UUID (say, a client-supplied
        NUL byte) is absent."""
        try:
            canonical = str(uuid.UUID(str(organisation_id)))
        except ValueError:
            return None
        return self._get(session, Organisation, canonical, with_collections=True)

    def staff_member(
        self, session: Session, organisation_id: str, staff_id: str
    ) -> StaffMember | None:
        """The staff member, registered or removed, or None if never registered."""
        return self._get(session, StaffMember, (organisation_id, staff_id))

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._generation += 1

    def _get(
        self, session: Session, model: type[T], key: Any, *, with_collections: bool = False
    ) -> T | None:
        held = session.identity_map.get(identity_key(model, key))
        if held is not None:
            return held
        if self.listener is not None and not self.listener.up_to_date():
            return session.get(model, key)
        now = self.clock()
        with self._lock:
            copy = self._rows.get((model, key))
            generation = self._generation
        if copy is not None and now - copy[0] < self.lifetime:
            if copy[1] is None:
                return None
            attached = _attached(session, model, copy[1])
            if attached is not None:
                return attached
        found = session.get(model, key)
        # Not what this transaction changed itself (it may roll back), nor what was read while
        # a change was being announced (it may predate the change).
        if self.lifetime > 0 and not session.info.get(CHANGED):
            values = None if found is None else _row(found, with_collections)
            with self._lock:
                if self._generation == generation:
                    self._rows[(model, key)] = (now, values)
        return found


_caches: dict[URL, RegistryCache] = {}
_caches_lock = threading.Lock()


def registry_of(engine: Engine) -> RegistryCache:
    """The copies held in this process for ``engine``'s database: one per database, whichever
    engine or session reads it."""
    cache = _caches.get(engine.url)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine.url, RegistryCache())
    return cache


def registry_in(session: Session) -> RegistryCache:
    bind = session.get_bind()
    return registry_of(bind if isinstance(bind, Engine) else bind.engine)


COLLECTIONS = ("keys", "certificates")  # held with an organisation


@dataclass(frozen=True)
class _Row:
    model: type
    columns: dict[str, Any]
    collections: dict[str, list[_Row]]


def _row(instance: Any, with_collections: bool = False) -> _Row:
    mapper = inspect(type(instance))
    columns = {a.key: deepcopy(getattr(instance, a.key)) for a in mapper.column_attrs}
    collections = {
        name: [_row(member) for member in getattr(instance, name)]
        for name in (COLLECTIONS if with_collections else ())
    }
    return _Row(type(instance), columns, collections)


def _detached(row: _Row) -> Any:
    """A fresh instance of ``row``, as if just loaded; its held collections loaded with it."""
    instance = row.model(**{k: _own(v) for k, v in row.columns.items()})
    make_transient_to_detached(instance)  # no history; what is not held is unloaded
    for name, members in row.collections.items():
        set_committed_value(instance, name, [_detached(member) for member in members])
    return instance


def _own(value: Any) -> Any:
    return deepcopy(value) if isinstance(value, dict | list) else value


def _attached(session: Session, model: type[T], row: _Row) -> T | None:
    """``row`` attached to ``session``; None when part of it is in the session already."""
    identities: list[Any] = [identity_key(m.model, _key(m)) for m in _members(row)]
    if any(identity in session.identity_map for identity in identities):
        return None
    instance: T = _detached(row)
    session.add(instance)  # its held collections cascade with it
    return instance


def _members(row: _Row) -> list[_Row]:
    return [row, *(m for members in row.collections.values() for m in members)]


def _key(row: _Row) -> Any:
    mapper: Any = inspect(row.model)
    keys = [row.columns[mapper.get_property_by_column(c).key] for c in mapper.primary_key]
    return keys[0] if len(keys) == 1 else tuple(keys)


# --- invalidation ---------------------------------------------------------------------------


def _mark(session: Session) -> None:
    if session.info.get(CHANGED):
        return
    session.info[CHANGED] = True
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")  # delivered if this commits


def _touches_registry(objects: Iterable[Any]) -> bool:
    return any(isinstance(obj, REGISTRY) for obj in objects)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if _touches_registry(chain(session.new, session.dirty, session.deleted)):
        _mark(session)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in TABLES:
            _mark(state.session)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _after_transaction(session: Session) -> None:
    if session.info.pop(CHANGED, False):
        registry_in(session).clear()


# --- other processes ------------------------------------------------------------------------


class Listener(threading.Thread):
    """``LISTEN kindkoppeling_registry`` on a connection of its own, clearing the copies on
    each notification, and at each (re)connect, since notifications sent while it was away
    are lost. Stops when :meth:`stop` is called."""

    def __init__(self, engine: Engine, cache: RegistryCache) -> None:
        super().__init__(name="registry-listener", daemon=True)
        url = make_url(engine.url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.cache = cache
        self.stopping = threading.Event()
        self.listening = threading.Event()
        self._socket = -1  # the listening connection's, while it is up

    def up_to_date(self) -> bool:
        """Connected, with no notification (nor a closed connection) waiting to be read: a
        poll of its socket, a system call without I/O."""
        fd = self._socket
        if fd < 0 or not self.listening.is_set():
            return False
        try:
            readable, _, _ = select.select([fd], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.cache.clear()
                    self._socket = conn.fileno()
                    self.listening.set()
                    while not self.stopping.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            self.cache.clear()
            except psycopg.Error as exc:
                log.warning("registry_listener_reconnecting", error=type(exc).__name__)
                self.stopping.wait(1.0)
            finally:
                self.listening.clear()
                self._socket = -1
                self.cache.clear()

    def start_serving(self) -> None:
        """Start listening, and serve the cache's copies only while this listener is up."""
        self.cache.listener = self
        self.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.cache.listener is self:
            self.cache.listener = None
        self.join(timeout=5)
