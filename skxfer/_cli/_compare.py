"""``skxfer compare``, and the comparison that both commands run.

:func:`compare_tables` encodes a source table and one or more target tables (the encoding
fitted on the source rows alone), runs :func:`skxfer.model_selection.transfer_curve` on
them and returns a :class:`Comparison` for the report; :func:`run_compare` does that for a
user's CSV files.
"""

from dataclasses import dataclass, field

import numpy as np

from skxfer._cli._csv import InputError, read_tables

# No scikit-learn import up here: a bad file is reported before the slow imports.

#: Fewest labelled target rows kept aside to test on.
MIN_TEST_ROWS = 10
DEFAULT_SIZES = (10, 30, 100)
FAST_SIZES = (10, 30)


def run_compare(
    source,
    target,
    label,
    *,
    task="auto",
    sizes=None,
    seeds=None,
    fast=False,
    plot="skxfer_compare.png",
    progress=True,
    echo=None,
):
    """Compare target-only, source-only and transfer methods on two CSV files.

    Returns the report as text; ``echo`` (e.g. ``print``), when given, gets the report as
    soon as it is ready and then the line about the plot, so a slow or failing plot never
    holds the table back. Raises :class:`InputError` with a one-line message for anything
    wrong with the files or the options; nothing is fitted before every check has passed.
    """
    X_source, y_source, X_target, y_target, info = read_tables(source, target, label, task)
    sizes = check_sizes(sizes, info["n_labelled_target"], fast)
    n_seeds = seeds or (1 if fast else 3)
    if n_seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {n_seeds}.")
    # only now the slow imports: every check of the files has passed
    from skxfer._cli._report import format_report, print_then_plot

    result = compare_tables(
        X_source,
        y_source,
        {info["target_name"]: (X_target, y_target)},
        task=info["task"],
        sizes=sizes["sizes"],
        n_seeds=n_seeds,
        fast=fast,
        progress=progress,
        desc="compare",
    )
    result.notes[:0] = info["notes"] + sizes["notes"]
    title = [
        f"skxfer compare: source {source} ({len(y_source)} labelled rows) -> target {target}; "
        f"label {label!r}, {info['task']} ({info['task_reason']}).",
        f"{len(info['features'])} feature columns ({info['n_numeric']} numeric, "
        f"{len(info['features']) - info['n_numeric']} categorical). Target {result.metric} on "
        f"held-out labelled target rows, mean of {n_seeds} seed(s).",
    ]
    report = format_report(result, title)
    return print_then_plot(report, result, plot, f"skxfer compare: {source} -> {target}", echo)


def check_sizes(sizes, n_labelled, fast):
    """The numbers of target labels to run: the requested ones, or the default ones that fit.

    Every size needs ``MIN_TEST_ROWS`` more labelled target rows to test on.
    """
    available = n_labelled - MIN_TEST_ROWS
    notes = []
    if sizes is not None:
        sizes = sorted(set(sizes))
        if sizes[0] < 1:
            raise InputError(f"--sizes must be positive numbers of target labels, got {sizes}.")
        if sizes[-1] > available:
            raise InputError(
                f"the target has {n_labelled} labelled rows, too few for --sizes up to "
                f"{sizes[-1]}: that needs {sizes[-1] + MIN_TEST_ROWS} ({sizes[-1]} to train "
                f"on, {MIN_TEST_ROWS} to test on). Pass smaller --sizes."
            )
        return {"sizes": sizes, "notes": notes}
    default = FAST_SIZES if fast else DEFAULT_SIZES
    fitting = [n for n in default if n <= available]
    if not fitting:
        raise InputError(
            f"the target has {n_labelled} labelled rows, too few to compare: the smallest "
            f"default size, {default[0]} labels, needs {default[0] + MIN_TEST_ROWS} "
            f"({MIN_TEST_ROWS} to test on). Label more target rows or pass smaller --sizes."
        )
    if len(fitting) < len(default):
        dropped = [n for n in default if n not in fitting]
        notes.append(
            f"sizes {dropped} skipped: the target has {n_labelled} labelled rows "
            f"({MIN_TEST_ROWS} are kept to test on)."
        )
    return {"sizes": fitting, "notes": notes}


