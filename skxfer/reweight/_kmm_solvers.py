"""Solvers of the kernel mean matching QP, exact (full kernel) and scalable (Nystroem).

Both solve the ridge-regularised KMM problem

    minimise    1/2 b'Kb - kappa'b + lam/2 ||b||^2
    subject to  0 <= b_i <= B,   lo <= sum(b) <= hi

whose optimum satisfies the fixed point ``b = P((kappa - Kb) / lam)``, with ``P`` the Euclidean
projection onto the constraint set. Read as a function of ``x``,
``(kappa(x) - sum_i b_i k(x, x_i)) / lam`` is a kernel expansion, so both solvers return the
solution as ``centers, coef``; with the projection's shift ``offset`` (see :func:`slab_shift`),
``b(x) = clip(k(x, centers) @ coef - offset, 0, B)`` extends the weights to new rows and
reproduces them on the source rows.
"""

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, eigh
from scipy.sparse.linalg import eigsh

from skxfer.reweight._chunked import block_sum_or_call, in_memory
from skxfer.reweight._kernel import block_rows, gaussian_kernel, kernel_column_sums
from skxfer.utils._chunks import is_dask_collection, take_rows

# Above this many stored feature entries (256 MiB of float64) the features are kept in float32.
_FLOAT64_FEATURE_LIMIT = 2**25
# The Newton Hessian is estimated on at most this many rows; the gradient always uses all.
_HESSIAN_ROWS = 2**13
# float32 features make the gradient accurate to about this relative level, no better.
_FLOAT32_TOL = 1e-4


def slab_shift(s, upper, lo, hi):
    """The ``tau`` with ``clip(s - tau, 0, upper)`` the projection of ``s`` onto the constraints.

    The constraint set is ``{0 <= b <= upper, lo <= sum(b) <= hi}``; it must be non-empty
    (``lo <= n * upper`` and ``hi >= 0``). ``tau`` is 0 when the clipped ``s`` already meets the
    sum constraint; otherwise ``sum(clip(s - tau, 0, upper))`` is continuous, non-increasing and
    piecewise linear in ``tau``, and a safeguarded Newton search finds the boundary value.
    """
    total = np.clip(s, 0.0, upper).sum()
    if lo <= total <= hi:
        return 0.0
    target = hi if total > hi else lo
    left, right = s.min() - upper, s.max()  # the sum is n * upper at left and 0 at right
    tau, width = 0.0, np.inf
    for _ in range(200):
        v = s - tau
        excess = np.clip(v, 0.0, upper).sum() - target
        if abs(excess) <= 1e-12 * max(target, 1.0):
            break
        if excess > 0:
            left = tau
        else:
            right = tau
        n_free = np.count_nonzero((v > 0) & (v < upper))
        newton = tau + excess / n_free if n_free else np.nan
        # Newton is exact on the current linear piece; bisect when it leaves the bracket or
        # the bracket stopped halving, so the search always ends.
        halved = right - left <= 0.5 * width
        width = right - left
        tau = newton if halved and left < newton < right else 0.5 * (left + right)
        if width <= 1e-15 * max(1.0, abs(left), abs(right)):
            break
    return tau


def solve_exact(X_source, X_target, *, bandwidth, lam, upper, lo, hi, max_iter, tol):
    """Accelerated projected gradient on the full source kernel.

    Returns ``centers, coef, n_iter, converged``: the target rows and the source rows with a
    positive weight, and the coefficients of the fixed-point expansion (the caller derives
    the offset from the expansion, so that it reproduces the weights exactly).
    """
    n_source, n_target = len(X_source), len(X_target)
    K = gaussian_kernel(X_source, X_source, bandwidth)
    kappa = _target_mean_kernel(X_source, X_target, bandwidth) * n_source
    step_size = 1.0 / (_top_eigenvalue(K) * 1.01 + lam)
    # Strong convexity lam gives the constant momentum (sqrt(L) - sqrt(mu)) / (sqrt(L) + ...).
    ratio = np.sqrt(lam * step_size)
    momentum = (1.0 - ratio) / (1.0 + ratio)
    b = _project(np.ones(n_source), upper, lo, hi)
    y = b.copy()
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        grad = K @ y
        grad += lam * y - kappa
        b_next = _project(y - step_size * grad, upper, lo, hi)
        change = np.abs(b_next - b).max()
        # Adaptive restart (O'Donoghue & Candes): drop momentum when it points uphill.
        if np.dot(b_next - b, y - b_next) > 0:
            y = b_next.copy()
        else:
            y = b_next + momentum * (b_next - b)
        b = b_next
        if change <= tol * max(1.0, b.max()):
            converged = True
            break
    keep = b > 0
    centers = np.vstack([X_target, X_source[keep]])
    coef = np.concatenate([np.full(n_target, n_source / n_target), -b[keep]]) / lam
    return centers, coef, n_iter, converged


