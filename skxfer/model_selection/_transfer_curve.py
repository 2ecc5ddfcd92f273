"""Learning curves of transfer methods as the number of labelled target rows grows."""

from dataclasses import dataclass, field
from functools import partial
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn import config_context
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_array
from threadpoolctl import threadpool_limits

from skxfer._domain import check_sample_domain, domain_masks, mask_value
from skxfer.model_selection._curve_methods import CurveMethod, default_methods

#: Largest seed: seeds go to numpy's RandomState and to libraries that take 32-bit seeds.
_MAX_SEED = 2**31 - 1


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "sample_domain": ["array-like"],
        "methods": [dict, StrOptions({"default", "fast"})],
        "sizes": ["array-like"],
        "n_seeds": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "task": [StrOptions({"auto", "classification", "regression"})],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "n_jobs": [Integral, None],
        "progress": ["boolean", callable],
    },
    prefer_skip_nested_validation=False,
)
def transfer_curve(
    X,
    y,
    sample_domain,
    *,
    methods="default",
    sizes=(10, 30, 100),
    n_seeds=3,
    random_state=None,
    task="auto",
    scoring=None,
    n_jobs=None,
    progress=False,
):
    """Score transfer methods and baselines on held-out target rows as target labels grow.

    Does transfer help on this data, and with how many labelled target rows? For every
    target domain, seed and size ``n``, every method is fitted with ``n`` labelled target
    rows (and, if it transfers, every source row) and scored on labelled target rows it
    never saw:

    - each seed shuffles the labelled target rows once, in an order whose every prefix
      keeps the class proportions (classification); the first ``n`` rows of that order are
      the training labels and every row after the first ``max(sizes)`` is a test row. So a
      seed scores every ``n`` on the same test rows, and its training sets are nested;
    - the other rows of the target domain (the test rows and any unlabelled row) are passed
      with their labels masked: a method may learn from their features (a weighter does),
      never from their labels;
    - a method chooses its settings from the ``n`` training labels only, never from a test
      row (the default methods by 3-fold cross-validation).

    ``skxfer demo`` and ``skxfer compare`` print and plot these curves.

    Parameters
    ----------
    X : array-like, DataFrame or sparse matrix of shape (n_samples, n_features)
        Source and target rows, stacked (see :func:`skxfer.pack`). The default methods
        need numbers without missing values; methods of your own get rows of ``X`` as it
        is (a DataFrame stays a DataFrame).
    y : array-like of shape (n_samples,)
        Labels; a target row holding the mask value (``-1`` for integer labels, ``NaN``
        for floats, ``None`` for objects) is unlabelled: never trained on, never scored.
    sample_domain : array-like of shape (n_samples,)
        ``>= 1`` for source rows, ``<= -1`` for target rows. Each target domain (``-1``,
        ``-2``, ...) gets its own curve; the other target domains play no part in it.
    methods : dict, "default" or "fast", default="default"
        The methods to compare. ``"default"`` runs eight methods, classification and
        regression alike (a logistic regression, or a ridge, is the linear model):

        - ``"target only"``: the linear model on the ``n`` target labels (its
          regularisation by cross-validation);
        - ``"source only"``, ``"source only (xgb)"``: the linear model and an XGBoost
          model fitted on the source rows alone (no target label; the same score at every
          size);
        - ``"pooled"``: :class:`~skxfer.warm_start.PooledTransfer` (``target_weight`` by
          cross-validation);
        - ``"reweighted"``: :class:`~skxfer.reweight.ImportanceWeightedClassifier` (or
          ``Regressor``) with a :class:`~skxfer.reweight.DiscriminativeWeighter`;
        - ``"transfer logistic"`` / ``"transfer ridge"``:
          :class:`~skxfer.warm_start.TransferLogisticRegression` (with or without a fitted
          base-rate offset) / :class:`~skxfer.warm_start.TransferRidge`, pulled toward the
          source model, ``alpha="auto"``;
        - ``"xgb warm start"``: :class:`~skxfer.warm_start.XGBTransferClassifier` (or
          ``Regressor``) from the source XGBoost model;
        - ``"guarded"``: :class:`~skxfer.model_selection.TransferOrTarget` with the
          linear transfer model (without the offset) and the target-only model; its
          decision at every size and seed is in ``decisions``.

        The two XGBoost methods are left out, with a note in ``notes``, when xgboost is
        not installed. ``"fast"`` is the same set with smaller grids and fewer trees.

        A dict maps each name to an estimator or to a factory ``f(random_state)`` that
        returns one (for a method whose randomness should follow the seed). Every fit
        gets a fresh clone, fitted by what it is:

        - an estimator whose ``fit`` consumes ``sample_domain`` (skxfer's transfer
          estimators, and a Pipeline or search around one) is fitted on every source row
          and every row of the target domain, the labels of all but the ``n`` training
          rows masked, as ``fit(X, y, sample_domain=...)`` with metadata routing on for the
          call (so a search's :class:`TargetKFold` gets ``sample_domain`` too);
        - a :class:`~sklearn.frozen.FrozenEstimator` (a model fitted on the source) is
          only scored, once per seed;
        - any other estimator is fitted on the ``n`` training rows alone: a target-only
          baseline.

    sizes : array-like of int, default=(10, 30, 100)
        Numbers of labelled target rows to train on. Every target domain needs more
        labelled rows than the largest, to test on.
    n_seeds : int, default=3
        Number of shuffles of the labelled target rows (seeds) to average over.
    random_state : int, RandomState instance or None, default=None
        An int ``r`` gives the seeds ``r, r + 1, ..., r + n_seeds - 1``; otherwise the
        first seed is drawn from it. A seed fixes its shuffle and the randomness of the
        default methods (their folds, the weighter, the trees). The shuffles depend only
        on ``y``, ``sample_domain``, ``sizes`` and the seed, so two calls with the same
        of these test on the same rows and their tables can be stacked.
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` follows scikit-learn's
        :func:`~sklearn.utils.multiclass.type_of_target` on the labelled rows: whole
        numbers or text are classes, other numbers are regression (pass ``"regression"``
        for a whole-number target such as a count).
    scoring : str, callable or None, default=None
        How a fitted method is scored on the test rows (higher is better), as for
        :func:`~sklearn.model_selection.cross_validate`: a scorer name or a callable
        ``scorer(estimator, X, y)``. ``None`` is accuracy for classification and R^2 for
        regression.
    n_jobs : int or None, default=None
        Number of (target domain, seed) pairs run in parallel; ``None`` means 1 unless in
        a :func:`joblib.parallel_config` context, -1 means every processor. BLAS runs on
        one thread in this process (and joblib's worker processes share the cores out):
        these are many small fits, and more threads only wait on each other.
    progress : bool or callable, default=False
        ``True`` shows a tqdm progress bar on stderr (when tqdm is installed); a callable
        is called as ``progress(done, total)`` as the fits of each (target domain, seed,
        size) finish.

    Returns
    -------
    result : TransferCurveResult
        The score of every method at every target domain, size and seed, with the row
        indices of every split; ``result.to_frame()`` is the long table (one row per
        target domain x method x size x seed) and ``print(result)`` shows the means.

    Raises
    ------
    ValueError
        When a target domain has no more labelled rows than ``max(sizes)``, when ``y`` is
        neither classes nor numbers (or not numbers for ``task="regression"``), or when
        the default methods get non-numeric or missing features, a source with one class,
        or target classes the source lacks.

    See Also
    --------
    TargetKFold : The folds in which the default methods choose their settings.
    sklearn.model_selection.learning_curve : The same question without a source.

    Examples
    --------
    A target whose decision boundary is the source's, shifted, with 100 labelled rows:
    pooling the two domains against the target alone.

    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer import pack
    >>> from skxfer.model_selection import transfer_curve
    >>> from skxfer.warm_start import PooledTransfer
    >>> rng = np.random.RandomState(0)
    >>> X_source, X_target = rng.normal(size=(300, 4)), rng.normal(0.5, 1.0, size=(100, 4))
    >>> y_source = (X_source[:, 0] + X_source[:, 1] > 0).astype(int)
    >>> y_target = (X_target[:, 0] + X_target[:, 1] > 0.3).astype(int)
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> result = transfer_curve(
    ...     X,
    ...     y,
    ...     sample_domain,
    ...     methods={
    ...         "target only": LogisticRegression(),
    ...         "pooled": PooledTransfer(LogisticRegression()),
    ...     },
    ...     sizes=[5, 20, 60],
    ...     random_state=0,
    ... )
    >>> print(result)
    accuracy on held-out target rows, mean +- standard error over 3 seeds
    target domain -1: 100 labelled rows, 40 test rows per seed
    method                    n=5            n=20            n=60
    target only    0.842 +- 0.058  0.917 +- 0.030  0.950 +- 0.025
    pooled         0.925 +- 0.014  0.942 +- 0.017  0.942 +- 0.017

    With a few labels the source helps; by 60 the target alone has caught up. Every size of
    a seed is tested on the same 40 rows:

    >>> train, test = result.split(target=-1, seed=0, size=5)
    >>> len(train), len(test)
    (5, 40)
    >>> result.to_frame().head(3)  # one row per target x method x size x seed
       target       method  size  seed  score
    0      -1  target only     5     0  0.750
    1      -1  target only     5     1  0.825
    2      -1  target only     5     2  0.950
    """
    if isinstance(methods, dict):
        methods = _user_methods(methods)
    n_samples = _num_rows(X)
    masks = domain_masks(y, sample_domain, n_samples)
    sample_domain = check_sample_domain(sample_domain, n_samples)
    y = _label_array(y)
    task = _check_task(task, y[masks.labelled])
    classification = task == "classification"
    if not classification:
        y = _numeric_labels(y, masks.labelled)
    sizes = _check_sizes(sizes)
    targets = sorted({int(d) for d in sample_domain[masks.target]}, reverse=True)
    n_labelled = {t: int(np.sum((sample_domain == t) & masks.labelled)) for t in targets}
    for target, n in n_labelled.items():
        if n <= sizes[-1]:
            raise ValueError(
                f"sizes: target domain {target} has {n} labelled rows, too few for sizes up to "
                f"{sizes[-1]}: that needs at least {sizes[-1] + 1} ({sizes[-1]} to train on and "
                "at least one to test on). Pass smaller sizes or label more target rows."
            )
    notes = []
    if isinstance(methods, str):
        X = _numeric_features(X)
        if classification:
            _check_source_classes(y, masks)
        methods, notes = default_methods(
            X[masks.source], y[masks.source], classification=classification, fast=methods == "fast"
        )
    scorer = get_scorer(scoring if scoring is not None else _default_scoring(classification))
    seeds = _seeds(random_state, n_seeds)

    tables, orders = [], []
    for target in targets:
        table, per_seed = _target_table(X, y, sample_domain, masks, target, seeds, classification)
        tables.append(table)
        orders.append(per_seed)

    scores = np.full((len(targets), len(methods), len(sizes), len(seeds)), np.nan)
    decisions = np.full(scores.shape, None, dtype=object)
    cells = [(t, s) for t in range(len(targets)) for s in range(len(seeds))]
    ticker = _Progress(progress, len(cells) * len(sizes))
    # These fits are small: BLAS threads only add spin-waits (20x slower on a busy machine).
    # Set once, here: the limit is global to the process, so threads must not each set it.
    try:
        with threadpool_limits(limits=1):
            for (t, s), size_index, (cell_scores, cell_decisions) in _run_cells(
                cells, tables, orders, sizes, seeds, methods, scorer, n_jobs, ticker
            ):
                scores[t, :, size_index, s] = cell_scores
                decisions[t, :, size_index, s] = cell_decisions
    finally:
        ticker.close()
    return TransferCurveResult(
        scores=scores,
        decisions=decisions,
        targets=targets,
        methods=list(methods),
        sizes=sizes,
        seeds=seeds,
        task=task,
        scoring=_scoring_name(scoring, classification),
        n_source=int(masks.source.sum()),
        n_labelled=n_labelled,
        n_unlabelled={t: int(np.sum(sample_domain == t)) - n_labelled[t] for t in targets},
        notes=notes,
        _orders=[
            [rows[order] for order in per_seed] for (rows, *_), per_seed in zip(tables, orders)
        ],
    )


