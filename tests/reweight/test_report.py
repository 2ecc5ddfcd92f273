"""domain_shift_report verdicts and statistics, and what plot_weights draws."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp

from skxfer import pack
from skxfer.datasets import make_covariate_shift
from skxfer.reweight._base import BaseWeighter
from skxfer.reweight._plot import plot_weights
from skxfer.reweight._report import DomainShiftReport, domain_shift_report

matplotlib.use("Agg")  # no display in tests; switching is allowed before the first figure


class GaussianRatioWeighter(BaseWeighter):
    """The exact density ratio of make_covariate_shift's default shift (no estimation)."""

    def __init__(self, shift=0.7, target_scale=0.8, max_weight=None):
        self.shift = shift
        self.target_scale = target_scale
        self.max_weight = max_weight

    def _fit_ratio(self, X_source, X_target, random_state):
        return self._ratio(X_source)

    def _ratio(self, X):
        mu = np.zeros(X.shape[1])
        mu[:2] = self.shift
        return np.exp(
            -0.5 * np.sum((X - mu) ** 2, axis=1) / self.target_scale**2 + 0.5 * np.sum(X**2, axis=1)
        )


class UniformWeighter(BaseWeighter):
    def _fit_ratio(self, X_source, X_target, random_state):
        return np.ones(len(X_source))

    def _ratio(self, X):
        return np.ones(len(X))


class FailingWeighter(UniformWeighter):
    def _fit_ratio(self, X_source, X_target, random_state):
        raise ValueError("no overlap at this bandwidth")


def _identical(seed=0):
    rng = np.random.RandomState(seed)
    X, _, sd = pack(rng.randn(300, 5), None, rng.randn(250, 5))
    return X, sd


def _disjoint(seed=0):
    rng = np.random.RandomState(seed)
    X, _, sd = pack(rng.randn(300, 5), None, rng.randn(250, 5) + 6.0)
    return X, sd


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identical_distributions_say_no_shift(seed):
    X, sd = _identical(seed)
    report = domain_shift_report(X, sd, weighters={}, random_state=seed)
    assert report.verdict == "no shift"
    assert report.recommendation == "neither"
    assert "reweighting will not help" in report.advice.lower()
    assert report.discriminator_auc < 0.6
    assert report.mmd_pvalue > 0.05
    assert report.discriminator_ess_fraction > 0.8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_disjoint_support_says_barely_overlap(seed):
    X, sd = _disjoint(seed)
    report = domain_shift_report(X, sd, weighters={}, random_state=seed)
    assert report.verdict == "barely overlap"
    assert report.recommendation == "alignment"
    assert "unlikely to fix" in report.advice
    assert report.discriminator_auc > 0.99
    assert report.mmd_pvalue < 0.05


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_covariate_shift_is_moderate(seed):
    data = make_covariate_shift(random_state=seed)
    report = domain_shift_report(data.X, data.sample_domain, weighters={}, random_state=seed)
    assert report.verdict == "moderate shift"
    assert report.recommendation == "reweighting"
    assert "recommendation: reweighting" in str(report)
    assert "ImportanceWeightedScorer" in report.advice
    assert 0.65 < report.discriminator_auc < 0.9
    assert report.mmd_pvalue < 0.05
    # the shift moves the first two coordinates only
    assert {name for name, _, _ in report.top_features[:2]} == {"x0", "x1"}
    assert all(smd > 0.4 for _, smd, _ in report.top_features[:2])


def test_discriminator_ess_tracks_the_true_ess():
    data = make_covariate_shift(1500, 1500, random_state=0)
    source = data.sample_domain > 0
    ratio = data.true_ratio[source]
    true_fraction = ratio.sum() ** 2 / np.sum(ratio**2) / len(ratio)
    report = domain_shift_report(data.X, data.sample_domain, weighters={}, random_state=0)
    assert report.discriminator_ess_fraction == pytest.approx(true_fraction, rel=0.5)


def test_feature_statistics_match_scipy():
    data = make_covariate_shift(200, 150, n_features=4, random_state=0)
    report = domain_shift_report(data.X, data.sample_domain, weighters={}, random_state=0)
    source, target = data.X[data.sample_domain > 0], data.X[data.sample_domain < 0]
    for j in range(4):
        assert report.ks[j] == pytest.approx(ks_2samp(source[:, j], target[:, j]).statistic)
        pooled = np.sqrt(0.5 * (source[:, j].var() + target[:, j].var()))
        smd = (target[:, j].mean() - source[:, j].mean()) / pooled
        assert report.smd[j] == pytest.approx(smd)
    assert report.top_features[0][2] == pytest.approx(report.ks.max())


