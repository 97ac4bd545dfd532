"""Minga for Python: open an encrypted store, fill and read submissions, review, sync, export.

The classes and records come from the generated module `minga.minga` (UniFFI, from the Rust
library `libminga` that sits beside it); this package adds only Python conveniences: plain
callables where the library asks for an observer, a progress listener or a transport, readable
reprs (`_reprs`), answers as plain values and paths from text (`values`), and methods such as
`with Store.open(...)`, `store.submissions(form_id=...)`, `store.to_dataframe()` (`_idioms`).
"""

import atexit
from typing import Optional

from . import _idioms, _reprs
from . import minga as _generated
from .minga import *  # noqa: F401,F403  (the generated surface is the package's surface)
from .minga import (
    AgentSchedule,
    ChangeObserver,
    HttpSettings,
    HubCredentials,
    ObserverHandle,
    Store,
    SyncEventObserver,
    SyncProgressListener,
    SyncAgent,
    SyncReport,
    SyncTransport,
    stop_sync_agents,
)

from .values import Instance, PlainValue, Point, Selected, from_answers, from_value, path, to_value  # noqa: F401

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("minga")
except PackageNotFoundError:  # imported from a source folder, not installed
    __version__ = "0+unknown"

_reprs.install(_generated)
_idioms.install()

# A sync agent's thread that calls into Python (an observer, a transport) while the interpreter
# finalises is killed by it, which aborts the process: stop every agent first, at exit.
atexit.register(stop_sync_agents)


def _adapter(interface, method, callback):
    """An instance of the library's callback `interface` whose one method, `method`, hands its
    argument to `callback`."""
    adapted = type(f"_Callback{interface.__name__}", (interface,), {method: lambda self, arg: callback(arg)})
    return adapted()


def observe(store: Store, callback) -> ObserverHandle:
    """Calls `callback(event)` after every change to `store`, made here or arriving by sync;
    keep the returned handle (dropping it, or `handle.cancel()`, stops the calls)."""
    return store.observe(_adapter(ChangeObserver, "on_change", callback))


def observe_sync(store: Store, callback) -> ObserverHandle:
    """Calls `callback(event)` with each event of the syncs a sync agent
    (`store.start_sync_agent`) runs, on the agent's thread; keep the returned handle."""
    return store.observe_sync(_adapter(SyncEventObserver, "on_sync_event", callback))


def _listener(on_progress):
    return _adapter(SyncProgressListener, "on_progress", on_progress) if on_progress else None


def sync_http(store: Store, hub: HubCredentials, settings: Optional[HttpSettings] = None, on_progress=None) -> SyncReport:
    """Syncs `store` with its hub (credentials from `minga.enrol`), calling
    `on_progress(progress)` after each round trip."""
    return store.sync_http(hub, settings, _listener(on_progress))


def sync_with(store: Store, exchange, peer: str, on_progress=None, unenrolled: bool = False) -> SyncReport:
    """Syncs `store` with peer `peer`, `exchange(request) -> reply` carrying the bytes (to the
    peer's `store.responder().respond`, over whatever link the host has). Both stores must be
    enrolled: each proves it to the other and gets what the hub would give it. With
    `unenrolled=True` (and `responder(unenrolled=True)` on the other side) no store proves
    anything and every document goes both ways."""
    return store.sync_with(
        _adapter(SyncTransport, "exchange", exchange), peer, _listener(on_progress), unenrolled
    )


def start_peer_sync_agent(store: Store, peer: str, exchange, schedule: Optional[AgentSchedule] = None) -> SyncAgent:
    """Starts a sync agent that keeps `store` in sync with peer `peer` by itself,
    `exchange(request) -> reply` carrying the bytes to the peer's `responder().respond`."""
    return store.start_peer_sync_agent(peer, _adapter(SyncTransport, "exchange", exchange), schedule)