@dataclass(eq=False, repr=False)
class TransferCurveResult:
    """The scores of :func:`transfer_curve`; print it for the mean of every method.

    ``mean``, ``sem`` and ``per_seed`` give one method's curve on one target domain,
    ``split`` the rows it was trained and scored on, ``to_frame`` and ``summary`` every
    score as a pandas DataFrame.

    Attributes
    ----------
    scores : ndarray of shape (n_targets, n_methods, n_sizes, n_seeds)
        The score of every method on the test rows of every target domain, size and seed.
    decisions : ndarray of object, of the shape of ``scores``
        What each fitted model decided, where it says (its ``decision_``, e.g.
        ``"transfer"``, ``"target"`` or ``"blend"`` for
        :class:`~skxfer.model_selection.TransferOrTarget`); None elsewhere.
    targets : list of int
        The target domains, in the order of ``scores`` (``-1, -2, ...``).
    methods : list of str
        The method names, in the order of ``scores``.
    sizes : list of int
        The numbers of labelled target rows trained on, ascending.
    seeds : list of int
        The seed of each shuffle.
    task : str
        ``"classification"`` or ``"regression"``.
    scoring : str
        The scorer's name (``"accuracy"``, ``"r2"``, the name given, or the callable's
        name).
    n_source : int
        Number of source rows.
    n_labelled, n_unlabelled, n_test : dict
        Per target domain: its labelled rows, its unlabelled rows, and the labelled rows
        held out to test on in each seed (``n_labelled - max(sizes)``).
    notes : list of str
        What the caller should know, e.g. methods left out for a missing package.
    """

    scores: np.ndarray
    decisions: np.ndarray
    targets: list
    methods: list
    sizes: list
    seeds: list
    task: str
    scoring: str
    n_source: int
    n_labelled: dict
    n_unlabelled: dict
    notes: list = field(default_factory=list)
    _orders: list = field(default_factory=list, repr=False)

    @property
    def n_test(self):
        """Held-out labelled rows of each target domain, ``{target: n_labelled - max(sizes)}``."""
        return {t: n - self.sizes[-1] for t, n in self.n_labelled.items()}

    def per_seed(self, method, target=None):
        """Return the scores of ``method`` on ``target`` at every size and seed.

        Parameters
        ----------
        method : str
            One of ``methods``.
        target : int, default=None
            A target domain id; may be left out when there is one.

        Returns
        -------
        scores : ndarray of shape (n_sizes, n_seeds)
            One score per number of labelled target rows and seed.
        """
        if method not in self.methods:
            raise ValueError(f"method {method!r} is not one of {self.methods}.")
        return self.scores[self._target_index(target), self.methods.index(method)]

    def mean(self, method, target=None):
        """Return the mean score over the seeds at each size.

        Parameters
        ----------
        method : str
            One of ``methods``.
        target : int, default=None
            A target domain id; may be left out when there is one.

        Returns
        -------
        mean : ndarray of shape (n_sizes,)
            The learning curve of ``method``.
        """
        return self.per_seed(method, target).mean(axis=1)

    def sem(self, method, target=None):
        """Return the standard error of the mean over the seeds at each size.

        Parameters
        ----------
        method : str
            One of ``methods``.
        target : int, default=None
            A target domain id; may be left out when there is one.

        Returns
        -------
        sem : ndarray of shape (n_sizes,)
            Standard deviation over the seeds divided by ``sqrt(n_seeds)``; NaN with one
            seed.
        """
        values = self.per_seed(method, target)
        if values.shape[1] < 2:
            return np.full(values.shape[0], np.nan)
        return values.std(axis=1, ddof=1) / np.sqrt(values.shape[1])

    def decision_counts(self, method, target=None):
        """How often ``method`` decided each way over the seeds, per size.

        Parameters
        ----------
        method : str
            A method whose fitted models have a ``decision_`` (such as a
            :class:`~skxfer.model_selection.TransferOrTarget`).
        target : int, default=None
            A target domain id; may be left out when there is one.

        Returns
        -------
        counts : list of dict
            For each size (in the order of ``sizes``), ``{decision: number of seeds}``.
        """
        if method not in self.methods:
            raise ValueError(f"method {method!r} is not one of {self.methods}.")
        per_seed = self.decisions[self._target_index(target), self.methods.index(method)]
        counts = []
        for row in per_seed:
            values = [d for d in row if d is not None]
            counts.append({d: values.count(d) for d in sorted(set(values), key=str)})
        return counts

    def split(self, target=None, seed=None, size=None):
        """``(train, test)``: the rows of ``X`` a method trained on and was scored on.

        Parameters
        ----------
        target : int, default=None
            A target domain id; may be left out when there is one.
        seed : int, default=None
            One of ``seeds``; may be left out when there is one.
        size : int, default=None
            One of ``sizes``; the largest when left out.

        Returns
        -------
        train, test : ndarray of int
            Row indices into ``X``: the ``size`` training rows (the first ``size`` of the
            seed's order of the labelled target rows) and the test rows (every row of that
            order after the first ``max(sizes)``).
        """
        if seed is None:
            if len(self.seeds) > 1:
                raise ValueError(f"seed: pass one of {self.seeds}.")
            seed = self.seeds[0]
        if seed not in self.seeds:
            raise ValueError(f"seed {seed!r} is not one of {self.seeds}.")
        size = self.sizes[-1] if size is None else size
        if size not in self.sizes:
            raise ValueError(f"size {size!r} is not one of {self.sizes}.")
        order = self._orders[self._target_index(target)][self.seeds.index(seed)]
        return order[:size].copy(), order[self.sizes[-1] :].copy()

    def to_frame(self):
        """Return the scores as a pandas DataFrame, one row per target x method x size x seed.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``target``, ``method``, ``size``, ``seed`` and ``score``.
        """
        import pandas as pd

        index = pd.MultiIndex.from_product(
            [self.targets, self.methods, self.sizes, self.seeds],
            names=["target", "method", "size", "seed"],
        )
        return pd.DataFrame({"score": self.scores.ravel()}, index=index).reset_index()

    def summary(self):
        """Return the mean and its standard error over the seeds as a pandas DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            One row per target x method x size; columns ``target``, ``method``, ``size``,
            ``mean`` and ``sem``.
        """
        import pandas as pd

        rows = [
            (target, method, size, mean, sem)
            for target in self.targets
            for method in self.methods
            for size, mean, sem in zip(
                self.sizes, self.mean(method, target), self.sem(method, target)
            )
        ]
        return pd.DataFrame(rows, columns=["target", "method", "size", "mean", "sem"])

    def __str__(self):
        spread = len(self.seeds) > 1
        lines = [
            f"{self.scoring} on held-out target rows, mean"
            + (f" +- standard error over {len(self.seeds)} seeds" if spread else " of 1 seed")
        ]
        width = max(len(m) for m in [*self.methods, "method"]) + 2
        col = 16 if spread else 9
        for target in self.targets:
            lines += [
                f"target domain {target}: {self.n_labelled[target]} labelled rows, "
                f"{self.n_test[target]} test rows per seed",
                "method".ljust(width) + "".join(f"{f'n={n}':>{col}}" for n in self.sizes),
            ]
            for method in self.methods:
                cells = [
                    f"{mean:.3f} +- {sem:.3f}" if spread else f"{mean:.3f}"
                    for mean, sem in zip(self.mean(method, target), self.sem(method, target))
                ]
                lines.append(method.ljust(width) + "".join(f"{c:>{col}}" for c in cells))
        return "\n".join(lines + self.notes)

    __repr__ = __str__

    def _target_index(self, target):
        if target is None:
            if len(self.targets) > 1:
                raise ValueError(f"target: pass one of the target domains {self.targets}.")
            return 0
        if target not in self.targets:
            raise ValueError(f"target {target!r} is not one of the target domains {self.targets}.")
        return self.targets.index(target)


