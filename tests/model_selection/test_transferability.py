"""Transferability scores: exact against brute force and the papers' formulas, and ranking."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import softmax
from sklearn.covariance import ledoit_wolf
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skxfer.model_selection import (
    h_score,
    leep_score,
    logme_score,
    make_transferability_scorer,
    nce_score,
    rank_encoders,
    rank_layers,
)
from skxfer.model_selection._transferability import _one_hot, _Spectrum

# --- references written from the papers' definitions -------------------------------------


def direct_evidence(F, y, alpha, beta):
    """Log evidence of y under y = F w + noise, w ~ N(0, I / alpha), noise precision beta."""
    n, d = F.shape
    A = alpha * np.eye(d) + beta * F.T @ F
    m = beta * np.linalg.solve(A, F.T @ y)
    _, logdet = np.linalg.slogdet(A)
    return (
        0.5 * n * np.log(beta)
        + 0.5 * d * np.log(alpha)
        - 0.5 * n * np.log(2 * np.pi)
        - 0.5 * beta * np.sum((F @ m - y) ** 2)
        - 0.5 * alpha * m @ m
        - 0.5 * logdet
    )


def brute_force_max(F, y):
    """The maximum evidence over (log alpha, log beta), by a grid then Nelder-Mead."""
    grid = np.linspace(-12, 12, 49)
    values = [(direct_evidence(F, y, np.exp(a), np.exp(b)), a, b) for a in grid for b in grid]
    starts = sorted(values, reverse=True)[:3]
    best = starts[0][0]
    for _, a, b in starts:
        found = minimize(
            lambda p: -direct_evidence(F, y, np.exp(p[0]), np.exp(p[1])),
            [a, b],
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
        )
        best = max(best, -found.fun)
    return best


def fixed_point_max(F, y, n_iter=1000):
    """The paper's fixed-point iteration over alpha and beta (You et al., 2021, Alg. 1)."""
    n, d = F.shape
    sigma, V = np.linalg.eigh(F.T @ F)
    sigma = np.clip(sigma, 0, None)
    Fy = V.T @ (F.T @ y)
    alpha, beta = 1.0, 1.0
    for _ in range(n_iter):
        gamma = np.sum(beta * sigma / (alpha + beta * sigma))
        m = V @ (beta * Fy / (alpha + beta * sigma))
        alpha_new = gamma / (m @ m)
        beta_new = (n - gamma) / np.sum((F @ m - y) ** 2)
        done = abs(alpha_new - alpha) / alpha < 1e-12 and abs(beta_new - beta) / beta < 1e-12
        alpha, beta = alpha_new, beta_new
        if done:
            break
    return direct_evidence(F, y, alpha, beta)


def reference_logme(F, y, maximise=brute_force_max):
    Y = _one_hot(np.unique(y, return_inverse=True)[1])
    F = np.asarray(F, dtype=np.float64)
    return np.mean([maximise(F, Y[:, c]) for c in range(Y.shape[1])]) / len(F)


def make_features(n, d, n_classes=3, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, n_classes, size=n)
    centres = rng.normal(size=(n_classes, d))
    F = np.abs(centres[y] + rng.normal(scale=1.5, size=(n, d)))  # ReLU-like, not centred
    return F.astype(dtype), y


# --- LogME --------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "d"), [(80, 6), (12, 30)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logme_equals_the_brute_force_maximum(n, d, dtype):
    F, y = make_features(n, d, dtype=dtype)
    assert logme_score(F, y) == pytest.approx(reference_logme(F, y), rel=1e-7, abs=1e-8)


def test_logme_equals_the_papers_fixed_point_when_it_converges():
    F, y = make_features(300, 20, n_classes=4, seed=1)
    expected = reference_logme(F, y, maximise=fixed_point_max)
    assert logme_score(F, y) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("n", "d"), [(200, 10), (15, 40)])
def test_logme_profile_is_the_direct_evidence_at_its_alpha_and_beta(n, d):
    F, y = make_features(n, d, seed=2)
    Y = _one_hot(y)
    spectrum = _Spectrum(F, Y)
    for c in range(Y.shape[1]):
        value, t_best = spectrum.max_evidence(c)
        # far below the eigenvalues the direct formula loses its digits (A is near-singular)
        ts = [t for t in [*np.linspace(-2, 12, 8), t_best] if t > spectrum.log_eig[0] - 8]
        for t in ts:
            lam = np.exp(t)
            Q = np.sum(spectrum.z2[:, c] * lam / (lam + spectrum.eig)) + spectrum.outside[c]
            beta = n / Q  # the best beta given alpha / beta
            direct = direct_evidence(F, Y[:, c], lam * beta, beta)
            assert spectrum.evidence(t, c)[0] == pytest.approx(direct, rel=1e-9)
            assert value >= direct - 1e-9


