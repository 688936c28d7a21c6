"""1-D regression with the quadratic loss (ŷ − y)²: fit y = sin(3x) from 40 noisy points."""

import numpy as np

import microgradx
from microgradx import Value
from microgradx.losses import mse
from microgradx.nn import MLP
from microgradx.optim import Adam

rng = np.random.default_rng(0)
x = np.linspace(-1.0, 1.0, 40)
y = np.sin(3 * x) + rng.normal(0.0, 0.05, x.size)

model = MLP(1, [16, 16, 1], activation="tanh", seed=0)
xv, yv = Value(0.0, label="x"), Value(0.0, label="y")
prediction = model([xv])
step = microgradx.compile(mse(prediction, yv), inputs=[xv, yv])
predict = microgradx.compile(prediction, inputs=[xv])
opt = Adam(model.parameters(), lr=0.01)

for k in range(1000):
    batch_loss = step.forward(np.column_stack([x, y])).mean()
    model.zero_grad()
    step.backward()
    opt.step()
    if k % 200 == 0 or k == 999:
        print(f"step {k:4d}  mean squared error {batch_loss:.5f}")

grid = np.linspace(-1.0, 1.0, 5)
fit = predict.forward(grid[:, None])
for xi, fi in zip(grid, fit, strict=True):
    print(f"x = {xi:+.2f}   model {fi:+.3f}   sin(3x) {np.sin(3 * xi):+.3f}")
