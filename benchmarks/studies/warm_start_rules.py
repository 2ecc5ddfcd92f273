"""How should one grid search choose among warm-start candidates from a few target rows?

``warm_start_quality.py`` runs one selection rule per run. This study keeps, for every draw,
every candidate's out-of-fold predictions on the labelled target rows (``--repeats`` repeated
3-fold splits, each fold trained on the source model plus the other folds' rows, exactly as
``TargetKFold`` does) and its predictions on the test half. ``evaluate`` then scores any
selection rule on the same fits, so rules are compared side by side at no extra cost:

- ``best``: the best mean fold score (plain ``GridSearchCV``);
- ``least-change``: within one standard error of the best, the candidate closest to the source
  (:func:`skxfer.model_selection.least_change_refit`);
- ``best xR`` / ``least-change xR``: the same on R repeated splits;
- ``ensemble``: the average of the candidates within one standard error of the best, and
  other rules listed in :data:`RULES`.

``signals`` prints, per task and n, how the source's own record on the labelled rows (its
paired t against their base rate) spreads over the draws, next to which baseline wins on test.

Run from the repository root::

    python benchmarks/studies/warm_start_rules.py collect --families xgboost \\
        --tasks heart:Hungary "heart:VA Long Beach" heart:Switzerland \\
        --repeats 3 --out rules_xgb_heart.pkl
    python benchmarks/studies/warm_start_rules.py evaluate rules_xgb_heart.pkl
    python benchmarks/studies/warm_start_rules.py signals rules_xgb_heart.pkl
"""

import argparse
import pickle
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks
import warm_start_quality as wsq
from _common import markdown_table
from sklearn.base import clone

EPS = 1e-6


# ----------------------------------------------------------------------------------------------
# collect


def _predict(model, X, kind):
    if kind == "clf":
        return np.clip(model.predict_proba(X)[:, 1], EPS, 1 - EPS).astype(np.float32)
    return model.predict(X).astype(np.float32)


def collect_cell(task_name, task, sources, n, seed, families, repeats):
    from sklearn.model_selection import KFold

    from skxfer import pack

    Xs, ys, Xt, yt, kind = task
    labelled, test = wsq.draw(yt, n, kind, seed)
    if labelled is None:
        return None
    Xl, yl = Xt[labelled], yt[labelled]
    X_test = Xt[test]
    folds = np.full((repeats, len(yl)), -1, dtype=np.int8)
    for r in range(repeats):
        kfold = KFold(3, shuffle=True, random_state=seed + 1000 * r)
        for k, (_, te) in enumerate(kfold.split(Xl)):
            folds[r, te] = k
    cell = {
        "task": task_name,
        "n": n,
        "seed": seed,
        "kind": kind,
        "y_labelled": yl,
        "y_test": yt[test],
        "folds": folds,
        "families": {},
    }
    for family in families:
        source = sources[family]
        flat = wsq.transfer_configs(family, kind, source, seed)
        oof = np.zeros((len(flat), repeats, len(yl)), dtype=np.float32)
        pred = np.zeros((len(flat), len(test)), dtype=np.float32)
        X_pack, y_pack, domain = pack(Xs, ys, Xl, yl)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for c, (_, est) in enumerate(flat):
                pred[c] = _predict(
                    clone(est).fit(X_pack, y_pack, sample_domain=domain), X_test, kind
                )
                for r in range(repeats):
                    for k in range(3):
                        tr, te = folds[r] != k, folds[r] == k
                        Xp, yp, dp = pack(Xs, ys, Xl[tr], yl[tr])
                        try:
                            fitted = clone(est).fit(Xp, yp, sample_domain=dp)
                            oof[c, r, te] = _predict(fitted, Xl[te], kind)
                        except ValueError:
                            oof[c, r, te] = np.nan
        target_only = {}
        plain = wsq.plain_model(family, kind, seed)
        grid, order = wsq.target_only_grid(family, kind)
        for rule in ("best", "least-change"):
            model = _target_only(plain, grid, order, rule, Xl, yl, kind, seed)
            target_only[rule] = _predict(model, X_test, kind)
        cell["families"][family] = {
            "lines": [line for line, _ in flat],
            "params": [est.get_params(deep=False) for _, est in flat],
            "oof": oof,
            "pred": pred,
            "source": _predict(source, X_test, kind),
            "source_labelled": _predict(source, Xl, kind),
            "target_only": target_only,
        }
        for p in cell["families"][family]["params"]:
            p.pop("source_model", None)
    return cell


def _target_only(plain, grid, order, rule, Xl, yl, kind, seed):
    from sklearn.metrics import log_loss, make_scorer
    from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

    from skxfer.model_selection import least_change_refit

    if kind == "clf":
        scoring = make_scorer(
            log_loss, greater_is_better=False, response_method="predict_proba", labels=[0, 1]
        )
        cv = wsq._plain_folds(StratifiedKFold, yl, seed)
    else:
        scoring, cv = "neg_mean_squared_error", KFold(3, shuffle=True, random_state=seed)
    refit = least_change_refit(order) if rule == "least-change" else True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return GridSearchCV(plain, grid, scoring=scoring, cv=cv, refit=refit).fit(Xl, yl)
        except ValueError:
            return GridSearchCV(plain, grid, scoring=scoring, cv=cv).fit(Xl, yl)