def test_logme_float32_and_float64_agree():
    F, y = make_features(500, 64, n_classes=5, seed=3)
    assert logme_score(F.astype(np.float32), y) == pytest.approx(
        logme_score(F.astype(np.float32).astype(np.float64), y), rel=1e-12
    )
    assert logme_score(F.astype(np.float32), y) == pytest.approx(logme_score(F, y), rel=1e-5)


def test_logme_ignores_zero_columns_and_handles_constant_and_duplicated_ones():
    F, y = make_features(60, 5, seed=4)
    base = logme_score(F, y)
    assert logme_score(np.c_[F, np.zeros((60, 3))], y) == pytest.approx(base, rel=1e-10)
    # a constant and a duplicated column make F^T F singular: still the exact maximum
    wider = np.c_[F, np.ones(60), F[:, :2]]
    assert np.isfinite(logme_score(wider, y))
    assert logme_score(wider, y) == pytest.approx(reference_logme(wider, y), rel=1e-7)


def test_logme_on_degenerate_inputs():
    F, y = make_features(40, 4, seed=5)
    y[:2] = 7  # one class with two rows
    assert logme_score(F, y) == pytest.approx(reference_logme(F, y), rel=1e-7)
    zero = logme_score(np.zeros((40, 4)), y)  # features that carry nothing
    assert np.isfinite(zero)
    assert zero < logme_score(F, y)
    assert np.isfinite(logme_score(F[:2], [0, 1]))  # two rows


def test_logme_ranks_informative_features_first():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, size=400)
    signal = np.eye(4)[y]
    scores = [
        logme_score(np.c_[signal * s + rng.normal(size=(400, 4)), np.ones(400)], y)
        for s in (0.0, 0.5, 1.0, 3.0)
    ]
    assert scores == sorted(scores)


def test_logme_regression_scores_each_column():
    rng = np.random.RandomState(0)
    F = rng.normal(size=(120, 5))
    t1, t2 = F @ rng.normal(size=5) + 0.1 * rng.normal(size=120), rng.normal(size=120)
    one = logme_score(F, t1)
    assert one > logme_score(F, t2)
    both = logme_score(F, np.c_[t1, t2])
    assert both == pytest.approx((one + logme_score(F, t2)) / 2, rel=1e-12)
    direct = brute_force_max(F, t1) / 120
    assert one == pytest.approx(direct, rel=1e-7)
    # integer-valued targets are classes unless told otherwise
    counts = rng.poisson(3, size=120)
    assert logme_score(F, counts, target_type="regression") != logme_score(F, counts)


def test_logme_errors_name_the_parameter():
    F, y = make_features(30, 3)
    with pytest.raises(InvalidParameterError, match="target_type"):
        logme_score(F, y, target_type="ranking")
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        logme_score(F, y[:-1])
    with pytest.raises(ValueError, match="features"):
        logme_score(np.where(F > 1, np.nan, F), y)
    with pytest.raises(ValueError, match="all zeros"):
        logme_score(F, np.zeros(30), target_type="regression")
    with pytest.raises(ValueError, match="1-D labels"):
        logme_score(F, np.c_[y, y], target_type="classification")


# --- H-score ------------------------------------------------------------------------------


def direct_h_score(F, y):
    classes = np.unique(y)
    means = np.stack([F[y == c].mean(axis=0) for c in classes])
    g = means[np.searchsorted(classes, y)]
    cov_f = np.cov(F, rowvar=False)
    cov_g = np.cov(g, rowvar=False)
    return np.trace(np.linalg.pinv(cov_f, hermitian=True) @ cov_g)


@pytest.mark.parametrize(("n", "d"), [(200, 8), (30, 8)])
def test_h_score_equals_the_definition(n, d):
    F, y = make_features(n, d, seed=6)
    assert h_score(F, y) == pytest.approx(direct_h_score(F, y), rel=1e-8)
    A = np.random.RandomState(1).normal(size=(d, d))  # invariant to an invertible map
    assert h_score(F @ A, y) == pytest.approx(h_score(F, y), rel=1e-6)


def test_h_score_saturates_with_more_features_than_rows():
    F, y = make_features(20, 40, n_classes=3, seed=7)
    assert h_score(F, y) == pytest.approx(2.0, rel=1e-9)
    assert h_score(F, y, shrinkage=True) < 2.0


