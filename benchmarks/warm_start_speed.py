"""Speed of the warm-start estimators: target-side fit time and overhead over native calls.

A source model is fitted once (not timed) on ``--n-source`` rows of a synthetic shifted task
(``skxfer.datasets.make_covariate_shift`` with 20 features). Then for each number of labelled
target rows the target-side fit of each strategy is timed (best of ``--repeat``) next to the
native call that does the same work by hand:

- ``continue`` (a fixed 100 added rounds): ``XGBTransferClassifier(FrozenEstimator(source),
  n_estimators=100)`` against ``xgb.train(params, DMatrix(X_t, y_t), 100, xgb_model=booster)``;
  CatBoost: ``CatBoostTransferClassifier`` against ``CatBoostClassifier(...).fit(X_t, y_t,
  init_model=source)``;
- ``refresh`` (XGBoost): against XGBoost's own refresh (``process_type="update"``,
  ``updater="refresh"``), which it generalises (same cost class: one pass over the trees);
- ``continue auto`` and ``refresh_continue``: skxfer only (the native APIs have no equivalent).

The skxfer fit, the native call and the native call again are timed in turn. On a 2-core
machine two best-of-9 timings of the very same native call differ by up to about 10% (the
"native again vs native" column), as much as the overhead to be measured. So for
``continue`` the table also gives the wrapper's own time: each skxfer fit's time outside
the native call it makes (``xgb.train``, ``CatBoostClassifier.fit``), as a fraction of the
time inside, median over the fits. Both parts come from the same fit.

Goal: with 1M source rows and 1k target rows, the target-side fit takes time
proportional to the target rows (under 5 s here) and the wrapper's overhead over the native
calls is under 10% (read on the wrapper's own time).

Run from the repository root::

    python benchmarks/warm_start_speed.py --quick      # 100k source rows, < 1 minute
    python benchmarks/warm_start_speed.py              # 1M source rows (about 5 minutes)
"""

import argparse
import contextlib
import time
import warnings

import numpy as np
from _common import describe_machine, machine_info, markdown_table, save_results


@contextlib.contextmanager
def timing_calls(owner, name, times):
    """Append to ``times`` the duration of every call of ``owner.name`` made inside."""
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            times.append(time.perf_counter() - start)

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def best_times(mine, native, repeat, inside=None):
    """Best of ``repeat`` for ``mine``, for ``native`` (None: not timed) and for ``native``
    again, the three run in turn so that a drift of the machine's speed touches them alike.
    The two native timings of the same call show how far apart two measurements of one
    thing fall: the noise floor the overhead is read against.

    With ``inside=(owner, name)``, each fit of ``mine`` also times its calls of
    ``owner.name`` (the native call it makes), and the last value returned is the wrapper's
    own time as a fraction of that: the median over the fits of (fit time - time inside)
    / time inside. Both come from the same fit, so a drift of the machine's speed between
    two separately timed calls does not enter. Otherwise it is None."""
    arms = [("mine", mine), ("native", native), ("again", native)]
    times = {name: [] for name, _ in arms}
    shares = []
    for _ in range(repeat):
        for name, fn in arms:
            if fn is None:
                continue
            calls = []
            timer = timing_calls(*inside, calls) if inside and name == "mine" else None
            with timer or contextlib.nullcontext():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
            if calls:
                shares.append((times[name][-1] - sum(calls)) / sum(calls))
    own = float(np.median(shares)) if shares else None
    if native is None:
        return min(times["mine"]), None, None, own
    return min(times["mine"]), min(times["native"]), min(times["again"]), own


def xgboost_rows(Xs, ys, targets, args):
    import xgboost as xgb
    from sklearn.frozen import FrozenEstimator

    from skxfer.warm_start import XGBTransferClassifier

    start = time.perf_counter()
    source = xgb.XGBClassifier(
        n_estimators=args.source_trees, max_depth=6, learning_rate=0.1, n_jobs=args.threads
    ).fit(Xs, ys)
    print(f"xgboost source fit: {time.perf_counter() - start:.1f} s", flush=True)
    booster = source.get_booster()
    frozen = FrozenEstimator(source)
    params = {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "learning_rate": 0.1,
        "max_depth": 3,
        "reg_lambda": 1.0,
        "nthread": args.threads,
        "verbosity": 0,
    }
    refresh_params = {
        "objective": "binary:logistic",
        "process_type": "update",
        "updater": "refresh",
        "refresh_leaf": True,
        "nthread": args.threads,
    }
    rows = []
    for Xt, yt in targets:
        n = len(yt)

        def native_continue(Xt=Xt, yt=yt):
            xgb.train(params, xgb.DMatrix(Xt, label=yt), 100, xgb_model=booster)

        def native_refresh(Xt=Xt, yt=yt):
            xgb.train(
                refresh_params, xgb.DMatrix(Xt, label=yt), args.source_trees, xgb_model=booster
            )

        def ours(Xt=Xt, yt=yt, **kw):
            est = XGBTransferClassifier(frozen, n_jobs=args.threads, random_state=0, **kw)
            return lambda: est.fit(Xt, yt)

        cases = [
            ("continue (100 rounds)", ours(n_estimators=100), native_continue),
            ("refresh", ours(strategy="refresh"), native_refresh),
            ("continue, n_estimators='auto'", ours(), None),
            ("refresh_continue, 'auto'", ours(strategy="refresh_continue"), None),
        ]
        for label, mine, native in cases:
            inside = (xgb, "train") if native is native_continue else None
            t_mine, t_native, t_again, own = best_times(mine, native, args.repeat, inside)
            rows.append(("XGBoost", label, n, t_mine, t_native, t_again, own))
            print(f"  xgboost {label} n={n}: {t_mine:.3f} s vs {t_native}", flush=True)
    return rows