def collect(args):
    from joblib import Parallel, delayed

    start = time.perf_counter()
    tasks = wsq.load_tasks(args.tasks)
    prepared, sources = {}, {}
    for name, (Xs, ys, Xt, yt, kind) in tasks.items():
        scale = wsq.source_scaling(Xs)
        prepared[name] = (scale(Xs), ys, scale(Xt), yt, kind)
        sources[name] = {}
        for family in args.families:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sources[name][family] = wsq.plain_model(family, kind, 0).fit(prepared[name][0], ys)
    ns = [n if n == "all" else int(n) for n in args.n]
    jobs = [(name, n, seed) for name in prepared for n in ns for seed in range(args.seeds)]
    cells = Parallel(n_jobs=args.jobs, verbose=5)(
        delayed(collect_cell)(
            name, prepared[name], sources[name], n, seed, args.families, args.repeats
        )
        for name, n, seed in jobs
    )
    cells = [c for c in cells if c is not None]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"argv": sys.argv[1:], "minutes": (time.perf_counter() - start) / 60}
    out.write_bytes(pickle.dumps({"meta": meta, "cells": cells}))
    print(f"{len(cells)} cells in {meta['minutes']:.1f} min -> {out}")


# ----------------------------------------------------------------------------------------------
# rules: each maps (fold losses, per-row losses, oof, lines) to test predictions weights


def _row_loss(p, y, kind):
    if kind == "clf":
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return (p - y) ** 2


def fold_scores(fam, cell, repeats):
    """``(n_candidates, repeats * 3)`` fold scores (higher is better) and per-row losses."""
    y, kind = cell["y_labelled"], cell["kind"]
    oof = fam["oof"][:, :repeats]
    loss = _row_loss(oof.astype(float), y[None, None, :], kind)
    scores = []
    for r in range(repeats):
        for k in range(3):
            sel = cell["folds"][r] == k
            scores.append(-loss[:, r, sel].mean(axis=1))
    return np.stack(scores, axis=1), loss


def _one_hot(i, size):
    w = np.zeros(size)
    w[i] = 1.0
    return w


def _mean_score(scores):
    """Each candidate's mean fold score, -inf where it is undefined."""
    mean = np.nanmean(scores, axis=1)
    return np.where(np.isfinite(mean), mean, -np.inf)


def _discard(fam):
    """Index of the candidate that discards the source: the first, unless a rule of
    :func:`_chosen_discard` has picked another."""
    return fam.get("_discard", fam["lines"].index("discard"))


def _band_plus(close, fam, size, discard=True):
    """Equal weights on the band, and on the discarded source too when ``discard``."""
    members = sorted(set(close) | ({_discard(fam)} if discard else set()))
    w = np.zeros(size)
    w[members] = 1.0 / len(members)
    return w


def _discard_takes(share, close, fam, size):
    """The discarded source at ``share``, the band's other members sharing the rest (equal
    weights on the band and the source where the band holds nothing else)."""
    d = _discard(fam)
    others = [i for i in close if i != d]
    if not others:
        return _band_plus(close, fam, size)
    w = np.zeros(size)
    w[others] = (1 - share) / len(others)
    w[d] = share
    return w


def _few_of_a_class(fam):
    """Whether a classifier's labelled rows hold fewer rows of some class than the 3 folds."""
    return fam["_kind"] == "clf" and np.bincount(fam["_y"].astype(int)).min() < 3


def _base_rate_loss(fam):
    """Per-row loss of the labelled rows' own base rate (mean, for a regressor), in sample."""
    y, kind = fam["_y"], fam["_kind"]
    base = np.full(len(y), np.mean(y), dtype=float)
    if kind == "clf":
        base = np.clip(base, EPS, 1 - EPS)
    return _row_loss(base, y, kind)


def rule_best(scores, loss, fam):
    return _one_hot(int(np.argmax(_mean_score(scores))), len(scores))


def _band(scores, n_se=1.0):
    mean = _mean_score(scores)
    best = int(np.argmax(mean))
    se = np.nanstd(scores[best]) / np.sqrt(scores.shape[1])
    return mean, best, np.flatnonzero(mean >= mean[best] - n_se * se)


def rule_least_change(scores, loss, fam):
    mean, _, close = _band(scores)
    return _one_hot(int(close[0]), len(mean))


def rule_discard_first(scores, loss, fam):
    """Least change, but the discarded source first when it is inside the band."""
    mean, _, close = _band(scores)
    if "discard" in fam["lines"] and _discard(fam) in close:
        return _one_hot(_discard(fam), len(mean))
    return _one_hot(int(close[0]), len(mean))


def rule_ensemble(scores, loss, fam):
    mean, _, close = _band(scores)
    w = np.zeros(len(mean))
    w[close] = 1.0 / len(close)
    return w


