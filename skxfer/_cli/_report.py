"""Text table, plain-words verdict and learning-curve plot of a
:class:`~skxfer._cli._compare.Comparison`."""

import os
import textwrap

import numpy as np

from skxfer.model_selection._curve_methods import BASELINES

#: Differences smaller than this (in accuracy or R^2) are called even, whatever the seeds say.
MIN_DIFFERENCE = 0.005


def format_report(result, title):
    """The whole printed report: title, one table per target, verdicts."""
    protocol = (
        f"Each of the {len(result.seeds)} seed(s) shuffles the labelled target rows: the first n "
        f"are the training labels, every row after the first {max(result.sizes)} is a test "
        "row (the same test rows for every n); settings are chosen by CV on the n labels only."
    )
    lines = [*_wrap([*title, protocol]), ""]
    verdicts = {}
    for target in result.targets:
        block, verdicts[target] = _target_block(result, target)
        lines += [*block, ""]
    lines += _wrap(_overall(result, verdicts))
    lines += _wrap(result.notes)
    return "\n".join(lines)


def _wrap(lines, width=100):
    """Prose lines wrapped to ``width``; a continuation is indented two more spaces."""
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()))
        out += textwrap.wrap(line, width, subsequent_indent=indent + "  ") or [""]
    return out


def column_verdict(result, target, i):
    """``(outcome, winner, best transfer, best baseline, difference, tolerance)`` at the
    ``i``-th size; outcome is "helps", "even", "negative" (target only is best) or
    "source" (a source-only model is best)."""
    means = {m: result.mean(target, m)[i] for m in result.methods}
    winner = max(result.methods, key=lambda m: means[m])
    transfer = [m for m in result.methods if m not in BASELINES]
    baselines = [m for m in result.methods if m in BASELINES]
    best_transfer = max(transfer, key=lambda m: means[m])
    best_baseline = max(baselines, key=lambda m: means[m])
    diff = means[best_transfer] - means[best_baseline]
    per_seed = result.per_seed(target, best_transfer)[i] - result.per_seed(target, best_baseline)[i]
    se = per_seed.std(ddof=1) / np.sqrt(len(per_seed)) if len(per_seed) > 1 else 0.0
    tolerance = max(MIN_DIFFERENCE, float(se))
    if diff > tolerance:
        outcome = "helps"
    elif diff >= -tolerance:
        outcome = "even"
    elif best_baseline == "target only":
        outcome = "negative"
    else:
        outcome = "source"
    return outcome, winner, best_transfer, best_baseline, diff, tolerance


def _target_block(result, target):
    n_lab, n_unlab, n_test = result.counts(target)
    sizes = result.sizes
    width = max(len(m) for m in [*result.methods, "method"]) + 2
    col = max(9, *(len(f"n={n}") + 3 for n in sizes))
    described = f"{n_lab} labelled rows"
    if n_unlab:
        described += f" and {n_unlab} unlabelled"
    lines = _wrap(
        [
            f"Target {target}: {described}; {n_test} held out to test per seed"
            f"{_majority(result, target)}."
        ]
    )
    lines.append("method".ljust(width) + "".join(f"{f'n={n}':>{col}}" for n in sizes))
    verdicts = [column_verdict(result, target, i) for i in range(len(sizes))]
    for method in result.methods:
        cells = []
        for i, value in enumerate(result.mean(target, method)):
            star = "*" if verdicts[i][1] == method else " "
            cells.append(f"{value:>{col - 1}.3f}{star}")
        lines.append((method.ljust(width) + "".join(cells)).rstrip())
    for n, (outcome, winner, best_t, best_b, diff, tol) in zip(sizes, verdicts):
        words = _words(outcome, best_t, best_b, diff, tol)
        lines += _wrap([f"  n={n}: winner {winner}; {words}"])
    lines += _wrap(_guard_lines(result, target))
    return lines, verdicts


def _guard_lines(result, target):
    """What the guard kept at each size, over the seeds (transfer, target only, a blend)."""
    if "guarded" not in result.methods:
        return []
    words = {"transfer": "transfer", "target": "target only", "blend": "blend"}
    cells = []
    for n, counts in zip(result.sizes, result.decision_counts(target, "guarded")):
        said = ", ".join(f"{words.get(d, d)} {k}" for d, k in counts.items())
        cells.append(f"n={n}: {said}")
    seeds = len(result.seeds)
    return [f"  guard kept (seeds of {seeds}): " + "; ".join(cells) + "."]


def _majority(result, target):
    shares = result.majority.get(target)
    if not shares:
        return ""
    return f" (predicting the commonest class scores {np.mean(shares):.3f})"


