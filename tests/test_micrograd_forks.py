"""The API styles of popular micrograd forks, run unchanged on our Value.

Forks add softmax and cross-entropy built from exp and log, tanh neurons (the
lecture's nn, written in the notebook itself), a Value exponent, and comparisons
(a max-shifted softmax, a relu or an accuracy written with `>`). Oracles: the
derivatives by hand, central finite differences, our own losses, and PyTorch in
float64 where installed.
"""

from __future__ import annotations

import math
import random

import pytest
from oracles import central_difference

from microgradx import Op, Value
from microgradx.losses import softmax_cross_entropy
from microgradx.nn import MLP

# -- softmax and cross-entropy, the forks' way ------------------------------------------------


def softmax(logits):
    counts = [logit.exp() for logit in logits]
    denominator = sum(counts)
    return [c / denominator for c in counts]


def stable_softmax(logits):
    m = max(logits)  # compares by value
    counts = [(logit - m).exp() for logit in logits]
    denominator = sum(counts)
    return [c / denominator for c in counts]


def cross_entropy(logits, target, softmax=softmax):
    return -softmax(logits)[target].log()


@pytest.mark.parametrize("make_softmax", [softmax, stable_softmax])
@pytest.mark.parametrize("zs, target", [([1.0, -0.5, 2.0], 0), ([0.3, 0.2, -1.0, 4.0], 3), ([-2.0, 5.0], 1)])
def test_cross_entropy_gradient_is_p_minus_onehot(make_softmax, zs, target):
    logits = [Value(z) for z in zs]
    loss = cross_entropy(logits, target, make_softmax)
    loss.backward()
    e = [math.exp(z) for z in zs]
    p = [x / sum(e) for x in e]
    assert loss.data == pytest.approx(-math.log(p[target]), rel=1e-13)
    assert [v.grad for v in logits] == pytest.approx(
        [pk - (k == target) for k, pk in enumerate(p)], abs=1e-13
    )
    ours = softmax_cross_entropy([Value(z) for z in zs], target)
    assert ours.data == pytest.approx(loss.data, rel=1e-13)


def test_batch_cross_entropy_against_finite_differences():
    batch = [([0.5, -1.0, 0.25], 2), ([2.0, 0.1, -0.3], 0), ([-0.7, 0.9, 0.0], 1)]
    w = [Value(0.8), Value(-0.4)]

    def loss_of(w0: float, w1: float) -> float:
        w[0].data, w[1].data = w0, w1
        return batch_loss().data

    def batch_loss():
        losses = [cross_entropy([z * w[0] + w[1] * k for k, z in enumerate(zs)], t) for zs, t in batch]
        return sum(losses) / len(losses)

    loss = batch_loss()
    loss.backward()
    grads = [w[0].grad, w[1].grad]
    fd = central_difference(lambda ws: loss_of(*ws), [0.8, -0.4])
    assert grads == pytest.approx(fd, rel=1e-7)


def test_cross_entropy_against_pytorch():
    torch = pytest.importorskip("torch")
    zs, target = [0.3, 0.2, -1.0, 4.0], 1
    logits = [Value(z) for z in zs]
    cross_entropy(logits, target, stable_softmax).backward()
    zt = torch.tensor(zs, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(zt.unsqueeze(0), torch.tensor([target])).backward()
    assert [v.grad for v in logits] == pytest.approx(zt.grad.tolist(), rel=1e-13, abs=1e-15)


# -- tanh neurons: the lecture's nn, defined in the notebook on top of Value ---------------------


class LectureNeuron:
    def __init__(self, nin):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()

    def parameters(self):
        return self.w + [self.b]


class LectureLayer:
    def __init__(self, nin, nout):
        self.neurons = [LectureNeuron(nin) for _ in range(nout)]

    def __call__(self, x):
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self):
        return [p for neuron in self.neurons for p in neuron.parameters()]


class LectureMLP:
    def __init__(self, nin, nouts):
        sz = [nin] + nouts
        self.layers = [LectureLayer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def lecture_loss(n):
    ypred = [n(x) for x in XS]
    return sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred))


