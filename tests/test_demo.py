"""The moons demo: micrograd's setup reaches 100 % in 100 steps; the command reports and draws."""

from __future__ import annotations

import argparse
import builtins
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from microgradx import Value
from microgradx.app import demo

SVG = "{http://www.w3.org/2000/svg}"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    demo.add_parser(parser.add_subparsers())
    return parser.parse_args(["demo", *argv])


def test_moons_demo_reaches_100_percent_in_100_steps():
    result = demo.train()  # MLP(2, [16, 16, 1]), 100 moons rows, hinge + 1e-4 L2, SGD 1.0 -> 0.1
    assert repr(result.model) == "MLP(2 -> 16 relu -> 16 relu -> 1 linear; 337 parameters)"
    assert len(result.losses) == 100 and result.losses[-1] < result.losses[0]
    assert result.accuracy == 1.0


def test_the_moons_demo_draws_micrograds_weights_and_init_picks_pytorchs(capsys):
    """micrograd's demo, its initial weights included (its lr and steps were tuned for them; see demo.py);
    `--init pytorch` starts from a model's default, PyTorch's ±1/√fan-in, and learns too."""
    ours = demo.train(steps=20)
    assert ours.losses == demo.train(steps=20, init="micrograd").losses
    fan_in = demo.train(steps=20, init="pytorch")
    assert fan_in.losses != ours.losses and fan_in.losses[-1] < fan_in.losses[0] / 2
    assert demo.run(parse("--steps", "5", "--no-pictures")) == 0
    assert "hinge loss, sgd, micrograd init" in capsys.readouterr().out
    assert demo.run(parse("--steps", "5", "--init", "pytorch", "--no-pictures")) == 0
    assert "hinge loss, sgd, pytorch init" in capsys.readouterr().out


def test_trained_predictions_through_the_compiled_graph_equal_plain_values():
    result = demo.train(steps=20)
    got = result.score.forward(result.X)
    want = [result.model([Value(a), Value(b)]).data for a, b in result.X]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_same_seed_same_training():
    a, b = demo.train(steps=5, seed=3), demo.train(steps=5, seed=3)
    assert a.losses == b.losses


@pytest.mark.parametrize(
    "options",
    [
        {"dataset": "circles", "loss": "bce"},
        {"dataset": "blobs", "optimizer": "adam", "steps": 30},
        {"dataset": "spirals", "layers": (8,), "optimizer": "adam", "steps": 10},
        {"loss": "mse", "activation": "tanh", "steps": 10},
        {"loss": "softmax", "steps": 10},
    ],
)
def test_other_datasets_losses_and_optimizers_train(options):
    result = demo.train(**options)
    assert np.isfinite(result.losses).all()
    assert result.losses[-1] < result.losses[0]
    assert result.predict(result.X).shape == result.y.shape


@pytest.mark.parametrize(
    "options, match",
    [
        ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
        ({"loss": "l1"}, "unknown loss 'l1'"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"dataset": "spirals", "loss": "hinge"}, "use --loss softmax"),
    ],
)
def test_bad_options_give_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        demo.train(**options)


def test_command_reports_accuracy_and_time_and_writes_pictures(tmp_path, capsys):
    assert demo.run(parse("-o", str(tmp_path))) == 0
    out, err = capsys.readouterr()
    assert "accuracy 100.0%" in out and "µs per step" in out
    assert "100/100" in err  # the progress bar
    assert (tmp_path / "moons_boundary.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "moons_curves.png").read_bytes()[:4] == b"\x89PNG"  # loss and accuracy, next to it
    assert "loss and accuracy curves" in out
    assert (tmp_path / "neuron.svg").exists() and "could not draw" not in out


def neuron_picture(svg: Path) -> dict[str, tuple[float, float]]:
    """Each box of a neuron's picture: name -> (data, grad), read from the SVG's text."""
    texts = [(t.text or "") for t in ET.parse(svg).getroot().iter(f"{SVG}text")]
    boxes = {}
    for k, t in enumerate(texts[:-2]):
        if texts[k + 1].startswith("data ") and texts[k + 2].startswith("grad "):
            boxes[t] = (float(texts[k + 1][5:]), float(texts[k + 2][5:]))
    return boxes


@pytest.fixture(scope="module")
def trained():
    result = demo.train()
    grads = [p.grad for p in result.model.parameters()]
    assert any(g != 0.0 for g in grads)  # training left gradients in .grad: the picture must not show them
    return result


def test_the_demos_neuron_picture_obeys_the_chain_rule_on_a_live_row(trained, tmp_path):
    """out = relu(w1·x1 + w2·x2 + b): the picture's own numbers must give ∂out/∂wᵢ = xᵢ and
    ∂out/∂b = 1 where the relu passes, 0 where it does not; and the demo draws a live one."""
    message = demo.draw_neuron(trained, tmp_path / "neuron.svg")
    boxes = neuron_picture(tmp_path / "neuron.svg")
    params = {name for name in boxes if re.fullmatch(r"(.*\.)?(w\d+|b)", name)}
    (out_name,) = set(boxes) - params - {"x1", "x2"} - {n for n in boxes if re.fullmatch(r"t\d+", n)}
    out, grad_out = boxes[out_name]
    assert grad_out == 1.0
    alive = out > 0
    for name in params:
        want = 1.0 if name.endswith("b") else boxes["x" + name[-1]][0]
        assert boxes[name][1] == pytest.approx(want if alive else 0.0, abs=1e-4), name
    assert alive  # the demo picks a neuron that passes a gradient on the row it draws
    neuron, row = demo.alive_neuron(trained)
    assert out_name == neuron.name and f"neuron {neuron.name} on row {row}" in message
    assert [boxes["x1"][0], boxes["x2"][0]] == pytest.approx(list(trained.X[row]), abs=1e-4)


def test_a_dead_neurons_picture_has_no_gradient_on_its_parameters(trained, tmp_path):
    """Behind a relu whose input is negative every path to the root carries 0: so must the picture,
    whatever the last training step left in the parameters' .grad."""
    from microgradx import flatten
    from microgradx.viz import draw, render
    from microgradx.viz.steps import slot_names

    x = [Value(float(v), label=f"x{i + 1}") for i, v in enumerate(trained.X[0])]
    dead = [n for n in trained.model.layers[0].neurons if n(x).data == 0.0]
    assert dead and any(p.grad != 0.0 for n in dead for p in n.parameters())
    for neuron in dead[:3]:
        out = neuron(x)
        render(draw(out), tmp_path / "dead.svg")
        boxes = neuron_picture(tmp_path / "dead.svg")
        tape = flatten(out)
        names = slot_names(tape)
        for p in neuron.parameters():
            slot = next(s for s in range(len(tape)) if tape.nodes[s] is p)
            assert boxes[names[slot]][1] == 0.0, names[slot]


def test_missing_matplotlib_and_viz_are_reported_not_fatal(tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name.startswith("matplotlib") or name in ("viz", "microgradx.viz") or "viz" in (args[2] or ()):
            raise ImportError(f"no module named {name}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    assert demo.run(parse("-o", str(tmp_path), "--steps", "5")) == 0
    out = capsys.readouterr().out
    assert "matplotlib is not installed" in out
    assert "could not draw the neuron's graph" in out
    assert "no training curves" in out
    assert not (tmp_path / "neuron.svg").exists()


def test_layers_option():
    assert parse("--layers", "8,4").layers == [8, 4]
    with pytest.raises(SystemExit):
        parse("--layers", "8,x")
