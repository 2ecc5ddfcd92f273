"""Feature alignment: skxfer's aligners next to skada's, on published domain-adaptation pairs.

Quality (``--families``): on Office-Caltech10 (SURF, 12 pairs), Amazon reviews (400 terms, 12
pairs), MNIST->USPS, COIL1->COIL2 and wine red->white, every method fits
``LogisticRegression`` on aligned source rows and is scored on the target rows. Rows are
standardised on source and target together and reduced to their ``--pca`` principal
components (no label is used; the same input for every method), and each domain is cut to
``--max-rows`` rows (seeded): some 2,000 fits per run must fit a shared 2-core machine.
Every aligner's settings come from a small grid, chosen per pair
by circular validation (``skxfer.model_selection.CircularValidationScorer``'s rule: label the
target with the model, fit the same method the other way round, score on the source labels),
so no target label is read; skada's version of each method gets the same rule and a grid of
its own parameters. "skxfer, chosen" picks the aligner *and* its setting per pair by the same
rule. Next to them: the source-only model and the target oracle (3-fold cross-validated
accuracy of the model fitted on target labels).

Speed (``--speed``): the aligner's fit on ``n`` rows (half source, half target) of ``d``
Gaussian features, each library and method in a fresh subprocess under a timeout and a memory
cap; and the peak memory of fit + transform on 1M x 10 rows.

Run from the repository root with the bench extra (skada, psutil) and POT::

    python benchmarks/align_quality.py --quick                 # < 1 minute: it runs
    python benchmarks/align_quality.py --families office --part 1/3   # 4 of its 12 pairs
    python benchmarks/align_quality.py --families office --part 2/3
    python benchmarks/align_quality.py --families office --part 3/3
    python benchmarks/align_quality.py --families amazon --part 1/3   # ... and 2/3, 3/3
    python benchmarks/align_quality.py --families mnist_usps coil wine
    python benchmarks/align_quality.py --speed
    python benchmarks/align_quality.py --families office amazon mnist_usps coil wine \
        --methods tca --skip-skada                # rerun one method of skxfer, keep the rest

Each run replaces its pairs' rows in the saved results and keeps the others, so the pairs can
be run a few at a time (each run stays under some 10 minutes on a shared 2-core machine).
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _common import (
    DATA_DIR,
    RESULTS_DIR,
    describe_machine,
    machine_info,
    markdown_table,
    maybe_worker,
    run_isolated,
    save_results,
    versions,
)

SCRIPT = Path(__file__).resolve()
NAME = "align_quality"

FAMILIES = {
    "office": ("office_caltech10_surf", ("amazon", "webcam", "dslr", "caltech10")),
    "amazon": ("amazon_reviews_400", ("books", "dvd", "elec", "kitchen")),
    "mnist_usps": ("mnist_usps_jda", ("mnist", "usps")),
    "coil": ("coil20_jda", ("coil1", "coil2")),
    "wine": ("winequality", ("red", "white")),
}
FAMILY_LABELS = {
    "office": "Office-Caltech10 (12)",
    "amazon": "Amazon reviews (12)",
    "mnist_usps": "MNIST->USPS",
    "coil": "COIL1->COIL2",
    "wine": "wine red->white",
}
# pairs of the two-domain sets: the classic direction only
ONE_WAY = {
    "mnist_usps": [("mnist", "usps")],
    "coil": [("coil1", "coil2")],
    "wine": [("red", "white")],
}

METHODS = ("coral", "linear_ot", "subspace", "tca", "ot")
METHOD_LABELS = {
    "coral": "CORAL",
    "linear_ot": "linear OT map",
    "subspace": "subspace alignment",
    "tca": "TCA",
    "ot": "entropic OT map",
}
SKXFER_CLASSES = {
    "coral": "CORAL",
    "linear_ot": "LinearOTMapping",
    "subspace": "SubspaceAlignment",
    "tca": "TCA",
    "ot": "OTMapping",
}
SKADA_CLASSES = {
    "coral": "CORALAdapter",
    "linear_ot": "LinearOTMappingAdapter",
    "subspace": "SubspaceAlignmentAdapter",
    "tca": "TransferComponentAnalysisAdapter",
    "ot": "EntropicOTMappingAdapter",
}


def grid(lib, method, d):
    """The settings each library's version of a method is chosen from (no target label)."""

    def comps(values):
        return sorted({min(v, d - 1) for v in values})

    if method == "coral":  # the same shrinkage in both libraries; 1 matches scales only
        return [{"reg": r} for r in ("auto", 1.0)]
    if method == "linear_ot":
        if lib == "skxfer":
            return [{"reg": r} for r in ("auto", 1.0)]
        return [{"reg": r} for r in (1e-8, 1.0)]  # added to the diagonals
    if method == "subspace":
        return [{"n_components": k, "random_state": 0} for k in comps((10, 40))]
    if method == "tca":
        k = comps((30,))[0]
        if lib == "skxfer":
            return [{"n_components": k, "mu": mu, "random_state": 0} for mu in (1.0, 10.0)]
        return [{"n_components": k, "mu": mu} for mu in (0.1, 1.0)]
    if method == "ot":
        if lib == "skxfer":
            return [{"reg": r, "random_state": 0} for r in (0.1, 1.0)]
        return [{"reg_e": r, "norm": "median"} for r in (0.1, 1.0)]
    raise ValueError(method)


