"""Three interleaved spirals, three classes: softmax cross-entropy and Adam.

The network has 3 outputs, one logit per class. Each row brings its class as
three one-hot inputs, so the compiled graph computes the right loss for every
row (a class index fixed at build time would be the same for all rows).
"""

import numpy as np

import microgradx
from microgradx import Value
from microgradx.datasets import make_spirals, one_hot
from microgradx.losses import l2, softmax_cross_entropy
from microgradx.nn import MLP
from microgradx.optim import Adam

classes = 3
X, y = make_spirals(300, classes=classes, noise=0.02, seed=0)

model = MLP(2, [32, 32, classes], activation="relu", seed=0)
xs = [Value(0.0, label="x1"), Value(0.0, label="x2")]
targets = [Value(0.0, label=f"y{k}") for k in range(classes)]
logits = model(xs)
loss = softmax_cross_entropy(logits, targets) + l2(model.parameters(), 1e-5)
step = microgradx.compile(loss, inputs=xs + targets)
predict = microgradx.compile(logits, inputs=xs)  # forward gives (rows, classes)
opt = Adam(model.parameters(), lr=0.02)

rows = np.column_stack([X, one_hot(y, classes)])
steps = 600
for k in range(steps):
    batch_loss = step.forward(rows).mean()
    model.zero_grad()
    step.backward()
    opt.lr = 0.02 * (1.0 - 0.9 * k / steps)
    opt.step()
    if k % 100 == 0 or k == steps - 1:
        accuracy = np.mean(np.argmax(predict.forward(X), axis=1) == y)
        print(f"step {k:3d}  loss {batch_loss:.4f}  accuracy {accuracy:.1%}")