def _paired_band(loss, n_se=1.0):
    """Candidates within ``n_se`` paired standard errors of the best mean per-row loss (the
    SE of each candidate's per-row loss differences to the best's)."""
    flat = loss.reshape(len(loss), -1)
    mean = -np.nanmean(flat, axis=1)
    mean = np.where(np.isfinite(mean), mean, -np.inf)
    best = int(np.argmax(mean))
    diff = flat - flat[best]
    se = np.nanstd(diff, axis=1) / np.sqrt(flat.shape[1] / max(1, loss.shape[1]))
    return np.flatnonzero(mean >= mean[best] - n_se * se)


def rule_paired_least_change(scores, loss, fam):
    """Within one paired standard error (per-row loss differences to the best)."""
    return _one_hot(int(_paired_band(loss)[0]), len(loss))


def _greedy_stack(loss, fam, start=None, rounds=10):
    """Caruana's ensemble selection on the out-of-fold predictions (with replacement),
    from nothing or from the candidate ``start``."""
    oof = fam["oof"][:, : loss.shape[1]].astype(float)
    flat_oof = oof.reshape(len(oof), -1)
    y = np.tile(fam["_y"], loss.shape[1])
    ok = np.isfinite(flat_oof).all(axis=1)
    counts = np.zeros(len(oof))
    current = np.zeros(flat_oof.shape[1])
    first = 0
    if start is not None:
        counts[start], current, first = 1, flat_oof[start], 1
    for t in range(first, rounds):
        trial = (current[None, :] * t + flat_oof) / (t + 1)
        trial_loss = np.where(ok, _row_loss(trial, y, fam["_kind"]).mean(axis=1), np.inf)
        i = int(np.argmin(trial_loss))
        counts[i] += 1
        current = trial[i]
    return counts / counts.sum()


def rule_greedy_stack(scores, loss, fam):
    return _greedy_stack(loss, fam)


def rule_stack_from_discard(scores, loss, fam):
    return _greedy_stack(loss, fam, start=_discard(fam))


def rule_best_and_discard(scores, loss, fam):
    """Half the best candidate, half the discarded source (a fixed hedge)."""
    w = rule_best(scores, loss, fam) * 0.5
    w[_discard(fam)] += 0.5
    return w


def _oof_loss(fam, w, reps):
    oof = fam["oof"][:, :reps].astype(float)
    mixed = np.tensordot(w, oof, axes=1)
    return float(np.nanmean(_row_loss(mixed, fam["_y"][None, :], fam["_kind"])))


def rule_mix_cv(scores, loss, fam):
    """(1 - lam) * best + lam * discard, lam chosen on the out-of-fold predictions."""
    best, d = rule_best(scores, loss, fam), _one_hot(_discard(fam), len(scores))
    lams = np.linspace(0, 1, 5)
    losses = [_oof_loss(fam, (1 - lam) * best + lam * d, loss.shape[1]) for lam in lams]
    lam = lams[int(np.nanargmin(losses))]
    return (1 - lam) * best + lam * d


def rule_band_discard(scores, loss, fam):
    """The one-SE band's average, half and half with the discarded source."""
    w = rule_ensemble(scores, loss, fam) * 0.5
    w[_discard(fam)] += 0.5
    return w


def rule_band_union_discard(scores, loss, fam):
    _, _, close = _band(scores)
    return _band_plus(close, fam, len(scores))


def rule_top3(scores, loss, fam):
    mean = _mean_score(scores)
    top = np.argsort(-mean)[:3]
    w = np.zeros(len(mean))
    w[top] = 1 / 3
    return w


def _loglik_gap(scores, fam):
    """Each candidate's out-of-fold log-likelihood per row minus the best's (<= 0): the
    log-loss itself for classifiers, a Gaussian log-likelihood from the squared error (at the
    best candidate's variance) for regressors."""
    mean = _mean_score(scores)
    gap = mean - mean.max()
    if fam["_kind"] == "reg":
        gap = gap / (2 * -mean.max())
    return gap


def _pbma(temperature):
    def rule(scores, loss, fam):
        """Weights exp(n * gap / temperature): pseudo-Bayesian model averaging on the
        cross-validated likelihood (Yao et al. 2018)."""
        w = np.exp(len(fam["_y"]) * _loglik_gap(scores, fam) / temperature)
        return w / w.sum()

    return rule


def _band_pbma_anchor(temperature):
    def rule(scores, loss, fam):
        """The band, each weight 1, and the discarded source weighted by exp(n * gap / T)."""
        mean, _, close = _band(scores)
        w = np.zeros(len(mean))
        w[close] = 1.0
        d = _discard(fam)
        w[d] = max(w[d], float(np.exp(len(fam["_y"]) * _loglik_gap(scores, fam)[d] / temperature)))
        return w / w.sum()

    return rule


def _band_anchor_within(k):
    def rule(scores, loss, fam):
        """The band plus the discarded source when it is within k standard errors."""
        mean, best, close = _band(scores)
        se = np.nanstd(scores[best]) / np.sqrt(scores.shape[1])
        return _band_plus(close, fam, len(mean), mean[_discard(fam)] >= mean[best] - k * se)

    return rule


def rule_line_balanced(scores, loss, fam):
    """The band plus the discarded source, each strategy line with the same total weight."""
    mean, _, close = _band(scores)
    members = sorted(set(close) | {_discard(fam)})
    lines = [fam["lines"][i] for i in members]
    w = np.zeros(len(mean))
    for i, line in zip(members, lines):
        w[i] = 1.0 / lines.count(line)
    return w / w.sum()


