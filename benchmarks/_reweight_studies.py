"""Two studies of ``reweight_quality.py``: ``ratio`` and ``discriminator``.

``ratio``: the Spearman correlation between each weighter's weights (its defaults) and the true
density ratio on the source rows, on the synthetic shift families of ``_shift_families.py``
(every family x dimension x size x seed). ``--hindsight`` adds, for seed 0, the best Spearman
over a grid of each method's main hyper-parameters, chosen WITH the true ratio: not a usable
setting, but the most the method's model class reaches at that sample size, which tells a
default that could do better from a method that cannot.

``discriminator``: target accuracy of a classifier fitted on the source rows with the weights of
(a) nothing (source-only), (b) a plain logistic source-versus-target discriminator
(``LogisticRegression()`` on the stacked rows, weights ``p / (1 - p) * n_s / n_t``), (c)
skxfer's default ``DiscriminativeWeighter()``, next to (d) the target-only limit (5-fold CV
accuracy on the target labels), on every ordered pair of the real sets under ``../shared/data``,
over several random 80% subsamples of both domains and two base classifiers (``SVC()`` and
``LogisticRegression()``).
"""

import itertools
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from _common import (
    DATA_DIR,
    RESULTS_DIR,
    describe_machine,
    machine_info,
    markdown_table,
    mean_one,
    median_gamma,
    npz_domains,
    save_results,
    wine_domains,
)
from _shift_families import make_shift, true_ess_fraction

METHODS = ("kmm", "kliep", "ulsif", "rulsif", "discriminative", "nearest_neighbors")
LABELS = {
    "kmm": "KMM",
    "kliep": "KLIEP",
    "ulsif": "uLSIF",
    "rulsif": "RuLSIF",
    "discriminative": "Disc",
    "nearest_neighbors": "NN",
}
CLASSES = {
    "kmm": "KMMWeighter",
    "kliep": "KLIEPWeighter",
    "ulsif": "ULSIFWeighter",
    "rulsif": "RULSIFWeighter",
    "discriminative": "DiscriminativeWeighter",
    "nearest_neighbors": "NearestNeighborsWeighter",
}
# The Spearman goal of every weighter, and KMM's (its weights solve a moment-matching QP, not
# a ratio model).
GOAL = {method: 0.7 if method == "kmm" else 0.9 for method in METHODS}
DIMS = (2, 5, 10, 20)
SIZES = ((500, 200), (1000, 500), (2000, 1000))


# ----------------------------------------------------------------------------------------------
# running tasks


def run_tasks(function, tasks, jobs):
    """``function(task)`` for every task, in ``jobs`` processes; yields the results in order."""
    if jobs <= 1:
        for task in tasks:
            yield function(task)
        return
    with ProcessPoolExecutor(jobs, initializer=_one_blas_thread) as pool:
        yield from pool.map(function, tasks)


def _one_blas_thread():
    os.environ["OMP_NUM_THREADS"] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def save(name, args, rows, report, elapsed):
    """The run's rows, arguments and tables via ``save_results``."""
    payload = {"args": vars(args), "machine": machine_info(), "rows": rows, "seconds": elapsed}
    return save_results(name, payload, report)


# ----------------------------------------------------------------------------------------------
# ratio: Spearman against the true ratio


def ratio_tasks(args):
    cells = itertools.product(args.families, args.dims, args.sizes, range(args.seeds))
    tasks = [
        {"family": f, "d": d, "n_source": ns, "n_target": nt, "seed": s, "hindsight": False}
        for f, d, (ns, nt), s in cells
    ]
    if args.hindsight:
        tasks += [
            {**task, "hindsight": True} for task in tasks if task["seed"] == 0
        ]  # the grid search is costly: one seed
    return [{**task, "methods": args.methods} for task in tasks]