# ----------------------------------------------------------------------------------------------
# running the fits


def _run_cells(cells, tables, orders, sizes, seeds, methods, scorer, n_jobs, ticker):
    """Yield ``((target index, seed index), size index, scores of every method)``."""

    def arguments(t, s):
        _, X, y, sample_domain = tables[t]
        return X, y, sample_domain, orders[t][s], sizes, seeds[s], methods, scorer

    if effective_n_jobs(n_jobs) == 1:
        for t, s in cells:
            for i, cell_scores in _score_cell(*arguments(t, s)):
                yield (t, s), i, cell_scores
                ticker.advance(1)
        return
    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    jobs = (delayed(_score_cell_list)(*arguments(t, s)) for t, s in cells)
    for cell, results in zip(cells, parallel(jobs)):
        for i, cell_scores in results:
            yield cell, i, cell_scores
        ticker.advance(len(sizes))


def _target_table(X, y, sample_domain, masks, target, seeds, classification):
    """``((rows, X, y, sample_domain), orders)`` of one target domain.

    ``rows`` are the rows of ``X`` in the table: every source row, then the rows of
    ``target``. ``orders`` holds, for each seed, the positions in the table of the labelled
    target rows in the seed's order: training prefixes first, test rows after.
    """
    source_rows = np.flatnonzero(masks.source)
    target_rows = np.flatnonzero(sample_domain == target)
    rows = np.concatenate([source_rows, target_rows])
    labelled = len(source_rows) + np.flatnonzero(masks.labelled[target_rows])
    y_labelled = y[rows[labelled]]
    orders = [labelled[_label_order(y_labelled, seed, classification)] for seed in seeds]
    return (rows, _safe_indexing(X, rows), y[rows], sample_domain[rows]), orders


