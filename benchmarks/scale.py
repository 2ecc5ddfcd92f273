"""Scale-out on Dask: each distributed path on a cluster of 1 and 2 worker processes.

For every path that runs on a dask collection (warm start through ``xgboost.dask``, the
weighters fitted block by block, importance weights handed to ``DaskXGBClassifier``) the
same rows, in the same partitions, are fitted on a fresh ``distributed.LocalCluster`` of 1
and of 2 single-threaded worker processes, and once in memory in this process:

- seconds: the fit on the cluster (the rows are built on the workers from a seed, not sent
  from here; the model or weights are computed, or persisted, before the clock stops);
- peak memory per worker: the largest resident size a worker process reached during the
  path (sampled every 10 ms), above its size once the libraries were imported (the most
  over the workers);
- equal: whether the answer is the in-memory one (max difference of predictions or
  weights), as the tests check at their tolerance;
- single process: the in-memory fit's seconds, for reference.

A projection for a 16-node cluster follows from the measured costs. On 1 worker, the
seconds the worker spent computing tasks (dask's task stream) divided by the partitions is
the cost of one partition ``b``; the rest of the wall time is ``a``, what does not spread
(the client's work, scheduling, the round trips of the leaf refresh, xgboost's start-up).
With ``P`` partitions of the same size on ``W`` workers a path then takes about
``a + b * P / W`` seconds. The projection is for ``--project-rows`` rows (100M) on 16 nodes of
``--node-workers`` (8) single-threaded workers; it ignores network transfers (none here: one
machine) and assumes the partitions spread evenly, so it is a lower bound. Parts of ``a``
grow with the rows too: the client reads one value a row (the domains; KMM's dual vectors),
and XGBoost's allreduce per round costs more across machines than across processes.

Run from the repository root (about 5 minutes on 2 cores)::

    python benchmarks/scale.py --quick    # small rows: checks that it runs (< 2 minutes)
    python benchmarks/scale.py
"""

import argparse
import os
import threading
import time
import warnings

import numpy as np
from _common import describe_machine, machine_info, markdown_table, save_results

PATHS = (
    "XGBoost continue",
    "XGBoost refresh",
    "uLSIF",
    "KLIEP",
    "KMM (scalable)",
    "discriminative",
    "importance weights -> DaskXGBClassifier",
)
# Answers within these of the in-memory ones count as equal (the tests' tolerances).
TOLERANCE = {"predictions": 1e-5, "weights": 1e-4}


def _rows(seed, n, d, shift):
    """Rows of one partition, made from its seed (so they are the same wherever built)."""
    rng = np.random.RandomState(seed)
    X = rng.normal(shift, 1.0, size=(n, d))
    y = X[:, 0] + 0.5 * X[:, 1] + 0.1 * rng.normal(size=n)
    return X, y


def dask_rows(n_parts, part_rows, d, shift, seed):
    """A dask array of ``n_parts`` partitions built from seeds, with its labels."""
    import dask
    import dask.array as da

    blocks = [dask.delayed(_rows)(seed + k, part_rows, d, shift) for k in range(n_parts)]
    X = da.concatenate([da.from_delayed(b[0], (part_rows, d), dtype=np.float64) for b in blocks])
    y = da.concatenate([da.from_delayed(b[1], (part_rows,), dtype=np.float64) for b in blocks])
    return X, y


