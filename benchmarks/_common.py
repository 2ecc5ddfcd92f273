"""Shared machinery of the reweighting benchmarks.

- isolated runs: every library/method run happens in a fresh subprocess (the benchmark script
  itself, started with ``--worker``) under a wall-clock timeout and a memory cap enforced by
  the parent, so one slow or memory-hungry peer cannot hang or crash the benchmark;
- peer adapters: the same density-ratio method from skxfer, ADAPT and skada, all returning the
  weights of the source rows;
- data: the domain-adaptation sets under ``../shared/data``;
- tables: Markdown tables and machine information.

The worker writes events (one JSON object per line) to a file that the parent reads while it
polls the child: ``start`` opens a timed section (the parent starts that section's clock and
samples the child's resident memory), ``end`` closes it with its result. A section that runs
past its timeout, or whose memory above the section's baseline passes the cap, is killed and
reported as such; the sections that never started are reported as skipped.
"""

import contextlib
import inspect
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DATA_DIR = Path(os.environ.get("SKXFER_BENCH_DATA", REPO_DIR.parent / "shared" / "data"))

GiB = 1024**3
MiB = 1024**2

# method key -> skxfer class name
SKXFER_CLASSES = {
    "kmm": "KMMWeighter",
    "kliep": "KLIEPWeighter",
    "ulsif": "ULSIFWeighter",
    "rulsif": "RULSIFWeighter",
    "discriminative": "DiscriminativeWeighter",
    "nearest_neighbors": "NearestNeighborsWeighter",
}
METHOD_LABELS = {
    "kmm": "KMM",
    "kliep": "KLIEP",
    "ulsif": "uLSIF",
    "rulsif": "RuLSIF",
    "discriminative": "discriminative",
    "nearest_neighbors": "nearest neighbours",
    "gaussian": "Gaussian (skada only)",
}
# method key -> the peer implementations of that method, by library
PEER_CLASSES = {
    "kmm": {"adapt": "KMM", "skada": "KMMReweightAdapter"},
    "kliep": {"adapt": "KLIEP", "skada": "KLIEPReweightAdapter"},
    "ulsif": {"adapt": "ULSIF"},
    "rulsif": {"adapt": "RULSIF"},
    "discriminative": {"adapt": "IWC", "skada": "DiscriminatorReweightAdapter"},
    "nearest_neighbors": {
        "adapt": "NearestNeighborsWeighting",
        "skada": "NearestNeighborReweightAdapter",
    },
    "gaussian": {"skada": "GaussianReweightAdapter"},
}
ALL_METHODS = list(PEER_CLASSES)
LIBRARIES = ("skxfer", "adapt", "skada")


# ----------------------------------------------------------------------------------------------
# which skxfer weighters exist, which peers are installed


def skxfer_status():
    """``{method: "ok" | "not implemented" | "missing"}`` for the skxfer weighters."""
    import skxfer.reweight as rw

    status = {}
    for method, name in SKXFER_CLASSES.items():
        cls = getattr(rw, name, None)
        if cls is None:
            status[method] = "missing"
        elif inspect.isabstract(cls):
            status[method] = "not implemented"
        else:
            status[method] = "ok"
    return status


def peer_installed(lib):
    """Whether a peer library can be found (without importing it: ADAPT pulls in TensorFlow)."""
    import importlib.util

    return importlib.util.find_spec(lib) is not None


