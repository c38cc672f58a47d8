from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from initlint.diagnostics import Severity
from initlint.facts import FileFacts, RootRef, module_names
from initlint.facts.values import ChainItem
from initlint.frameworks.keras import activation_argument
from initlint.rule import Confirm, Finding, Invalid, Option, Rule, Valid

SEQUENTIAL = """\
import torch
from torch import nn


class SigmoidMLP(nn.Module):
    def __init__(self, in_features=32, hidden=64, out_features=10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.Sigmoid(),
            nn.Linear(hidden, hidden),
            nn.Sigmoid(),
            nn.Linear(hidden, hidden),
            nn.Sigmoid(),
            nn.Linear(hidden, out_features),
        )

    def forward(self, x):
        return self.net(x)
"""

LOOP_BUILT = """\
from torch import nn

layers = []
for _ in range(30):
    layers += [nn.Linear(100, 100), nn.Sigmoid()]
net = nn.Sequential(*layers)
"""

FORWARD_CHAIN = """\
import torch
from torch import nn


class Deep(nn.Module):
    def __init__(self, sizes=(16, 32, 32, 32, 1)):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])])

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.sigmoid(layer(x))
        return self.layers[-1](x)
"""

KERAS_STACK = """\
import tensorflow as tf

model = tf.keras.Sequential()
model.add(tf.keras.layers.Dense(32, activation="sigmoid", input_shape=(1,)))
model.add(tf.keras.layers.Dense(32, activation="sigmoid"))
model.add(tf.keras.layers.Dense(32, activation="sigmoid"))
model.add(tf.keras.layers.Dense(1))
model.compile(loss="mse", optimizer="sgd")
"""

TF1_HELPER_ONE_LINE_LOOP = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 1])
y = tf.placeholder(tf.float32, [None, 1])


def add_layer(h, n):
    return tf.nn.tanh(tf.layers.dense(h, n, kernel_initializer=tf.random_normal_initializer(0.0, 0.1)))


h = x
for _ in range(8): h = add_layer(h, 10)
loss = tf.losses.mean_squared_error(y, tf.layers.dense(h, 1))
"""

TF1_HELPER_ONE_LINE_LOOP_NORMALIZED = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 1])
y = tf.placeholder(tf.float32, [None, 1])


def add_layer(h, n):
    h = tf.layers.dense(h, n, kernel_initializer=tf.random_normal_initializer(0.0, 0.1))
    return tf.nn.tanh(tf.layers.batch_normalization(h, training=True))


h = x
for _ in range(8): h = add_layer(h, 10)
loss = tf.losses.mean_squared_error(y, tf.layers.dense(h, 1))
"""

TF1_ACTIVATION_ARGUMENT = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 1])


class Net(object):
    def __init__(self):
        self.layers = [x]
        for _ in range(8):
            self.layers.append(self.add_layer(self.layers[-1], 10, ac=tf.nn.tanh))
        self.out = tf.layers.dense(self.layers[-1], 1)

    def add_layer(self, h, n, ac=None):
        h = tf.layers.dense(h, n)
        return h if ac is None else ac(h)


net = Net()
"""

KERAS_BUILDER = """\
from keras.layers import Dense
from keras.models import Sequential


def build_model(units):
    model = Sequential()
    for _ in range(4):
        model.add(Dense(units, activation="sigmoid"))
    model.add(Dense(1))
    model.compile(loss="mse", optimizer="sgd")
    return model
"""

KERAS_BUILDER_UNKNOWN_DEPTH = """\
from keras.layers import Dense
from keras.models import Sequential


def build_model(n_hidden, units):
    model = Sequential([Dense(units, activation="sigmoid", input_shape=(8,))])
    for _ in range(n_hidden):
        model.add(Dense(units, activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    return model
"""

TANH_FOUR = """\
from torch import nn

net = nn.Sequential(
    nn.Linear(32, 64), nn.Tanh(),
    nn.Linear(64, 64), nn.Tanh(),
    nn.Linear(64, 64), nn.Tanh(),
    nn.Linear(64, 64), nn.Tanh(),
    nn.Linear(64, 10),
)
"""

NORMALIZED = """\
from torch import nn

net = nn.Sequential(
    nn.Linear(32, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
    nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
    nn.Linear(64, 64), nn.BatchNorm1d(64), nn.Sigmoid(),
    nn.Linear(64, 1),
)
"""

RESIDUAL = """\
import torch
from torch import nn


class ResidualSigmoid(nn.Module):
    def __init__(self, dim=64, depth=6):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(dim, dim) for _ in range(depth)])

    def forward(self, h):
        for block in self.blocks:
            h = h + torch.sigmoid(block(h))
        return h
"""

SE_GATES = """\
import torch
from torch import nn


class SqueezeExcite(nn.Module):
    def __init__(self, channels=64, reduced=16):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(s))))


