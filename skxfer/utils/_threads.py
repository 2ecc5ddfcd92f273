from functools import cache

from threadpoolctl import ThreadpoolController


def single_threaded_blas():
    """A context manager that runs BLAS on one thread while it is open.

    The weighters' matrix products are narrow (a few hundred kernel centres or landmarks
    wide), so BLAS threads add synchronisation and little else; on a busy machine, or under
    ``n_jobs`` parallelism, their spin-waits made fits 5-10x slower in our measurements.
    """
    return _controller().limit(limits=1, user_api="blas")


@cache
def _controller():
    # Inspecting the loaded native libraries is slow: do it once per process.
    return ThreadpoolController()