def test_ks_handles_ties():
    X = np.r_[np.zeros(50), np.ones(50), np.zeros(30), np.ones(70)].reshape(-1, 1)
    X = np.hstack([X, np.random.RandomState(0).randn(200, 1)])
    sd = np.r_[np.ones(100, int), -np.ones(100, int)]
    report = domain_shift_report(X, sd, weighters={}, n_permutations=0, random_state=0)
    assert report.ks[0] == pytest.approx(0.2)


def test_mmd_is_the_unbiased_statistic():
    data = make_covariate_shift(60, 40, n_features=3, random_state=0)
    report = domain_shift_report(data.X, data.sample_domain, weighters={}, random_state=0)
    Z = (data.X - data.X.mean(axis=0)) / data.X.std(axis=0)
    K = np.exp(-cdist(Z, Z, "sqeuclidean") / (2 * report.mmd_bandwidth**2))
    s, t = data.sample_domain > 0, data.sample_domain < 0
    Kss, Ktt, Kst = K[np.ix_(s, s)], K[np.ix_(t, t)], K[np.ix_(s, t)]
    n, m = s.sum(), t.sum()
    expected = (
        (Kss.sum() - np.trace(Kss)) / (n * (n - 1))
        + (Ktt.sum() - np.trace(Ktt)) / (m * (m - 1))
        - 2 * Kst.mean()
    )
    assert report.mmd2 == pytest.approx(expected)
    d = cdist(Z, Z)
    assert report.mmd_bandwidth == pytest.approx(np.median(d[np.triu_indices(len(Z), 1)]))


def test_weighter_ess_is_reported_and_failures_are_skipped():
    data = make_covariate_shift(400, 300, random_state=0)
    report = domain_shift_report(
        data.X,
        data.sample_domain,
        weighters=[UniformWeighter(), UniformWeighter(), FailingWeighter()],
        random_state=0,
    )
    # weighters see a 500-row subsample that keeps the domain proportions: 286 source rows
    assert report.ess == {"UniformWeighter": 286.0, "UniformWeighter_2": 286.0}
    assert report.ess_fraction["UniformWeighter"] == pytest.approx(1.0)
    assert "no overlap at this bandwidth" in report.skipped["FailingWeighter"]
    text = str(report)
    assert "UniformWeighter_2" in text
    assert "FailingWeighter: skipped" in text


def test_default_weighters_are_all_accounted_for():
    data = make_covariate_shift(80, 80, n_features=2, random_state=0)
    report = domain_shift_report(data.X, data.sample_domain, random_state=0)
    names = {
        "DiscriminativeWeighter",
        "KLIEPWeighter",
        "KMMWeighter",
        "NearestNeighborsWeighter",
        "RULSIFWeighter",
        "ULSIFWeighter",
    }
    assert set(report.ess) | set(report.skipped) == names
    for name, fraction in report.ess_fraction.items():
        assert 0 < fraction <= 1, name


def test_dataframe_column_names_name_the_features():
    pd = pytest.importorskip("pandas")
    data = make_covariate_shift(300, 300, n_features=4, random_state=0)
    frame = pd.DataFrame(data.X, columns=["age", "income", "height", "weight"])
    report = domain_shift_report(frame, data.sample_domain, weighters={}, random_state=0)
    assert {name for name, _, _ in report.top_features[:2]} == {"age", "income"}
    assert "income" in str(report)


def test_subsample_keeps_both_domains():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.randn(5000, 3), None, rng.randn(100, 3))
    report = domain_shift_report(X, sd, weighters={}, max_samples=500, random_state=0)
    assert (report.n_source, report.n_target) == (5000, 100)
    assert report.n_target_used == 100
    assert report.n_source_used + report.n_target_used == 500


def test_is_deterministic_and_printable():
    data = make_covariate_shift(300, 300, random_state=0)
    args = (data.X, data.sample_domain)
    first = domain_shift_report(*args, weighters=[UniformWeighter()], random_state=0)
    second = domain_shift_report(*args, weighters=[UniformWeighter()], random_state=0)
    assert str(first) == str(second) == repr(first)
    assert isinstance(first, DomainShiftReport)
    for needle in ("verdict: moderate shift", "discriminator AUC", "MMD^2", "x0"):
        assert needle in str(first)


