"""Binary classification of two moons with a hinge loss: micrograd's demo, compiled.

The loss of one row is written once as a graph of Values, compiled, and replayed
on all 100 rows at every step. Labels are ±1 for the hinge max(0, 1 − y·score).
"""

import time

import numpy as np

import microgradx
from microgradx import Value
from microgradx.datasets import make_moons
from microgradx.nn import MLP
from microgradx.optim import SGD

X, y = make_moons(100, noise=0.1, seed=1337)
Y = y * 2 - 1  # {0, 1} -> {-1, +1}

# micrograd's initial weights (uniform in ±1, bias 0), which its demo's lr and steps were tuned for;
# a model's default, PyTorch's ±1/√fan-in, reaches 96 % here in 100 steps and 100 % in 200
model = MLP(2, [16, 16, 1], seed=1337, init="micrograd")
xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
target = Value(0.0, label="y")
score = model(xs)
loss = (1 - target * score).relu() + 1e-4 * sum(p * p for p in model.parameters())
step = microgradx.compile(loss, inputs=xs + [target])
predict = microgradx.compile(score, inputs=xs)
opt = SGD(model.parameters(), lr=1.0)

seconds = []
for k in range(100):
    start = time.perf_counter()
    batch_loss = step.forward(np.column_stack([X, Y])).mean()
    model.zero_grad()
    step.backward()
    opt.lr = 1.0 - 0.9 * k / 100
    opt.step()
    seconds.append(time.perf_counter() - start)
    if k % 20 == 0 or k == 99:
        accuracy = np.mean(np.sign(predict.forward(X)) == Y)
        print(f"step {k:3d}  loss {batch_loss:.4f}  accuracy {accuracy:.0%}")
print(f"{model!r}: {np.median(seconds) * 1e6:.0f} µs per step (median over 100 steps)")
