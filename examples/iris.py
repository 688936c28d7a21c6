"""Fisher's irises: three species told apart by four measurements, on flowers the network never saw.

scikit-learn holds back a quarter of the flowers (stratified: as many of each
species) and standardises the measurements with the training flowers' means and
deviations. A 4-8-3 network learns the rest with softmax cross-entropy and Adam,
all 112 training rows in every step (`fit`: 300 steps in one call).
"""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import microgradx
from microgradx import Value, metrics
from microgradx.datasets import load_iris, one_hot
from microgradx.losses import l2, softmax_cross_entropy
from microgradx.nn import MLP
from microgradx.optim import Adam

X, y = load_iris()  # X (150, 4): sepal length, sepal width, petal length, petal width (cm)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

model = MLP(4, [8, 3], seed=0)
xs = [Value(0.0, label=name) for name in ("sepal_length", "sepal_width", "petal_length", "petal_width")]
ys = [Value(0.0, label=f"y{k}") for k in range(3)]  # the species, one-hot: each row brings its own
loss = softmax_cross_entropy(model(xs), ys) + l2(model.parameters(), 1e-4)
step = microgradx.compile(loss, inputs=xs + ys)
losses = step.fit(np.column_stack([X_train, one_hot(y_train, 3)]), Adam(model.parameters(), lr=0.01), 300)

predicted = metrics.predict(model, X_test)  # all 38 test flowers in one compiled call
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f} in {len(losses)} steps")
print(f"test accuracy {metrics.accuracy(y_test, predicted):.1%} on {len(y_test)} flowers never trained on")
print("confusion matrix (rows: true species setosa, versicolor, virginica; columns: predicted)")
print(metrics.confusion_matrix(y_test, predicted, classes=3))