def solve_scalable(
    X_source, X_target, *, bandwidth, lam, upper, lo, hi, n_components, max_iter, tol, rng
):
    """Semismooth Newton on the dual of the KMM QP with a Nystroem kernel ``K ~ Phi Phi'``.

    With ``K = Phi Phi'`` and ``kappa = Phi c``, the dual of the QP is the unconstrained,
    convex, once-differentiable problem in ``u`` (one entry per landmark)

        minimise  F(u) = 1/2 ||u||^2 + u'c + lam * b'(s - b/2),  s = -Phi u / lam,
                  b = P(s),  grad F = u + c - Phi'b,

    and the primal weights are ``b = P(-Phi u / lam)``. A Newton step with the generalised
    Hessian ``I + Phi_F' Phi_F / lam`` (``F`` the rows strictly inside the box) and an Armijo
    line search converges in a handful of iterations, each one pass over ``Phi`` for ``b``
    and one for ``Phi'b``: O(n m) time per iteration and O(n m) memory for ``Phi``.

    Returns ``centers, coef, n_iter, converged``: the landmarks and the coefficients of the
    expansion.
    """
    n_source = len(X_source)
    landmarks = pooled_rows(X_source, X_target, n_components, rng)
    values, vectors = eigh(gaussian_kernel(landmarks, landmarks, bandwidth))
    keep = values > values[-1] * 1e-10
    # Phi = k(X, Z) W^(-1/2), with the pseudo-inverse dropping numerically null directions.
    whiten = vectors[:, keep] / np.sqrt(values[keep])
    dtype = np.float64 if n_source * whiten.shape[1] <= _FLOAT64_FEATURE_LIMIT else np.float32
    if is_dask_collection(X_source):
        # The features stay on the workers, in the source rows' blocks; the solver reads the
        # vectors of one value a row (phi @ u and the weights) on the client.
        phi = X_source.map_blocks(
            _features,
            landmarks,
            bandwidth,
            whiten,
            dtype,
            chunks=(X_source.chunks[0], (whiten.shape[1],)),
            dtype=dtype,
        ).persist()
    else:
        phi = np.empty((n_source, whiten.shape[1]), dtype=dtype)
        step = block_rows(len(landmarks))
        for start in range(0, n_source, step):
            block = gaussian_kernel(X_source[start : start + step], landmarks, bandwidth)
            phi[start : start + step] = block @ whiten
    column_sums = block_sum_or_call(kernel_column_sums, X_target, landmarks, bandwidth)
    c = whiten.T @ column_sums * (n_source / len(X_target))
    if dtype == np.float32:
        tol = max(tol, _FLOAT32_TOL)
    u, n_iter, converged = _dual_newton(phi, c, lam, upper, lo, hi, max_iter, tol, rng)
    return landmarks, -(whiten @ u) / lam, n_iter, converged


def pooled_rows(X_source, X_target, n_rows, rng):
    """Up to ``n_rows`` distinct rows drawn uniformly from the union of both domains."""
    n_pool = len(X_source) + len(X_target)
    if n_pool <= n_rows:
        return np.vstack([in_memory(X_source), in_memory(X_target)])
    idx = np.sort(rng.choice(n_pool, n_rows, replace=False))
    from_source = idx[idx < len(X_source)]
    from_target = idx[idx >= len(X_source)] - len(X_source)
    return np.vstack([take_rows(X_source, from_source), take_rows(X_target, from_target)])


def _features(block, landmarks, bandwidth, whiten, dtype):
    """The Nystroem features of a block of rows."""
    return (gaussian_kernel(block, landmarks, bandwidth) @ whiten).astype(dtype)


def _product(phi, u):
    """``phi @ u`` in float64 (for dask features: computed block by block, read here)."""
    if is_dask_collection(phi):
        return np.asarray((phi @ u.astype(phi.dtype)).compute(), dtype=np.float64)
    return (phi @ u.astype(phi.dtype)).astype(np.float64)


