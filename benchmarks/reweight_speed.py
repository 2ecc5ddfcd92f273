"""Speed, memory and weight quality of skxfer's weighters next to ADAPT's and skada's.

On ``skxfer.datasets.make_covariate_shift(n, n, d, random_state=0)`` (Gaussian covariate
shift with a known density ratio), for every method and library, in a fresh subprocess:

- fit seconds: the weighter's fit up to the weights of the source rows (for the peers this
  includes computing the median-heuristic kernel width they are handed);
- peak memory: resident memory above the subprocess's baseline after imports and data;
- target accuracy of ``LogisticRegression()`` fitted on the source rows with the weights
  (rescaled to mean 1), next to the limits: source-only (uniform weights) and the true ratio;
- Spearman correlation of the weights with ``data.true_ratio`` on the source rows.

A run that passes ``--timeout`` (skxfer) or ``--peer-timeout`` (peers) is stopped and shown as
``timeout (>T s)``; one that passes ``--mem-cap`` GiB above its baseline is stopped and shown as
``needs > C GiB``; a library/method is not retried at a larger n after that. The goals of
the project are checked at the end (PASS/FAIL per line), and the import time of skxfer.

Run from the repository root with the benchmark environment (ADAPT, skada, psutil)::

    python benchmarks/reweight_speed.py --quick        # < 1 minute: checks that it runs
    python benchmarks/reweight_speed.py                # the full table (about an hour)
    python benchmarks/reweight_speed.py --update --sizes 64000 --dims 800 \
        --methods discriminative                       # rerun some cells of the saved table
"""

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import (
    ALL_METHODS,
    LIBRARIES,
    METHOD_LABELS,
    PEER_CLASSES,
    RESULTS_DIR,
    SKXFER_CLASSES,
    describe_machine,
    fmt_n,
    machine_info,
    make_skxfer_weighter,
    markdown_table,
    maybe_worker,
    mean_one,
    peer_installed,
    peer_weights,
    run_isolated,
    save_results,
    skxfer_status,
)

SCRIPT = Path(__file__).resolve()
LIB_LABELS = {"skxfer": "skxfer", "adapt": "ADAPT", "skada": "skada"}
IMPORT_STATEMENT = "import skxfer, skxfer.reweight, skxfer.model_selection"


# ----------------------------------------------------------------------------------------------
# worker


def task(spec, worker):
    """Fit one library's method on one data size (or several, in ``--quick``)."""
    for job in spec["jobs"]:
        run_job(job, spec, worker)


def run_job(job, spec, worker):
    lib, method, n, d = job["lib"], job["method"], job["n"], job["d"]
    if lib == "adapt":
        import adapt.instance_based  # noqa: F401 - imported before the baseline (TensorFlow)
    elif lib == "skada":
        import skada  # noqa: F401
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression

    import skxfer.reweight  # noqa: F401 - like the peers, imported before the timed fit
    from skxfer.datasets import make_covariate_shift

    data = make_covariate_shift(n, n, d, random_state=0)
    source = data.sample_domain > 0
    Xs, Xt = data.X[source], data.X[~source]
    label = job["label"]
    weights = None
    with worker.section(label) as box:
        if lib == "skxfer":
            weighter = make_skxfer_weighter(method)
            weights = weighter.fit(data.X, sample_domain=data.sample_domain).weights_
        elif lib == "limit":
            weights = np.ones(n) if method == "source_only" else data.true_ratio[source]
        else:
            weights = peer_weights(lib, method, Xs, Xt, width=spec["width"])
        weights = np.asarray(weights, dtype=float)
    if weights is None or box["result"].get("status") == "failed":
        return
    extra = {}
    try:
        w = mean_one(weights)
        extra["ess_frac"] = float(w.sum() ** 2 / np.sum(w**2)) / len(w)
        if spec["accuracy"]:
            clf = LogisticRegression().fit(Xs, data.y_true[source], sample_weight=w)
            extra["accuracy"] = float(clf.score(Xt, data.y_true[~source]))
        rho = spearmanr(weights, data.true_ratio[source]).statistic
        extra["spearman"] = None if np.isnan(rho) else float(rho)
    except Exception as exc:  # bad weights are a table cell, not a crash
        extra["quality_error"] = f"{type(exc).__name__}: {exc}"[:60]
    worker.update(label, **extra)


