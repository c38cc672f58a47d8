from __future__ import annotations

from initlint.diagnostics import Severity
from initlint.facts.project import LossPairing
from initlint.facts.values import SCALED_SIGMOID
from initlint.loss_rule import LossPairingRule
from initlint.rule import Confirm, Invalid, Valid

FORWARD_SIGMOID = """\
import torch
from torch import nn


class ConversionScorer(nn.Module):
    def __init__(self, in_features=24, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return torch.sigmoid(self.body(x)).squeeze(-1)


def train(model, features, converted):
    criterion = nn.MSELoss()
    loss = criterion(model(features), converted)
    loss.backward()
"""

FUNCTIONAL_MSE = """\
import torch.nn.functional as F
from torch import nn

net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())


def step(x, y):
    loss = F.mse_loss(net(x), y)
    loss.backward()
"""

KERAS_SIGMOID_MSE = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(32, activation="relu", input_shape=(10,)),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="sgd", loss="mse")
"""

KERAS_FUNCTIONAL = """\
import tensorflow as tf

inputs = tf.keras.Input(shape=(10,))
hidden = tf.keras.layers.Dense(32, activation="relu")(inputs)
outputs = tf.keras.layers.Dense(1, activation="sigmoid")(hidden)
model = tf.keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss=tf.keras.losses.MeanSquaredError())
"""

KERAS_LOSS_LIST = """\
from keras import Sequential
from keras.layers import Dense

model = Sequential([Dense(32, activation="relu", input_shape=(12,)), Dense(1, activation="sigmoid")])
model.compile(loss=["mse"], optimizer="adam")
"""

KERAS_TWO_OUTPUT_LOSSES = """\
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(12,))
hidden = layers.Dense(32, activation="relu")(inputs)
clicked = layers.Dense(1, activation="sigmoid")(hidden)
model = keras.Model(inputs, [clicked, layers.Dense(1)(hidden)])
model.compile(loss=["binary_crossentropy", "mse"], optimizer="adam")
"""

KERAS_UNKNOWN_LAST_LAYERS = """\
from keras import Sequential
from keras.layers import Dense

model = Sequential([Dense(32, activation="relu", input_shape=(12,)), Dense(1, activation="sigmoid")])
for layer in extra_layers:
    model.add(layer)
model.compile(loss="mse", optimizer="adam")
"""

TF_EAGER = """\
import tensorflow as tf

w = tf.Variable(tf.random.normal([4, 1]))


def step(x, y):
    with tf.GradientTape() as tape:
        p = tf.sigmoid(tf.matmul(x, w))
        loss = tf.keras.losses.mean_squared_error(y, p)
    return tape.gradient(loss, [w])
"""

LOGITS_AND_REGRESSION = """\
import torch
from torch import nn


class ClickAndWatchTime(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(24, hidden), nn.ReLU())
        self.click = nn.Linear(hidden, 1)
        self.watch = nn.Linear(hidden, 1)

    def forward(self, x):
        h = self.trunk(x)
        return self.click(h), self.watch(h)

    @torch.no_grad()
    def click_probability(self, x):
        return torch.sigmoid(self(x)[0])


def train_step(model, x, clicked, minutes):
    click_logit, watch = model(x)
    loss = nn.BCEWithLogitsLoss()(click_logit, clicked) + nn.MSELoss()(watch, minutes)
    loss.backward()
"""

# A rating in [1, 5] as a scaled and shifted sigmoid: the squared error still carries σ'(z).
SCALED_RATING = """\
import torch
from torch import nn


class RatingModel(nn.Module):
    def __init__(self, n_users, n_items):
        super().__init__()
        self.users = nn.Embedding(n_users, 32)
        self.items = nn.Embedding(n_items, 32)

    def forward(self, u, i):
        score = (self.users(u) * self.items(i)).sum(1)
        return torch.sigmoid(score) * 4.0 + 1.0


def train_step(model, u, i, rating):
    return nn.MSELoss()(model(u, i), rating)
"""

GATE_THEN_MSE = """\
import torch
from torch import nn


class GatedRegressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.value = nn.Linear(16, 1)
        self.gate = nn.Linear(16, 1)

    def forward(self, x):
        return self.value(x) * torch.sigmoid(self.gate(x))