def _score_cell_list(*args):
    return list(_score_cell(*args))


def _score_cell(X, y, sample_domain, order, sizes, seed, methods, scorer):
    """Yield ``(size index, [score of each method])`` for one target domain and seed."""
    test = order[sizes[-1] :]
    X_test, y_test = _safe_indexing(X, test), y[test]
    target = np.flatnonzero(sample_domain < 0)
    frozen = {}
    for i, n in enumerate(sizes):
        train = order[:n]
        y_fit = y.copy()
        y_fit[target] = mask_value(y)
        y_fit[train] = y[train]
        cell_scores, cell_decisions = [], []
        for name, method in methods.items():
            if name in frozen:
                cell_scores.append(frozen[name])
                cell_decisions.append(None)
                continue
            try:
                model = method.fit(X, y_fit, sample_domain, train, seed)
                score = float(scorer(model, X_test, y_test))
            except Exception as exc:
                if hasattr(exc, "add_note"):  # Python 3.11+
                    exc.add_note(f"transfer_curve: method {name!r}, seed {seed}, size {n}.")
                raise
            if method.frozen:
                frozen[name] = score
            cell_scores.append(score)
            cell_decisions.append(getattr(model, "decision_", None))
        yield i, (cell_scores, cell_decisions)


class _Progress:
    """``progress`` as one object: ``advance(k)`` after ``k`` steps, ``close()`` at the end."""

    def __init__(self, progress, total):
        self.total, self.done, self.callback, self.bar = total, 0, None, None
        if callable(progress):
            self.callback = progress
        elif progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=total, desc="transfer_curve", leave=False, unit="fit")

    def advance(self, steps):
        self.done += steps
        if self.callback is not None:
            self.callback(self.done, self.total)
        if self.bar is not None:
            self.bar.update(steps)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# ----------------------------------------------------------------------------------------------
