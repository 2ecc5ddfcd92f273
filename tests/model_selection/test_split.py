"""Domain-aware splitters: which rows train and which rows test."""

import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import check_cv, cross_validate

from skxfer import pack
from skxfer.model_selection import LeaveOneDomainOut, TargetKFold, TargetShuffleSplit


def _data(n_source=20, n_labelled_target=10, n_unlabelled_target=15, float_labels=False):
    rng = np.random.RandomState(0)
    n_target = n_labelled_target + n_unlabelled_target
    y_target = np.r_[rng.randint(0, 2, n_labelled_target), -np.ones(n_unlabelled_target, int)]
    X, y, sd = pack(
        rng.randn(n_source, 3), rng.randint(0, 2, n_source), rng.randn(n_target, 3), y_target
    )
    if float_labels:
        y = np.where(y == -1, np.nan, y.astype(float))
    return X, y, sd


def _check_target_contract(splits, y, sd):
    source = np.flatnonzero(sd >= 1)
    masked = (y == -1) | (np.isnan(y) if y.dtype.kind == "f" else False)
    unlabelled_target = np.flatnonzero((sd <= -1) & masked)
    labelled_target = np.flatnonzero((sd <= -1) & ~masked)
    for train, test in splits:
        assert np.isin(source, train).all(), "a source row is missing from a training fold"
        assert np.isin(unlabelled_target, train).all(), "an unlabelled target row is missing"
        assert np.isin(test, labelled_target).all(), "a test fold holds a non-labelled-target row"
        assert len(np.intersect1d(train, test)) == 0
        assert len(test) > 0
        # every labelled target row is either trained on or tested
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(sd)))


@pytest.mark.parametrize("float_labels", [False, True])
def test_target_kfold_splits_only_labelled_target_rows(float_labels):
    X, y, sd = _data(float_labels=float_labels)
    splits = list(TargetKFold(n_splits=5).split(X, y, sample_domain=sd))
    assert len(splits) == 5 == TargetKFold(n_splits=5).get_n_splits(X, y, sample_domain=sd)
    _check_target_contract(splits, y, sd)
    tests = np.concatenate([test for _, test in splits])
    labelled_target = (sd < 0) & ~np.isnan(y.astype(float)) & (y != -1)
    np.testing.assert_array_equal(np.sort(tests), np.flatnonzero(labelled_target))


def test_target_kfold_reads_groups_as_sample_domain():
    X, y, sd = _data()
    with_groups = list(TargetKFold(3).split(X, y, groups=sd))
    with_domain = list(TargetKFold(3).split(X, y, sample_domain=sd))
    for (a_train, a_test), (b_train, b_test) in zip(with_groups, with_domain, strict=True):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)


def test_target_kfold_shuffle_is_seeded():
    X, y, sd = _data(n_labelled_target=30)
    first = [test for _, test in TargetKFold(3, shuffle=True, random_state=0).split(X, y, sd, sd)]
    again = [test for _, test in TargetKFold(3, shuffle=True, random_state=0).split(X, y, sd, sd)]
    plain = [test for _, test in TargetKFold(3).split(X, y, sample_domain=sd)]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, plain, strict=True))


