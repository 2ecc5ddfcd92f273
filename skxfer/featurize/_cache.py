"""Activations of the frozen part of an encoder, kept per input row.

A grid search over ``layer`` or ``freeze_depth`` fits the same frozen network on the same rows
again and again (every fold, every grid point). The rows' activations are stored under the key
``(encoder fingerprint, what, row hash)``, so each distinct row goes through the frozen network
once per process, and once at all with a ``cache_dir``. ``what`` names the stored quantity (the
pooled features of every layer, or one block's unpooled output).

In memory the store is a least-recently-used map with a byte budget shared by every featurizer
in the process. On disk each entry is an ``.npz`` file holding its own key beside the array; it
is written to a temporary file and renamed into place, so a reader never sees half a file. A
file that does not load, or that holds another key, is recomputed with a warning.
"""

import hashlib
import os
import tempfile
import threading
import warnings
from collections import OrderedDict

import numpy as np

#: Bytes the in-memory store may hold, shared by every featurizer of the process.
MEMORY_BUDGET = int(os.environ.get("SKXFER_CACHE_BYTES", 2 * 1024**3))


class CacheWarning(UserWarning):
    """A cache file was unreadable or belonged to another entry, and was recomputed."""


class ActivationStore:
    """A byte-bounded LRU map from string keys to numpy arrays (thread-safe)."""

    def __init__(self, budget):
        self.budget = budget
        self.nbytes = 0
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value):
        size = value.nbytes
        if size > self.budget:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes
            self._items[key] = value
            self.nbytes += size
            while self.nbytes > self.budget:
                _, dropped = self._items.popitem(last=False)
                self.nbytes -= dropped.nbytes

    def clear(self):
        with self._lock:
            self._items.clear()
            self.nbytes = 0

    def __len__(self):
        return len(self._items)


#: The process-wide store (cleared by :func:`clear_cache`).
STORE = ActivationStore(MEMORY_BUDGET)


def clear_cache():
    """Empty the in-memory activation cache of every featurizer in this process."""
    STORE.clear()


def digest(*parts):
    """A short hex digest of byte strings (and strings)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, str):
            part = part.encode()
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


class ActivationCache:
    """The view of one featurizer on the store: memory always, disk when ``folder`` is set."""

    def __init__(self, enabled, folder):
        self.enabled = enabled
        self.folder = None if folder is None else os.fspath(folder)

    def lookup(self, keys):
        """The cached arrays of ``keys`` (None where missing)."""
        if not self.enabled:
            return [None] * len(keys)
        found = []
        for key in keys:
            value = STORE.get(key)
            if value is None and self.folder is not None:
                value = self._read(key)
                if value is not None:
                    STORE.put(key, value)
            found.append(value)
        return found

    def store(self, key, value):
        if not self.enabled:
            return
        value = np.ascontiguousarray(value)
        value.setflags(write=False)
        STORE.put(key, value)
        if self.folder is not None:
            self._write(key, value)

    def _path(self, key):
        return os.path.join(self.folder, key[:2], f"{key}.npz")

    def _read(self, key):
        path = self._path(key)
        if not os.path.exists(path):
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                stored_key = str(data["key"])
                value = data["value"]
        except Exception as exc:  # any unreadable file is recomputed, never trusted
            warnings.warn(
                f"Cache file {path} could not be read ({type(exc).__name__}: {exc}); "
                "recomputing it.",
                CacheWarning,
                stacklevel=4,
            )
            return None
        if stored_key != key:
            warnings.warn(
                f"Cache file {path} holds another entry ({stored_key!r}); recomputing it.",
                CacheWarning,
                stacklevel=4,
            )
            return None
        value.setflags(write=False)
        return value

    def _write(self, key, value):
        path = self._path(key)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, key=np.asarray(key), value=value)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