def test_no_permutations_gives_nan_p_value():
    X, sd = _disjoint()
    report = domain_shift_report(X, sd, weighters={}, n_permutations=0, random_state=0)
    assert np.isnan(report.mmd_pvalue)
    assert report.verdict == "barely overlap"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_permutations": -1}, "n_permutations"),
        ({"max_samples": 5}, "max_samples"),
        ({"weighters": [UniformWeighter]}, "weighter instances"),
    ],
)
def test_bad_arguments(kwargs, match):
    X, sd = _identical()
    with pytest.raises((ValueError, TypeError), match=match):
        domain_shift_report(X, sd, **kwargs)


def test_needs_both_domains():
    X, sd = _identical()
    with pytest.raises(ValueError, match="no target rows"):
        domain_shift_report(X, np.ones_like(sd))


# plot_weights --------------------------------------------------------------------------


def _scatter_sizes(fig):
    return sorted(len(c.get_offsets()) for c in fig.axes[1].collections)


def test_plot_draws_histogram_and_map():
    data = make_covariate_shift(200, 120, n_features=3, random_state=0)
    weights = data.true_ratio[data.sample_domain > 0]
    fig = plot_weights(weights, data.X, data.sample_domain)
    assert len(fig.axes) == 3  # histogram, map, colour bar
    hist, scatter = fig.axes[0], fig.axes[1]
    assert sum(patch.get_height() for patch in hist.patches) == 200
    assert _scatter_sizes(fig) == [120, 200]
    assert "ESS" in hist.get_title()
    # source points are coloured by weight, in ascending order so heavy rows are on top
    colours = scatter.collections[1].get_array()
    np.testing.assert_allclose(np.sort(colours), np.sort(weights))
    assert np.all(np.diff(colours) >= 0)


def test_plot_accepts_one_weight_per_row_and_given_axes():
    data = make_covariate_shift(100, 80, n_features=4, random_state=0)
    fig, ax = plt.subplots(1, 2)
    out = plot_weights(np.ones(len(data.X)), data.X, data.sample_domain, ax=ax)
    assert out is fig
    assert _scatter_sizes(fig) == [80, 100]


def test_plot_fits_an_unfitted_weighter_and_reuses_a_fitted_one():
    data = make_covariate_shift(150, 100, n_features=3, random_state=0)
    weighter = GaussianRatioWeighter()
    fig = plot_weights(weighter, data.X, data.sample_domain)
    assert not hasattr(weighter, "weights_")  # the given weighter is not changed
    fitted = GaussianRatioWeighter().fit(data.X, sample_domain=data.sample_domain)
    fig_fitted = plot_weights(fitted, data.X, data.sample_domain)
    expected = np.sort(fitted.weights_)
    for figure in (fig, fig_fitted):
        np.testing.assert_allclose(figure.axes[1].collections[1].get_array(), expected)


def test_plot_single_feature():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.randn(50, 1), None, rng.randn(30, 1) + 1)
    fig = plot_weights(np.ones(50), X, sd)
    assert _scatter_sizes(fig) == [30, 50]


def test_plot_bad_input():
    data = make_covariate_shift(50, 30, n_features=2, random_state=0)
    with pytest.raises(ValueError, match="one weight per source row"):
        plot_weights(np.ones(7), data.X, data.sample_domain)
    with pytest.raises(ValueError, match="non-negative"):
        plot_weights(-np.ones(50), data.X, data.sample_domain)
    with pytest.raises(TypeError, match="pair of matplotlib Axes"):
        plot_weights(np.ones(50), data.X, data.sample_domain, ax=plt.gca())


def test_separating_constant_feature_has_infinite_smd_and_zero_ess():
    # one column is 0 on every source row and 1 on every target row: the domains are disjoint
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X[:, 2] = 0.0
    X[200:, 2] = 1.0
    sample_domain = np.r_[np.ones(200, int), -np.ones(100, int)]
    report = domain_shift_report(X, sample_domain, weighters={}, random_state=0)
    name, smd, ks = report.top_features[0]
    assert name == "x2"
    assert smd == np.inf
    assert ks == pytest.approx(1.0)
    assert report.discriminator_ess_fraction == 0.0
    assert report.verdict == "barely overlap"


def test_advice_points_to_alignment_when_reweighting_cannot_help():
    from skxfer.reweight._report import _ADVICE, BARELY_OVERLAP, STRONG_SHIFT

    assert "skxfer.align" in _ADVICE[BARELY_OVERLAP]
    assert "CircularValidationScorer" in _ADVICE[BARELY_OVERLAP]
    assert "skxfer.align" in _ADVICE[STRONG_SHIFT]
