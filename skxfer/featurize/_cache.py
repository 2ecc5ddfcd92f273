"""Activations of the frozen part of an encoder, kept per input row.

A grid search over ``layer`` or ``freeze_depth`` fits the same frozen network on the same rows
again and again (every fold, every grid point, every worker). The rows' activations are stored
under the key ``(encoder fingerprint, what, row hash)``, so each distinct row goes through the
frozen network once per process, and about once at all when processes share a folder. ``what``
names the stored quantity (the pooled features of a layer, or one block's unpooled output).

In memory the store is a least-recently-used map with a byte budget shared by every featurizer
in the process. On disk, each forward pass writes *segments*: ``.npz`` files holding the keys,
shapes and values of the rows it computed, in one folder per encoder. A segment is written to a
temporary file and renamed into place, so a reader never sees half a file and two writers never
write the same file. A process indexes the segments it has not seen yet when it misses a key. A
segment that does not load is skipped with a warning (its rows are recomputed); so is a value
read from disk whose shape or dtype is not what the encoder produces. A folder that cannot be
written (read-only, full, a file in its place) is skipped with a warning: the features are
computed all the same.

Featurizers that share a folder also share the work. A featurizer computes the rows it missed
chunk by chunk; for each chunk it takes the encoder's lock (a thread lock, and a file lock in the
folder where the platform has ``fcntl``), looks again, and *claims* rows that nobody else is
computing (a small ``claims.json`` beside the segments; in memory for the threads of one process),
then releases the lock while it runs them. Two workers of a grid search that miss the same rows
therefore split them between them instead of one waiting for the other, and neither runs a row
the other runs. A worker whose remaining rows are all claimed by others waits until their
segments appear. A claim whose process is gone (or, from another machine, older than
:data:`CLAIM_TIMEOUT` seconds) no longer counts.

The folder is ``cache_dir`` when the featurizer has one. Otherwise a featurizer that is pickled
(sent to joblib's process workers or to dask workers) takes the *shared folder* along, and its
copies write there: ``SKXFER_CACHE_DIR`` when set, else ``skxfer-activations-<user id>`` in the
temporary directory, created on first use. Every featurizer of the machine reads it.
"""

import contextlib
import getpass
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
import uuid
import warnings
from collections import OrderedDict

import numpy as np

try:  # file locks, where the platform has them
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: Bytes the in-memory store may hold, shared by every featurizer of the process.
MEMORY_BUDGET = int(os.environ.get("SKXFER_CACHE_BYTES", 2 * 1024**3))

