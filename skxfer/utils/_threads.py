import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from functools import cache

from threadpoolctl import ThreadpoolController


def single_threaded_blas():
    """A context manager that runs BLAS on one thread while it is open.

    The weighters' matrix products are narrow (a few hundred kernel centres or landmarks
    wide), so BLAS threads add synchronisation and little else; on a busy machine, or under
    ``n_jobs`` parallelism, their spin-waits made fits 5-10x slower in our measurements.
    """
    return _controller().limit(limits=1, user_api="blas")


def torch_threads(torch, n_threads):
    """A context manager that runs torch on ``n_threads`` threads while it is open and
    restores the previous count after; ``None`` leaves torch's setting alone."""
    stack = ExitStack()
    if n_threads is not None:
        previous = torch.get_num_threads()
        torch.set_num_threads(n_threads)
        stack.callback(torch.set_num_threads, previous)
    return stack


@cache
def _controller():
    # Inspecting the loaded native libraries is slow: do it once per process.
    return ThreadpoolController()


def available_threads():
    """Threads that numpy work split over row blocks may use: the CPUs this process may run
    on, capped by ``OMP_NUM_THREADS`` when it is set (joblib's and dask's workers set it to
    their share of the machine)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        limit = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        limit = None
    cpus = cpus or 1
    return max(1, min(cpus, limit) if limit else cpus)


def map_row_blocks(function, n_rows, step, make_scratch=None, n_threads=None):
    """``[function(rows, scratch) for each block]``: ``rows`` the slice of a block of ``step``
    consecutive rows, ``scratch`` the calling thread's own ``make_scratch()`` (None without
    one). The blocks run on up to ``n_threads`` threads (default :func:`available_threads`),
    each with single-threaded BLAS: numpy releases the GIL in the matrix products and
    element-wise passes that fill a block, and threads that block on the GIL or a core do
    not spin-wait as BLAS threads do on a busy machine. The results come back in block
    order, so sums over them do not depend on the thread count's timing.
    """
    blocks = [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]
    local = threading.local()

    def run(rows):
        if not hasattr(local, "scratch"):
            local.scratch = None if make_scratch is None else make_scratch()
        return function(rows, local.scratch)

    return map_threads(run, blocks, n_threads)


def map_threads(function, items, n_threads=None):
    """``[function(item) for item in items]`` on up to ``n_threads`` threads (default
    :func:`available_threads`), with single-threaded BLAS, results in the order of ``items``.

    For tasks whose work is in numpy and scikit-learn calls that release the GIL (matrix
    products, element-wise passes, Cython losses): see :func:`map_row_blocks`.
    """
    items = list(items)
    n_threads = min(n_threads or available_threads(), len(items))
    # the BLAS limit is the process's: set once, around every thread
    with single_threaded_blas():
        if n_threads <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(function, items))
