"""Minga for Python: open an encrypted store, fill and read submissions, review, sync.

The classes and records come from the generated module `minga.minga` (UniFFI, from the Rust
library `libminga` that sits beside it); this file adds only Python conveniences.
"""

from .minga import *  # noqa: F401,F403  (the generated surface is the package's surface)
from .minga import ChangeEvent, ChangeObserver, ObserverHandle, Store


class _CallbackObserver(ChangeObserver):
    """Adapts a plain callable to the ChangeObserver interface."""

    def __init__(self, callback):
        self._callback = callback

    def on_change(self, event: ChangeEvent) -> None:
        self._callback(event)


def observe(store: Store, callback) -> ObserverHandle:
    """Calls `callback(event)` after every change to `store`; keep the returned handle
    (dropping it, or `handle.cancel()`, stops the calls)."""
    return store.observe(_CallbackObserver(callback))