# the methods a caller passes


def _user_methods(methods):
    if not methods:
        raise ValueError(
            "methods is an empty dict; pass {name: estimator or factory, ...} or 'default'."
        )
    out = {}
    for name, value in methods.items():
        if not isinstance(name, str):
            raise TypeError(f"methods: the names are the keys and must be str, got {name!r}.")
        if hasattr(value, "fit"):
            if _is_frozen(value):
                out[name] = CurveMethod.scored_only(value)
            else:
                out[name] = CurveMethod(partial(_fit_estimator, value))
        elif callable(value):
            out[name] = CurveMethod(partial(_fit_factory, name, value))
        else:
            raise TypeError(
                f"methods[{name!r}] is a {type(value).__name__}; pass an estimator or a "
                "factory f(random_state) that returns one."
            )
    return out


def _fit_factory(name, factory, X, y, sample_domain, train, seed):
    estimator = factory(seed)
    if not hasattr(estimator, "fit"):
        raise TypeError(
            f"methods[{name!r}] returned a {type(estimator).__name__}, not an estimator; a "
            "factory takes the seed and returns an unfitted estimator."
        )
    return _fit_fresh(estimator, X, y, sample_domain, train)


def _fit_estimator(estimator, X, y, sample_domain, train, seed):
    return _fit_fresh(clone(estimator), X, y, sample_domain, train)