def test_a_tanh_neuron_by_hand():
    random.seed(1)
    n = LectureNeuron(3)
    x = [0.5, -1.0, 2.0]
    o = n(x)
    o.backward()
    act = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
    assert o.data == pytest.approx(math.tanh(act), rel=1e-15)
    d = 1 - math.tanh(act) ** 2
    assert [w.grad for w in n.w] == pytest.approx([d * xi for xi in x], rel=1e-14)
    assert n.b.grad == pytest.approx(d, rel=1e-14)


def test_lecture_training_loop_on_tanh_mlp():
    random.seed(1337)
    n = LectureMLP(3, [4, 4, 1])
    losses = []
    for _ in range(30):
        loss = lecture_loss(n)
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.05 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.1 * losses[0]  # the lecture's loss falls towards 0
    assert all(later <= earlier + 1e-9 for earlier, later in zip(losses[5:], losses[6:]))


def test_lecture_tanh_mlp_equals_ours_with_tanh_activations():
    random.seed(7)
    theirs = LectureMLP(3, [4, 4, 1])
    ours = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh")
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = q.data
    mine, ref = lecture_loss(ours), lecture_loss(theirs)
    mine.backward()
    ref.backward()
    assert mine.data == pytest.approx(ref.data, rel=1e-14)
    assert [p.grad for p in ours.parameters()] == pytest.approx(
        [q.grad for q in theirs.parameters()], rel=1e-12
    )


def test_lecture_tanh_mlp_against_pytorch():
    torch = pytest.importorskip("torch")
    random.seed(3)
    n = LectureMLP(3, [4, 4, 1])
    lecture_loss(n).backward()
    params = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in n.parameters()]
    it = iter(params)
    layers = [
        [([next(it) for _ in range(len(neuron.w))], next(it)) for neuron in layer.neurons]
        for layer in n.layers
    ]
    total = 0
    for x, y in zip(XS, YS):
        h = [torch.tensor(v, dtype=torch.float64) for v in x]
        for layer in layers:
            h = [torch.tanh(sum(w * xi for w, xi in zip(ws, h)) + b) for ws, b in layer]
        total = total + (h[0] - y) ** 2
    total.backward()
    assert [p.grad for p in n.parameters()] == pytest.approx(
        [t.grad.item() for t in params], rel=1e-12, abs=1e-15
    )


# -- Value ** Value ----------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [(1.7, 2.3), (0.4, -1.5), (3.0, 0.5), (2.0, 0.0)])
def test_value_to_a_value_power(a, b):
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, ∂(aᵇ)/∂b = aᵇ·ln a: as an operator, and as a fork builds it."""
    for make in (lambda x, y: x**y, lambda x, y: Value(x.data**y.data, (x, y), "**")):
        x, y = Value(a), Value(b)
        out = make(x, y)
        assert out.op == Op.POW and out._op == "**" and out._prev == {x, y}
        out.backward()
        assert out.data == pytest.approx(a**b, rel=1e-15)
        assert x.grad == pytest.approx(b * a ** (b - 1), rel=1e-14)
        assert y.grad == pytest.approx(a**b * math.log(a), rel=1e-14, abs=1e-15)


def test_number_to_a_value_power():
    x = Value(1.5)
    y = 2**x
    y.backward()
    assert x.grad == pytest.approx(2**1.5 * math.log(2), rel=1e-14)


def test_value_power_against_pytorch():
    torch = pytest.importorskip("torch")
    x, y = Value(1.7), Value(-0.8)
    out = (x**y) * (y**2) + 3**x
    out.backward()
    xt = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(-0.8, dtype=torch.float64, requires_grad=True)
    ((xt**yt) * (yt**2) + 3**xt).backward()
    assert [x.grad, y.grad] == pytest.approx([xt.grad.item(), yt.grad.item()], rel=1e-14)


# -- comparisons in forks' code ----------------------------------------------------------------


def test_a_relu_written_with_a_comparison():
    """A fork's relu: v if v > 0 else v * 0 — the gradient of the branch taken."""
    for x0, expected in [(1.5, 1.0), (-0.5, 0.0)]:
        x = Value(x0)
        y = x if x > 0 else x * 0
        (y * 3).backward()
        assert x.grad == 3.0 * expected


def test_accuracy_written_with_comparisons():
    scores = [Value(0.3), Value(-1.2), Value(0.0), Value(2.0)]
    ys = [1, -1, 1, -1]
    accuracy = sum((score > 0) == (y > 0) for score, y in zip(scores, ys)) / len(ys)
    assert accuracy == 0.5