def memory_rows(n_parts, part_rows, d, shift, seed):
    parts = [_rows(seed + k, part_rows, d, shift) for k in range(n_parts)]
    return np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _rss_mib():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class _MemorySampler(threading.Thread):
    """The largest resident size of each worker process, sampled every 10 ms from here
    (a worker's own ``ru_maxrss`` starts at its parent's peak, so it cannot be read)."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        import psutil

        self.processes = {pid: psutil.Process(pid) for pid in pids}
        self.start_mib = {pid: p.memory_info().rss / 2**20 for pid, p in self.processes.items()}
        self.peak_mib = dict(self.start_mib)
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.01):
            for pid, process in self.processes.items():
                try:
                    rss = process.memory_info().rss / 2**20
                except Exception:  # a worker that has just exited
                    continue
                self.peak_mib[pid] = max(self.peak_mib[pid], rss)

    def above_start(self):
        self.done.set()
        self.join()
        return max(self.peak_mib[pid] - self.start_mib[pid] for pid in self.processes)


def _warm_up():
    import xgboost.dask  # noqa: F401

    import skxfer.reweight
    import skxfer.warm_start  # noqa: F401

    return _rss_mib()


# ------------------------------------------------------------------------------------------
# the paths: each returns (the answer on the cluster, the in-memory answer, kind)


class Problem:
    def __init__(self, args):
        self.args = args
        self.source = None

    def source_booster(self):
        import xgboost as xgb

        if self.source is None:
            X, y = memory_rows(4, self.args.part_rows, 20, 0.0, seed=10_000)
            params = {"objective": "reg:squarederror", "max_depth": 4, "nthread": 1}
            self.source = xgb.train(params, xgb.DMatrix(X, y), num_boost_round=30)
        return self.source

    def xgboost(self, strategy, on_cluster):
        import xgboost as xgb

        from skxfer.warm_start import XGBTransferRegressor

        a = self.args
        settings = {
            "strategy": strategy,
            "n_estimators": a.rounds,
            "max_depth": 3,
            "n_jobs": 1,
            "source_learning_rate": 0.3,
        }
        if on_cluster:
            X, y = dask_rows(a.parts, a.part_rows, 20, 0.5, seed=0)
            model = XGBTransferRegressor(self.source_booster(), **settings).fit(X, y)
            return model.booster_
        X, y = memory_rows(a.parts, a.part_rows, 20, 0.5, seed=0)
        if strategy == "continue":  # the single-machine call it must equal
            params = {
                "objective": "reg:squarederror",
                "eval_metric": "rmse",
                "learning_rate": 0.1,
                "max_depth": 3,
                "reg_lambda": 1.0,
                "verbosity": 0,
                "nthread": 1,
            }
            return xgb.train(params, xgb.DMatrix(X, y), a.rounds, xgb_model=self.source_booster())
        return XGBTransferRegressor(self.source_booster(), **settings).fit(X, y).booster_

    def weighter(self, name, on_cluster):
        from skxfer.reweight import (
            DiscriminativeWeighter,
            KLIEPWeighter,
            KMMWeighter,
            ULSIFWeighter,
        )

        a = self.args
        weighter = {
            "uLSIF": ULSIFWeighter(random_state=0),
            "KLIEP": KLIEPWeighter(random_state=0),
            "KMM (scalable)": KMMWeighter(solver="scalable", random_state=0),
            "discriminative": DiscriminativeWeighter(),
        }[name]
        half = a.parts // 2
        domain = np.repeat([1, -1], [half * a.part_rows, (a.parts - half) * a.part_rows])
        if on_cluster:
            import dask.array as da

            Xs, _ = dask_rows(half, a.part_rows, a.width, 0.0, seed=100)
            Xt, _ = dask_rows(a.parts - half, a.part_rows, a.width, 0.3, seed=200)
            weights = weighter.fit(da.concatenate([Xs, Xt]), sample_domain=domain).weights_
            return weights.compute()
        Xs, _ = memory_rows(half, a.part_rows, a.width, 0.0, seed=100)
        Xt, _ = memory_rows(a.parts - half, a.part_rows, a.width, 0.3, seed=200)
        return weighter.fit(np.vstack([Xs, Xt]), sample_domain=domain).weights_

    def importance(self, on_cluster):
        import xgboost as xgb
        import xgboost.dask

        from skxfer.reweight import ImportanceWeightedClassifier, ULSIFWeighter

        a = self.args
        half = a.parts // 2
        domain = np.repeat([1, -1], [half * a.part_rows, (a.parts - half) * a.part_rows])
        params = {"n_estimators": a.rounds, "max_depth": 3, "tree_method": "hist", "nthread": 1}
        weighter = ULSIFWeighter(random_state=0)
        if on_cluster:
            import dask.array as da

            Xs, ys = dask_rows(half, a.part_rows, 10, 0.0, seed=300)
            Xt, _ = dask_rows(a.parts - half, a.part_rows, 10, 0.3, seed=400)
            X = da.concatenate([Xs, Xt])
            unlabelled = da.full(len(Xt), -1, chunks=a.part_rows, dtype=int)
            y = da.concatenate([(ys > 0).astype(int), unlabelled])  # -1: no label
            model = ImportanceWeightedClassifier(xgb.dask.DaskXGBClassifier(**params), weighter)
            model.fit(X, y, sample_domain=domain)
            return model.estimator_.get_booster()
        Xs, ys = memory_rows(half, a.part_rows, 10, 0.0, seed=300)
        Xt, _ = memory_rows(a.parts - half, a.part_rows, 10, 0.3, seed=400)
        y = np.concatenate([(ys > 0).astype(int), np.full(len(Xt), -1)])
        model = ImportanceWeightedClassifier(xgb.XGBClassifier(**params), weighter)
        return model.fit(np.vstack([Xs, Xt]), y, sample_domain=domain).estimator_.get_booster()

    def run(self, path, on_cluster):
        if path.startswith("XGBoost"):
            return self.xgboost(path.split()[-1], on_cluster), "predictions"
        if path.startswith("importance"):
            return self.importance(on_cluster), "predictions"
        return self.weighter(path, on_cluster), "weights"

    def difference(self, answer, reference, kind):
        if kind == "weights":
            return float(np.max(np.abs(answer - reference) / np.maximum(np.abs(reference), 1)))
        import xgboost as xgb

        width = answer.num_features()
        X, _ = memory_rows(1, 2000, width, 0.5, seed=999)
        dm = xgb.DMatrix(X)
        return float(np.max(np.abs(answer.predict(dm) - reference.predict(dm))))


def on_cluster(problem, path, n_workers):
    from distributed import Client, LocalCluster, get_task_stream

    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            memory_limit=0,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(_warm_up)
        sampler = _MemorySampler(client.run(os.getpid).values())
        sampler.start()
        start = time.perf_counter()
        with get_task_stream(client) as stream:
            answer, kind = problem.run(path, on_cluster=True)
        seconds = time.perf_counter() - start
        busy = sum(
            part["stop"] - part["start"]
            for task in stream.data
            for part in task.get("startstops", ())
            if part.get("action") == "compute"
        )
        above = sampler.above_start()
    return answer, kind, seconds, above, busy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small partitions, to check it runs")
    parser.add_argument("--parts", type=int, default=8, help="partitions per dataset")
    parser.add_argument("--part-rows", type=int, default=25_000, help="rows per partition")
    parser.add_argument("--width", type=int, default=20, help="features of the weighters' rows")
    parser.add_argument("--rounds", type=int, default=20, help="added (or source) rounds")
    parser.add_argument("--paths", nargs="*", default=list(PATHS), choices=PATHS)
    parser.add_argument("--project-rows", type=float, default=1e8, help="rows of the projection")
    parser.add_argument("--node-workers", type=int, default=8, help="workers per node there")
    args = parser.parse_args(argv)
    if args.quick:
        args.part_rows = 5_000
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    warnings.filterwarnings("ignore", category=UserWarning, module="distributed")
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    info = machine_info()
    _warm_up()  # imports paid before any clock starts, here as on the workers
    problem = Problem(args)
    problem.source_booster()  # the source model is given, not timed
    rows = []
    for path in args.paths:
        start = time.perf_counter()
        reference, kind = problem.run(path, on_cluster=False)
        single = time.perf_counter() - start
        measured = {}
        for n_workers in (1, 2):
            answer, _, seconds, peak, busy = on_cluster(problem, path, n_workers)
            diff = problem.difference(answer, reference, kind)
            measured[n_workers] = (seconds, peak, diff, busy)
            print(
                f"{path}: {n_workers} worker(s) {seconds:.2f} s, peak {peak:.0f} MiB, "
                f"diff {diff:.2g}",
                flush=True,
            )
        (t1, m1, d1, busy), (t2, m2, d2, _) = measured[1], measured[2]
        per_part = busy / args.parts
        fixed = max(t1 - busy, 0.0)
        big_parts = args.project_rows / args.part_rows
        projected = fixed + per_part * big_parts / (16 * args.node_workers)
        rows.append(
            {
                "path": path,
                "single_process_s": single,
                "seconds": {"1": t1, "2": t2},
                "peak_mib_per_worker": {"1": m1, "2": m2},
                "max_difference": {"1": d1, "2": d2},
                "kind": kind,
                "equal": {str(w): measured[w][2] <= TOLERANCE[kind] for w in (1, 2)},
                "per_partition_s": per_part,
                "fixed_s": fixed,
                "projected_16_nodes_s": projected,
            }
        )
    table = [
        [
            r["path"],
            f"{r['single_process_s']:.2f}",
            f"{r['seconds']['1']:.2f}",
            f"{r['seconds']['2']:.2f}",
            f"{r['seconds']['1'] / r['seconds']['2']:.2f}x",
            f"{r['peak_mib_per_worker']['1']:.0f}",
            f"{r['peak_mib_per_worker']['2']:.0f}",
            _verdict(r, "1"),
            _verdict(r, "2"),
        ]
        for r in rows
    ]
    headers = [
        "path",
        "single process s",
        "1 worker s",
        "2 workers s",
        "speed-up",
        "peak MiB/worker (1)",
        "peak MiB/worker (2)",
        "equal (1 worker)",
        "equal (2 workers)",
    ]
    projection = [
        [
            r["path"],
            f"{r['per_partition_s']:.3f}",
            f"{r['fixed_s']:.2f}",
            f"{r['fixed_s'] + r['per_partition_s'] * args.project_rows / args.part_rows:,.0f}",
            f"{r['projected_16_nodes_s']:.1f}",
        ]
        for r in rows
    ]
    projection_headers = [
        "path",
        "per partition s (b)",
        "fixed s (a)",
        f"{args.project_rows:.0e} rows on 1 worker s",
        f"on 16 nodes x {args.node_workers} workers s",
    ]
    setting = (
        f"{args.parts} partitions of {args.part_rows:,} rows; XGBoost: 20 features, a "
        f"30-round source, {args.rounds} added rounds of depth 3; weighters: {args.width} "
        f"features, half the partitions source, half target; importance weights: uLSIF then "
        f"DaskXGBClassifier({args.rounds} rounds) on 10 features."
    )
    markdown = "\n".join(
        [
            "# scale.py",
            "",
            describe_machine(info),
            "",
            setting,
            "",
            markdown_table(headers, table, "lrrrrrrll"),
            "",
            f"Projection for {args.project_rows:,.0f} rows in partitions of {args.part_rows:,} "
            f"rows on 16 nodes of {args.node_workers} single-threaded workers, ``a + b P / W``"
            " with the per-partition cost ``b`` and the fixed cost ``a`` measured on 1 worker "
            "(network transfers not counted; a lower bound):",
            "",
            markdown_table(projection_headers, projection, "lrrrr"),
        ]
    )
    print(markdown)
    payload = {
        "rows": rows,
        "arguments": vars(args),
        "machine": info,
        "versions": info["versions"],
        "date": info["date"],
        "tables": [
            {"title": "1 vs 2 workers", "headers": headers, "rows": table},
            {"title": "16-node projection", "headers": projection_headers, "rows": projection},
        ],
    }
    save_results("scale", payload, markdown)


def _verdict(row, workers):
    diff = row["max_difference"][workers]
    return f"{'yes' if row['equal'][workers] else 'no'} ({diff:.1g})"


if __name__ == "__main__":
    main()