def _paired_t(d):
    """Paired t statistic of per-row differences (0 where they do not vary)."""
    sd = d.std(ddof=1)
    return 0.0 if not sd > 0 else float(d.mean() / (sd / np.sqrt(len(d))))


def _members_loss(fam, loss, members):
    """Per-row out-of-fold loss (mean over the repeats) of the average of ``members``'
    predictions, or None where some of them failed."""
    oof = fam["oof"][members, : loss.shape[1]].astype(float).mean(axis=0)  # (reps, n)
    if not np.isfinite(oof).all():
        return None
    return _row_loss(oof, fam["_y"][None, :], fam["_kind"]).mean(axis=0)


def _beats_t(fam, loss, members, reference):
    """Paired t statistic of how much the average of ``members`` beats, out of fold, the
    per-row loss ``reference`` (> 0: it does better), -inf where a member failed."""
    ours = _members_loss(fam, loss, members)
    if ours is None or not np.isfinite(reference).all():
        return -np.inf
    return _paired_t(reference - ours)


def _null_t(loss, fam, members):
    """Paired t statistic of how much the average of ``members`` beats, out of fold, the
    labelled rows' own base rate (mean, for a regressor) scored in sample: > 0 where the
    cross-validation shows the searched models know more than the base rate. The in-sample
    base rate is optimistic, which errs toward keeping the anchor."""
    return _beats_t(fam, loss, members, _base_rate_loss(fam))


def _gated(z, on="band"):
    def rule(scores, loss, fam):
        """The band plus the discarded source, the source dropped when the band (or the
        best) beats the labelled rows' base rate by more than z paired standard errors."""
        mean, best, close = _band(scores)
        t = _null_t(loss, fam, close if on == "band" else [best])
        return _band_plus(close, fam, len(mean), t <= z)

    return rule


def _null_fold_scores(fam, cell_folds, reps):
    """The labelled rows' base rate (fitted on all of them) scored on each fold."""
    loss = _base_rate_loss(fam)
    return np.array([-loss[cell_folds[r] == k].mean() for r in range(reps) for k in range(3)])