def make_aligner(lib, method, params):
    if lib == "skxfer":
        import skxfer.align

        return getattr(skxfer.align, SKXFER_CLASSES[method])(**params)
    import skada

    return getattr(skada, SKADA_CLASSES[method])(**params)


def classifier():
    from sklearn.linear_model import LogisticRegression

    # a loose tolerance: some 2,000 fits per run on a shared machine
    return LogisticRegression(C=1.0, max_iter=100, tol=1e-3)


def fit_predict(lib, method, params, Xs, ys, Xt):
    """Target predictions of the method fitted on labelled ``Xs`` and unlabelled ``Xt``."""
    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(len(Xs), dtype=int), -np.ones(len(Xt), dtype=int)]
    y = np.r_[ys, -np.ones(len(Xt), dtype=ys.dtype)]
    aligner = make_aligner(lib, method, params)
    if lib == "skxfer":
        from skxfer.align import AlignedClassifier

        model = AlignedClassifier(classifier(), aligner)
    else:
        import skada

        model = skada.make_da_pipeline(aligner, classifier())
    model.fit(X, y, sample_domain=sd)
    return np.asarray(model.predict(Xt))


def shift_report(Xs, ys, Xt, yt):
    """What ``domain_shift_report`` recommends for the pair, and what reweighting gives.

    The reweighted model is the same classifier fitted on the source rows with the default
    ``DiscriminativeWeighter``'s weights: the reweighting a user would try first.
    """
    from skxfer.reweight import DiscriminativeWeighter, domain_shift_report

    X = np.vstack([Xs, Xt])
    sd = np.r_[np.ones(len(Xs), dtype=int), -np.ones(len(Xt), dtype=int)]
    report = domain_shift_report(X, sd, weighters={}, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weights = DiscriminativeWeighter().fit(X, sample_domain=sd).weights_
        model = classifier().fit(Xs, ys, sample_weight=weights)
    return {
        "method": "report",
        "library": "report",
        "recommendation": report.recommendation,
        "verdict": report.verdict,
        "discriminator_auc": report.discriminator_auc,
        "discriminator_ess_fraction": report.discriminator_ess_fraction,
        "reweighted_accuracy": float(np.mean(model.predict(Xt) == yt)),
    }


# What counts as helping in the check of the recommendation: a gain over source-only above
# this (some 3-6 target rows in 600).
HELPS = 0.005


def right_advice(recommendation, align_gain, reweight_gain):
    """Whether a recommendation matches what helped on the pair."""
    if recommendation == "alignment":
        return align_gain > HELPS and align_gain >= reweight_gain
    if recommendation == "reweighting":
        return reweight_gain > HELPS and reweight_gain >= align_gain
    return align_gain <= HELPS and reweight_gain <= HELPS


def circular_score(lib, method, params, Xs, ys, Xt, forward):
    """Source accuracy of the method fitted back from the target's predicted labels."""
    if len(np.unique(forward)) < 2:
        return 0.0
    back = fit_predict(lib, method, params, Xt, forward, Xs)
    return float(np.mean(back == ys))


# ----------------------------------------------------------------------------------------------
# quality


def load_pair(family, source, target, max_rows, n_pca=None, seed=0):
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from skxfer.datasets import load_domain_benchmark

    name, _ = FAMILIES[family]
    data = load_domain_benchmark(name, source, target, data_home=DATA_DIR)
    rng = np.random.default_rng(seed)
    parts = []
    for is_source in (True, False):
        rows = np.flatnonzero((data.sample_domain > 0) == is_source)
        if len(rows) > max_rows:
            rows = np.sort(rng.choice(rows, max_rows, replace=False))
        parts.append(rows)
    X = StandardScaler().fit_transform(data.X[np.concatenate(parts)])
    if n_pca is not None and X.shape[1] > n_pca:
        X = PCA(n_pca, random_state=seed).fit_transform(X)
        X /= X[:, :1].std()  # the first component at unit scale, the others below it
    Xs, Xt = X[: len(parts[0])], X[len(parts[0]) :]
    return Xs, data.y_true[parts[0]], Xt, data.y_true[parts[1]]


def pairs_of(family):
    if family in ONE_WAY:
        return ONE_WAY[family]
    domains = FAMILIES[family][1]
    return [(s, t) for s in domains for t in domains if s != t]


def run_pair(family, source, target, max_rows, libraries, n_pca=None, methods=METHODS, kept=()):
    """The rows of one pair: the limits, each library's methods, and skxfer's chosen aligner.

    ``kept``: saved rows of this pair for the (method, library) cells not rerun here; the
    chosen aligner is picked again among the new and the kept skxfer rows.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    Xs, ys, Xt, yt = load_pair(family, source, target, max_rows, n_pca)
    d = Xs.shape[1]
    rows = []
    base = {"family": family, "pair": f"{source}->{target}", "n_source": len(Xs)}
    base["n_target"] = len(Xt)
    t0 = time.perf_counter()
    acc = float(np.mean(classifier().fit(Xs, ys).predict(Xt) == yt))
    rows.append({**base, "method": "source_only", "library": "-", "accuracy": acc})
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    oracle = float(np.mean(cross_val_score(classifier(), Xt, yt, cv=cv)))
    rows.append({**base, "method": "oracle", "library": "-", "accuracy": oracle})
    rows[-1]["seconds"] = time.perf_counter() - t0
    for lib in libraries:
        for method in (m for m in methods if m in METHODS):
            candidates = []
            for params in grid(lib, method, d):
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        forward = fit_predict(lib, method, params, Xs, ys, Xt)
                        score = circular_score(lib, method, params, Xs, ys, Xt, forward)
                except Exception as exc:  # a failing setting is reported, not fatal
                    reason = f"{type(exc).__name__}: {exc}"[:80]
                    candidates.append({"params": params, "error": reason})
                    continue
                candidates.append(
                    {
                        "params": params,
                        "circular": score,
                        "accuracy": float(np.mean(forward == yt)),
                        "seconds": time.perf_counter() - t0,
                    }
                )
            ok = [c for c in candidates if "error" not in c]
            row = {**base, "method": method, "library": lib, "candidates": candidates}
            if ok:
                chosen = max(ok, key=lambda c: c["circular"])  # first of ties: grid order
                row.update(
                    accuracy=chosen["accuracy"],
                    params=chosen["params"],
                    circular=chosen["circular"],
                    best_in_grid=max(c["accuracy"] for c in ok),
                    seconds=sum(c["seconds"] for c in ok),
                )
            else:
                row.update(accuracy=None, error=candidates[0]["error"])
            rows.append(row)
            print(
                f"  {family} {source}->{target} {lib:6s} {method:10s} "
                f"{row['accuracy'] if row['accuracy'] is None else round(row['accuracy'], 3)}",
                flush=True,
            )
    if "report" in methods:
        rows.append({**base, **shift_report(Xs, ys, Xt, yt)})
    redone = {(r["method"], r["library"]) for r in rows}
    rows += [
        r
        for r in kept
        if r["method"] in (*METHODS, "report")
        and r["library"] != "-"
        and (r["method"], r["library"]) not in redone
    ]
    # the aligner and its setting chosen per pair by the same rule, among skxfer's
    ours = [
        r
        for r in rows
        if r["library"] == "skxfer" and r["method"] in METHODS and r.get("accuracy") is not None
    ]
    if ours:
        best = max(
            ((r, c) for r in ours for c in r["candidates"] if "error" not in c),
            key=lambda rc: rc[1]["circular"],
        )
        rows.append(
            {
                **base,
                "method": "chosen",
                "library": "skxfer",
                "accuracy": best[1]["accuracy"],
                "params": {"method": best[0]["method"], **best[1]["params"]},
            }
        )
    return rows


# ----------------------------------------------------------------------------------------------
# speed (isolated subprocesses)


def speed_task(task, worker):
    """Worker side: one library/method on one synthetic size."""
    import warnings

    warnings.simplefilter("ignore")
    n, d = task["n"], task["d"]
    rng = np.random.default_rng(0)
    half = n // 2
    Xs = rng.standard_normal((half, d))
    Xt = rng.standard_normal((n - half, d)) * 1.5 + 0.5
    X = np.vstack([Xs, Xt])
    del Xs, Xt
    sd = np.r_[np.ones(half, dtype=int), -np.ones(n - half, dtype=int)]
    aligner = make_aligner(task["lib"], task["method"], task["params"])
    with worker.section("fit") as box:
        t0 = time.perf_counter()
        aligner.fit(X, sample_domain=sd)
        box["result"] = {"seconds": time.perf_counter() - t0}
    if task.get("transform"):
        with worker.section("fit_transform") as box:
            t0 = time.perf_counter()
            Z = aligner.fit_transform(X, sample_domain=sd)
            box["result"] = {"seconds": time.perf_counter() - t0, "shape": list(Z.shape)}


SPEED_PARAMS = {
    "skxfer": {
        "coral": {},
        "linear_ot": {},
        "subspace": {"n_components": 30, "random_state": 0},
        "tca": {"n_components": 30, "random_state": 0},
        "ot": {"random_state": 0},
    },
    "skada": {
        "coral": {},
        "linear_ot": {},
        "subspace": {"n_components": 30, "random_state": 0},
        "tca": {"n_components": 30},
        "ot": {"norm": "median"},
    },
}


def run_speed(args):
    rows = []
    sizes = ((args.speed_n, args.speed_d, False), (args.speed_big_n, 10, True))
    for n, d, transform in sizes:
        for method in args.speed_methods or METHODS:
            for lib in ("skxfer", "skada"):
                params = dict(SPEED_PARAMS[lib][method])
                if "n_components" in params:
                    params["n_components"] = min(params["n_components"], d - 1)
                task = {"n": n, "d": d, "lib": lib, "method": method, "params": params}
                task["transform"] = transform
                sections, error = run_isolated(
                    SCRIPT, task, section_timeout=args.speed_timeout, mem_cap_gib=args.mem_cap
                )
                section = sections.get("fit_transform" if transform else "fit", {})
                fit = sections.get("fit", {})
                row = {"n": n, "d": d, "method": method, "library": lib}
                row["status"] = section.get("status", "failed" if error else "skipped")
                row["seconds"] = fit.get("seconds") if fit.get("status") == "ok" else None
                row["peak_mib"] = max(
                    (s.get("peak_mib", 0) for s in sections.values() if "peak_mib" in s),
                    default=None,
                )
                row["reason"] = section.get("reason") or error
                rows.append(row)
                print(f"  speed n={n} d={d} {lib:6s} {method:10s} {row}", flush=True)
    return rows


# ----------------------------------------------------------------------------------------------
# tables


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _fmt(x, digits=3):
    return "-" if x is None else f"{x:.{digits}f}"


def quality_tables(rows):
    families = [f for f in FAMILIES if any(r["family"] == f for r in rows)]
    entries = [("source_only", "-", "source only")]
    for method in METHODS:
        entries.append((method, "skxfer", f"{METHOD_LABELS[method]} (skxfer)"))
        entries.append((method, "skada", f"{METHOD_LABELS[method]} (skada)"))
    entries += [("chosen", "skxfer", "skxfer, aligner chosen"), ("oracle", "-", "target oracle")]

    def acc(method, lib, family=None, pair=None):
        return [
            r.get("accuracy")
            for r in rows
            if r["method"] == method
            and r["library"] == lib
            and (family is None or r["family"] == family)
            and (pair is None or r["pair"] == pair)
        ]

    headers = ["method", *[FAMILY_LABELS[f] for f in families], "mean over pairs"]
    table = []
    for method, lib, label in entries:
        cells = [_fmt(_mean(acc(method, lib, f))) for f in families]
        table.append([label, *cells, _fmt(_mean(acc(method, lib)))])
    main = {
        "title": "Target accuracy, mean over each family's pairs (settings chosen without labels)",
        "headers": headers,
        "rows": table,
    }
    # goal 1: each method >= skada's version, on average over pairs (paired, same pairs)
    goal_rows = []
    for method in METHODS:
        pairs = [
            (r["family"], r["pair"])
            for r in rows
            if r["method"] == method and r["library"] == "skxfer" and r.get("accuracy") is not None
        ]
        ours, theirs = [], []
        for family, pair in pairs:
            peer = acc(method, "skada", family, pair)
            ours.append(acc(method, "skxfer", family, pair)[0])
            theirs.append(peer[0] if peer and peer[0] is not None else 0.0)  # failed = 0
        if not ours:
            continue
        m_ours, m_theirs = float(np.mean(ours)), float(np.mean(theirs))
        wins = sum(a >= b for a, b in zip(ours, theirs))
        goal_rows.append(
            [
                METHOD_LABELS[method],
                _fmt(m_ours),
                _fmt(m_theirs),
                f"{m_ours - m_theirs:+.3f}",
                f"{wins}/{len(ours)}",
                "PASS" if m_ours >= m_theirs else "FAIL",
            ]
        )
    goals = {
        "title": "Goal: each skxfer aligner >= skada's version, on average over the same pairs",
        "headers": ["method", "skxfer", "skada", "difference", "pairs skxfer >= skada", "verdict"],
        "rows": goal_rows,
    }
    # goal 2: the best aligner, its settings chosen without labels, beats source only; and
    # the aligner itself chosen per pair by the same rule (no label at any step)
    overall = {m: _mean(acc(m, "skxfer")) for m in METHODS}
    best = max((m for m in METHODS if overall[m] is not None), key=overall.get)
    fam_rows = []
    beats = 0
    for f in families:
        fixed, base = _mean(acc(best, "skxfer", f)), _mean(acc("source_only", "-", f))
        chosen = _mean(acc("chosen", "skxfer", f))
        if fixed is None or base is None:
            continue
        gain = fixed - base
        beats += gain > 0
        need = 0.05 if f == "mnist_usps" else 0.0
        fam_rows.append(
            [
                FAMILY_LABELS[f],
                _fmt(base),
                _fmt(fixed),
                f"{gain:+.3f}",
                f"> {need:g}",
                "PASS" if gain > need else "FAIL",
                _fmt(chosen),
                "-" if chosen is None else f"{chosen - base:+.3f}",
            ]
        )
    n_fam = len(fam_rows)
    fam_rows.append(
        ["families improved", "", "", f"{beats}/{n_fam}", ">= 3", "PASS" if beats >= 3 else "FAIL"]
        + ["", ""]
    )
    selection = {
        "title": (
            f"Goal: the best skxfer aligner on average ({METHOD_LABELS[best]}), settings chosen "
            "without target labels, vs source only; and the aligner too chosen per pair"
        ),
        "headers": [
            "family",
            "source only",
            METHOD_LABELS[best],
            "gain",
            "goal",
            "verdict",
            "aligner chosen per pair",
            "gain",
        ],
        "rows": fam_rows,
    }
    tables = [main, goals, selection]
    advice = advice_table(rows, families)
    return tables + ([advice] if advice else [])


def advice_table(rows, families):
    """domain_shift_report's recommendation against what helped, per family."""
    by_pair = {(r["family"], r["pair"]): r for r in rows if r["method"] == "report"}
    if not by_pair:
        return None
    choices = ("alignment", "reweighting", "neither")
    table, totals = [], {"right": 0, "pairs": 0, **dict.fromkeys(choices, 0)}
    accuracy = {
        (r["family"], r["pair"], r["method"]): r["accuracy"]
        for r in rows
        if r["method"] in ("source_only", "chosen")
    }
    for f in families:
        cases = []
        for (family, pair), report in by_pair.items():
            base = accuracy.get((family, pair, "source_only"))
            chosen = accuracy.get((family, pair, "chosen"))
            if family != f or base is None or chosen is None:
                continue
            gains = (chosen - base, report["reweighted_accuracy"] - base)
            cases.append((report["recommendation"], *gains))
        if not cases:
            continue
        said = {c: sum(rec == c for rec, _, _ in cases) for c in choices}
        right = sum(right_advice(*case) for case in cases)
        always = {c: sum(right_advice(c, a, w) for _, a, w in cases) for c in choices}
        totals["right"] += right
        totals["pairs"] += len(cases)
        for c in choices:
            totals[c] += always[c]
        table.append(
            [
                FAMILY_LABELS[f],
                ", ".join(f"{c} {n}" for c, n in said.items() if n),
                f"{np.mean([a for _, a, _ in cases]):+.3f}",
                f"{np.mean([w for _, _, w in cases]):+.3f}",
                f"{right}/{len(cases)}",
                " / ".join(str(always[c]) for c in choices),
            ]
        )
    best_constant = max(totals[c] for c in choices)
    table.append(
        [
            "all pairs",
            "",
            "",
            "",
            f"{totals['right']}/{totals['pairs']}",
            " / ".join(str(totals[c]) for c in choices),
        ]
    )
    return {
        "title": (
            "domain_shift_report's recommendation against what helped (gain over source only "
            f"> {HELPS:g}: the aligner chosen per pair without labels, or the default "
            "discriminative weights); right: the recommended family helped and helped most, or "
            "for 'neither' nothing helped; best constant answer "
            f"{best_constant}/{totals['pairs']}"
        ),
        "headers": [
            "family",
            "recommended",
            "alignment gain",
            "reweighting gain",
            "recommendation right",
            "right if always alignment / reweighting / neither",
        ],
        "rows": table,
    }


def speed_tables(rows):
    tables = []
    sizes = sorted({(r["n"], r["d"]) for r in rows})
    for n, d in sizes:
        part = [r for r in rows if (r["n"], r["d"]) == (n, d)]
        big = d == 10  # the memory table: n x 10 rows
        body = []
        for method in METHODS:
            cells = {r["library"]: r for r in part if r["method"] == method}
            ours, peer = cells.get("skxfer"), cells.get("skada")

            def show(r):
                if r is None:
                    return "-"
                if r["status"] != "ok":
                    return r.get("reason") or r["status"]
                mem = r.get("peak_mib")
                return (
                    f"{r['seconds']:.2f} s, {mem / 1024:.2f} GiB"
                    if mem is not None
                    else f"{r['seconds']:.2f} s"
                )

            ok_ours = ours is not None and ours["status"] == "ok"
            ok_peer = peer is not None and peer["status"] == "ok"
            if not big:
                if ok_ours and ok_peer:
                    ratio = ours["seconds"] / peer["seconds"]
                    verdict = "PASS" if ratio <= 2 else "FAIL"
                    ratio_cell = f"{ratio:.2f}"
                elif ok_ours:
                    ratio_cell, verdict = "peer failed", "PASS"
                else:
                    ratio_cell, verdict = "-", "FAIL"
                body.append([METHOD_LABELS[method], show(ours), show(peer), ratio_cell, verdict])
            else:
                mem = ours.get("peak_mib") if ok_ours else None
                verdict = "PASS" if mem is not None and mem <= 4096 else "FAIL"
                body.append([METHOD_LABELS[method], show(ours), show(peer), "<= 4 GiB", verdict])
        if not big:
            title = f"Fit time at n = {n:,} rows (half source, half target), d = {d}"
            headers = ["method", "skxfer", "skada", "skxfer / skada", "verdict"]
        else:
            title = f"{n:,} x {d} rows: fit time, and peak memory of fit + transform above the data"
            headers = ["method", "skxfer", "skada", "goal", "verdict"]
        tables.append({"title": title, "headers": headers, "rows": body})
    return tables


def load_previous():
    for path in (RESULTS_DIR / f"{NAME}.json", RESULTS_DIR / f"{NAME}-latest.json"):
        if path.exists():
            return json.loads(path.read_text())
    return {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="*", default=[], choices=list(FAMILIES))
    parser.add_argument("--max-rows", type=int, default=600, help="rows per domain, at most")
    parser.add_argument(
        "--pca", type=int, default=100, help="principal components of the pooled rows (0: off)"
    )
    parser.add_argument(
        "--part", default="1/1", help="i/k: run the i-th of k slices of each family's pairs"
    )
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--speed-n", type=int, default=64_000)
    parser.add_argument("--speed-d", type=int, default=800)
    parser.add_argument("--speed-big-n", type=int, default=1_000_000)
    parser.add_argument("--speed-timeout", type=float, default=300.0)
    parser.add_argument("--mem-cap", type=float, default=8.0, help="GiB above the data")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument(
        "--speed-methods", nargs="*", default=[], choices=METHODS, help="rerun only these"
    )
    parser.add_argument("--quick", action="store_true", help="one small pair; nothing saved")
    parser.add_argument("--skip-skada", action="store_true")
    parser.add_argument(
        "--methods",
        nargs="+",
        default=[*METHODS, "report"],
        choices=(*METHODS, "report"),
        help="rerun only these methods ('report': domain_shift_report's recommendation and "
        "the reweighted model); the pairs' other rows are kept from the saved run",
    )
    args = parser.parse_args()
    args.pca = args.pca or None
    libraries = ("skxfer",) if args.skip_skada else ("skxfer", "skada")
    if args.quick:
        rows = run_pair("wine", "red", "white", 200, libraries)
        for table in quality_tables(rows):
            print(f"\n{table['title']}\n" + markdown_table(table["headers"], table["rows"]))
        return
    previous = load_previous()
    index, parts = (int(v) for v in args.part.split("/"))
    todo = [
        (family, pair) for family in args.families for pair in pairs_of(family)[index - 1 :: parts]
    ]
    keys = {(family, f"{s}->{t}") for family, (s, t) in todo}
    saved = previous.get("quality_rows", [])
    quality = [r for r in saved if (r["family"], r["pair"]) not in keys]
    speed = previous.get("speed_rows", [])
    info = machine_info()
    print(describe_machine(info), flush=True)
    t_start = time.perf_counter()
    for family, (source, target) in todo:
        if not (DATA_DIR / FAMILIES[family][0]).exists():
            print(f"skip {family}: no data under {DATA_DIR}")
            continue
        pair = f"{source}->{target}"
        kept = [r for r in saved if (r["family"], r["pair"]) == (family, pair)]
        quality += run_pair(
            family, source, target, args.max_rows, libraries, args.pca, args.methods, kept
        )
    if args.speed:
        new = run_speed(args)
        redone = {(r["n"], r["d"], r["method"], r["library"]) for r in new}
        speed = [r for r in speed if (r["n"], r["d"], r["method"], r["library"]) not in redone]
        speed += new
    tables = (quality_tables(quality) if quality else []) + (speed_tables(speed) if speed else [])
    markdown = "\n\n".join(
        f"### {t['title']}\n\n" + markdown_table(t["headers"], t["rows"]) for t in tables
    )
    print("\n" + markdown)
    arguments = {**previous.get("arguments", {}), **vars(args)}
    payload = {
        "rows": quality + speed,
        "quality_rows": quality,
        "speed_rows": speed,
        "tables": tables,
        "arguments": arguments,
        "machine": info,
        "versions": versions(),
        "date": info["date"],
        "run_seconds": time.perf_counter() - t_start,
    }
    if not args.no_save:
        print(f"saved {save_results(NAME, payload, markdown)}")


if __name__ == "__main__":
    maybe_worker(speed_task)
    sys.exit(main())
