"""How high can a transferability score's Kendall tau be when the truth is a held-out accuracy?

``transferability.py`` ranks candidates (encoders x layers) by a score and compares the ranking
with the held-out accuracy of a tuned probe on each candidate. That accuracy is measured on a
finite test half, so it is itself noisy: two candidates a point apart swap places from one
test draw to the next. This study reads the saved results and, per task:

- ``oracle``: the tau of a perfect score (the candidates' accuracies themselves, taken as the
  truth) against a re-measured truth, each accuracy drawn as ``Binomial(n_test, a) / n_test``
  (mean over draws and its 5% quantile). No score can expect more;
- ``two draws``: the tau between two independent re-measurements (the truth's own agreement);
- the tau of each saved score within subsets of the candidates: all, without the
  random-weight controls, and the random-weight controls alone (whose accuracies differ by
  noise around chance).

Independent draws overstate the noise of candidates scored on the same test rows a little
(their errors correlate); the ceilings are therefore slightly pessimistic.

Run from the repository root after ``transferability.py``::

    python benchmarks/studies/transferability_ceiling.py             # seconds
    python benchmarks/studies/transferability_ceiling.py --n-test 1000
"""

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

RESULTS = Path(__file__).resolve().parents[1] / "results" / "transferability.json"
SCORES = ("logme", "h_score", "h_score_shrinkage")


def tau(x, y):
    value = kendalltau(x, y).statistic
    return float("nan") if np.isnan(value) else float(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--n-test", type=int, default=None, help="default: the run's rows / 2")
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    payload = json.loads(Path(args.results).read_text())
    n_test = args.n_test or payload["arguments"].get("rows", 1000) // 2
    rng = np.random.default_rng(0)
    rows = payload["rows"]
    print(f"held-out rows per task: {n_test}; {args.draws} draws\n")
    header = (
        f"{'task':<24} {'oracle':>7} {'(5%)':>6} {'two draws':>9}  score: all / no random / random"
    )
    print(header)
    for task in dict.fromkeys(r["task"] for r in rows):
        task_rows = [r for r in rows if r["task"] == task]
        acc = np.array([r["accuracy"] for r in task_rows])
        oracle = [tau(acc, rng.binomial(n_test, acc) / n_test) for _ in range(args.draws)]
        twice = [
            tau(rng.binomial(n_test, acc) / n_test, rng.binomial(n_test, acc) / n_test)
            for _ in range(args.draws)
        ]
        random = np.array(["random" in r["encoder"] for r in task_rows])
        parts = []
        for score in SCORES:
            values = np.array([r[score] for r in task_rows])
            cells = [tau(values, acc)]
            for mask in (~random, random):
                cells.append(tau(values[mask], acc[mask]) if mask.sum() > 2 else float("nan"))
            parts.append(f"{score} " + " / ".join(f"{c:+.2f}" for c in cells))
        print(
            f"{task:<24} {np.nanmean(oracle):7.2f} {np.nanquantile(oracle, 0.05):6.2f} "
            f"{np.nanmean(twice):9.2f}  " + "; ".join(parts)
        )


if __name__ == "__main__":
    main()
