"""Classic domain-adaptation benchmarks, read from a folder the user provides."""

from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

# set -> (domains, file of each domain inside the set's folder)
BENCHMARK_SETS = {
    "office_caltech10_surf": ("amazon", "webcam", "dslr", "caltech10"),
    "amazon_reviews_400": ("books", "dvd", "elec", "kitchen"),
    "mnist_usps_jda": ("mnist", "usps"),
    "coil20_jda": ("coil1", "coil2"),
    "winequality": ("red", "white"),
}


def load_domain_benchmark(name, source, target, *, data_home):
    """A published domain-adaptation benchmark, from the folder that holds its files.

    skxfer ships none of these data (they are redistributions of academic benchmarks: cite
    the original papers); point ``data_home`` at a folder with one subfolder per set, in
    the layout below, and this loader stacks the chosen domains.

    ========================  ==========================================  =================
    set (subfolder)           domains (one file each)                     rows are
    ========================  ==========================================  =================
    ``office_caltech10_surf`` amazon, webcam, dslr, caltech10             800 SURF counts,
                                                                          10 classes (1..10)
    ``amazon_reviews_400``    books, dvd, elec, kitchen                   400 term features,
                                                                          sentiment 0/1
    ``mnist_usps_jda``        mnist, usps                                 16x16 pixels 0..1,
                                                                          digits (1..10)
    ``coil20_jda``            coil1, coil2                                32x32 pixels,
                                                                          20 objects (1..20)
    ``winequality``           red, white                                  11 measurements,
                                                                          quality >= 6 (0/1)
    ========================  ==========================================  =================

    Each domain of the first four sets is ``<domain>.npz`` with arrays ``X`` (rows are
    samples) and ``y`` (int labels, kept as stored). The wine domains are the UCI CSV files
    ``winequality-red.csv`` and ``winequality-white.csv`` (``;``-separated, with header);
    their label is ``quality >= 6`` and the raw score is in ``quality``.

    Parameters
    ----------
    name : str
        The set, one of the subfolder names above.
    source : str or list of str
        Domain(s) of the labelled source rows.
    target : str
        Domain of the target rows (returned unlabelled in ``y``).
    data_home : str or os.PathLike
        Folder holding the sets' subfolders.

    Returns
    -------
    data : Bunch
        ``X`` (float ndarray, source rows then target rows), ``y`` (int, target rows masked
        with -1), ``y_true`` (all labels), ``sample_domain`` (1, 2, ... per source domain;
        -1 target), ``domain`` (name of each row's domain), and for ``winequality`` also
        ``quality`` (the raw score of each row).

    Examples
    --------
    >>> from skxfer.datasets import load_domain_benchmark
    >>> data = load_domain_benchmark(
    ...     "office_caltech10_surf", "amazon", "webcam", data_home="shared/data"
    ... )  # doctest: +SKIP
    >>> data.X.shape  # doctest: +SKIP
    (1253, 800)
    """
    if name not in BENCHMARK_SETS:
        raise ValueError(f"Unknown benchmark set {name!r}; choose from {sorted(BENCHMARK_SETS)}.")
    domains = BENCHMARK_SETS[name]
    sources = [source] if isinstance(source, str) else list(source)
    for domain in [*sources, target]:
        if domain not in domains:
            raise ValueError(f"{name} has no domain {domain!r}; choose from {list(domains)}.")
    if target in sources:
        raise ValueError(f"target {target!r} is also a source; pick a different domain.")
    if not sources:
        raise ValueError("source is empty; name at least one source domain.")
    folder = Path(data_home).expanduser() / name
    if not folder.is_dir():
        raise FileNotFoundError(
            f"No folder {str(folder)!r}: data_home={str(data_home)!r} must hold a subfolder "
            f"{name!r} with the set's files (skxfer does not ship or download them)."
        )
    read = _read_wine if name == "winequality" else _read_npz
    parts = [read(folder, domain) for domain in [*sources, target]]
    widths = {part[0].shape[1] for part in parts}
    if len(widths) != 1:
        raise ValueError(f"The domains of {name} have different widths {sorted(widths)}.")
    X = np.vstack([part[0] for part in parts])
    y_true = np.concatenate([part[1] for part in parts])
    n_target = len(parts[-1][1])
    ids = [np.full(len(part[1]), i + 1) for i, part in enumerate(parts[:-1])]
    sample_domain = np.concatenate([*ids, -np.ones(n_target, dtype=int)])
    y = y_true.copy()
    y[sample_domain < 0] = -1
    names = [*sources, target]
    data = Bunch(
        X=X,
        y=y,
        y_true=y_true,
        sample_domain=sample_domain,
        domain=np.repeat(names, [len(part[1]) for part in parts]),
    )
    if name == "winequality":
        data.quality = np.concatenate([part[2] for part in parts])
    return data


def _missing(path, name):
    return FileNotFoundError(
        f"No file {str(path)!r}: the {name} set's folder lacks this domain's file "
        "(see load_domain_benchmark for the layout)."
    )


def _read_npz(folder, domain):
    path = folder / f"{domain}.npz"
    if not path.is_file():
        raise _missing(path, folder.name)
    with np.load(path, allow_pickle=False) as f:
        if "X" not in f or "y" not in f:
            raise ValueError(f"{str(path)!r} must hold arrays 'X' and 'y'; it has {f.files}.")
        return np.asarray(f["X"], dtype=np.float64), np.asarray(f["y"]).astype(int).ravel()


def _read_wine(folder, domain):
    path = folder / f"winequality-{domain}.csv"
    if not path.is_file():
        raise _missing(path, folder.name)
    table = np.genfromtxt(path, delimiter=";", skip_header=1, dtype=np.float64)
    quality = table[:, -1].astype(int)
    return table[:, :-1], (quality >= 6).astype(int), quality