def ratio_task(task):
    """Spearman of each method on one data set (its default, or its best grid point)."""
    from scipy.stats import spearmanr

    import skxfer.reweight as rw

    Xs, Xt, log_ratio = make_shift(
        task["family"], task["d"], task["n_source"], task["n_target"], task["seed"]
    )
    X = np.vstack([Xs, Xt])
    sample_domain = np.r_[np.ones(len(Xs), int), -np.ones(len(Xt), int)]
    rows = []
    for method in task["methods"]:
        if task["hindsight"]:
            candidates = hindsight_grid(method, Xs, Xt, task["seed"])
        else:
            weighter = getattr(rw, CLASSES[method])(random_state=task["seed"])
            candidates = [("default", weighter)]
        best, best_label, t0 = -np.inf, None, time.perf_counter()
        for label, weighter in candidates:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence warnings at odd grid points
                try:
                    w = weighter.fit(X, sample_domain=sample_domain).weights_
                except ValueError:  # e.g. every weight 0 at a tiny bandwidth
                    continue
            rho = spearmanr(w, log_ratio).statistic
            if np.isfinite(rho) and rho > best:
                best, best_label = float(rho), label
        rows.append(
            {
                "family": task["family"],
                "d": task["d"],
                "n_source": task["n_source"],
                "n_target": task["n_target"],
                "seed": task["seed"],
                "method": method,
                "setting": "hindsight" if task["hindsight"] else "default",
                "spearman": best if np.isfinite(best) else None,
                "best_params": best_label if task["hindsight"] else None,
                "seconds": time.perf_counter() - t0,
            }
        )
    return rows


def hindsight_grid(method, Xs, Xt, seed):
    """``(label, weighter)`` over a grid of the method's main hyper-parameters."""
    import skxfer.reweight as rw

    median = np.sqrt(0.5 / median_gamma(Xs, Xt, seed))
    if method in ("kmm", "kliep"):
        cls = rw.KMMWeighter if method == "kmm" else rw.KLIEPWeighter
        return [
            (f"bandwidth={f:.3g}*median", cls(bandwidth=f * median, random_state=seed))
            for f in 2.0 ** np.arange(-4, 2.5, 0.5)
        ]
    if method in ("ulsif", "rulsif"):
        cls = rw.ULSIFWeighter if method == "ulsif" else rw.RULSIFWeighter
        return [
            (f"bandwidth={f:.3g}*median, reg={reg:g}", cls(bandwidth=f * median, reg=reg))
            for f in 2.0 ** np.arange(-4, 2.5, 1.0)
            for reg in 10.0 ** np.arange(-5, 2)
        ]
    if method == "nearest_neighbors":
        m = len(Xs) + len(Xt)
        return [
            (f"n_neighbors={k}", rw.NearestNeighborsWeighter(n_neighbors=k, random_state=seed))
            for k in sorted({max(1, round(f * np.sqrt(m))) for f in (0.25, 0.5, 1, 2, 3, 4, 6, 8)})
        ]
    forms = ["linear", "squares"] + (["products"] if Xs.shape[1] <= 20 else [])
    return [
        (f"{form}, C={C:g}", rw.DiscriminativeWeighter(_logistic(form, C)))
        for form in forms
        for C in 10.0 ** np.arange(-3, 3)
    ]