def test_shrinkage_h_score_equals_the_ledoit_wolf_formula():
    for n, d in [(200, 8), (25, 60)]:
        F, y = make_features(n, d, seed=8)
        shrunk, a = ledoit_wolf(F)
        classes = np.unique(y)
        means = np.stack([F[y == c].mean(axis=0) for c in classes])
        g = means[np.searchsorted(classes, y)]
        between = np.cov(g, rowvar=False, bias=True)
        expected = np.trace(np.linalg.solve(shrunk, (1 - a) * between))
        assert h_score(F, y, shrinkage=True) == pytest.approx(expected, rel=1e-7)
        assert h_score(3.0 * F, y, shrinkage=True) == pytest.approx(expected, rel=1e-7)


def test_h_score_needs_class_labels():
    F, _ = make_features(30, 3)
    with pytest.raises(ValueError, match="class labels"):
        h_score(F, np.linspace(0, 1, 30))


# --- LEEP and NCE -------------------------------------------------------------------------


def direct_leep(P, y):
    n = len(y)
    classes = np.unique(y)
    joint = np.array([[P[y == c, z].sum() / n for z in range(P.shape[1])] for c in classes])
    cond = joint / joint.sum(axis=0)
    return np.mean([np.log(cond[np.searchsorted(classes, y[i])] @ P[i]) for i in range(n)])


def test_leep_equals_the_definition_and_prefers_aligned_sources():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=200)
    aligned = softmax(3 * np.eye(5)[y] + rng.normal(size=(200, 5)), axis=1)
    unrelated = softmax(rng.normal(size=(200, 5)), axis=1)
    assert leep_score(aligned, y) == pytest.approx(direct_leep(aligned, y), rel=1e-10)
    assert leep_score(aligned, y) > leep_score(unrelated, y)
    assert leep_score(np.eye(3)[y], y) == pytest.approx(0.0, abs=1e-12)
    assert leep_score(aligned.astype(np.float32), y) == pytest.approx(
        leep_score(aligned, y), rel=1e-5
    )


def test_leep_refuses_logits():
    logits = np.random.RandomState(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="negative values"):
        leep_score(logits, np.arange(10) % 2)
    with pytest.raises(ValueError, match="sum to 1"):
        leep_score(np.abs(logits), np.arange(10) % 2)


def test_nce_equals_minus_the_conditional_entropy():
    rng = np.random.RandomState(0)
    z = rng.randint(0, 4, size=300)
    y = np.where(rng.rand(300) < 0.7, z % 2, rng.randint(0, 2, size=300))
    joint = np.histogram2d(z, y, bins=[4, 2])[0] / 300
    pz = joint.sum(axis=1, keepdims=True)
    expected = np.nansum(joint * np.log(joint / pz))
    assert nce_score(z, y) == pytest.approx(expected, rel=1e-12)
    assert nce_score(y, y) == 0.0
    with pytest.raises(ValueError, match="argmax"):
        nce_score(np.eye(3)[z % 3], y)


# --- scorer -------------------------------------------------------------------------------


def test_scorer_scores_the_transformed_validation_fold():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, size=150)
    X = np.c_[rng.normal(size=(150, 6)), 3 * y + rng.normal(size=150)]
    pipe = make_pipeline(StandardScaler(), PCA(3))
    cv = KFold(3)
    scorer = make_transferability_scorer("h_score_shrinkage")
    got = cross_val_score(pipe, X, y, cv=cv, scoring=scorer)
    for value, (train, test) in zip(got, cv.split(X)):
        features = pipe.fit(X[train]).transform(X[test])
        assert value == pytest.approx(h_score(features, y[test], shrinkage=True))
    # the label sits in a low-variance direction, which one component misses
    X = np.c_[rng.normal(size=(150, 6)), y + 0.3 * rng.normal(size=150)]
    search = GridSearchCV(PCA(), {"n_components": [1, 7]}, scoring=make_transferability_scorer())
    assert search.fit(X, y).best_params_ == {"n_components": 7}


def test_scorer_for_a_source_classifier_and_a_callable():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    assert make_transferability_scorer("leep")(model, X, y) == leep_score(model.predict_proba(X), y)
    assert make_transferability_scorer("nce")(model, X, y) == nce_score(model.predict(X), y)
    custom = make_transferability_scorer(logme_score, target_type="regression")
    assert custom(StandardScaler().fit(X), X, X[:, 0]) > 0  # the target is a feature
    assert "target_type='regression'" in repr(custom)