def train_step(model, x, y):
    loss = nn.MSELoss()(model(x), y)
    loss.backward()
"""

KERAS_LINEAR_MSE = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.Dense(32, activation="sigmoid", input_shape=(10,)), layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse")
"""


KERAS_INPUT_LAYER = """\
from tensorflow import keras

model = keras.models.Sequential()
model.add(keras.layers.InputLayer(input_shape=[36]))
model.add(keras.layers.Dense(47, activation="sigmoid"))
model.add(keras.layers.Dense(1, activation="sigmoid"))
model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.1))
"""

KERAS_INPUT_LAYER_LINEAR = """\
from tensorflow import keras

model = keras.models.Sequential([keras.layers.InputLayer(input_shape=(36,)), keras.layers.Dense(47, activation="sigmoid"),
                                 keras.layers.Dense(1)])
model.compile(loss="mse", optimizer="sgd")
"""


HAND_WRITTEN_MSE = """\
import tensorflow as tf
import torch

X = tf.placeholder("float", [None, 784])
W = tf.Variable(tf.random_normal([784, 784], stddev=0.01))
y_pred = tf.nn.sigmoid(tf.matmul(X, W))
loss = tf.reduce_mean(tf.pow(X - y_pred, 2))


def step(w, x, y):
    p = torch.sigmoid(x @ w)
    return ((p - y) ** 2).mean()


def cost(w, x, y):
    h = torch.sigmoid(x @ w)
    return ((h - y) * (h - y)).mean()
"""


# A symmetric loss with the prediction given second, on a raw-tensor model.
SWAPPED_MSE = """\
import torch
import torch.nn.functional as F

x = torch.randn(4, 10)
w = torch.randn(2, 10, requires_grad=True)
loss = F.mse_loss(torch.ones(4, 2), torch.sigmoid(x @ w.t()))
"""

# The sigmoid is on the target, the model's output is linear.
SIGMOID_TARGET = """\
import torch
import torch.nn.functional as F

x = torch.randn(4, 10)
w = torch.randn(2, 10, requires_grad=True)
loss = F.mse_loss(x @ w.t(), torch.sigmoid(torch.randn(4, 2)))
"""



# A loss function of the user's: Keras calls it with (y_true, y_pred), y_pred being the sigmoid output.
KERAS_CUSTOM_LOSS = """\
import tensorflow as tf
from tensorflow.keras import layers, models

inputs = tf.keras.Input(shape=(16,))
outputs = layers.Dense(16, activation="sigmoid")(layers.Dense(32, activation="relu")(inputs))
model = models.Model(inputs, outputs)


def reconstruction_loss(y_true, y_pred):
    return 100.0 * tf.keras.losses.mean_squared_error(y_true, y_pred)


model.compile(optimizer="adam", loss=reconstruction_loss)
"""