def _fit_fresh(estimator, X, y, sample_domain, train):
    """Fit a new estimator by what it is (see ``methods``)."""
    if _is_frozen(estimator):
        return estimator
    if get_routing_for_object(estimator).consumes("fit", ["sample_domain"]):
        # on for this call only: a Pipeline or a search routes sample_domain to every step
        # and splitter that requests it, which they cannot do with routing off
        with config_context(enable_metadata_routing=True):
            return estimator.fit(X, y, sample_domain=sample_domain)
    return estimator.fit(_safe_indexing(X, train), y[train])


def _is_frozen(estimator):
    return isinstance(estimator, FrozenEstimator)


# ----------------------------------------------------------------------------------------------
# checks


def _num_rows(X):
    if hasattr(X, "shape") and len(X.shape) > 0:
        return X.shape[0]
    return len(X)


def _label_array(y):
    y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if y.dtype.kind == "b":
        return y.astype(int)
    if y.dtype.kind in "US":
        # text labels have no mask value of their own; as objects, None marks a row
        return y.astype(object)
    return y


def _check_task(task, y_labelled):
    if task != "auto":
        return task
    kind = type_of_target(y_labelled, input_name="y")
    if kind in ("binary", "multiclass"):
        return "classification"
    if kind == "continuous":
        return "regression"
    raise ValueError(
        f"y holds {kind!r} labels; transfer_curve needs classes or numbers, one per row "
        "(pass task='classification' or 'regression')."
    )