@dataclass
class Comparison:
    """What the report shows: the curves of every named target, and the notes.

    ``curve`` is the :class:`~skxfer.model_selection.TransferCurveResult`; ``names`` maps
    each of its target domains to the name the report shows; ``majority[name]`` is the
    share of the commonest class among the test rows of each seed (classification).
    """

    curve: object
    names: dict
    majority: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def targets(self):
        return [self.names[t] for t in self.curve.targets]

    @property
    def methods(self):
        return self.curve.methods

    @property
    def sizes(self):
        return self.curve.sizes

    @property
    def seeds(self):
        return self.curve.seeds

    @property
    def metric(self):
        return "accuracy" if self.curve.task == "classification" else "R^2"

    def per_seed(self, target, method):
        """Scores of ``method`` on the named ``target``, shape ``(n_sizes, n_seeds)``."""
        return self.curve.per_seed(method, self._domain(target))

    def mean(self, target, method):
        return self.curve.mean(method, self._domain(target))

    def decision_counts(self, target, method):
        """``[{decision: seeds}]`` per size of a method that decides (the guard)."""
        return self.curve.decision_counts(method, self._domain(target))

    def counts(self, target):
        """``(labelled rows, unlabelled rows, test rows per seed)`` of the named target."""
        domain = self._domain(target)
        curve = self.curve
        return curve.n_labelled[domain], curve.n_unlabelled[domain], curve.n_test[domain]

    def _domain(self, target):
        return next(t for t, name in self.names.items() if name == target)


def compare_tables(X_source, y_source, targets, *, task, sizes, n_seeds, fast, progress, desc):
    """Encode the tables and score every default method on every target.

    Parameters
    ----------
    X_source : DataFrame
        Source rows, every one labelled.
    y_source : ndarray
        Source labels (class codes ``0..k-1`` or floats).
    targets : dict
        ``name -> (X_target, y_target)``; ``y_target`` holds -1 (classification) or NaN
        (regression) on unlabelled rows.
    task : {"classification", "regression"}
    sizes : list of int
        Numbers of target labels to train on, ascending.
    n_seeds : int
        Shuffles of the target rows (seeds 0, 1, ...).
    fast : bool
        Smaller grids and fewer trees.
    progress : bool
        A progress bar on stderr (when tqdm is installed), named ``desc``.
    """
    from skxfer._cli._encode import encode_tables
    from skxfer.model_selection import transfer_curve

    names = dict(zip(range(-1, -len(targets) - 1, -1), targets))
    frames = [X for X, _ in targets.values()]
    X_source, X_targets, notes = encode_tables(X_source, frames)
    y_targets = [np.asarray(y) for _, y in targets.values()]
    domains = [np.ones(len(X_source), dtype=int)]
    domains += [np.full(len(X), domain) for domain, X in zip(names, X_targets)]
    X = np.vstack([X_source, *X_targets])
    y = np.concatenate([np.asarray(y_source), *y_targets])
    bar = _progress_bar(len(targets) * n_seeds * len(sizes), progress, desc)
    try:
        curve = transfer_curve(
            X,
            y,
            np.concatenate(domains),
            methods="fast" if fast else "default",
            sizes=sizes,
            n_seeds=n_seeds,
            random_state=0,
            task=task,
            progress=False if bar is None else lambda done, total: bar.update(done - bar.n),
        )
    finally:
        if bar is not None:
            bar.close()
    majority = {}
    if curve.task == "classification":
        for domain, name in names.items():
            tests = [y[curve.split(domain, seed)[1]] for seed in curve.seeds]
            majority[name] = [float(np.bincount(test).max() / len(test)) for test in tests]
    return Comparison(curve, names, majority, notes + curve.notes)


def _progress_bar(total, enabled, desc):
    """A tqdm bar on stderr, or None (disabled, or tqdm not installed)."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, unit="run")