def versions():
    """Versions of the libraries compared (read from package metadata, nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in (
        *("skxfer", "adapt", "skada", "scikit-learn", "numpy", "scipy", "tensorflow"),
        *("torch", "transformers", "xgboost", "xgboost-cpu", "catboost", "lightgbm", "pandas"),
    ):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def machine_info():
    """Cores, load average, memory, date and versions: what a reader needs to judge timings."""
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "versions": versions(),
    }
    with contextlib.suppress(ImportError):
        import psutil

        info["memory_gib"] = round(psutil.virtual_memory().total / GiB, 1)
    return info


def describe_machine(info):
    v = info["versions"]
    load = ", ".join(f"{x:.2f}" for x in info["load"])
    return (
        f"{info['date']}; {info['cpus']} cores, {info.get('memory_gib', '?')} GiB RAM, "
        f"load average (1, 5, 15 min) at start {load}; Python {info['python']}; "
        f"skxfer {v['skxfer']}, ADAPT {v['adapt']} (TensorFlow {v['tensorflow']}), "
        f"skada {v['skada']}, scikit-learn {v['scikit-learn']}, numpy {v['numpy']}"
    )


# ----------------------------------------------------------------------------------------------
# the weights of each method, by library


def make_skxfer_weighter(method, random_state=0, **params):
    import skxfer.reweight as rw

    weighter = getattr(rw, SKXFER_CLASSES[method])()
    if "random_state" in weighter.get_params():
        weighter.set_params(random_state=random_state)
    return weighter.set_params(**params)


def median_gamma(Xs, Xt, random_state=0, max_rows=1000):
    """``1 / (2 sigma^2)`` with sigma the median pairwise distance of (a subsample of) the
    pooled rows: the width skxfer's kernels default to, in the ``exp(-gamma d^2)`` form that
    ADAPT and skada take."""
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(random_state)
    pooled = np.vstack([Xs[: 4 * max_rows], Xt[: 4 * max_rows]])
    if len(pooled) > max_rows:
        pooled = pooled[rng.choice(len(pooled), max_rows, replace=False)]
    sigma = float(np.median(pdist(pooled)))
    return 1.0 / (2.0 * sigma**2) if sigma > 0 else 1.0


def peer_weights(lib, method, Xs, Xt, width="median", random_state=0):
    """Weights of the source rows ``Xs`` given the target rows ``Xt``, by a peer library.

    ``width="median"`` hands a kernel method the median-heuristic ``gamma`` (see
    :func:`median_gamma`); ``width="default"`` leaves the peer's own default (``1 / n_features``
    for ADAPT and for skada's KMM, ``gamma=1.0`` for skada's KLIEP, which has no default).
    Everything else is the peer's default.
    """
    kernel = method in ("kmm", "kliep", "ulsif", "rulsif")
    gamma = median_gamma(Xs, Xt, random_state) if kernel and width == "median" else None
    if lib == "adapt":
        import adapt.instance_based as ib

        kw = {} if gamma is None else {"gamma": gamma}
        cls = getattr(ib, PEER_CLASSES[method]["adapt"])
        model = cls(verbose=0, random_state=random_state, **kw)
        return np.asarray(model.fit_weights(Xs, Xt), dtype=float).ravel()
    if lib == "skada":
        import skada

        cls = getattr(skada, PEER_CLASSES[method]["skada"])
        if method == "kmm":
            adapter = cls(gamma=gamma)
        elif method == "kliep":
            adapter = cls(gamma=1.0 if gamma is None else gamma, random_state=random_state)
        else:
            adapter = cls()
        X = np.vstack([Xs, Xt])
        sd = np.r_[np.ones(len(Xs), dtype=int), -np.ones(len(Xt), dtype=int)]
        adapter.fit(X, sample_domain=sd)
        w = adapter.compute_weights(X, sample_domain=sd)
        return np.asarray(w, dtype=float)[: len(Xs)]
    raise ValueError(f"unknown peer library {lib!r}")


def mean_one(w):
    """Weights rescaled to mean 1 (so that every method gives the base estimator the same
    total weight, hence the same effective regularisation)."""
    w = np.asarray(w, dtype=float)
    if not np.all(np.isfinite(w)):
        raise FloatingPointError("non-finite weights")
    w = np.maximum(w, 0.0)
    if w.sum() <= 0:
        raise FloatingPointError("all weights are 0")
    return w * (len(w) / w.sum())


def ess(w):
    return float(w.sum() ** 2 / np.sum(w**2))


# ----------------------------------------------------------------------------------------------
# domain-adaptation data


def wine_domains():
    """Wine quality as a two-domain classification task: red -> white, label quality >= 6."""
    import pandas as pd

    folder = DATA_DIR / "winequality"
    out = {}
    for name in ("red", "white"):
        path = next(iter(sorted(folder.glob(f"*{name}*.csv"))), None)
        if path is None:
            return {}
        frame = pd.read_csv(path, sep=";")
        y = (frame["quality"].to_numpy() >= 6).astype(int)
        out[name] = (frame.drop(columns="quality").to_numpy(dtype=float), y)
    return out


def npz_domains(folder, names):
    out = {}
    for name in names:
        path = DATA_DIR / folder / f"{name}.npz"
        if not path.exists():
            return {}
        with np.load(path) as f:
            out[name] = (np.asarray(f["X"], dtype=float), np.asarray(f["y"]).astype(int))
    return out


# ----------------------------------------------------------------------------------------------
# running one library/method in a subprocess


def run_isolated(
    script,
    task,
    *,
    section_timeout,
    setup_timeout=300.0,
    mem_cap_gib=8.0,
    poll=0.02,
):
    """Run ``script --worker`` on ``task`` (a JSON-able dict) in a fresh subprocess.

    Returns ``(sections, error)``: ``sections`` maps each section label the worker opened to
    its result dict (with ``status`` "ok", "failed", "timeout" or "memory"), ``error`` is a
    short reason when the worker died outside a section (else None).
    """
    import psutil

    with tempfile.TemporaryDirectory(prefix="skxfer-bench-") as tmp:
        tmp = Path(tmp)
        task_file, events_file, log_file = tmp / "task.json", tmp / "events.jsonl", tmp / "log"
        task_file.write_text(json.dumps(task))
        # skada needs no TensorFlow backend of POT (ADAPT imports TensorFlow itself)
        env = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="3",
            PYTHONWARNINGS="ignore",
            POT_BACKEND_DISABLE_TENSORFLOW="1",
        )
        with open(log_file, "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, str(script), "--worker", str(task_file), str(events_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
            )
        child = psutil.Process(proc.pid)
        sections, error = {}, None
        open_label, opened_at, baseline, peak_rss = None, None, 0, 0
        phase_started = time.monotonic()
        offset = 0
        try:
            while True:
                returncode = proc.poll()
                events, offset = _read_events(events_file, offset)
                for ev in events:
                    if ev["kind"] == "start":
                        open_label, opened_at = ev["label"], time.monotonic()
                        baseline, peak_rss = ev["rss"], ev["rss"]
                        sections[open_label] = {"status": "running", "_maxrss0": ev["maxrss"]}
                    elif ev["kind"] == "end":
                        sec = sections.setdefault(ev["label"], {"_maxrss0": 0})
                        maxrss0 = sec.pop("_maxrss0", 0)
                        # getrusage's lifetime peak is exact when the section raised it;
                        # otherwise the parent's sampling of the section is the best we have.
                        peak = ev["maxrss"] if ev["maxrss"] > maxrss0 else peak_rss
                        sec.update(ev["result"])
                        sec["status"] = ev["result"].get("status", "ok")
                        sec["peak_mib"] = max(peak - baseline, 0) / MiB
                        open_label = None
                        phase_started = time.monotonic()
                    elif ev["kind"] == "update":
                        sections.setdefault(ev["label"], {}).update(ev["result"])
                if returncode is not None:
                    break
                now = time.monotonic()
                if open_label is not None:
                    with contextlib.suppress(psutil.Error):
                        rss = child.memory_info().rss
                        peak_rss = max(peak_rss, rss)
                        if rss - baseline > mem_cap_gib * GiB:
                            _kill(proc)
                            sections[open_label] = {
                                "status": "memory",
                                "reason": f"needs > {mem_cap_gib:g} GiB (stopped at the cap)",
                            }
                            open_label = None
                            break
                    if now - opened_at > section_timeout:
                        _kill(proc)
                        sections[open_label] = {
                            "status": "timeout",
                            "reason": f"timeout (>{section_timeout:g} s)",
                        }
                        open_label = None
                        break
                elif now - phase_started > setup_timeout:
                    _kill(proc)
                    error = f"setup took > {setup_timeout:g} s"
                    break
                time.sleep(poll)
        finally:
            if proc.poll() is None:
                _kill(proc)
        if open_label is not None:  # the worker died inside a section
            reason = _last_error(log_file) or _death(proc.returncode)
            sections[open_label] = {"status": "failed", "reason": reason}
        elif proc.returncode not in (0, None) and error is None and not _all_closed(sections):
            error = _last_error(log_file) or _death(proc.returncode)
        for sec in sections.values():
            sec.pop("_maxrss0", None)
            if sec.get("status") == "running":
                sec.update(status="failed", reason="worker died")
        return sections, error


def _death(returncode):
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            return f"crashed ({signal.Signals(-returncode).name})"
    return f"worker died (exit {returncode})"


def _all_closed(sections):
    return all(s.get("status") != "running" for s in sections.values())


def _kill(proc):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _read_events(path, offset):
    if not path.exists():
        return [], offset
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    lines = data.split(b"\n")
    complete, rest = lines[:-1], lines[-1]
    events = [json.loads(line) for line in complete if line.strip()]
    return events, offset + len(data) - len(rest)


def _last_error(log_file):
    with contextlib.suppress(OSError):
        lines = [ln.strip() for ln in log_file.read_text(errors="replace").splitlines()]
        errors = [ln for ln in lines if "Error" in ln or "error" in ln]
        if errors:
            return short_reason(errors[-1])
    return None


def short_reason(text, limit=60):
    """A short failure reason for a table cell: 'MemoryError: needs 30.5 GiB', ..."""
    import re

    text = str(text).strip().replace("|", "/").replace("\n", " ")
    m = re.search(r"Unable to allocate ([\d.]+ \w?i?B)", text)
    if m:
        return f"MemoryError: needs {m.group(1)}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------------------------
# the worker side


class Worker:
    """Event writer of a worker process; ``section`` is the timed, memory-watched context."""

    def __init__(self, events_file):
        self._file = open(events_file, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    def _emit(self, **event):
        self._file.write(json.dumps(event, default=_jsonable) + "\n")
        self._file.flush()

    @contextlib.contextmanager
    def section(self, label):
        """Open a section; the body sets ``box["result"]`` (a dict) for the parent."""
        import psutil

        box = {"result": {}}
        rss = psutil.Process().memory_info().rss
        self._emit(kind="start", label=label, rss=rss, maxrss=_maxrss())
        t0 = time.perf_counter()
        try:
            yield box
        except Exception as exc:  # any failure of a peer is a table cell, not a crash
            box["result"] = {
                "status": "failed",
                "reason": short_reason(f"{type(exc).__name__}: {exc}"),
            }
            box["traceback"] = traceback.format_exc()
        box["result"].setdefault("seconds", time.perf_counter() - t0)
        self._emit(kind="end", label=label, maxrss=_maxrss(), result=box["result"])

    def update(self, label, **result):
        """Add results to a closed section (e.g. the accuracy computed after the timed fit)."""
        self._emit(kind="update", label=label, result=result)


def _maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _jsonable(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


def maybe_worker(task_fn):
    """If started with ``--worker TASK EVENTS``, run ``task_fn(task, worker)`` and exit."""
    if len(sys.argv) < 2 or sys.argv[1] != "--worker":
        return
    import warnings

    warnings.simplefilter("ignore")
    task = json.loads(Path(sys.argv[2]).read_text())
    worker = Worker(sys.argv[3])
    task_fn(task, worker)
    worker._emit(kind="done")
    sys.exit(0)


# ----------------------------------------------------------------------------------------------
# tables


def markdown_table(headers, rows, align=None):
    """A GitHub Markdown table; ``align`` is a string of 'l'/'r' per column."""
    align = align or "l" + "r" * (len(headers) - 1)
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row):
        padded = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)]
        return "| " + " | ".join(padded) + " |"

    sep = (
        "|"
        + "|".join(
            "-" * (w + 1) + ":" if a == "r" else ":" + "-" * (w + 1) for w, a in zip(widths, align)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def fmt_n(n):
    n = int(n)
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def parse_markdown_tables(markdown):
    """The Markdown tables of a printed report, as ``[{"title", "headers", "rows"}, ...]``.

    A table's title is the last heading (``#``) or bold line (``**...**``) above it, followed by
    the short text line just above the table if there is one (a caption such as "Limits
    (d = 10): ...").
    """
    tables, heading, caption, lines = [], "", "", markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("|") and i + 1 < len(lines) and _is_separator(lines[i + 1]):
            headers = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i].strip()))
                i += 1
            short = caption if len(caption) <= 120 else ""
            title = " — ".join(t for t in (heading, short) if t)
            tables.append({"title": title, "headers": headers, "rows": rows})
            caption = ""
            continue
        if line.startswith("#"):
            heading, caption = line.lstrip("#").strip(), ""
        elif line.startswith("**") and line.endswith("**") and len(line) > 4:
            heading, caption = line.strip("*").strip(), ""
        elif line:
            caption = line
        i += 1
    return tables


def _is_separator(line):
    line = line.strip()
    return line.startswith("|") and set(line) <= set("|:- ")


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _relative_paths(obj):
    """``obj`` with this checkout's absolute paths made relative to the repository root (a
    results file is read on other machines)."""
    if isinstance(obj, dict):
        return {k: _relative_paths(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_relative_paths(v) for v in obj]
    if isinstance(obj, str):
        return obj.replace(f"{REPO_DIR}/", "").replace(f"{REPO_DIR.parent}/", "../")
    return obj


def save_results(name, payload, markdown):
    """Write the tracked ``results/<name>.json``: the latest run of a benchmark script.

    ``payload`` is a JSON-able dict with the raw ``rows`` (or the script's own raw records) and
    the ``arguments``; what is missing of ``machine``, ``versions``, ``date`` and ``load`` is
    filled in here. ``tables`` (``[{"title", "headers", "rows"}, ...]``, cells formatted as the
    README shows them) are read from the printed ``markdown`` report when the payload has none.
    ``benchmarks/report.py`` renders them into ``benchmarks/README.md``.
    Returns the path written.
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = dict(payload)
    machine = payload.get("machine") or payload.get("info") or machine_info()
    payload["machine"] = machine
    payload.setdefault("versions", machine.get("versions") or versions())
    payload.setdefault("date", machine.get("date"))
    payload.setdefault("load", {"start": machine.get("load"), "end": os.getloadavg()})
    if "arguments" not in payload:
        payload["arguments"] = payload.get("args", {"argv": sys.argv[1:]})
    payload.setdefault(
        "command", " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    )
    if "tables" not in payload:
        payload["tables"] = parse_markdown_tables(markdown)
    # the script's own notes around its tables (the command, the machine, goals in words)
    payload.setdefault("report", markdown)
    payload = _relative_paths(json.loads(json.dumps(payload, default=_jsonable)))
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path