def test_scorer_errors():
    with pytest.raises(ValueError, match="not a transferability score"):
        make_transferability_scorer("accuracy")
    X, y = make_features(20, 3)
    with pytest.raises(TypeError, match="transform"):
        make_transferability_scorer("logme")(LogisticRegression().fit(X, y), X, y)
    with pytest.raises(TypeError, match="predict_proba"):
        make_transferability_scorer("leep")(StandardScaler().fit(X), X, y)


# --- ranking ------------------------------------------------------------------------------


def _net(seed=0):
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8), torch.nn.Tanh()
    )


def _rows(n=120):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(int)


def test_rank_layers_scores_every_layer_after_one_forward_pass(monkeypatch):
    from skxfer.featurize import PretrainedFeaturizer, clear_cache

    net = _net()
    X, y = _rows()
    clear_cache()
    passes = []
    forward = PretrainedFeaturizer._forward

    def counting(self, encoder, items, *args):
        passes.append(len(items))
        return forward(self, encoder, items, *args)

    monkeypatch.setattr(PretrainedFeaturizer, "_forward", counting)
    ranking = rank_layers(PretrainedFeaturizer(net), X, y, score="h_score_shrinkage")
    assert sum(passes) == len(X)  # every row through the network once (in chunks)
    assert sorted(ranking["layer"].tolist()) == [0, 1, 2, 3, 4]
    assert ranking["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranking["score"].is_monotonic_decreasing
    for layer, score in zip(ranking["layer"], ranking["score"]):
        features = PretrainedFeaturizer(net, layer=int(layer)).fit_transform(X)
        assert score == pytest.approx(h_score(features, y, shrinkage=True), rel=1e-9)
    assert set(ranking.attrs["forward_seconds"]) == {"Sequential"}


def test_rank_layers_subsets_pipelines_and_freeze_depth():
    from skxfer.featurize import PretrainedFeaturizer

    net = _net()
    X, y = _rows()
    ranking = rank_layers(PretrainedFeaturizer(net), X, y, layers=[-1, 2, 4])
    assert sorted(ranking["layer"].tolist()) == [2, 4]
    pipe = make_pipeline(PretrainedFeaturizer(net), StandardScaler())
    ranked = rank_layers(pipe, X, y, layers=[1])
    features = StandardScaler().fit_transform(PretrainedFeaturizer(net, layer=1).fit_transform(X))
    assert ranked["score"].iloc[0] == pytest.approx(logme_score(features, y), rel=1e-9)
    with pytest.warns(UserWarning, match="freeze_depth=1 is ignored"):
        tuned = rank_layers(PretrainedFeaturizer(net, freeze_depth=1), X, y, layers=[4])
    last = ranking.loc[ranking["layer"] == 4, "score"].iloc[0]
    assert tuned["score"].iloc[0] == pytest.approx(last, rel=1e-12)
    with pytest.raises(ValueError, match="out of range"):
        rank_layers(PretrainedFeaturizer(net), X, y, layers=[9])
    with pytest.raises(ValueError, match="source classifier"):
        rank_layers(PretrainedFeaturizer(net), X, y, score="leep")
    with pytest.raises(TypeError, match="rank_encoders"):
        rank_layers(PCA(2), X, y)


def test_rank_encoders_mixes_featurizers_transformers_and_arrays():
    from skxfer.featurize import PretrainedFeaturizer

    X, y = _rows()
    rng = np.random.RandomState(1)
    candidates = {
        "net": PretrainedFeaturizer(_net(), layer=2),
        "pca": PCA(2),
        "noise": rng.normal(size=(len(X), 4)),
    }
    ranking = rank_encoders(candidates, X, y, layers=None)
    assert len(ranking) == 3
    assert ranking.loc[ranking["encoder"] == "net", "layer"].tolist() == [2]
    assert ranking["encoder"].iloc[-1] == "noise"
    everything = rank_encoders(candidates, X, y)
    assert len(everything) == 5 + 2
    assert everything["rank"].tolist() == sorted(everything["rank"])
    by_list = rank_encoders([PretrainedFeaturizer(_net()), PretrainedFeaturizer(_net(1))], X, y)
    assert set(by_list["encoder"]) == {"Sequential", "Sequential (2)"}
    with pytest.raises(TypeError, match="Candidate 'bad'"):
        rank_encoders({"bad": 3}, X, y)
    with pytest.raises(ValueError, match="empty"):
        rank_encoders({}, X, y)
    with pytest.raises(ValueError, match="layers="):
        rank_encoders(candidates, X, y, layers="some")
