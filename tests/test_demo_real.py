"""`microgradx demo --data digits`: a 64-32-10 network learns the digits and is tested on a held-out
quarter; the command reports it and draws the curves, the confusion matrix and the misclassified digits."""

from __future__ import annotations

import argparse
import builtins
import re
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.metrics import accuracy_score, confusion_matrix  # noqa: E402

from microgradx import Value  # noqa: E402
from microgradx.app import demo, demo_real  # noqa: E402
from microgradx.app.cli import main  # noqa: E402


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo.add_parser(parser.add_subparsers())
    return parser.parse_args(["demo", *argv])


@pytest.fixture(scope="module")
def digits():
    return demo_real.train()  # 64-32-10, Adam 0.01, 60 epochs of batches of 128, seed 1337, PyTorch's init


def test_digits_reach_over_95_percent_on_rows_never_trained_on(digits):
    assert repr(digits.model) == "MLP(64 -> 32 relu -> 10 linear; 2410 parameters)"
    assert len(digits.losses) == len(digits.test_accuracies) == len(digits.train_accuracies) == 60
    assert digits.losses[-1] < digits.losses[0] / 10
    assert digits.test_accuracy > 0.95  # the issue quotes 95-97 % for this network with Adam
    assert digits.train_accuracies[-1] > digits.test_accuracy - 0.01


EPOCHS = 10  # after 10 epochs: 94.9-96.7 % from PyTorch's init, 70.9-76.7 % from micrograd's


def test_pytorchs_init_trains_the_digits_no_worse_than_micrograds():
    """The issue's comparison, shortened to EPOCHS: Adam lr 3e-3 and no L2 on batches of 128, seeds 0-2
    (each seeding the split and the weights). From PyTorch's init (the default) every seed ends at least
    as accurate on the held-out quarter as from micrograd's, and with a lower training loss."""
    for seed in (0, 1, 2):
        fan_in, micrograd = (
            demo_real.train(epochs=EPOCHS, lr=3e-3, alpha=0.0, seed=seed, init=init)
            for init in ("pytorch", "micrograd")
        )
        assert fan_in.test_accuracy >= micrograd.test_accuracy, seed
        assert fan_in.losses[-1] < micrograd.losses[-1], seed


def test_the_split_is_scikit_learns_stratified_75_25_standardised_on_the_training_rows(digits):
    assert len(digits.y_train) == 1347 and len(digits.y_test) == 450
    share = np.bincount(digits.y_test, minlength=10) / np.bincount(digits.y_train, minlength=10)
    assert np.allclose(share, 1 / 3, atol=0.03)  # stratified: each class a quarter held out
    varying = digits.X_train.std(axis=0) > 0
    assert np.allclose(digits.X_train.mean(axis=0), 0.0, atol=1e-9)
    assert np.allclose(digits.X_train.std(axis=0)[varying], 1.0)
    assert not np.allclose(digits.X_test.mean(axis=0), 0.0, atol=1e-3)  # the test rows' statistics unused
    again = demo_real.split("digits", seed=1337)
    assert np.array_equal(again[3], digits.y_test) and np.array_equal(again[4], digits.raw_test)
    other = demo_real.split("digits", seed=1)
    assert not np.array_equal(other[3], digits.y_test)


def test_the_reported_accuracy_and_confusion_are_those_of_plain_values(digits):
    """Oracle: every test row through the model as Values, then scikit-learn's metrics."""
    eager = np.array(
        [np.argmax([o.data for o in digits.model([Value(float(v)) for v in row])]) for row in digits.X_test]
    )
    assert digits.test_accuracy == accuracy_score(digits.y_test, eager)
    assert np.array_equal(digits.confusion(), confusion_matrix(digits.y_test, eager, labels=range(10)))


def test_on_the_numpy_tier_it_trains_the_same(monkeypatch):
    """What a first run on a machine does while numba compiles: the same arithmetic, so the same model."""
    from microgradx.kernels import jit, numpy_calls

    fast = demo_real.train(epochs=2)
    monkeypatch.setattr(jit, "kernels_now", lambda: numpy_calls)
    slow = demo_real.train(epochs=2)
    assert slow.losses == pytest.approx(fast.losses, rel=1e-9)
    assert slow.test_accuracies == fast.test_accuracies
    assert slow.seconds_per_step > 3 * fast.seconds_per_step  # it did run on NumPy