# A squared error only logged (its value read with .item()) beside the loss that trains: no
# gradient goes through it.
LOGGED_METRIC = """\
from torch import nn

generator = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid())
mse = nn.MSELoss()


def train_step(z, critic):
    critic(generator(z)).mean().backward()


def log_reconstruction(z, images, history):
    recon_loss = mse(generator(z), images)
    history.append(recon_loss.item())
    print(f"reconstruction {recon_loss.item():.4f}")
"""
# A demo that computes its loss and prints it: nothing else trains, so it is the loss it would train with.
PRINTED_DEMO_LOSS = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
x, y = torch.randn(8, 2), torch.rand(8, 1)
loss = nn.MSELoss()(model(x), y)
print(loss)
"""


class SigmoidMse(LossPairingRule):
    """
    ## What it does
    Flags a mean-squared-error loss computed on an output that went through a
    sigmoid last: `nn.Sigmoid` as the model's last layer, `torch.sigmoid` on
    the returned value, or Keras `activation='sigmoid'` on the last layer,
    with `nn.MSELoss`, `F.mse_loss`, Keras `'mse'` or `MeanSquaredError`, or a
    squared error written by hand (`((p - y) ** 2).mean()`, `tf.pow(y - p, 2)`). The
    model and the loss are linked through the model instance the loss is
    computed on, across functions and across files of the project.

    ## Why is this bad?
    The gradient of the squared error carries the sigmoid's derivative
    σ'(z) ≤ 0.25, which all but vanishes when the unit saturates: a
    confidently wrong output barely moves (for logit 6 and label 0,
    dL/dlogit is 0.005 against 0.998 with binary cross-entropy on the
    logit). Cross-entropy cancels that factor.

    ## Example
    ```python
    return torch.sigmoid(self.head(h))
    ...
    loss = nn.MSELoss()(model(x), clicked)
    ```

    ## Use instead
    For probabilities, return the logit and use `nn.BCEWithLogitsLoss`
    (Keras: `loss='binary_crossentropy'`). For regression, drop the sigmoid.

    ## Fix
    No automatic fix: the cure depends on whether the target is a probability
    (keep the logit, use a logits loss) or a regression target (drop the
    sigmoid).

    ## Confirmation
    `--confirm` builds the model the sigmoid belongs to (the finding's related
    location) and checks structurally: the sigmoid's output reaches the
    model's output at run time, and at a saturated wrong sample (logit 20,
    label 0) dL/dz through the sigmoid is about 4e-9 against 1/B with
    `BCEWithLogitsLoss` (at initialization the gradients of both losses are
    alike, so a gradient ratio would not tell). Confirmed when dL/dz is below
    a thousandth of the logits loss's; refuted when the sigmoid does not
    reach the output at run time; unverified when no sigmoid runs there.
    Keras models are judged on TensorFlow, through the model's own forward
    pass with the sigmoid's input held at 20 and the Keras loss; TF1 graphs
    with the sigmoid's input fed 20 and the loss tensor on the finding's
    line (against `sigmoid_cross_entropy_with_logits`).

    A sigmoid output scaled or shifted by a number (`torch.sigmoid(z) * 4 + 1`,
    a rating) counts too: the factor σ'(z) stays.

    ## Known problems
    A sigmoid whose output is multiplied by something else (a gate) is not
    the output activation and is not judged. A model imported from another
    file is linked only when that file is part of the same run.

    ## References
    - Glorot & Bengio, *Understanding the difficulty of training deep
      feedforward neural networks* (2010), cross-entropy against quadratic
      cost: https://proceedings.mlr.press/v9/glorot10a.html
    - PyTorch, `torch.nn.BCEWithLogitsLoss`: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    - Keras, probabilistic losses (`from_logits`): https://keras.io/api/losses/probabilistic_losses/
    """

    code = "IL301"
    name = "sigmoid-mse"
    severity = Severity.WARNING
    confirmation = Confirm(probe="loss_pairing", params={"loss": "mse"}, at_related=True, file_backend=True)
    message = "`{loss}` is a squared error on a sigmoid output (`{act}`): its gradient carries σ' ≤ 0.25 and vanishes when the unit saturates"
    VALID = [Valid(LOGGED_METRIC), Valid(LOGITS_AND_REGRESSION), Valid(GATE_THEN_MSE), Valid(KERAS_LINEAR_MSE), Valid(SIGMOID_TARGET), Valid(KERAS_TWO_OUTPUT_LOSSES), Valid(KERAS_UNKNOWN_LAST_LAYERS), Valid(KERAS_INPUT_LAYER_LINEAR)]
    INVALID = [
        Invalid(FORWARD_SIGMOID, at=[(16, 12)]),
        Invalid(PRINTED_DEMO_LOSS, at=[(6, 8)]),
        Invalid(FUNCTIONAL_MSE, at=[(8, 12)]),
        Invalid(KERAS_SIGMOID_MSE, at=[(8, 1)]),
        Invalid(KERAS_FUNCTIONAL, at=[(7, 1)]),
        Invalid(KERAS_LOSS_LIST, at=[(5, 1)]),
        Invalid(TF_EAGER, at=[(9, 16)]),
        Invalid(HAND_WRITTEN_MSE, at=[(7, 23), (12, 13), (17, 13)]),
        Invalid(SWAPPED_MSE, at=[(6, 8)]),
        Invalid(KERAS_INPUT_LAYER, at=[(7, 1)]),
        Invalid(KERAS_CUSTOM_LOSS, at=[(10, 20)]),
        Invalid(SCALED_RATING, at=[(17, 12)]),
    ]

    def applies(self, pairing: LossPairing) -> bool:
        return pairing.squash in ("sigmoid", "hardsigmoid", SCALED_SIGMOID) and pairing.loss == "mse"
