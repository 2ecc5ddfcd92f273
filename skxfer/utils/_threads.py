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