def test_command_reports_test_accuracy_and_time_and_writes_three_pictures(tmp_path, capsys):
    assert demo.run(parse("--data", "digits", "-o", str(tmp_path))) == 0
    out, err = capsys.readouterr()
    accuracy = float(re.search(r"test accuracy (\d+\.\d)% on 450 rows", out).group(1))
    assert accuracy > 95.0
    assert re.search(r"trained in \d+\.\d\d s: 660 steps on batches of 128 rows, \d+ µs a step", out)
    assert "60/60" in err  # the progress bar, an epoch a tick
    for name in ("digits_curves.png", "digits_confusion.png", "digits_misclassified.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name
        assert f"{tmp_path / name}" in out


def test_the_misclassified_picture_counts_the_confusion_matrixs_off_diagonal(digits, tmp_path):
    message = demo_real.plot_misclassified(digits, tmp_path / "wrong.png")
    assert message.endswith("wrong.png")
    cm = digits.confusion()
    wrong = int(cm.sum() - np.trace(cm))
    assert 0 < wrong < 450 * 0.05
    import matplotlib.image

    image = matplotlib.image.imread(tmp_path / "wrong.png")
    rows_of_images = -(-min(wrong, 32) // 8)
    assert image.shape[0] == pytest.approx(120 * (1.3 * rows_of_images + 0.4), abs=2)  # one row per 8 digits


@pytest.mark.parametrize(
    "name, classes, steps",
    [("iris", 3, "20 steps on batches of 112 rows"), ("breast_cancer", 2, "80 steps on batches of 128 rows")],
)
def test_other_real_data_sets_train_and_draw_no_digits(name, classes, steps, tmp_path, capsys):
    assert demo.run(parse("--data", name, "--epochs", "20", "-o", str(tmp_path))) == 0
    out = capsys.readouterr().out
    assert float(re.search(r"test accuracy (\d+\.\d)%", out).group(1)) > 85.0
    assert f"-> {classes} linear" in out and steps in out  # 112 training irises; 426 patients, 4 batches
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}_confusion.png", f"{name}_curves.png"]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["--data", "digits", "--steps", "5"], "--steps: for the toy data sets"),
        (["--data", "iris", "--loss", "hinge", "--noise", "0.1"], "--loss, --noise: for the toy data sets"),
        (["--data", "moons", "--epochs", "3"], "--epochs: for the real data sets"),
        (["--data", "digits", "--optimizer", "sgd"], "trains with adam, not sgd"),
    ],
)
def test_options_for_the_other_kind_of_data_are_refused_by_name(argv, match, capsys):
    assert main(["demo", *argv, "--no-pictures"]) == 2
    assert re.search(match, capsys.readouterr().err)


def test_without_scikit_learn_the_command_names_the_extra(monkeypatch, capsys):
    for module in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    assert main(["demo", "--data", "digits", "--no-pictures"]) == 2
    assert "pip install 'microgradx[data]'" in capsys.readouterr().err


def test_without_matplotlib_the_pictures_are_reported_not_fatal(tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"no module named {name}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    assert demo.run(parse("--data", "digits", "--epochs", "2", "-o", str(tmp_path))) == 0
    out = capsys.readouterr().out
    for what in ("training curves", "confusion matrix", "misclassified digits"):
        assert f"matplotlib is not installed: no {what} (pip install 'microgradx[plot]')" in out
    assert not list(tmp_path.iterdir())


def test_a_run_whose_loss_became_nan_says_the_learning_rate_is_too_large(tmp_path, capsys):
    """`--lr 1e300` ended on fit's RuntimeWarning (advice to use compile(check=True)), a test
    accuracy and exit status 0; it writes no pictures of a network gone nan."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["demo", "--data", "iris", "--lr", "1e300", "--epochs", "3", "-o", str(tmp_path / "p")])
    assert [str(w.message) for w in caught] == [] and code == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(
        r"microgradx demo: the loss became nan in epoch \d of 3: the learning rate --lr 1e\+300 is too large "
        r"\(the steps overshoot, the loss grows until it overflows\); try a smaller one, like the default "
        r"0\.01",
        last,
    ), last
    assert list(tmp_path.iterdir()) == []