def catboost_rows(Xs, ys, targets, args):
    import catboost
    from sklearn.frozen import FrozenEstimator

    from skxfer.warm_start import CatBoostTransferClassifier

    common = {"thread_count": args.threads, "verbose": False, "allow_writing_files": False}
    start = time.perf_counter()
    source = catboost.CatBoostClassifier(
        iterations=args.source_trees, depth=6, learning_rate=0.1, **common
    ).fit(Xs, ys)
    print(f"catboost source fit: {time.perf_counter() - start:.1f} s", flush=True)
    frozen = FrozenEstimator(source)
    # the seed CatBoostTransferClassifier(random_state=0) passes on: CatBoost's time to
    # train varies with it, so the native call gets the same one
    seed = int(np.random.RandomState(0).randint(np.iinfo(np.int32).max))
    rows = []
    for Xt, yt in targets:
        n = len(yt)

        def native_continue(Xt=Xt, yt=yt):
            catboost.CatBoostClassifier(
                iterations=100,
                depth=3,
                learning_rate=0.1,
                l2_leaf_reg=1.0,
                random_seed=seed,
                **common,
            ).fit(Xt, yt, init_model=source)

        def ours(Xt=Xt, yt=yt, **kw):
            est = CatBoostTransferClassifier(frozen, n_jobs=args.threads, random_state=0, **kw)
            return lambda: est.fit(Xt, yt)

        cases = [
            ("continue (100 rounds)", ours(n_estimators=100), native_continue),
            ("refresh", ours(strategy="refresh"), None),
            ("continue, n_estimators='auto'", ours(), None),
            ("refresh_continue, 'auto'", ours(strategy="refresh_continue"), None),
        ]
        for label, mine, native in cases:
            inside = (catboost.CatBoostClassifier, "fit") if native else None
            t_mine, t_native, t_again, own = best_times(mine, native, args.repeat, inside)
            rows.append(("CatBoost", label, n, t_mine, t_native, t_again, own))
            print(f"  catboost {label} n={n}: {t_mine:.3f} s vs {t_native}", flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--n-source", type=int, default=1_000_000)
    p.add_argument("--n-target", type=int, nargs="+", default=[1000, 4000, 16000])
    p.add_argument("--source-trees", type=int, default=200)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--libs", nargs="+", default=["xgboost", "catboost"])
    args = p.parse_args(argv)
    if args.quick:
        args.n_source, args.n_target, args.source_trees, args.repeat = 100_000, [1000], 50, 1
    info = machine_info()
    from skxfer.datasets import make_covariate_shift

    data = make_covariate_shift(args.n_source, max(args.n_target), 20, random_state=0)
    source = data.sample_domain > 0
    Xs, ys = data.X[source], data.y_true[source]
    Xt_all, yt_all = data.X[~source], data.y_true[~source]
    targets = [(Xt_all[:n], yt_all[:n]) for n in args.n_target]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "xgboost" in args.libs:
            rows += xgboost_rows(Xs, ys, targets, args)
        if "catboost" in args.libs:
            rows += catboost_rows(Xs, ys, targets, args)
    table = []
    for lib, label, n, mine, native, again, own in rows:
        base = [r for r in rows if r[0] == lib and r[1] == label and r[2] == min(args.n_target)]
        per_row = mine / base[0][3] * min(args.n_target) / n if base else float("nan")
        table.append(
            [
                lib,
                label,
                f"{n:,}",
                f"{mine:.3f}",
                f"{native:.3f}" if native else "—",
                f"{(mine / native - 1) * 100:+.1f}%" if native else "—",
                f"{(again / native - 1) * 100:+.1f}%" if native else "—",
                f"{own * 100:+.1f}%" if own is not None else "—",
                f"{per_row:.2f}",
            ]
        )
    markdown = "\n".join(
        [
            "# warm_start_speed.py",
            "",
            describe_machine(info),
            "",
            f"Command: `python benchmarks/warm_start_speed.py {' '.join(argv or [])}`; "
            f"{args.n_source:,} source rows x 20 features, source model {args.source_trees} "
            f"trees of depth 6, {args.threads} threads, best of {args.repeat}.",
            "",
            markdown_table(
                [
                    "library",
                    "target-side fit",
                    "target rows",
                    "skxfer s",
                    "native s",
                    "overhead",
                    "native again vs native",
                    "wrapper's own time",
                    "time per row vs smallest n",
                ],
                table,
                "llrrrrrrr",
            ),
        ]
    )
    print(markdown)
    save_results("warm_start_speed", {"info": info, "rows": rows}, markdown)


if __name__ == "__main__":
    main()