def test_target_shuffle_split_contract():
    X, y, sd = _data(n_labelled_target=20)
    cv = TargetShuffleSplit(n_splits=4, test_size=5, random_state=0)
    splits = list(cv.split(X, y, sample_domain=sd))
    assert len(splits) == 4 == cv.get_n_splits()
    assert all(len(test) == 5 for _, test in splits)
    _check_target_contract(splits, y, sd)
    again = list(cv.split(X, y, sample_domain=sd))
    for (_, a), (_, b) in zip(splits, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_target_shuffle_split_train_size_counts_labelled_target_rows():
    X, y, sd = _data(n_source=20, n_labelled_target=10, n_unlabelled_target=15)
    cv = TargetShuffleSplit(n_splits=2, train_size=4, test_size=3, random_state=0)
    for train, test in cv.split(X, y, sample_domain=sd):
        assert len(test) == 3
        assert len(train) == 20 + 15 + 4


@pytest.mark.parametrize("cv", [TargetKFold(3), TargetShuffleSplit(3)])
def test_no_labelled_target_row_points_to_the_weighted_scorer(cv):
    X, y, sd = _data(n_labelled_target=0)
    with pytest.raises(ValueError, match="ImportanceWeightedScorer"):
        list(cv.split(X, y, sample_domain=sd))


def test_fewer_labelled_target_rows_than_folds():
    X, y, sd = _data(n_labelled_target=3)
    with pytest.raises(ValueError, match=r"n_splits=5.*only 3 target row"):
        list(TargetKFold(5).split(X, y, sample_domain=sd))


def test_shuffle_split_with_one_labelled_target_row_explains():
    X, y, sd = _data(n_labelled_target=1)
    with pytest.raises(ValueError, match="cannot split the 1 labelled target rows"):
        list(TargetShuffleSplit(3).split(X, y, sample_domain=sd))


@pytest.mark.parametrize("cv", [TargetKFold(2), TargetShuffleSplit(2), LeaveOneDomainOut()])
def test_missing_sample_domain_says_how_to_pass_it(cv):
    X, y, _ = _data()
    with pytest.raises(ValueError, match="groups=sample_domain"):
        list(cv.split(X, y))


def test_target_splitters_need_y():
    X, _, sd = _data()
    with pytest.raises(ValueError, match="needs y"):
        list(TargetKFold(2).split(X, sample_domain=sd))


def test_leave_one_domain_out_holds_out_each_labelled_domain():
    rng = np.random.RandomState(0)
    sd = np.repeat([1, 2, 3, -1, -2], [5, 6, 7, 8, 4])
    y = rng.randint(0, 2, len(sd))
    y[sd == -2] = -1  # an unlabelled target domain
    y[np.flatnonzero(sd == -1)[:3]] = -1  # a partly labelled target domain
    X = np.zeros((len(sd), 2))
    cv = LeaveOneDomainOut()
    splits = list(cv.split(X, y, sample_domain=sd))
    assert cv.get_n_splits(X, y, sample_domain=sd) == len(splits) == 4
    held_out = [np.unique(sd[test]).tolist() for _, test in splits]
    assert held_out == [[1], [2], [3], [-1]]
    for train, test in splits:
        assert np.isin(np.flatnonzero(sd == -2), train).all()
        assert (y[test] != -1).all()
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(len(sd)))
    # a source domain is held out whole
    np.testing.assert_array_equal(splits[1][1], np.flatnonzero(sd == 2))
    # the unlabelled rows of the held-out target domain stay in training
    assert np.isin(np.flatnonzero(sd == -1)[:3], splits[3][0]).all()


def test_leave_one_domain_out_needs_two_labelled_domains():
    sd = np.array([1, 1, -1, -1])
    y = np.array([0, 1, -1, -1])
    with pytest.raises(ValueError, match="at least two domains with labelled rows"):
        LeaveOneDomainOut().get_n_splits(y=y, sample_domain=sd)


def test_splitters_request_sample_domain():
    for cv in (TargetKFold(), TargetShuffleSplit(), LeaveOneDomainOut()):
        requests = cv.get_metadata_routing().split.requests
        assert requests["sample_domain"] is True
        assert "groups" not in requests
        assert check_cv(cv) is cv


@pytest.mark.parametrize("routing", [True, False])
def test_cross_validate_reaches_the_splitter(routing):
    X, y, sd = _data()
    with sklearn.config_context(enable_metadata_routing=routing):
        kwargs = {"params": {"sample_domain": sd}} if routing else {"groups": sd}
        result = cross_validate(
            DummyClassifier(), X, y, cv=TargetKFold(4), return_indices=True, **kwargs
        )
    tests = np.concatenate(result["indices"]["test"])
    np.testing.assert_array_equal(np.sort(tests), np.flatnonzero((sd < 0) & (y != -1)))


@settings(max_examples=40, deadline=None)
@given(
    n_source=st.integers(1, 15),
    n_labelled=st.integers(4, 15),
    n_unlabelled=st.integers(0, 15),
    n_splits=st.integers(2, 4),
    shuffle=st.booleans(),
)
def test_target_kfold_partitions_labelled_target_rows(
    n_source, n_labelled, n_unlabelled, n_splits, shuffle
):
    X, y, sd = _data(n_source, n_labelled, n_unlabelled)
    cv = TargetKFold(n_splits, shuffle=shuffle, random_state=0 if shuffle else None)
    splits = list(cv.split(X, y, sample_domain=sd))
    _check_target_contract(splits, y, sd)
    tests = np.concatenate([test for _, test in splits])
    assert len(tests) == len(np.unique(tests)) == n_labelled
