"""Activations of the frozen part of an encoder, kept per input row.

A grid search over ``layer`` or ``freeze_depth`` fits the same frozen network on the same rows
again and again (every fold, every grid point). The rows' activations are stored under the key
``(encoder fingerprint, what, row hash)``, so each distinct row goes through the frozen network
once per process, and once at all with a ``cache_dir``. ``what`` names the stored quantity (the
pooled features of every layer, or one block's unpooled output).

In memory the store is a least-recently-used map with a byte budget shared by every featurizer
in the process. On disk each entry is an ``.npz`` file holding its own key beside the array; it
is written to a temporary file and renamed into place, so a reader never sees half a file. A
file that does not load, or that holds another key, is recomputed with a warning; so is a value
read from disk whose shape or dtype is not what the encoder produces. A folder that cannot be
written (read-only, full, a file in its place) is skipped with a warning: the features are
computed all the same.
"""

import contextlib
import hashlib
import os
import tempfile
import threading
import warnings
from collections import OrderedDict

import numpy as np

#: Bytes the in-memory store may hold, shared by every featurizer of the process.
MEMORY_BUDGET = int(os.environ.get("SKXFER_CACHE_BYTES", 2 * 1024**3))

#: Part of every key: bumped whenever what is stored, or how skxfer computes it from an
#: encoder (batching, pooling, preprocessing code), changes, so that older files are not read.
CACHE_FORMAT = "skxfer-activations-2"


class CacheWarning(UserWarning):
    """The activation cache could not be used as asked, and the features were computed.

    Raised for a cache file that was unreadable, belonged to another entry or held a value
    of another shape or dtype than the encoder produces (it is recomputed); a ``cache_dir``
    that cannot be written (nothing is written to it); and an encoder whose computation
    cannot be identified reliably (it runs without the cache).
    """


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
    """Empty the in-memory activation cache of every featurizer in this process.

    The next fit or transform computes its rows' activations again (or reads them from its
    ``cache_dir``, whose files are left as they are).
    """
    STORE.clear()


class Layouts:
    """What the encoder produced in this process, per key prefix: the dtype and shape of a
    pooled output (the shape's number of axes for a block output, whose length varies with
    the row). A value read from disk must match it. :func:`clear_cache` keeps it: it
    describes encoders, not rows."""

    def __init__(self, limit=4096):
        self.limit = limit
        self._items = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def of(value, exact):
        value = np.asarray(value)
        return (value.dtype.str, value.shape if exact else value.ndim)

    def record(self, prefix, value, exact):
        with self._lock:
            self._items.setdefault(prefix, self.of(value, exact))
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def known(self, prefix):
        return prefix in self._items

    def matches(self, prefix, value, exact):
        expected = self._items.get(prefix)
        return expected is None or self.of(value, exact) == expected

    def describe(self, prefix):
        dtype, shape = self._items[prefix]
        form = f"shape {shape}" if isinstance(shape, tuple) else f"{shape} axes"
        return f"{np.dtype(dtype)}, {form}"


#: The layouts of the process (see :class:`Layouts`).
LAYOUTS = Layouts()


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
    """The view of one featurizer on the store, for one pass: memory always, disk when
    ``folder`` is set."""

    def __init__(self, folder):
        self.folder = None if folder is None else os.fspath(folder)
        self._writable = self.folder is not None

    def lookup(self, keys):
        """The cached arrays of ``keys`` (None where missing), and the positions of those
        read from disk: they enter the memory store only once :meth:`admit` accepts them."""
        found, from_disk = [], []
        for i, key in enumerate(keys):
            value = STORE.get(key)
            if value is None and self.folder is not None:
                value = self._read(key)
                if value is not None:
                    from_disk.append(i)
            found.append(value)
        return found, from_disk

    def admit(self, key, value):
        """Keep a value read from disk in memory too."""
        STORE.put(key, value)

    def store(self, key, value):
        value = np.ascontiguousarray(value)
        value.setflags(write=False)
        STORE.put(key, value)
        if self._writable:
            try:
                _write(self._path(key), key, value)
            except OSError as exc:
                # a cache is an optimisation: a folder that cannot take the files costs the
                # reuse across processes, never the features
                self._writable = False
                warnings.warn(
                    f"cache_dir={self.folder!r} cannot be written ({type(exc).__name__}: "
                    f"{exc}); the features are computed without writing to it.",
                    CacheWarning,
                    stacklevel=5,
                )

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


def _write(path, key, value):
    """Write one entry atomically: a temporary file renamed into place."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, key=np.asarray(key), value=value)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