def _dual_newton(phi, c, lam, upper, lo, hi, max_iter, tol, rng):
    n, r = phi.shape
    u = np.zeros(r)
    scale = tol * max(np.linalg.norm(c), np.finfo(float).tiny)

    def evaluate(u):
        s = _product(phi, u)
        s *= -1.0 / lam
        tau = slab_shift(s, upper, lo, hi)
        b = np.clip(s - tau, 0.0, upper)
        return 0.5 * u @ u + u @ c + lam * (b @ (s - 0.5 * b)), s - tau, b, tau != 0.0

    value, shifted, b, slab = evaluate(u)
    n_iter = 0
    while True:
        grad = u + c - _transpose_product(phi, b)
        grad_norm = np.linalg.norm(grad)
        converged = grad_norm <= scale
        if converged or n_iter == max_iter:
            break
        direction = -_newton_solve(phi, shifted, slab, upper, lam, grad, rng)
        slope = grad @ direction
        t = 1.0
        while True:
            new_value, new_shifted, new_b, new_slab = evaluate(u + t * direction)
            if new_value <= value + 1e-4 * t * slope or t < 1e-10:
                break
            t *= 0.5
        if t < 1e-10:
            # No decrease is measurable at this precision: the iterate is as good as it gets.
            converged = grad_norm <= 100 * scale
            break
        n_iter += 1
        u += t * direction
        value, shifted, b, slab = new_value, new_shifted, new_b, new_slab
    return u, n_iter, converged


def _newton_solve(phi, shifted, slab, upper, lam, grad, rng):
    """Solve ``(I + Phi' J Phi / lam) d = grad`` with ``J`` the Jacobian of the projection.

    ``J`` is the identity on the rows strictly inside the box and 0 elsewhere, minus the
    rank-one average over those rows when the sum constraint is active. Beyond
    ``_HESSIAN_ROWS`` free rows, ``Phi_F' Phi_F`` is estimated on a uniform subsample: the
    step stays a descent direction and the line search keeps convergence.
    """
    free = np.flatnonzero((shifted > 0) & (shifted < upper))
    hessian = np.eye(phi.shape[1])
    if len(free):
        rows = free
        if len(free) > _HESSIAN_ROWS:
            rows = np.sort(rng.choice(free, _HESSIAN_ROWS, replace=False))
        sub = take_rows(phi, rows).astype(np.float64, copy=False)
        weight = len(free) / len(rows)
        hessian += (weight / lam) * (sub.T @ sub)
        if slab:
            mean_row = weight * sub.sum(axis=0)
            hessian -= np.outer(mean_row, mean_row) / (len(free) * lam)
    try:
        return cho_solve(cho_factor(hessian), grad)
    except LinAlgError:  # pragma: no cover - the Hessian is I + PSD; only rounding breaks it
        return grad


def _transpose_product(phi, b):
    """``phi.T @ b`` accumulated in float64 across blocks, to bound float32 rounding."""
    if is_dask_collection(phi):
        import dask.array as da

        weights = da.from_array(b.astype(phi.dtype)[:, None], chunks=(phi.chunks[0], 1))
        parts = da.map_blocks(
            _block_transpose_product,
            phi,
            weights,
            chunks=((1,) * len(phi.chunks[0]), (phi.shape[1],)),
            dtype=np.float64,
        )
        return np.asarray(parts.sum(axis=0).compute())
    if phi.dtype == np.float64:
        return phi.T @ b
    total = np.zeros(phi.shape[1])
    b = b.astype(np.float32)
    step = 8192
    for start in range(0, len(b), step):
        total += phi[start : start + step].T @ b[start : start + step]
    return total


def _block_transpose_product(phi, b):
    return (phi.T @ b[:, 0]).astype(np.float64)[None, :]


def _project(v, upper, lo, hi):
    return np.clip(v - slab_shift(v, upper, lo, hi), 0.0, upper)


def _target_mean_kernel(X_source, X_target, bandwidth):
    """``mean_j k(x_i, t_j)`` for every source row, block by block over the target rows."""
    total = np.zeros(len(X_source))
    step = block_rows(len(X_source))
    for start in range(0, len(X_target), step):
        total += gaussian_kernel(X_target[start : start + step], X_source, bandwidth).sum(axis=0)
    return total / len(X_target)


def _top_eigenvalue(K):
    if len(K) <= 64:
        return float(np.linalg.eigvalsh(K)[-1])
    # A fixed start vector keeps ARPACK (and so the fit) deterministic.
    v0 = np.ones(len(K))
    return float(eigsh(K, k=1, which="LA", tol=1e-4, v0=v0, return_eigenvectors=False)[0])