def _words(outcome, best_transfer, best_baseline, diff, tolerance):
    if outcome == "helps":
        return f"transfer helps: {best_transfer} beats {best_baseline} by {diff:.3f}."
    if outcome == "even":
        return (
            f"no clear difference: {best_transfer} is within {tolerance:.3f} of "
            f"{best_baseline} ({diff:+.3f})."
        )
    if outcome == "negative":
        return (
            f"negative transfer: every transfer method is worse than target only "
            f"(best, {best_transfer}, by {-diff:.3f})."
        )
    return (
        f"the source model alone is best: every method that uses the target labels is worse "
        f"than {best_baseline} (best, {best_transfer}, by {-diff:.3f})."
    )


def _overall(result, verdicts):
    counts = {"helps": 0, "even": 0, "negative": 0, "source": 0}
    for per_target in verdicts.values():
        for verdict in per_target:
            counts[verdict[0]] += 1
    total = sum(counts.values())
    seeds = len(result.seeds)
    lines = [
        f"Verdict over {total} setting(s) (target x number of labels, mean of {seeds} "
        f"seed(s); '*' marks each column's winner; differences under one standard error "
        f"or {MIN_DIFFERENCE} count as even):",
        f"  transfer helped in {counts['helps']}, was even in {counts['even']}, was negative "
        f"transfer (worse than target only) in {counts['negative']}, and lost to the source "
        f"model alone in {counts['source']}.",
    ]
    for target, per_target in verdicts.items():
        lines.append(f"  {target}: {_target_summary(result.sizes, per_target)}")
    return lines


def _target_summary(sizes, per_target):
    groups = {}
    for n, verdict in zip(sizes, per_target):
        groups.setdefault(verdict[0], []).append((n, verdict))
    parts = []
    phrases = {
        "helps": "transfer helps",
        "even": "transfer makes no clear difference",
        "negative": "negative transfer (train on the target alone)",
        "source": "the source model alone is best",
    }
    for outcome in ("helps", "even", "negative", "source"):
        if outcome not in groups:
            continue
        ns = ", ".join(str(n) for n, _ in groups[outcome])
        best = sorted({v[2] for _, v in groups[outcome]})
        extra = f" (best transfer: {', '.join(best)})" if outcome == "helps" else ""
        parts.append(f"{phrases[outcome]} with {ns} labels{extra}")
    return "; ".join(parts) + "."


def print_then_plot(report, result, plot, title, echo=None):
    """Hand the finished report to ``echo`` (e.g. ``print``), then save the plot to ``plot``
    (None: no plot) and hand over the line that says where, or why not; return the report
    and that line as one text.

    The report goes out first, and a plot that fails becomes a line of the report: plotting
    never costs the user the table already computed.
    """
    if echo is not None:
        echo(report)
    if plot is None:
        return report
    line = plot_line(result, plot, title)
    if echo is not None:
        echo(line)
    return report + "\n" + line


def plot_line(result, path, title):
    """Save the learning curves to ``path``; return the line that says where (or why not).

    Never raises (but for an interrupt): a plot that cannot be written never costs the user
    the table already computed.
    """
    try:
        written = save_plot(result, path, title)
    except ImportError:
        return "No plot: matplotlib is not installed (pip install 'skxfer[demo]')."
    except OSError as exc:
        return f"No plot: cannot write {path}: {exc.strerror or exc}."
    except Exception as exc:  # whatever matplotlib raises: the report is worth more
        text = " ".join(str(exc).split()) or type(exc).__name__
        return f"No plot: cannot save {path}: {text}"
    return f"Learning curves saved to {written}"


def save_plot(result, path, title):
    """Learning curves, one panel per target; returns the path written (``path``, with
    ``.png`` added when it has no extension)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    if not extension:
        # what matplotlib would do, done here so that the report names the file written
        path, extension = path.rstrip(".") + ".png", "png"
    if extension not in FigureCanvasBase.get_supported_filetypes():
        raise ValueError(
            f"matplotlib cannot write .{extension} files; pass --plot a name ending in .png "
            "(or .pdf, .svg)."
        )

    targets = result.targets
    fig, axes = plt.subplots(
        1, len(targets), figsize=(4.5 * len(targets) + 1.5, 4), squeeze=False, sharey=False
    )
    for ax, target in zip(axes[0], targets):
        for method in result.methods:
            mean = result.mean(target, method)
            style = "--" if method in BASELINES else "-"
            ax.plot(result.sizes, mean, style, marker="o", label=method)
        if result.metric == "R^2":
            # an R^2 of -5 from one bad method would flatten every other line
            low = min(np.nanmin(result.mean(target, m)) for m in result.methods)
            high = max(np.nanmax(result.mean(target, m)) for m in result.methods)
            if low < -1.0:
                ax.set_ylim(-1.0, max(high, 0.0) + 0.05)
                ax.set_title(f"{target} (clipped at R^2 = -1)")
        ax.set_xscale("log")
        ax.set_xticks(result.sizes)
        ax.set_xticklabels([str(n) for n in result.sizes])
        ax.minorticks_off()
        ax.set_xlabel("labelled target rows")
        ax.set_ylabel(f"target {result.metric}")
        if not ax.get_title():
            ax.set_title(target)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
