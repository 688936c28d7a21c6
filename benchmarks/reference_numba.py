"""The limit line: one training step of an MLP(2, [h1, h2, 1]) written by hand in numba.

Hidden layers relu, output linear, loss = mean over rows of max(0, 1 − y·s) plus
alpha·Σp² once, then p ← p − lr·∂loss/∂p. Forward, backward and update run in one
compiled call, a layer at a time, with the rows as SIMD lanes: every activation is
stored as (units, rows), so each inner loop runs over contiguous rows, and each
such loop does four multiply-adds per row (four inputs or four units at a time) so
it is not bound by loads and stores. Rows go through in blocks of `BLOCK` so a
block's activations stay in cache; the weight gradients are summed over the blocks.

No BLAS: at width 256 a matrix multiply (NumPy, PyTorch, JAX) beats these loops.

The parameters are one flat array in microgradx's (and micrograd's) order: layer by
layer, neuron by neuron, its weights then its bias. A layer's block of that array is
therefore a (units, inputs + 1) matrix: weights in the first columns, bias in the last.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BLOCK = 256  # rows per block: a width-64 layer's block is 128 KB
LINE = 8  # float64s in a 64-byte cache line

# Reassociating sums lets the reductions over rows vectorise (microgradx's kernels do the same).
jit = njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"}, inline="always")
def combine(out, c, rows, m):
    """out[:m] += Σ_k c[k]·rows[k, :m], four rows at a time, so each pass over `out` does four
    multiply-adds (and is not bound by its loads and stores)."""
    n = c.size
    fours = n - n % 4
    for k in range(0, fours, 4):
        c0, c1, c2, c3 = c[k], c[k + 1], c[k + 2], c[k + 3]
        r0, r1, r2, r3 = rows[k], rows[k + 1], rows[k + 2], rows[k + 3]
        for i in range(m):
            out[i] += c0 * r0[i] + c1 * r1[i] + c2 * r2[i] + c3 * r3[i]
    for k in range(fours, n):
        ck, rk = c[k], rows[k]
        for i in range(m):
            out[i] += ck * rk[i]


@jit
def dense_forward(w, x, out, m, relu):
    """out[j, :m] = f(Σ_k w[j,k]·x[k, :m] + w[j, -1]) (the last column is the bias); f = relu or identity."""
    nin = x.shape[0]
    for j in range(out.shape[0]):
        o = out[j]
        for i in range(m):
            o[i] = w[j, nin]
        combine(o, w[j, :nin], x, m)
        if relu:
            for i in range(m):
                o[i] = o[i] if o[i] > 0.0 else 0.0


@jit
def weight_grads(gw, x, dout, m):
    """gw[j, k] += Σ_i dout[j, i]·x[k, i] and gw[j, -1] += Σ_i dout[j, i]: d(w·x + b) = x dw + db.

    Four inputs at a time, so each pass over a row of `dout` feeds four sums."""
    nin = x.shape[0]
    fours = nin - nin % 4
    for j in range(dout.shape[0]):
        d = dout[j]
        total = 0.0
        for i in range(m):
            total += d[i]
        gw[j, nin] += total
        for k in range(0, fours, 4):
            x0, x1, x2, x3 = x[k], x[k + 1], x[k + 2], x[k + 3]
            s0 = s1 = s2 = s3 = 0.0
            for i in range(m):
                s0 += d[i] * x0[i]
                s1 += d[i] * x1[i]
                s2 += d[i] * x2[i]
                s3 += d[i] * x3[i]
            gw[j, k] += s0
            gw[j, k + 1] += s1
            gw[j, k + 2] += s2
            gw[j, k + 3] += s3
        for k in range(fours, nin):
            xk = x[k]
            total = 0.0
            for i in range(m):
                total += d[i] * xk[i]
            gw[j, k] += total


@jit
def input_grads(w, x, dout, dx, m):
    """dx[k, :m] = Σ_j w[j,k]·dout[j, :m], times relu'(x's pre-activation) = 1[x > 0]: d(w·x) = w dx."""
    for k in range(x.shape[0]):
        dxk, xk = dx[k], x[k]
        for i in range(m):
            dxk[i] = 0.0
        combine(dxk, w[:, k], dout, m)
        for i in range(m):
            dxk[i] = dxk[i] if xk[i] > 0.0 else 0.0  # d relu = 1[a > 0], and a > 0 exactly where x > 0


@jit
def hinge(s, y, ds, m, n):
    """Σ over m rows of max(0, 1 − y·s); ds = the gradient of the mean over all n rows:
    −y/n inside the margin, else 0."""
    total = 0.0
    for i in range(m):
        margin = 1.0 - y[i] * s[i]
        total += margin if margin > 0.0 else 0.0
        ds[i] = -y[i] / n if margin > 0.0 else 0.0
    return total


@jit
def sgd_l2(p, g, lr, alpha):
    """Add the penalty alpha·Σp² (its gradient 2·alpha·p) and take the SGD step; returns the penalty."""
    penalty = 0.0
    for q in range(p.size):
        penalty += p[q] * p[q]
        p[q] -= lr * (g[q] + 2.0 * alpha * p[q])
    return alpha * penalty


@jit
def mlp_step(p, g, x, y, xb, h1, h2, s, ds, d2, d1, lr, alpha):
    """One SGD step of MLP(2, [h1, h2, 1]) on rows x (2, n), labels y (n,); returns the step's loss.

    Work arrays, one block of rows each: the inputs xb (2, B), activations h1, h2 (units, B)
    and output s (1, B); ds, d2, d1 the gradients in the output's, second and first layers'
    pre-activations. g receives ∂L/∂p."""
    nin, n1, n2 = x.shape[0], h1.shape[0], h2.shape[0]
    n, block = x.shape[1], xb.shape[1]
    o1 = n1 * (nin + 1)
    o2 = o1 + n2 * (n1 + 1)
    w1, w2, w3 = p[:o1].reshape(n1, nin + 1), p[o1:o2].reshape(n2, n1 + 1), p[o2:].reshape(1, n2 + 1)
    g1, g2, g3 = g[:o1].reshape(n1, nin + 1), g[o1:o2].reshape(n2, n1 + 1), g[o2:].reshape(1, n2 + 1)
    g[:] = 0.0
    data_loss = 0.0
    for start in range(0, n, block):
        m = min(block, n - start)
        for k in range(nin):
            for i in range(m):
                xb[k, i] = x[k, start + i]
        dense_forward(w1, xb, h1, m, True)
        dense_forward(w2, h1, h2, m, True)
        dense_forward(w3, h2, s, m, False)
        data_loss += hinge(s[0], y[start:], ds[0], m, n)
        weight_grads(g3, h2, ds, m)
        input_grads(w3, h2, ds, d2, m)
        weight_grads(g2, h1, d2, m)
        input_grads(w2, h1, d2, d1, m)
        weight_grads(g1, xb, d1, m)
    return data_loss / n + sgd_l2(p, g, lr, alpha)


def aligned_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """np.zeros(shape) starting on a cache line (NumPy promises 16 bytes): whole-vector loads."""
    size = int(np.prod(shape))
    buffer = np.zeros(size + LINE)
    start = (-buffer.ctypes.data % (8 * LINE)) // 8
    return buffer[start : start + size].reshape(shape)


class Reference:
    """The hand-written step bound to its data and state; `step()` runs one and returns the loss."""

    def __init__(
        self,
        params: np.ndarray,
        X: np.ndarray,
        Y: np.ndarray,
        hidden: tuple[int, int],
        lr: float,
        alpha: float,
    ) -> None:
        """params in microgradx's order, rows X (n, 2), labels Y (n,) in {-1, +1}."""
        n1, n2, nin = *hidden, X.shape[1]
        # Every array starts on a cache line and every unit's row of a block too (a block is
        # rounded up to whole lines), as microgradx's workspace does: without this the step
        # runs 5-10 % slower or faster from run to run, with where NumPy happens to put them.
        block = -(-min(BLOCK, X.shape[0]) // LINE) * LINE
        self.params, self.grad = aligned_zeros(np.shape(params)), aligned_zeros(np.shape(params))
        self.params[:] = params
        self.x, self.y = aligned_zeros((nin, X.shape[0])), aligned_zeros(Y.shape)
        self.x[:], self.y[:] = X.T, Y
        self.work = tuple(
            aligned_zeros((units, block)) for units in (nin, n1, n2, 1, 1, n2, n1)
        )  # xb, h1, h2, s, ds, d2, d1
        self.lr, self.alpha = float(lr), float(alpha)

    def step(self) -> float:
        return mlp_step(self.params, self.grad, self.x, self.y, *self.work, self.lr, self.alpha)