def _logistic(form, C):
    """Logistic regression on standardised ``x``, ``[x, x**2]`` or ``x`` and its products."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, StandardScaler

    steps = [StandardScaler()]
    if form == "squares":
        steps += [FunctionTransformer(_with_squares), StandardScaler()]
    elif form == "products":
        steps += [PolynomialFeatures(2, include_bias=False), StandardScaler()]
    return make_pipeline(*steps, LogisticRegression(C=C, max_iter=1000))


def _with_squares(Z):
    return np.hstack([Z, Z**2])


def ratio_study(args):
    tasks = ratio_tasks(args)
    print(f"{len(tasks)} data sets, {len(args.methods)} weighters, --jobs {args.jobs}", flush=True)
    t0, rows = time.monotonic(), []
    for k, result in enumerate(run_tasks(ratio_task, tasks, args.jobs)):
        rows += result
        if (k + 1) % 20 == 0:
            print(f"  {k + 1}/{len(tasks)} data sets, {time.monotonic() - t0:.0f} s", flush=True)
    elapsed = time.monotonic() - t0
    report = render_ratio(args, rows, elapsed)
    print(report, flush=True)
    if not args.no_save:
        name = "reweight_ratio" + args.tag
        path = save(name, args, rows, report, elapsed)
        print(f"\nresults written to {path.relative_to(RESULTS_DIR.parents[1])}")


def _mean(rows, setting, method, **where):
    vals = [
        r["spearman"]
        for r in rows
        if r["setting"] == setting
        and r["method"] == method
        and all(r[k] == v for k, v in where.items())
    ]
    vals = [v if v is not None else np.nan for v in vals]
    return float(np.mean(vals)) if vals else None


def _cell(value, goal):
    if value is None:
        return "—"
    return f"{value:.3f}" + ("" if value >= goal else " ✗")


def render_ratio(args, rows, elapsed):
    methods = list(args.methods)
    sizes = " / ".join(f"{ns}:{nt}" for ns, nt in args.sizes)
    out = [
        "Spearman correlation between each weighter's weights (its defaults) and the true "
        f"density ratio on the source rows; mean over {args.seeds} seed(s) and the sizes "
        f"(source:target rows) {sizes}. ✗: below the goal (KMM 0.7, the others 0.9)."
    ]
    ess = {(f, d): true_ess_fraction(f, d, n=50_000) for f in args.families for d in args.dims}
    headers = ["family", "d", "true ESS"] + [LABELS[m] for m in methods]
    out.append("\n## Spearman by family and dimension (defaults)\n")
    table = []
    for f, d in itertools.product(args.families, args.dims):
        table.append(
            [f, d, f"{ess[(f, d)]:.2f}"]
            + [_cell(_mean(rows, "default", m, family=f, d=d), GOAL[m]) for m in methods]
        )
    out.append(markdown_table(headers, table, "lrr" + "r" * len(methods)))
    out.append("\n## Spearman by family and size (defaults, mean over d)\n")
    table = []
    for f, (ns, nt) in itertools.product(args.families, args.sizes):
        table.append(
            [f, f"{ns}:{nt}"]
            + [_cell(_mean(rows, "default", m, family=f, n_source=ns), GOAL[m]) for m in methods]
        )
    out.append(markdown_table(["family", "rows"] + [LABELS[m] for m in methods], table))
    if any(r["setting"] == "hindsight" for r in rows):
        out.append(
            "\n## Best hyper-parameter in hindsight (seed 0; chosen with the true ratio)\n\n"
            "The most each method's model class reaches at these sizes: where this misses the "
            "goal, no setting of the method does; where it passes and the default does not, the "
            "default's choice is at fault.\n"
        )
        table = []
        for f, d in itertools.product(args.families, args.dims):
            table.append(
                [f, d]
                + [_cell(_mean(rows, "hindsight", m, family=f, d=d), GOAL[m]) for m in methods]
            )
        out.append(markdown_table(["family", "d"] + [LABELS[m] for m in methods], table))
    out.append("\n## Goal: cells (family x d x size, mean over seeds) that reach it\n")
    table = []
    for m in methods:
        cells = list(itertools.product(args.families, args.dims, args.sizes))
        means = [_mean(rows, "default", m, family=f, d=d, n_source=s[0]) for f, d, s in cells]
        passed = sum(v is not None and v >= GOAL[m] for v in means)
        families_all = [
            f
            for f in args.families
            if all(
                (v := _mean(rows, "default", m, family=f, d=d, n_source=s[0])) is not None
                and v >= GOAL[m]
                for d in args.dims
                for s in args.sizes
            )
        ]
        table.append(
            [
                LABELS[m],
                GOAL[m],
                f"{passed}/{len(cells)}",
                ", ".join(families_all) or "none",
            ]
        )
    out.append(
        markdown_table(["method", "goal", "cells reached", "families reached in every cell"], table)
    )
    out.append(f"\nmachine: {describe_machine(machine_info())}")
    out.append(f"wall time: {elapsed / 60:.1f} min")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------------
# discriminator: downstream accuracy on real shifts

# family -> (title, folder, domains, preprocessing)
REAL_FAMILIES = {
    "office": (
        "Office-Caltech10 SURF",
        "office_caltech10_surf",
        ["amazon", "webcam", "dslr", "caltech10"],
        "log1p+std",
    ),
    "amazon": (
        "Amazon reviews 400",
        "amazon_reviews_400",
        ["books", "dvd", "elec", "kitchen"],
        "std",
    ),
    "digits": ("MNIST <-> USPS", "mnist_usps_jda", ["mnist", "usps"], "std"),
    "coil": ("COIL1 <-> COIL2", "coil20_jda", ["coil1", "coil2"], "std"),
    "wine": ("Wine red <-> white", "winequality", ["red", "white"], "std"),
}
DISC_METHODS = ("source_only", "plain", "default", "target_only")
_DOMAINS = {}


def discriminator_tasks(args):
    tasks = []
    for family in args.real_families:
        _, folder, names, _ = REAL_FAMILIES[family]
        if not (DATA_DIR / folder).is_dir():
            print(f"{REAL_FAMILIES[family][0]}: {DATA_DIR / folder} is absent, skipped.")
            continue
        # Families of two domains have 2 pairs and get more seeds than those of 12 pairs.
        seeds = args.seeds if len(names) > 2 else args.seeds * 2 - 1
        for (s, t), seed in itertools.product(itertools.permutations(names, 2), range(seeds)):
            tasks.append({"family": family, "source": s, "target": t, "seed": seed})
    return tasks


def _domains(family):
    if family not in _DOMAINS:
        _, folder, names, _ = REAL_FAMILIES[family]
        _DOMAINS[family] = wine_domains() if family == "wine" else npz_domains(folder, names)
    return _DOMAINS[family]


def _subsample_pair(task, fraction=0.8, max_rows=2000):
    """A random ``fraction`` of each domain (at most ``max_rows``), preprocessed without labels
    on the stacked rows (``log1p`` for SURF counts, then StandardScaler)."""
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(task["seed"])
    parts = []
    for name in (task["source"], task["target"]):
        X, y = _domains(task["family"])[name]
        n = min(max_rows, round(fraction * len(y)))
        keep = np.sort(rng.choice(len(y), n, replace=False))
        parts += [X[keep], y[keep]]
    Xs, ys, Xt, yt = parts
    X = np.vstack([Xs, Xt]).astype(float)
    if REAL_FAMILIES[task["family"]][3] == "log1p+std":
        X = np.log1p(X)
    Z = StandardScaler().fit_transform(X)
    return Z[: len(ys)], ys, Z[len(ys) :], yt


def _bases():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    return {"SVC": lambda: SVC(), "LogReg": lambda: LogisticRegression(max_iter=2000)}


def discriminator_task(task):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    import skxfer.reweight as rw

    Zs, ys, Zt, yt = _subsample_pair(task)
    X = np.vstack([Zs, Zt])
    is_target = np.r_[np.zeros(len(Zs), int), np.ones(len(Zt), int)]
    weights = {"source_only": np.ones(len(Zs))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a plain discriminator on separable domains
        p = LogisticRegression(max_iter=1000).fit(X, is_target).predict_proba(Zs)[:, 1]
    weights["plain"] = p / (1 - p) * len(Zs) / len(Zt)
    weighter = rw.DiscriminativeWeighter(random_state=task["seed"])
    weighter.fit(X, sample_domain=np.where(is_target == 1, -1, 1))
    weights["default"] = weighter.weights_
    rows = []
    for base_name, make_base in _bases().items():
        for method in DISC_METHODS:
            row = {**task, "base": base_name, "method": method, "ess_fraction": None}
            if method == "target_only":
                cv = StratifiedKFold(5, shuffle=True, random_state=task["seed"])
                row["accuracy"] = float(cross_val_score(make_base(), Zt, yt, cv=cv).mean())
            else:
                w = mean_one(weights[method])
                row["ess_fraction"] = float(w.sum() ** 2 / np.sum(w**2) / len(w))
                model = make_base().fit(Zs, ys, sample_weight=w)
                row["accuracy"] = float(model.score(Zt, yt))
            if method == "default":
                row["default_choice"] = _default_choice(weighter)
            rows.append(row)
    return rows


def _default_choice(weighter):
    """The default classifier's features and C (older skxfer: ``squares`` and C = 1)."""
    features, logistic = weighter.estimator_[0], weighter.estimator_[-1]
    form = getattr(features, "form", None)
    if form is None:
        form = "squares" if getattr(features, "squares", False) else "linear"
    return f"{form}, C={logistic.C:g}"


