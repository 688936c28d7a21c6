"""Breast cancer diagnoses: malignant or benign from 30 measurements of cell nuclei.

Two classes, so one output: a score whose sign says benign (> 0) or malignant,
trained with `bce_with_logits` (binary cross-entropy on the score, stable for any
score) and Adam. scikit-learn splits (stratified, a quarter held out) and
standardises; `fit` runs 200 full-batch steps on the 426 training rows in one call.
"""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import microgradx
from microgradx import Value, metrics
from microgradx.datasets import load_breast_cancer
from microgradx.losses import bce_with_logits, l2
from microgradx.nn import MLP
from microgradx.optim import Adam

X, y = load_breast_cancer()  # X (569, 30); y 0 malignant, 1 benign
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

model = MLP(30, [16, 1], seed=0)
xs = [Value(0.0, label=f"x{i + 1}") for i in range(30)]
target = Value(0.0, label="y")
loss = bce_with_logits(model(xs), target) + l2(model.parameters(), 1e-3)
step = microgradx.compile(loss, inputs=xs + [target])
losses = step.fit(np.column_stack([X_train, y_train]), Adam(model.parameters(), lr=0.01), 200)

scores = metrics.scores(model, X_test)  # (143,): one score per test row, one compiled call
predicted = metrics.labels(scores)  # 1 (benign) where the score is above 0
cm = metrics.confusion_matrix(y_test, predicted, classes=2)
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f} in {len(losses)} steps")
print(f"test accuracy {metrics.accuracy(y_test, predicted):.1%} on {len(y_test)} patients never trained on")
print(f"malignant taken for benign: {cm[0, 1]} of {cm[0].sum()}")
print(f"benign taken for malignant: {cm[1, 0]} of {cm[1].sum()}")