class GatedStack(nn.Module):
    def __init__(self, channels=64):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1) for _ in range(4)])
        self.gates = nn.ModuleList([SqueezeExcite(channels) for _ in range(4)])

    def forward(self, x):
        for conv, gate in zip(self.convs, self.gates):
            x = gate(torch.relu(conv(x)))
        return x
"""


# d2l's layout: the module names itself (`d2l = sys.modules[__name__]`) and its
# models inherit `forward` from a base written as `d2l.Module`.
SELF_ALIAS_BASE = """\
import sys
import torch.nn as nn

d2l = sys.modules[__name__]

class Module(nn.Module):
    def forward(self, x):
        return self.net(x)

class LeNet(d2l.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                                 nn.Linear(84, 60), nn.Sigmoid(), nn.Linear(60, 10))
"""

SELF_ALIAS_BASE_NORMALIZED = """\
import sys
import torch.nn as nn

d2l = sys.modules[__name__]

class Module(nn.Module):
    def forward(self, x):
        return self.net(x)

class LeNet(d2l.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(400, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
                                 nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
                                 nn.Linear(84, 60), nn.BatchNorm1d(60), nn.Sigmoid(), nn.Linear(60, 10))
"""

# No forward in the file (it comes from an imported base): the Sequential still runs in order.
NO_FORWARD_HERE = """\
import torch.nn as nn


class LeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
                                 nn.Linear(84, 60), nn.Sigmoid(), nn.Linear(60, num_classes))
"""

KERAS_SELF_ALIAS_BASE = """\
import sys
import tensorflow as tf

d2l = sys.modules[__name__]

class Module(tf.keras.Model):
    def call(self, X):
        return self.net(X)

class LeNet(sys.modules[__name__].Module):
    def __init__(self):
        super().__init__()
        self.net = tf.keras.models.Sequential([
            tf.keras.layers.Dense(120, activation="sigmoid"), tf.keras.layers.Dense(84, activation="sigmoid"),
            tf.keras.layers.Dense(60, activation="sigmoid"), tf.keras.layers.Dense(10)])
"""

KERAS_FUNCTIONAL_LOOP = """\
from tensorflow import keras
from tensorflow.keras import layers

inputs = keras.Input(shape=(16,))
x = inputs
for _ in range(4):
    x = layers.Dense(32, activation="sigmoid")(x)
model = keras.Model(inputs, layers.Dense(1)(x))
"""

TF1_BIAS_ADDS = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 64])
w = [tf.Variable(tf.random_normal([64, 64], stddev=0.1)) for _ in range(3)]
b = [tf.Variable(tf.random_normal([64])) for _ in range(3)]
h = tf.sigmoid(tf.matmul(x, w[0]) + b[0])
h = tf.sigmoid(tf.add(tf.matmul(h, w[1]), b[1]))
h = tf.sigmoid(tf.nn.bias_add(tf.matmul(h, w[2]), b[2]))
"""

TF1_RESIDUAL = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 64])
w = [tf.Variable(tf.random_normal([64, 64], stddev=0.1)) for _ in range(3)]
b = [tf.Variable(tf.zeros([64])) for _ in range(3)]
h = tf.sigmoid(tf.matmul(x, w[0]) + b[0])
h = h + tf.sigmoid(tf.matmul(h, w[1]) + b[1])
h = h + tf.sigmoid(tf.matmul(h, w[2]) + b[2])
"""


# d2l's LeNet: each layer written over two lines; the finding is on the line naming the sigmoid.
KERAS_MULTILINE_LAYERS = """\
import tensorflow as tf

model = tf.keras.models.Sequential([
    tf.keras.layers.Conv2D(filters=6, kernel_size=5,
                           activation="sigmoid", padding="same"),
    tf.keras.layers.AvgPool2D(pool_size=2, strides=2),
    tf.keras.layers.Conv2D(filters=16, kernel_size=5,
                           activation="sigmoid"),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(120, activation="sigmoid"),
    tf.keras.layers.Dense(84, activation="sigmoid"),
    tf.keras.layers.Dense(10)])