#: Part of every key: bumped whenever what is stored, or how skxfer computes it from an
#: encoder (batching, pooling, preprocessing code), changes, so that older files are not read.
CACHE_FORMAT = "skxfer-activations-3"


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

    The files of a ``cache_dir``, and of the folder that pickled featurizers share (see
    :class:`~skxfer.featurize.PretrainedFeaturizer`), stay: delete the folder to remove them.
    """
    STORE.clear()
    INDEX.clear()


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


def shared_folder():
    """The folder that a pickled featurizer with no ``cache_dir`` writes to, and that every
    featurizer of the machine reads: ``SKXFER_CACHE_DIR``, else ``skxfer-activations-<user>``
    in the temporary directory."""
    folder = os.environ.get("SKXFER_CACHE_DIR")
    if folder:
        return folder
    user = str(os.getuid()) if hasattr(os, "getuid") else getpass.getuser()
    return os.path.join(tempfile.gettempdir(), f"skxfer-activations-{user}")


class ActivationCache:
    """The view of one featurizer on the store, for one fit or transform: memory always; the
    segments of ``folder/group`` when ``folder`` is set, written to when ``writable``.

    ``coordinate``: share the missed rows with the other featurizers of the encoder by
    claiming them (see :meth:`claim`); off where the callers compute disjoint rows (dask
    partitions)."""

    def __init__(self, folder, group, *, writable=True, coordinate=True):
        self.folder = None if folder is None else os.fspath(folder)
        if self.folder is not None and not _trusted(self.folder):
            self.folder = None  # another user's folder: neither read nor written
        self.group = group
        self.group_dir = None if self.folder is None else os.path.join(self.folder, group)
        self.coordinate = coordinate
        self._writable = self.folder is not None and writable
        self._pending = []
        self._pending_bytes = 0
        self._token = uuid.uuid4().hex

    def lookup(self, keys):
        """The cached arrays of ``keys`` (None where missing), and the positions of those
        read from disk: they enter the memory store only once :meth:`admit` accepts them."""
        found = [STORE.get(key) for key in keys]
        missing = [i for i, value in enumerate(found) if value is None]
        if not missing or self.group_dir is None:
            return found, []
        read = INDEX.read(self.group_dir, [keys[i] for i in missing])
        from_disk = []
        for i, value in zip(missing, read):
            if value is not None:
                found[i] = value
                from_disk.append(i)
        return found, from_disk

    def admit(self, key, value):
        """Keep a value read from disk in memory too."""
        STORE.put(key, value)

    def store(self, key, value):
        """Keep a computed value in memory, and queue it for the next segment."""
        value = np.ascontiguousarray(value)
        value.setflags(write=False)
        STORE.put(key, value)
        if self._writable:
            self._pending.append((key, value))
            self._pending_bytes += value.nbytes
            if self._pending_bytes > SEGMENT_BYTES:
                self.flush()

    def flush(self):
        """Write the queued values as one segment."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if not pending or not self._writable:
            return
        try:
            _make_folder(self.folder)
            path = os.path.join(self.group_dir, f"{uuid.uuid4().hex}.npz")
            write_segment(path, pending)
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

    @contextlib.contextmanager
    def computing(self):
        """Hold the encoder's lock (briefly: to look again and :meth:`claim` rows): other
        threads of the process, and other processes writing to the same folder, wait."""
        if not self.coordinate:
            yield
            return
        with _LOCKS_GUARD:
            lock = _LOCKS.setdefault(self.group, threading.RLock())
        with lock, self._file_lock():
            yield

    def claim(self, rows, limit):
        """Claim up to ``limit`` of ``rows`` (``(position, row id)`` pairs) that no live
        claimant holds, inside :meth:`computing`; returns the positions claimed. Without
        coordination every row is the caller's."""
        if not self.coordinate:
            return [position for position, _ in rows]
        mine = []
        with self._claims() as claims:
            now = time.time()
            for position, row in rows:
                holder = claims.get(row)
                if _alive(holder, now) and _token(holder) != self._token:
                    continue
                claims[row] = [_HOST, os.getpid(), now, self._token]
                mine.append(position)
                if len(mine) >= limit:
                    break
        return mine

    def release(self, rows):
        """Drop this cache's claims on ``rows`` (row ids), whether they were computed or not."""
        if not self.coordinate:
            return
        with self.computing(), self._claims() as claims:
            for row in rows:
                if _token(claims.get(row)) == self._token:
                    del claims[row]

    @contextlib.contextmanager
    def _claims(self):
        """The claims of the encoder's rows, by row id: ``[host, pid, time, token]``. In a
        ``claims.json`` of the folder when it is written to under a file lock, so that
        processes see each other's; else in memory (the threads of this process)."""
        if not (self._writable and fcntl is not None):
            with _LOCKS_GUARD:
                claims = _MEMORY_CLAIMS.setdefault(self.group, {})
            yield claims
            return
        path = os.path.join(self.group_dir, "claims.json")
        try:
            with open(path, encoding="utf-8") as f:
                claims = json.load(f)
            if not isinstance(claims, dict):
                claims = {}
        except (OSError, ValueError):
            claims = {}  # none yet, or a damaged file: the claims were only a hint
        before = dict(claims)
        yield claims
        if claims == before:
            return
        now = time.time()
        claims = {row: h for row, h in claims.items() if _alive(h, now)}
        try:
            os.makedirs(self.group_dir, mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.group_dir, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(claims, f)
            os.replace(tmp, path)
        except OSError:
            pass  # no claims on disk: the rows may be computed twice, never wrongly

    @contextlib.contextmanager
    def _file_lock(self):
        handle = None
        if self._writable and fcntl is not None:
            try:
                _make_folder(self.folder)
                os.makedirs(self.group_dir, mode=0o700, exist_ok=True)
                handle = open(os.path.join(self.group_dir, "lock"), "ab")  # noqa: SIM115
                fcntl.flock(handle, fcntl.LOCK_EX)
            except OSError:
                if handle is not None:
                    handle.close()
                handle = None  # no lock: the rows may be computed twice, never wrongly
        try:
            yield
        finally:
            if handle is not None:
                handle.close()  # releases the lock


#: Bytes a featurizer queues before it writes a segment.
SEGMENT_BYTES = 64 * 1024**2

# the locks of the encoders computing in this process, by group
_LOCKS = {}
_LOCKS_GUARD = threading.Lock()
# the claims of the threads of this process where the folder holds none, by group
_MEMORY_CLAIMS = {}

#: Seconds after which a claim made on another machine (whose process cannot be asked
#: whether it still runs) no longer counts; it is also the longest any claim counts. A
#: claim covers one chunk of at most 16 batches, which takes seconds to a few minutes:
#: rows of a worker that died on another machine are computed again after this long.
CLAIM_TIMEOUT = float(os.environ.get("SKXFER_CLAIM_TIMEOUT", 600))

_HOST = socket.gethostname()


def _token(holder):
    """The token of a claim (None for a malformed one)."""
    return holder[3] if isinstance(holder, list) and len(holder) > 3 else None


def _alive(holder, now):
    """Whether a claim ``[host, pid, time, token]`` still counts: not too old and, on this
    machine, its process still running."""
    try:
        host, pid, since = holder[0], int(holder[1]), float(holder[2])
    except (TypeError, ValueError, IndexError):
        return False
    if now - since > CLAIM_TIMEOUT:
        return False
    if host != _HOST or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True


def _trusted(folder):
    """Whether to use ``folder``: any ``cache_dir`` the user names; the shared folder only
    when this user made it (or it does not exist yet), since whoever can write there can
    plant features."""
    if folder != shared_folder() or not hasattr(os, "getuid"):
        return True
    try:
        return os.stat(folder).st_uid == os.getuid()
    except OSError:
        return True


def _make_folder(folder):
    """Create the shared folder readable by its owner only (a ``cache_dir`` as the user
    made it, or with the default permissions)."""
    if folder == shared_folder():
        os.makedirs(folder, mode=0o700, exist_ok=True)


class SegmentIndex:
    """Where each key lies among the segments of the folders this process has read: the
    segment, the group of arrays in it, and the row. Segments never change once written, so
    each is indexed once."""

    def __init__(self):
        self._lock = threading.Lock()
        self._segments = []  # paths, by number
        self._seen = set()
        self._where = {}

    def clear(self):
        with self._lock:
            self._segments, self._seen, self._where = [], set(), {}

    def read(self, group_dir, keys):
        """The values of ``keys`` found in the segments of ``group_dir`` (None where not)."""
        self._refresh(group_dir)
        places = [self._where.get(key) for key in keys]
        wanted = {}
        for i, place in enumerate(places):
            if place is not None:
                number, group, row = place
                wanted.setdefault((number, group), []).append((i, row))
        out = [None] * len(keys)
        for (number, group), rows in wanted.items():
            path = self._segments[number]
            try:
                with np.load(path, allow_pickle=False) as data:
                    shapes = data[f"shapes_{group}"]
                    values = data[f"values_{group}"]
            except FileNotFoundError:
                continue  # removed since: computed again
            except Exception as exc:  # any unreadable file is recomputed, never trusted
                _unreadable(path, exc)
                continue
            ends = np.cumsum([int(np.prod(shape)) for shape in shapes])
            for i, row in rows:
                start = 0 if row == 0 else ends[row - 1]
                value = values[start : ends[row]].reshape(tuple(shapes[row]))
                value.setflags(write=False)
                out[i] = value
        return out

    def _refresh(self, group_dir):
        # oldest first, so that a key computed again (its first value was refused) is read
        # from its newest segment
        try:
            found = [
                (e.stat().st_mtime_ns, e.name)
                for e in os.scandir(group_dir)
                if e.name.endswith(".npz")
            ]
        except OSError:
            return
        for _, name in sorted(found):
            path = os.path.join(group_dir, name)
            with self._lock:
                if path in self._seen:
                    continue
                self._seen.add(path)
            try:
                with np.load(path, allow_pickle=False) as data:
                    groups = {n[5:]: data[n] for n in data.files if n.startswith("keys_")}
            except Exception as exc:
                _unreadable(path, exc)
                continue
            with self._lock:
                number = len(self._segments)
                self._segments.append(path)
                for group, keys in groups.items():
                    for row, key in enumerate(keys.tolist()):
                        self._where[key] = (number, group, row)


#: The segments indexed by this process (forgotten by :func:`clear_cache`).
INDEX = SegmentIndex()


def _unreadable(path, exc):
    warnings.warn(
        f"Cache file {path} could not be read ({type(exc).__name__}: {exc}); recomputing its rows.",
        CacheWarning,
        stacklevel=5,
    )


def write_segment(path, entries):
    """Write ``(key, value)`` pairs as one segment, atomically (a temporary file renamed into
    place). Values of one dtype and number of axes share a group of arrays."""
    groups = {}
    for key, value in entries:
        groups.setdefault((value.dtype.str, value.ndim), []).append((key, value))
    arrays = {}
    for number, members in enumerate(groups.values()):
        arrays[f"keys_{number}"] = np.asarray([key for key, _ in members])
        arrays[f"shapes_{number}"] = np.asarray(
            [value.shape for _, value in members], dtype=np.int64
        ).reshape(len(members), members[0][1].ndim)
        arrays[f"values_{number}"] = np.concatenate([value.ravel() for _, value in members])
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def read_segment(path):
    """The ``(key, value)`` pairs of a segment (to inspect or rewrite one)."""
    entries = []
    with np.load(path, allow_pickle=False) as data:
        for name in data.files:
            if name.startswith("keys_"):
                group = name[5:]
                shapes, values = data[f"shapes_{group}"], data[f"values_{group}"]
                start = 0
                for key, shape in zip(data[name].tolist(), shapes):
                    size = int(np.prod(shape))
                    entries.append((key, values[start : start + size].reshape(tuple(shape))))
                    start += size
    return entries