def discriminator_study(args):
    tasks = discriminator_tasks(args)
    print(f"{len(tasks)} pair x seed runs, --jobs {args.jobs}", flush=True)
    t0, rows = time.monotonic(), []
    for k, result in enumerate(run_tasks(discriminator_task, tasks, args.jobs)):
        rows += result
        if (k + 1) % 10 == 0:
            print(f"  {k + 1}/{len(tasks)} runs, {time.monotonic() - t0:.0f} s", flush=True)
    elapsed = time.monotonic() - t0
    for row in rows:
        row.setdefault("default_choice", None)
    report = render_discriminator(args, rows, elapsed)
    print(report, flush=True)
    if not args.no_save:
        name = "reweight_discriminator" + args.tag
        path = save(name, args, rows, report, elapsed)
        print(f"\nresults written to {path.relative_to(RESULTS_DIR.parents[1])}")


def _accuracies(rows, family, base, method):
    """Accuracy of each (pair, seed), keyed so that methods can be paired."""
    return {
        (r["source"], r["target"], r["seed"]): r["accuracy"]
        for r in rows
        if r["family"] == family and r["base"] == base and r["method"] == method
    }


def render_discriminator(args, rows, elapsed):
    out = [
        "Target accuracy of a classifier fitted on the source rows with each method's weights "
        "(rescaled to mean 1), on random 80% subsamples of both domains (at most 2000 rows), "
        "preprocessed without labels (StandardScaler; log1p first for SURF counts). "
        "plain: LogisticRegression() on [source; target] predicting the domain, weights "
        "p / (1 - p) * n_s / n_t. default: skxfer's DiscriminativeWeighter(). target-only: "
        "5-fold CV accuracy on the target labels (the upper limit; labels used nowhere else). "
        "default - plain: mean paired difference ± its standard error over pairs x seeds. "
        "gap closed: (default - source-only) / (target-only - source-only)."
    ]
    families = [f for f in args.real_families if any(r["family"] == f for r in rows)]
    for base in _bases():
        out.append(f"\n## Base classifier {base}\n")
        table = []
        for family in families:
            acc = {m: _accuracies(rows, family, base, m) for m in DISC_METHODS}
            keys = sorted(acc["default"])
            mean = {m: float(np.mean([acc[m][k] for k in keys])) for m in DISC_METHODS}
            diff = np.array([acc["default"][k] - acc["plain"][k] for k in keys])
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
            ess = {
                m: np.mean(
                    [
                        r["ess_fraction"]
                        for r in rows
                        if r["family"] == family and r["base"] == base and r["method"] == m
                    ]
                )
                for m in ("plain", "default")
            }
            gap = mean["target_only"] - mean["source_only"]
            table.append(
                [
                    REAL_FAMILIES[family][0],
                    len({k[:2] for k in keys}),
                    len(keys),
                    f"{mean['source_only']:.3f}",
                    f"{mean['plain']:.3f} ({ess['plain']:.2f})",
                    f"{mean['default']:.3f} ({ess['default']:.2f})",
                    f"{mean['target_only']:.3f}",
                    f"{diff.mean():+.3f} ± {se:.3f}",
                    f"{mean['default'] / mean['plain']:.3f}",
                    f"{(mean['default'] - mean['source_only']) / gap:+.2f}" if gap else "—",
                ]
            )
        out.append(
            markdown_table(
                [
                    "family",
                    "pairs",
                    "runs",
                    "source-only",
                    "plain (ESS)",
                    "default (ESS)",
                    "target-only",
                    "default - plain",
                    "default / plain",
                    "gap closed",
                ],
                table,
                "lrrrrrrrrr",
            )
        )
    choices = {}
    for r in rows:
        if r["method"] == "default" and r["base"] == "SVC" and r.get("default_choice"):
            choices.setdefault(r["family"], []).append(r["default_choice"])
    if choices:
        out.append("\nThe default classifier's features and C (form, C: runs):\n")
        for family in families:
            values, counts = np.unique(choices.get(family, []), return_counts=True)
            text = "; ".join(f"{v}: {c}" for v, c in zip(values, counts))
            out.append(f"- {REAL_FAMILIES[family][0]}: {text}")
    out.append(f"\nmachine: {describe_machine(machine_info())}")
    out.append(f"wall time: {elapsed / 60:.1f} min")
    return "\n".join(out)