# ----------------------------------------------------------------------------------------------
# parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, < 1 minute")
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1000, 4000, 16000, 64000, 256000, 1000000],
        help="n_source = n_target values",
    )
    p.add_argument("--dims", type=int, nargs="+", default=[10, 800], help="n_features values")
    p.add_argument(
        "--wide-max-n",
        type=int,
        default=64000,
        help="largest n for d > 10 (1M x 800 float64 rows, source + target, take 12.8 GB)",
    )
    p.add_argument("--methods", nargs="+", default=ALL_METHODS, choices=ALL_METHODS)
    p.add_argument("--libs", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    p.add_argument("--timeout", type=float, default=150.0, help="seconds per skxfer fit")
    p.add_argument("--peer-timeout", type=float, default=60.0, help="seconds per peer fit")
    p.add_argument("--mem-cap", type=float, default=8.0, help="GiB above baseline per fit")
    p.add_argument(
        "--width",
        choices=["median", "default"],
        default="median",
        help="kernel width handed to the peers: skxfer's median heuristic, or their default",
    )
    p.add_argument("--spearman-n", type=int, default=4000, help="n of the Spearman table")
    p.add_argument("--no-accuracy", action="store_true", help="skip the LogisticRegression fits")
    p.add_argument("--no-import-time", action="store_true")
    p.add_argument("--no-save", action="store_true", help="do not write benchmarks/results/")
    p.add_argument("--from-json", help="re-print the tables of a saved results file; run nothing")
    p.add_argument(
        "--update",
        action="store_true",
        help="rerun only the cells asked for (every library's and the limits') and write them "
        "into the saved results in place of the old ones; the other cells keep their run",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.dims, args.spearman_n = [500, 2000], [10, 50], 2000
        args.wide_max_n, args.timeout, args.peer_timeout = 500, 30.0, 30.0
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.from_json:
        return rerender(args.from_json)
    info = machine_info()
    print(f"# skxfer reweighting speed benchmark\n\n{describe_machine(info)}\n", flush=True)
    status = skxfer_status()
    libs = [lib for lib in args.libs if lib == "skxfer" or peer_installed(lib)]
    for lib in set(args.libs) - set(libs):
        print(f"{lib} is not installed: its columns stay empty.")

    jobs = plan_jobs(args, libs, status)
    results = {}
    t_start = time.monotonic()
    if args.quick:
        run_grouped(jobs, args, results)
    else:
        run_one_by_one(jobs, args, results)
    elapsed = time.monotonic() - t_start
    info["load_end"] = os.getloadavg()

    import_s = None if args.no_import_time else import_time()
    payload = {
        "args": vars(args),
        "machine": info,
        "skxfer_status": status,
        "results": [{"key": list(k), **v} for k, v in results.items()],
        "import_seconds": import_s,
        "elapsed_seconds": elapsed,
    }
    if args.update:
        payload = merged_into_saved(payload)
        report = render_payload(payload)
    else:
        report = render(args, info, status, libs, results, import_s, elapsed)
    print(report, flush=True)
    if not args.no_save:
        path = save_results("reweight_speed", payload, report)
        print(f"\nresults written to {path.relative_to(SCRIPT.parents[1])}")


def merged_into_saved(payload):
    """The saved run with this run's cells in place of its own (``--update``).

    The saved run's arguments, machine and import time stay; the updated cells are listed
    under ``updates`` with this run's date, command and load, so the table says which cells
    are newer than the rest.
    """
    import json

    path = RESULTS_DIR / "reweight_speed.json"
    if not path.exists():
        raise SystemExit(f"--update needs a saved full run in {path.name}; run without it first")
    saved = json.loads(path.read_text())
    new = {tuple(r["key"]): r for r in payload["results"]}
    kept = [r for r in saved["results"] if tuple(r["key"]) not in new]
    merged = dict(saved)
    merged["results"] = kept + list(new.values())
    for option in ("sizes", "dims", "methods"):  # the table's rows and columns cover both runs
        merged["args"][option] = sorted(
            set(saved["args"][option]) | set(payload["args"][option]),
            key=(saved["args"][option] + payload["args"][option]).index,
        )
    if payload["import_seconds"] is not None:
        merged["import_seconds"] = payload["import_seconds"]
    merged["skxfer_status"] = payload["skxfer_status"]
    update = {
        "date": payload["machine"].get("date"),
        "command": " ".join(["python", "benchmarks/reweight_speed.py", *sys.argv[1:]]),
        "load": [payload["machine"].get("load"), payload["machine"].get("load_end")],
        "cells": [list(k) for k in new],
    }
    merged["updates"] = [*saved.get("updates", []), update]
    for field in ("tables", "report", "load"):
        merged.pop(field, None)  # rebuilt from the merged cells by save_results
    return merged


def rerender(path):
    """Print the tables of a saved run again (after a change to the tables' code)."""
    import json

    print(render_payload(json.loads(Path(path).read_text())))


def render_payload(payload):
    """The tables of a saved (or merged) run, from its payload alone."""
    args = argparse.Namespace(**payload["args"])
    results = {
        tuple(r["key"]): {k: v for k, v in r.items() if k != "key"} for r in payload["results"]
    }
    libs = [lib for lib in args.libs if any(k[0] == lib for k in results)]
    return render(
        args,
        payload["machine"],
        payload["skxfer_status"],
        libs,
        results,
        payload["import_seconds"],
        payload["elapsed_seconds"],
        payload.get("updates", ()),
    )


def plan_jobs(args, libs, status):
    jobs = []
    for d in args.dims:
        for n in args.sizes:
            if d > 10 and n > args.wide_max_n:
                continue
            for method in args.methods:
                for lib in libs:
                    if lib == "skxfer" and method not in SKXFER_CLASSES:
                        continue
                    if lib != "skxfer" and lib not in PEER_CLASSES[method]:
                        continue
                    jobs.append({"lib": lib, "method": method, "n": n, "d": d})
            for limit in ("source_only", "true_ratio"):
                jobs.append({"lib": "limit", "method": limit, "n": n, "d": d})
    for job in jobs:
        job["label"] = f"{job['lib']}/{job['method']}/{job['n']}/{job['d']}"
        if job["lib"] == "skxfer" and status[job["method"]] != "ok":
            job["skip"] = status[job["method"]]
    return jobs


def _spec(args, jobs):
    return {"jobs": jobs, "width": args.width, "accuracy": not args.no_accuracy}


def _key(job):
    return (job["lib"], job["method"], job["n"], job["d"])


def run_one_by_one(jobs, args, results):
    """One subprocess per job; a library/method that timed out or ran out of memory at some n
    is not run at larger n (same d)."""
    dead = {}
    for job in jobs:
        key, family = _key(job), (job["lib"], job["method"], job["d"])
        if "skip" in job:
            results[key] = {"status": "skipped", "reason": job["skip"]}
            continue
        if family in dead:
            results[key] = {"status": "skipped", "reason": dead[family]}
            continue
        timeout = args.timeout if job["lib"] in ("skxfer", "limit") else args.peer_timeout
        t0 = time.monotonic()
        sections, error = run_isolated(
            SCRIPT, _spec(args, [job]), section_timeout=timeout, mem_cap_gib=args.mem_cap
        )
        res = sections.get(job["label"]) or {"status": "failed", "reason": error or "no result"}
        results[key] = res
        print(f"  {job['label']:<40} {cell_seconds(res):>28}  ({time.monotonic() - t0:.0f} s)")
        sys.stdout.flush()
        if res["status"] in ("timeout", "memory") or "MemoryError" in res.get("reason", ""):
            what = "timeout" if res["status"] == "timeout" else "out of memory"
            dead[family] = f"{what} at {fmt_n(job['n'])}"


def run_grouped(jobs, args, results):
    """``--quick``: one subprocess per library (ADAPT's TensorFlow import is paid once)."""
    by_lib = {}
    for job in jobs:
        if "skip" in job:
            results[_key(job)] = {"status": "skipped", "reason": job["skip"]}
        else:
            by_lib.setdefault(job["lib"], []).append(job)
    for lib, group in by_lib.items():
        timeout = args.timeout if lib in ("skxfer", "limit") else args.peer_timeout
        sections, error = run_isolated(
            SCRIPT, _spec(args, group), section_timeout=timeout, mem_cap_gib=args.mem_cap
        )
        for job in group:
            res = sections.get(job["label"])
            if res is None:
                res = {"status": "skipped", "reason": error or "an earlier run was stopped"}
            results[_key(job)] = res
        print(f"  {lib}: {len(group)} runs done", flush=True)


def import_time(repeats=5):
    """Best wall time of a fresh interpreter importing skxfer's reweighting stack."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORT_STATEMENT], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


# ----------------------------------------------------------------------------------------------
# tables and goals


def cell_seconds(res):
    if res is None:
        return "—"
    st = res["status"]
    if st == "ok":
        return f"{res['seconds']:.3g}"
    if st == "timeout":
        return res["reason"]
    if st == "memory":
        return res["reason"]
    if st == "skipped":
        return res["reason"] if res["reason"] == "not implemented" else f"skipped ({res['reason']})"
    return f"failed: {res.get('reason', '?')}"


def cell_memory(res):
    if res is None or res["status"] != "ok":
        return "—" if res is None or res["status"] in ("skipped", "timeout") else "—"
    return f"{res['peak_mib']:.0f}"


def cell_value(res, field, fmt="{:.3f}"):
    if res is None or res["status"] != "ok":
        return "—"
    if field not in res or res[field] is None:
        err = res.get("quality_error")
        return f"failed: {err}" if err else "—"
    return fmt.format(res[field])


def render(args, info, status, libs, results, import_s, elapsed, updates=()):
    peers = [lib for lib in libs if lib != "skxfer"]
    out = []
    width = (
        "the median-heuristic kernel width that skxfer uses"
        if args.width == "median"
        else "their default kernel width"
    )
    out.append(
        "Fit seconds / peak MiB above the subprocess's baseline / target accuracy of "
        "LogisticRegression fitted on the source rows with the weights (mean 1). `speed-up` = "
        "fastest peer's seconds / skxfer's seconds (`>x`: the fastest peer was stopped). "
        f"Peers get {width} (`--width {args.width}`); timeouts: skxfer {args.timeout:g} s, "
        f"peers {args.peer_timeout:g} s; memory cap {args.mem_cap:g} GiB above baseline."
    )
    for d in args.dims:
        rows = []
        for method in args.methods:
            for n in args.sizes:
                if d > 10 and n > args.wide_max_n:
                    continue
                cells = {lib: results.get((lib, method, n, d)) for lib in libs}
                if all(c is None for c in cells.values()):
                    continue
                row = [METHOD_LABELS[method], fmt_n(n)]
                row += [cell_seconds(cells[lib]) for lib in libs]
                row.append(speedup(cells, peers))
                row += [cell_memory(cells[lib]) for lib in libs]
                row += [cell_value(cells[lib], "accuracy") for lib in libs]
                rows.append(row)
        lib_names = [LIB_LABELS[lib] for lib in libs]
        headers = ["method", "n"] + [f"{x} s" for x in lib_names] + ["speed-up"]
        headers += [f"{x} MiB" for x in lib_names] + [f"{x} acc" for x in lib_names]
        out.append(f"\n## d = {d}\n")
        out.append(markdown_table(headers, rows, "ll" + "r" * (len(headers) - 2)))
        big = [n for n in args.sizes if d > 10 and n > args.wide_max_n]
        if big:
            out.append(
                f"\nd = {d} stops at n = {fmt_n(args.wide_max_n)} (`--wide-max-n`): at "
                f"n = {fmt_n(big[-1])}, X alone (source + target, float64) takes "
                f"{2 * big[-1] * d * 8 / 1e9:.1f} GB"
                + (", more than this machine's memory." if 2 * big[-1] * d * 8 > 16e9 else ".")
            )
        limit_rows = []
        for n in args.sizes:
            so = results.get(("limit", "source_only", n, d))
            tr = results.get(("limit", "true_ratio", n, d))
            if so or tr:
                limit_rows.append(
                    [fmt_n(n), cell_value(so, "accuracy"), cell_value(tr, "accuracy")]
                )
        if limit_rows:
            out.append(f"\nLimits (d = {d}): target accuracy of LogisticRegression\n")
            out.append(
                markdown_table(["n", "source-only (no weights)", "true-ratio weights"], limit_rows)
            )

    d0 = args.dims[0]
    n_sp = args.spearman_n
    sp_rows = []
    for method in args.methods:
        cells = {lib: results.get((lib, method, n_sp, d0)) for lib in libs}
        if all(c is None for c in cells.values()):
            continue
        sp_rows.append(
            [METHOD_LABELS[method]]
            + [
                cell_value(c, "spearman") if c and c["status"] == "ok" else cell_seconds(c)
                for c in cells.values()
            ]
        )
    if sp_rows:
        out.append(
            f"\n## Spearman correlation of the weights with the true ratio (n = {fmt_n(n_sp)}, "
            f"d = {d0})\n"
        )
        out.append(markdown_table(["method"] + [LIB_LABELS[lib] for lib in libs], sp_rows))

    out.append("\n## Goals\n")
    goal_rows = goals(args, results, peers, import_s)
    out.append(markdown_table(["goal", "measured", "verdict"], goal_rows, "llc"))
    if import_s is not None:
        out.append(f'\n`python -c "{IMPORT_STATEMENT}"`: {import_s:.2f} s (best of 5)')
    out.append(f"\nmachine: {describe_machine(info)}")
    if "load_end" in info:
        load = ", ".join(f"{x:.2f}" for x in info["load_end"])
        out.append(f"load average (1, 5, 15 min) at the end: {load}")
    out.append(f"total benchmark wall time: {elapsed / 60:.1f} min")
    for update in updates:
        cells = sorted({f"{method} at {fmt_n(n)} x {d}" for _, method, n, d in update["cells"]})
        out.append(
            f"rerun on {update['date']} (every library): {', '.join(cells)}; `{update['command']}`"
        )
    missing = [SKXFER_CLASSES[m] for m, s in status.items() if s != "ok"]
    if missing:
        out.append(f"not implemented in skxfer at the time of the run: {', '.join(missing)}")
    return "\n".join(out)


def _seconds_lower_bound(res):
    """Seconds a run took, or a lower bound for a stopped run; None if unknown."""
    if res is None:
        return None
    if res["status"] == "ok":
        return res["seconds"], False
    if res["status"] == "timeout":
        return float(res["reason"].split(">")[1].split()[0]), True
    if res["status"] == "skipped" and res["reason"].startswith("timeout"):
        return math.inf, True
    return None


def speedup(cells, peers):
    sk = cells.get("skxfer")
    if sk is None or sk["status"] != "ok":
        return "—"
    bounds = [_seconds_lower_bound(cells.get(p)) for p in peers]
    bounds = [b for b in bounds if b is not None]
    if not bounds:
        return "—"
    fastest, stopped = min(bounds, key=lambda b: b[0])
    if math.isinf(fastest):
        return "—"
    ratio = fastest / max(sk["seconds"], 1e-6)
    return f">{ratio:.3g}x" if stopped else f"{ratio:.3g}x"


def goals(args, results, peers, import_s):
    rows = []

    def verdict(ok):
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    def ok(lib, method, n, d=10):
        res = results.get((lib, method, n, d))
        return res if res is not None and res["status"] == "ok" else None

    # KMM >= 10x faster than the fastest peer at 16k
    n16 = 16000
    if n16 in args.sizes and "kmm" in args.methods:
        sk = ok("skxfer", "kmm", n16)
        cells = {p: results.get((p, "kmm", n16, 10)) for p in peers}
        bounds = [b for b in (_seconds_lower_bound(c) for c in cells.values()) if b is not None]
        if sk and bounds:
            fastest, stopped = min(bounds, key=lambda b: b[0])
            ratio = fastest / sk["seconds"]
            rows.append(
                [
                    "KMM >= 10x faster than the fastest peer (16k, d=10)",
                    f"{'>' if stopped else ''}{ratio:.3g}x ({sk['seconds']:.3g} s vs "
                    f"{'>' if stopped else ''}{fastest:.3g} s)",
                    verdict(ratio >= 10),
                ]
            )
        else:
            rows.append(
                [
                    "KMM >= 10x faster than the fastest peer (16k)",
                    cell_seconds(results.get(("skxfer", "kmm", n16, 10))),
                    verdict(None if not sk else False),
                ]
            )
    n64 = 64000
    if n64 in args.sizes and "kmm" in args.methods:
        res = results.get(("skxfer", "kmm", n64, 10))
        sk = ok("skxfer", "kmm", n64)
        rows.append(
            [
                "KMM < 10 s at 64k (d=10)",
                cell_seconds(res),
                verdict(
                    None
                    if res is None
                    or res["status"] == "skipped"
                    and res["reason"] == "not implemented"
                    else bool(sk and sk["seconds"] < 10)
                ),
            ]
        )
    # every other weighter: as fast as the fastest peer at 64k, accuracy >= the best peer's
    tol = 0.005
    for method in ("kliep", "ulsif", "rulsif", "discriminative", "nearest_neighbors"):
        if method not in args.methods or n64 not in args.sizes:
            continue
        sk = ok("skxfer", method, n64)
        label = f"{METHOD_LABELS[method]}: time <= fastest peer, acc >= best peer - {tol} (64k)"
        if sk is None:
            rows.append(
                [
                    label,
                    cell_seconds(results.get(("skxfer", method, n64, 10))),
                    "n/a" if _not_impl(results, method, n64) else "FAIL",
                ]
            )
            continue
        cells = {p: results.get((p, method, n64, 10)) for p in peers if p in PEER_CLASSES[method]}
        bounds = [b for b in (_seconds_lower_bound(c) for c in cells.values()) if b is not None]
        fastest = min(bounds, key=lambda b: b[0]) if bounds else None
        fast_ok = fastest is None or sk["seconds"] <= fastest[0]
        # accuracy against the peers that finished at 64k, else at the largest n they finished
        best_acc, where = None, None
        for n in sorted([x for x in args.sizes if x <= n64], reverse=True):
            accs = [
                r["accuracy"]
                for p in cells
                if (r := ok(p, method, n)) is not None and r.get("accuracy") is not None
            ]
            if accs:
                best_acc, where = max(accs), n
                break
        sk_acc = sk.get("accuracy")
        if where is not None and where != n64:
            sk_at = ok("skxfer", method, where)
            sk_acc = sk_at.get("accuracy") if sk_at else None
        acc_ok = best_acc is None or (sk_acc is not None and sk_acc >= best_acc - tol)
        fast_txt = (
            "no peer ran"
            if fastest is None
            else f"{sk['seconds']:.3g} s vs {'>' if fastest[1] else ''}{fastest[0]:.3g} s"
        )
        acc_txt = (
            "no peer accuracy"
            if best_acc is None
            else f"acc {sk_acc if sk_acc is None else round(sk_acc, 3)} vs {best_acc:.3f}"
            + ("" if where == n64 else f" (at {fmt_n(where)})")
        )
        rows.append([label, f"{fast_txt}; {acc_txt}", verdict(fast_ok and acc_ok)])
    # 1M rows in < 2 minutes within 4 GiB
    n1m = 1000000
    if n1m in args.sizes:
        for method in [m for m in args.methods if m in SKXFER_CLASSES]:
            res = results.get(("skxfer", method, n1m, 10))
            if res is None or _not_impl(results, method, n1m):
                rows.append(
                    [
                        f"{METHOD_LABELS[method]} fits 1M x 10 in < 120 s, < 4 GiB",
                        cell_seconds(res),
                        "n/a",
                    ]
                )
                continue
            good = res["status"] == "ok" and res["seconds"] < 120 and res["peak_mib"] < 4096
            measured = (
                f"{res['seconds']:.3g} s, {res['peak_mib'] / 1024:.2f} GiB"
                if res["status"] == "ok"
                else cell_seconds(res)
            )
            rows.append(
                [
                    f"{METHOD_LABELS[method]} fits 1M x 10 in < 120 s, < 4 GiB",
                    measured,
                    verdict(good),
                ]
            )
    # Spearman
    n_sp = args.spearman_n
    for method in [m for m in args.methods if m in SKXFER_CLASSES]:
        need = 0.7 if method == "kmm" else 0.9
        res = results.get(("skxfer", method, n_sp, args.dims[0]))
        label = f"{METHOD_LABELS[method]} Spearman >= {need} (n={fmt_n(n_sp)})"
        if res is None or _not_impl(results, method, n_sp):
            rows.append([label, cell_seconds(res), "n/a"])
            continue
        rho = res.get("spearman") if res["status"] == "ok" else None
        rows.append(
            [label, "—" if rho is None else f"{rho:.3f}", verdict(rho is not None and rho >= need)]
        )
    if import_s is not None:
        rows.append(
            [
                "import skxfer, .reweight, .model_selection < 1.5 s",
                f"{import_s:.2f} s",
                verdict(import_s < 1.5),
            ]
        )
    return rows


def _not_impl(results, method, n, d=10):
    res = results.get(("skxfer", method, n, d))
    return res is not None and res["status"] == "skipped" and res["reason"] == "not implemented"


if __name__ == "__main__":
    maybe_worker(task)
    main()