def _numeric_labels(y, labelled):
    """Regression labels as floats, NaN on every unlabelled row."""
    out = np.full(len(y), np.nan)
    try:
        out[labelled] = y[labelled].astype(float)
    except (TypeError, ValueError):
        raise ValueError(
            "task='regression' needs numeric labels, but y holds text; pass "
            "task='classification' or convert y to numbers."
        ) from None
    if not np.all(np.isfinite(out[labelled])):
        raise ValueError("y holds an infinite label; every labelled row needs a finite one.")
    return out


def _check_sizes(sizes):
    values = np.asarray(sizes)
    if values.ndim != 1 or len(values) == 0 or values.dtype.kind not in "iuf":
        raise ValueError(
            f"sizes must be a list of numbers of labelled target rows, e.g. (10, 30, 100); "
            f"got {sizes!r}."
        )
    if not np.all(np.isfinite(values)) or np.any(values != np.round(values)) or values.min() < 1:
        raise ValueError(
            f"sizes must be whole numbers of labelled target rows, at least 1; got {sizes!r}."
        )
    return sorted({int(v) for v in values})


def _numeric_features(X):
    try:
        return check_array(X, input_name="X")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{exc} The default methods need numeric features without missing values: encode "
            "and impute X first, or pass methods= estimators (such as Pipelines) that do."
        ) from None


def _check_source_classes(y, masks):
    classes = [_python(c) for c in np.unique(y[masks.source])]
    if len(classes) < 2:
        raise ValueError(
            f"y: every source row has the label {classes[0]!r}; the default methods fit "
            "classifiers on the source rows, which need two classes or more."
        )
    target_classes = {_python(c) for c in np.unique(y[masks.labelled_target])}
    unknown = sorted(target_classes - set(classes))
    if unknown:
        shown = unknown[:5]
        raise ValueError(
            f"y: target label(s) {shown} never occur in the source rows, so the default "
            "methods' source models cannot predict them; drop those rows, or pass methods= "
            "of your own."
        )


def _python(value):
    """A numpy scalar as the Python value it holds, so that messages show ``1``, not
    ``np.int64(1)``."""
    return value.item() if isinstance(value, np.generic) else value


def _default_scoring(classification):
    return "accuracy" if classification else "r2"


def _scoring_name(scoring, classification):
    if scoring is None:
        return _default_scoring(classification)
    if isinstance(scoring, str):
        return scoring
    return getattr(scoring, "__name__", type(scoring).__name__)


def _seeds(random_state, n_seeds):
    if isinstance(random_state, Integral):
        first = int(random_state)
    else:
        first = int(check_random_state(random_state).randint(_MAX_SEED - n_seeds))
    return [(first + k) % (_MAX_SEED + 1) for k in range(n_seeds)]


def _label_order(y, seed, classification):
    """A random order of the labelled target rows whose every prefix keeps the class
    proportions (for classification), so that a few labels still show every common class."""
    rng = np.random.RandomState(seed)
    perm = rng.permutation(len(y))
    if not classification:
        return perm
    key = np.empty(len(y))
    for cls in np.unique(y):
        members = perm[y[perm] == cls]
        # the k-th row of a class of size m sits at (k + u) / m along the order
        key[members] = (np.arange(len(members)) + rng.uniform(size=len(members))) / len(members)
    return perm[np.argsort(key[perm], kind="stable")]