"""


class SaturatingStack(Rule):
    """
    ## What it does
    Flags three or more sigmoid activations (hard-sigmoid, `tf.sigmoid` and
    Keras `activation='sigmoid'` included) in sequence, or eight or more
    tanh/sigmoid activations, with no normalization layer and no residual
    connection between them: `Sequential` literals, layer lists built in
    loops, `forward` chains and Keras `Dense` stacks.

    ## Why is this bad?
    Each sigmoid scales the backward signal by σ'(z) ≤ 0.25, so the first
    layers of the stack receive a vanishing gradient and stop learning
    (measured: with four sigmoid `Dense` layers the first layer's gradient
    is about 1e-3 of the last's). tanh'(0) = 1, so short tanh stacks train;
    long ones decay too (16 tanh layers keep about 8e-4 of the gradient at
    default init).

    ## Example
    ```python
    nn.Sequential(nn.Linear(32, 64), nn.Sigmoid(), nn.Linear(64, 64), nn.Sigmoid(),
                  nn.Linear(64, 64), nn.Sigmoid(), nn.Linear(64, 1))
    ```

    ## Use instead
    ReLU/GELU hidden activations, or a normalization layer (BatchNorm,
    LayerNorm) or a residual connection inside the stack.

    ## Fix
    No automatic fix.

    ## Confirmation
    `--confirm` builds the outermost model that uses the stack and, for each
    of five seeds, backpropagates a squared error against random targets
    (an objective that does not cancel across the batch) on inferred inputs.
    It compares the weight-gradient norm of the stack's first weight layer
    with its last: confirmed when the median ratio over the seeds is below
    `vanishing-ratio` (default 0.1), refuted otherwise (the finding then no
    longer fails the run); the evidence lists the per-layer norms. Unverified
    when the model cannot be built or fewer than two of the stack's weight
    layers can be measured. A Keras model written with tf ops
    (`activation=tf.nn.sigmoid`) is measured the same way on TensorFlow, over
    the kernels of the weight layers in the order its forward pass calls them.

    The static trigger and the threshold agree on what a vanishing stack is.
    Measured: three-sigmoid toy nets keep 0.016-0.085 of the gradient at the
    first layer, four-sigmoid stacks 1.6e-4-6.9e-3, while a plain four-tanh
    stack at default init keeps about half of it. A threshold of 0.1 confirms
    every stack the rule flags by count and still refutes one that does not
    saturate (a sigmoid chain behind N(0, 1) weights measured 1.13).

    ## Known problems
    A sigmoid used as a multiplicative gate (squeeze-and-excitation, GLU,
    LSTM gates) is not counted.

    ## References
    - Glorot & Bengio, *Understanding the difficulty of training deep
      feedforward neural networks* (2010), saturation of sigmoid layers:
      https://proceedings.mlr.press/v9/glorot10a.html
    - Ioffe & Szegedy, *Batch Normalization* (2015): https://arxiv.org/abs/1502.03167
    - He et al., *Deep Residual Learning for Image Recognition* (2016):
      https://arxiv.org/abs/1512.03385
    """

    code = "IL302"
    name = "saturating-stack"
    severity = Severity.WARNING
    options = (
        Option("saturating-stack-min", int, 3, "sigmoid activations in a row"),
        Option("tanh-stack-min", int, 8, "tanh and sigmoid activations in a row"),
        Option("vanishing-ratio", float, 0.1, "the first/last gradient-norm ratio that confirms a finding"),
    )
    confirmation = Confirm(probe="vanishing", threshold="vanishing-ratio", outward=True,
                           plot=("grad_norms", "weight-gradient norm", "#c0392b"))
    message = "{count} {what} activations in a row with no normalization or residual path: each scales the gradient by at most {factor}, so the first layers of the stack barely learn"
    VALID = [Valid(TANH_FOUR), Valid(NORMALIZED), Valid(RESIDUAL), Valid(SE_GATES), Valid(TF1_RESIDUAL), Valid(TF1_HELPER_ONE_LINE_LOOP_NORMALIZED), Valid(KERAS_BUILDER_UNKNOWN_DEPTH),
             Valid(SELF_ALIAS_BASE_NORMALIZED)]
    INVALID = [
        Invalid(SEQUENTIAL, at=[(10, 13)]),
        Invalid(LOOP_BUILT, at=[(5, 37)], also=[("IL402", 5, 16)]),
        Invalid(FORWARD_CHAIN, at=[(12, 17)]),
        Invalid(KERAS_STACK, at=[(4, 48)]),
        Invalid(KERAS_MULTILINE_LAYERS, at=[(5, 39)]),
        Invalid(KERAS_FUNCTIONAL_LOOP, at=[(7, 37)]),
        Invalid(TF1_BIAS_ADDS, at=[(6, 5)]),
        Invalid(TF1_ACTIVATION_ARGUMENT, at=[(15, 37)]),
        Invalid(KERAS_BUILDER, at=[(8, 43)]),
        Invalid(TF1_HELPER_ONE_LINE_LOOP, at=[(8, 12)], also=[("IL402", 8, 23)]),
        Invalid(SELF_ALIAS_BASE, at=[(13, 55)]),
        Invalid(KERAS_SELF_ALIAS_BASE, at=[(14, 51)]),
        Invalid(NO_FORWARD_HERE, at=[(7, 55)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        sigmoid_min = self.option(facts.settings, "saturating-stack-min")
        tanh_min = self.option(facts.settings, "tanh-stack-min")
        gates = _gate_nodes(facts)
        stacks: dict[int, tuple[list[ChainItem], list[ChainItem], int, RootRef]] = {}
        for event in facts.activations:
            if event.kind not in ("sigmoid", "hardsigmoid", "tanh"):
                continue
            step = "tanh" if event.kind == "tanh" else "sigmoid"
            acts, weights = _stack(event.input.chain + (ChainItem(step, event.node, event.node),), gates)
            sigmoids = sum(1 for item in acts if item.kind == "sigmoid")
            if sigmoids < sigmoid_min and len(acts) < tanh_min:
                continue
            first = id(acts[0].node)
            if first not in stacks or len(acts) > len(stacks[first][0]):
                stacks[first] = (acts, weights, sigmoids, event.where)
        # One finding per stack: drop a stack that starts inside a longer one.
        inner = {id(item.node) for acts, _, _, _ in stacks.values() for item in acts[1:]}
        for first, (acts, weights, sigmoids, where) in stacks.items():
            if first in inner and len({id(item.node) for item in acts}) > 1:
                continue
            is_sigmoid = sigmoids >= sigmoid_min
            layers = [item.layer for item in weights if item.layer is not None]
            names = module_names(where.root) if where.root is not None else {}
            # A Keras layer's sigmoid is reported where it is named, on its `activation=` line.
            yield self.report(
                activation_argument(acts[0].node),
                related=[(activation_argument(acts[-1].node), "the stack ends here")] if acts[-1].node is not acts[0].node else [],
                subject=facts.subject(
                    where,
                    [p for layer in layers for p in layer.params.values() if p.role == "weight"],
                    list(dict.fromkeys(names[layer.uid] for layer in layers if names.get(layer.uid))),
                ),
                count=sigmoids if is_sigmoid else len(acts),
                what="sigmoid" if is_sigmoid else "tanh/sigmoid",
                factor="0.25" if is_sigmoid else "1, and less once saturated",
            )


def _stack(chain: tuple[Any, ...], gates: set[int]) -> tuple[list[ChainItem], list[ChainItem]]:
    """The saturating activations of the chain's last run since a normalization (gates
    skipped), earliest first, and the weight layers that feed them."""
    run: list[ChainItem] = []
    for item in reversed(chain):
        if item.kind == "norm":
            break
        run.append(item)
    run.reverse()
    acts = [item for item in run if item.kind in ("sigmoid", "tanh") and id(item.node) not in gates]
    if not acts:
        return [], []
    last = max(i for i, item in enumerate(run) if item is acts[-1])
    return acts, [item for item in run[:last] if item.kind == "weight"]


def _gate_nodes(facts: FileFacts) -> set[int]:
    """Sigmoid/tanh activations whose output multiplies another live tensor (SE, GLU, LSTM gates)."""
    gates: set[int] = set()
    for product in facts.products:
        if product.op != "mul" or len(product.factors) < 2:
            continue
        for factor in product.factors:
            if factor.chain and factor.chain[-1].kind in ("sigmoid", "tanh"):
                gates.add(id(factor.chain[-1].node))
    return gates