def _gated_se(z, paired):
    def rule(scores, loss, fam):
        """The band plus the discarded source, the source dropped when the best mean fold
        score beats the in-sample base rate's by more than z standard errors: the best's
        (the band's own SE), or of the paired fold differences."""
        mean, best, close = _band(scores)
        null = _null_fold_scores(fam, fam["_folds"], scores.shape[1] // 3)
        if paired:
            d = scores[best] - null
            se = d.std(ddof=1) / np.sqrt(len(d))
        else:
            se = np.nanstd(scores[best]) / np.sqrt(scores.shape[1])
        return _band_plus(close, fam, len(mean), not mean[best] - null.mean() > z * se)

    return rule


def _phi_anchor(on="band", floor=False):
    def rule(scores, loss, fam):
        """The band's average, mixed with the discarded source at weight Phi(-t), t the
        band's (or the best's) paired t statistic against the labelled rows' base rate."""
        from scipy.stats import norm

        mean, best, close = _band(scores)
        t = _null_t(loss, fam, close if on == "band" else [best])
        a = float(norm.cdf(-t))
        if floor:
            a = max(a, 1.0 / (len(close) + 1))
        w = np.zeros(len(mean))
        w[close] = (1 - a) / len(close)
        w[_discard(fam)] += a
        return w

    return rule


def _few_minority(share=0.5, band=None):
    def rule(scores, loss, fam):
        """The band plus the discarded source (``AveragedSearchCV(anchor_weight="auto")``):
        equal weights, except that when the labelled rows hold fewer rows of some class than
        there are folds, the discarded source takes ``share`` and the rest of the band the
        remainder. ``band(scores, loss, fam)`` draws another band than the one-SE one."""
        close = _band(scores)[2] if band is None else band(scores, loss, fam)
        if not _few_of_a_class(fam):
            return _band_plus(close, fam, len(scores))
        return _discard_takes(share, close, fam, len(scores))

    return rule


def _no_gain(share, minority=0.5, z=0.0):
    def rule(scores, loss, fam):
        """The band plus the discarded source; the source takes ``share`` when the best mean
        fold score does not beat the in-sample base rate's by more than z of the best's
        standard errors, and ``minority`` when a class has fewer rows than folds."""
        mean, best, close = _band(scores)
        null = _null_fold_scores(fam, fam["_folds"], scores.shape[1] // 3)
        se = np.nanstd(scores[best]) / np.sqrt(scores.shape[1])
        a = minority if _few_of_a_class(fam) else None
        if not mean[best] - null.mean() > z * se:
            a = max(a or 0.0, share)
        if a is None:
            return _band_plus(close, fam, len(scores))
        return _discard_takes(a, close, fam, len(scores))

    return rule


def _bookends(a_lc, a_d, minority=None):
    def rule(scores, loss, fam):
        """``a_lc`` on the band's least change of the source, ``a_d`` on the discarded
        source, the rest on the band's average (``minority``: the discarded source's weight
        when a class has fewer rows than folds)."""
        mean, _, close = _band(scores)
        d = minority if minority is not None and _few_of_a_class(fam) else a_d
        lc = int(close[0])
        w = np.zeros(len(scores))
        w[close] = (1 - a_lc - d) / len(close)
        w[lc] += a_lc
        w[_discard(fam)] += d
        return w

    return rule


def _min_alpha(fn, alpha):
    def rule(scores, loss, fam):
        """``fn`` over the candidates whose ``alpha`` is at least ``alpha`` (and the rest)."""
        keep = np.array([p.get("alpha", np.inf) >= alpha for p in fam["params"]])
        masked = np.where(keep[:, None], scores, np.nan)
        return fn(masked, loss, fam)

    return rule


def _logit(fn):
    def rule(scores, loss, fam):
        return fn(scores, loss, fam)

    rule.space = "logit"
    return rule


def _paired_few_minority(reg_only, n_se=1.0):
    """:func:`_few_minority` with the band of :func:`_paired_band` (for a regressor only,
    with ``reg_only``)."""

    def band(scores, loss, fam):
        if reg_only and fam["_kind"] == "clf":
            return _band(scores)[2]
        return _paired_band(loss, n_se)

    return _few_minority(band=band)


def _chosen_discard(fn, how, n_se=1.0, few_first=False):
    def rule(scores, loss, fam):
        """``fn`` with the discarded source's candidate chosen among those that discard it:
        the best mean fold score (``how="best"``), or the first (most regularised) within
        ``n_se`` SEs of that best (``how="lc"``); with ``few_first``, the first wherever a
        class has fewer rows than folds."""
        idx = [i for i, line in enumerate(fam["lines"]) if line == "discard"]
        if few_first and _few_of_a_class(fam):
            return fn(scores, loss, fam)
        mean = _mean_score(scores[idx])
        best = int(np.argmax(mean))
        if how == "lc":
            se = np.nanstd(scores[idx[best]]) / np.sqrt(scores.shape[1])
            best = int(np.flatnonzero(mean >= mean[best] - n_se * se)[0])
        fam["_discard"] = idx[best]
        try:
            return fn(scores, loss, fam)
        finally:
            del fam["_discard"]

    return rule


def _fm_drop(z):
    def rule(scores, loss, fam):
        """``anchor_weight="auto"``, but where no class is short of rows and the band beats
        the discarded source out of fold by more than ``z`` paired SEs, the band alone."""
        _, _, close = _band(scores)
        if _few_of_a_class(fam):
            return _discard_takes(0.5, close, fam, len(scores))
        others = [i for i in close if i != _discard(fam)]
        drop = bool(others) and _beats_t(fam, loss, others, loss[_discard(fam)].mean(0)) > z
        return _band_plus(close, fam, len(scores), discard=not drop)

    return rule


def _all_discards(scores, loss, fam):
    """``anchor_weight="auto"`` with every candidate that discards the source as an anchor:
    equal weights on the band and the anchors, or the anchors sharing half where a class
    has fewer rows than folds."""
    _, _, close = _band(scores)
    anchors = [i for i, line in enumerate(fam["lines"]) if line == "discard"]
    members = sorted(set(close) | set(anchors))
    w = np.zeros(len(scores))
    others = [i for i in members if i not in anchors]
    if not _few_of_a_class(fam) or not others:
        w[members] = 1.0 / len(members)
        return w
    w[anchors] = 0.5 / len(anchors)
    w[others] = 0.5 / len(others)
    return w


def _source_t(fam, loss):
    """Paired t statistic of how much the near-source candidate (the first, the least change)
    beats, out of fold on the labelled rows, their own base rate scored in sample. The
    candidate barely moves from the source, so this is the source's own record on rows it
    never saw; the in-sample base rate is optimistic, which errs against the source."""
    src = loss[0].mean(axis=0)
    if not np.isfinite(src).all():
        return -np.inf
    return _paired_t(_base_rate_loss(fam) - src)


def _source_t_brier(fam, loss):
    """:func:`_source_t` with the squared error of the probabilities (bounded, so that one
    confidently wrong row does not swamp the statistic)."""
    y = fam["_y"].astype(float)
    p = fam["oof"][0, : loss.shape[1]].astype(float).mean(axis=0)
    if not np.isfinite(p).all():
        return -np.inf
    return _paired_t((np.mean(y) - y) ** 2 - (p - y) ** 2)


def _source_trust(z, share, gain_z=None, soft=False, stat=None):
    def rule(scores, loss, fam):
        """``anchor_weight="auto"`` (:func:`_few_minority`), unless the near-source candidate
        beats the labelled rows' base rate by more than ``z`` paired SEs (and, with
        ``gain_z``, the band does not beat it by ``gain_z``): then it takes ``share`` (with
        ``soft``, ``share * Phi(t - z)``) and the rest keeps its proportions."""
        from scipy.stats import norm

        base = _few_minority()(scores, loss, fam)
        t = (stat or _source_t)(fam, loss)
        a = share * float(norm.cdf(t - z)) if soft else share * (t > z)
        if gain_z is not None and a > 0:
            _, _, close = _band(scores)
            members = sorted(set(close) | {_discard(fam)})
            if _beats_t(fam, loss, members, loss[0].mean(axis=0)) > gain_z:
                a = 0.0
        w = (1 - a) * base
        w[0] += a
        return w

    return rule


RULES = {
    "fm all-discards": (_all_discards, 1),
    "lc3 paired reg": (_chosen_discard(_paired_few_minority(True), "lc", 3.0, few_first=True), 1),
    "lc3 paired reg 0.5": (
        _chosen_discard(_paired_few_minority(True, 0.5), "lc", 3.0, few_first=True),
        1,
    ),
    "fm lc-discard nofew": (_chosen_discard(_few_minority(), "lc", few_first=True), 1),
    "fm lc2-discard nofew": (_chosen_discard(_few_minority(), "lc", 2.0, few_first=True), 1),
    "fm lc2-discard": (_chosen_discard(_few_minority(), "lc", 2.0), 1),
    "fm lc3-discard nofew": (_chosen_discard(_few_minority(), "lc", 3.0, few_first=True), 1),
    "brier z2 1/2": (_source_trust(2.0, 0.5, stat=_source_t_brier), 1),
    "brier z2 3/4": (_source_trust(2.0, 0.75, stat=_source_t_brier), 1),
    "brier z2 1": (_source_trust(2.0, 1.0, stat=_source_t_brier), 1),
    "brier z3 1": (_source_trust(3.0, 1.0, stat=_source_t_brier), 1),
    "brier z2 3/4 g0": (_source_trust(2.0, 0.75, 0.0, stat=_source_t_brier), 1),
    "brier z2 1 g0": (_source_trust(2.0, 1.0, 0.0, stat=_source_t_brier), 1),
    "brier z3 1 g0": (_source_trust(3.0, 1.0, 0.0, stat=_source_t_brier), 1),
    "fm drop1": (_fm_drop(1.0), 1),
    "fm drop2": (_fm_drop(2.0), 1),
    "fm drop3": (_fm_drop(3.0), 1),
    "fm best-discard": (_chosen_discard(_few_minority(), "best"), 1),
    "fm lc-discard": (_chosen_discard(_few_minority(), "lc"), 1),
    "trust z2 1/2 g0 lc-discard": (_chosen_discard(_source_trust(2.0, 0.5, 0.0), "lc"), 1),
    "trust z2 1/2 g0 best-discard": (_chosen_discard(_source_trust(2.0, 0.5, 0.0), "best"), 1),
    "trust z2 1/2 g0": (_source_trust(2.0, 0.5, 0.0), 1),
    "paired": (_paired_few_minority(False), 1),
    "paired reg": (_paired_few_minority(True), 1),
    "paired reg 2": (_paired_few_minority(True, 2.0), 1),
    "paired reg 0.5": (_paired_few_minority(True, 0.5), 1),
    "trust z2 1/2": (_source_trust(2.0, 0.5), 1),
    "trust z2 3/4": (_source_trust(2.0, 0.75), 1),
    "trust z2 1": (_source_trust(2.0, 1.0), 1),
    "trust z1 1/2": (_source_trust(1.0, 0.5), 1),
    "trust z3 3/4": (_source_trust(3.0, 0.75), 1),
    "trust z2 3/4 g0": (_source_trust(2.0, 0.75, 0.0), 1),
    "trust z2 3/4 g1": (_source_trust(2.0, 0.75, 1.0), 1),
    "trust z2 1 g1": (_source_trust(2.0, 1.0, 1.0), 1),
    "trust z1 1 g0": (_source_trust(1.0, 1.0, 0.0), 1),
    "trust soft z2 1": (_source_trust(2.0, 1.0, soft=True), 1),
    "trust soft z2 1 g1": (_source_trust(2.0, 1.0, 1.0, soft=True), 1),
    "few-minority": (_few_minority(), 1),
    "few-minority 0.75": (_few_minority(0.75), 1),
    "few-minority 1": (_few_minority(1.0), 1),
    "thirds": (_bookends(1 / 3, 1 / 3), 1),
    "thirds m": (_bookends(1 / 3, 1 / 3, 0.5), 1),
    "lc/4 d/4": (_bookends(0.25, 0.25), 1),
    "lc/4 d/4 m": (_bookends(0.25, 0.25, 0.5), 1),
    "lc/2 d/4 m": (_bookends(0.5, 0.25, 0.5), 1),
    "lc/4 d/8 m": (_bookends(0.25, 0.125, 0.5), 1),
    "nogain 0.5": (_no_gain(0.5), 1),
    "nogain 0.75": (_no_gain(0.75), 1),
    "nogain 1": (_no_gain(1.0), 1),
    "nogain 1 z1": (_no_gain(1.0, z=1.0), 1),
    "nogain 0.5 z1": (_no_gain(0.5, z=1.0), 1),
    "band+discard alpha>=1": (_min_alpha(rule_band_union_discard, 1.0), 1),
    "band+discard alpha>=0.1": (_min_alpha(rule_band_union_discard, 0.1), 1),
    "gate1": (_gated(1.0), 1),
    "gate2": (_gated(2.0), 1),
    "gate1 best": (_gated(1.0, on="best"), 1),
    "gate2 best": (_gated(2.0, on="best"), 1),
    "gate1 se": (_gated_se(1.0, False), 1),
    "gate2 se": (_gated_se(2.0, False), 1),
    "gate1 fold-paired": (_gated_se(1.0, True), 1),
    "phi": (_phi_anchor(), 1),
    "phi best": (_phi_anchor(on="best"), 1),
    "phi floor": (_phi_anchor(floor=True), 1),
    "band+discard logit": (_logit(rule_band_union_discard), 1),
    "gate1 logit": (_logit(_gated(1.0)), 1),
    "line-balanced": (rule_line_balanced, 1),
    "pbma": (_pbma(1.0), 1),
    "pbma T2": (_pbma(2.0), 1),
    "pbma T4": (_pbma(4.0), 1),
    "band+pbma-discard": (_band_pbma_anchor(1.0), 1),
    "band+pbma-discard T2": (_band_pbma_anchor(2.0), 1),
    "band+discard 2SE": (_band_anchor_within(2.0), 1),
    "band+discard 3SE": (_band_anchor_within(3.0), 1),
    "mix-cv": (rule_mix_cv, 1),
    "band/2+discard/2": (rule_band_discard, 1),
    "band+discard": (rule_band_union_discard, 1),
    "top3": (rule_top3, 1),
    "stack-from-discard": (rule_stack_from_discard, 1),
    "best": (rule_best, 1),
    "least-change": (rule_least_change, 1),
    "discard-first": (rule_discard_first, 1),
    "ensemble": (rule_ensemble, 1),
    "paired-lc": (rule_paired_least_change, 1),
    "stack": (rule_greedy_stack, 1),
    "best+discard": (rule_best_and_discard, 1),
}


# ----------------------------------------------------------------------------------------------
# evaluate


def skill(pred, y, kind):
    if kind == "clf":
        base = np.mean(y)
        null = -np.mean(y * np.log(base) + (1 - y) * np.log(1 - base))
        return 1 - np.mean(_row_loss(np.clip(pred, EPS, 1 - EPS), y, kind)) / null
    return 1 - np.mean((pred - y) ** 2) / np.var(y)


def _mix(w, pred, kind, space):
    """The weighted average of the candidates' test predictions; with ``space="logit"`` a
    classifier's probabilities are averaged as log-odds."""
    if kind != "clf" or space != "logit":
        return w @ pred
    p = np.clip(pred, EPS, 1 - EPS)
    return 1 / (1 + np.exp(-(w @ np.log(p / (1 - p)))))


def evaluate(args):
    cells = []
    for path in args.files:
        cells += pickle.loads(Path(path).read_bytes())["cells"]
    max_rep = min(c["folds"].shape[0] for c in cells)
    rules = dict(RULES)
    for name, (fn, _) in list(RULES.items()):
        for r in range(2, max_rep + 1):
            rules[f"{name} x{r}"] = (fn, r)
    if args.rules:
        rules = {k: v for k, v in rules.items() if k in args.rules}
    results = {}  # (family, task, n) -> {method: [skill per seed]}
    for cell in cells:
        y, kind = cell["y_test"], cell["kind"]
        for family, fam in cell["families"].items():
            fam["_y"], fam["_kind"], fam["_folds"] = cell["y_labelled"], kind, cell["folds"]
            res = results.setdefault((family, cell["task"], cell["n"]), {})
            res.setdefault("source-only", []).append(skill(fam["source"], y, kind))
            for rule, pred in fam["target_only"].items():
                res.setdefault(f"target-only ({rule})", []).append(skill(pred, y, kind))
            for name, (fn, reps) in rules.items():
                scores, loss = fold_scores(fam, cell, reps)
                w = fn(scores, loss, fam)
                pred = _mix(w, fam["pred"].astype(float), kind, getattr(fn, "space", "proba"))
                res.setdefault(name, []).append(skill(pred, y, kind))
    baseline = args.baseline
    print(_goal_table(results, rules, baseline))
    if args.per_task:
        print()
        print(_per_task_table(results, rules, baseline))


def _goal_table(results, rules, baseline):
    families = sorted({k[0] for k in results})
    ns = [n for n in wsq.N_LABELS if any(k[2] == n for k in results)]
    lines = []
    for family in families:
        rows = []
        for rule in rules:
            row = [rule]
            n_pass = 0
            for n in ns:
                keys = [k for k in results if k[0] == family and k[2] == n]
                means = {
                    m: np.mean([np.mean(results[k][m]) for k in keys])
                    for m in (rule, baseline, "source-only")
                }
                losing = 0
                for k in keys:
                    r = results[k]
                    better = max((baseline, "source-only"), key=lambda m: np.mean(r[m]))
                    d = np.array(r[rule]) - np.array(r[better])
                    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
                    losing += d.mean() < -se
                beats = means[rule] > max(means[baseline], means["source-only"])
                ok = beats and losing == 0
                n_pass += ok
                row.append(f"{means[rule]:.3f} {'y' if beats else 'N'} {losing}")
            row.append(f"{n_pass}/{len(ns)}")
            rows.append(row)
        ref = []
        for m in (baseline, "source-only"):
            row = [m]
            for n in ns:
                keys = [k for k in results if k[0] == family and k[2] == n]
                row.append(f"{np.mean([np.mean(results[k][m]) for k in keys]):.3f}")
            ref.append(row + [""])
        lines += [
            f"\n### {family} ({len({k[1] for k in results if k[0] == family})} tasks): "
            "mean skill over tasks, beats both (y/N), tasks losing by > 1 SE\n",
            markdown_table(["rule", *map(str, ns), "n passing"], ref + rows),
        ]
    return "\n".join(lines)


def _per_task_table(results, rules, baseline):
    """Per task and n: each rule's mean skill and its paired difference to the better baseline."""
    rows = []
    for key in sorted(results, key=lambda k: (k[0], k[1], str(k[2]))):
        r = results[key]
        better = max((baseline, "source-only"), key=lambda m: np.mean(r[m]))
        row = [key[0], key[1], str(key[2]), f"{np.mean(r[baseline]):.3f}"]
        row.append(f"{np.mean(r['source-only']):.3f}")
        for rule in rules:
            d = np.array(r[rule]) - np.array(r[better])
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
            row.append(f"{np.mean(r[rule]):.3f}{'!' if d.mean() < -se else ''}")
        rows.append(row)
    return markdown_table(["family", "task", "n", "target-only", "source-only", *rules], rows)


def signals(args):
    """Per family, task and n: which baseline is better on the test half, and how the source's
    own record on the labelled rows (the paired t statistic of its log-loss, or squared
    error, against the rows' in-sample base rate) spreads over the draws. Where the spreads
    of tasks with opposite better baselines overlap, no threshold on it can tell them apart."""
    cells = []
    for path in args.files:
        cells += pickle.loads(Path(path).read_bytes())["cells"]
    ns = [n if n == "all" else int(n) for n in args.n]
    draws = {}  # (family, task, n) -> [(t, few, source skill, target skill, rule skill)]
    for cell in cells:
        if cell["n"] not in ns:
            continue
        y, kind = cell["y_test"], cell["kind"]
        for family, fam in cell["families"].items():
            fam["_y"], fam["_kind"], fam["_folds"] = cell["y_labelled"], kind, cell["folds"]
            scores, loss = fold_scores(fam, cell, 1)
            own = _row_loss(fam["source_labelled"].astype(float), fam["_y"], kind)
            w = RULES[args.rule][0](scores, loss, fam)
            draws.setdefault((family, cell["task"], cell["n"]), []).append(
                (
                    _paired_t(_base_rate_loss(fam) - own),
                    _few_of_a_class(fam),
                    skill(fam["source"], y, kind),
                    skill(fam["target_only"][args.target_only], y, kind),
                    skill(w @ fam["pred"].astype(float), y, kind),
                )
            )
    rows = []
    for key in sorted(draws, key=lambda k: (k[0], str(k[2]), k[1])):
        t, few, src, tgt, ours = map(np.array, zip(*draws[key]))
        better = src if src.mean() > tgt.mean() else tgt
        d = ours - better
        se = d.std(ddof=1) / np.sqrt(len(d))
        low = ~few & (t < 1)
        rows.append(
            [
                key[0],
                key[1],
                str(key[2]),
                "source" if better is src else "target",
                f"{t.min():.1f} / {np.median(t):.1f} / {t.max():.1f}",
                f"{few.sum()}/{len(t)}",
                f"{d.mean():+.3f} ± {se:.3f}{' !' if d.mean() < -se else ''}",
                f"{low.sum()}: {d[low].mean():+.3f}" if low.any() else "0",
            ]
        )
    headers = [
        "family",
        "task",
        "n",
        "better baseline",
        "source t min / median / max",
        "draws with a class < 3 rows",
        f"{args.rule} − better",
        "draws t < 1 (no short class): their mean",
    ]
    print(markdown_table(headers, rows))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--tasks", nargs="+", default=list(wsq.ALL_TASKS))
    c.add_argument("--families", nargs="+", default=["xgboost"], choices=wsq.FAMILIES)
    c.add_argument("--seeds", type=int, default=10)
    c.add_argument("--n", nargs="+", default=[str(n) for n in wsq.N_LABELS])
    c.add_argument("--repeats", type=int, default=3)
    c.add_argument("--jobs", type=int, default=2)
    c.add_argument("--out", required=True)
    e = sub.add_parser("evaluate")
    e.add_argument("files", nargs="+")
    e.add_argument("--rules", nargs="+")
    e.add_argument("--baseline", default="target-only (least-change)")
    e.add_argument("--per-task", action="store_true", help="also one row per task and n")
    g = sub.add_parser("signals", help="how the source's record on the labelled rows spreads")
    g.add_argument("files", nargs="+")
    g.add_argument("--n", nargs="+", default=["10", "30"])
    g.add_argument("--rule", default="few-minority")
    g.add_argument("--target-only", default="least-change", choices=["best", "least-change"])
    args = p.parse_args(argv)
    return {"collect": collect, "evaluate": evaluate, "signals": signals}[args.command](args)


if __name__ == "__main__":
    main()
