from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import libcst as cst

from initlint.diagnostics import Severity
from initlint.facts import FileFacts, RootRef
from initlint.facts.values import Const, Obj, Param
from initlint.rule import Confirm, Finding, Invalid, Rule, Valid

SEED_003_CONSTANT_MLP = """\
import torch
from torch import nn


class ConstantInitMLP(nn.Module):
    def __init__(self, in_features=16, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, 1)
        for layer in (self.hidden, self.out):
            nn.init.constant_(layer.weight, 0.1)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.out(torch.sigmoid(self.hidden(x)))
"""

ZERO_HIDDEN_SIGMOID = """\
import torch
from torch import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.zeros(16, 32))
        self.w2 = nn.Parameter(torch.zeros(32, 4))

    def forward(self, x):
        return torch.sigmoid(x @ self.w1) @ self.w2
"""

APPLY_FILL = """\
from torch import nn


class ConstantCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, nn.Conv2d):
            m.weight.data.fill_(0.05)

    def forward(self, x):
        return self.conv2(self.conv1(x).relu())
"""

HAND_MADE_ONES = """\
import torch
from torch import nn


class HandMade(nn.Module):
    def __init__(self, n_in=8, n_out=16):
        super().__init__()
        self.w = nn.Parameter(torch.ones(n_in, n_out))

    def forward(self, x):
        return torch.relu(x @ self.w)
"""

KERAS_ONES_KERNEL = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(64, activation="relu", kernel_initializer="ones", input_shape=(10,)),
    layers.Dense(1),
])
model.compile(optimizer="sgd", loss="mse")
"""

KERAS_ZERO_HIDDEN = """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.layers.Dense(32, activation="tanh", kernel_initializer="zeros", input_shape=(4,)),
    tf.keras.layers.Dense(32, activation="tanh", kernel_initializer=tf.keras.initializers.Constant(0.3)),
    tf.keras.layers.Dense(3),
])
"""

NORM_AND_BIAS = """\
import torch
from torch import nn


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, bias=False)
        self.bn = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, 10)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        self.bn.weight.data.fill_(1.0)
        self.bn.bias.data.zero_()
        nn.init.constant_(self.fc.bias, 0.0)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))
"""

LAYER_SCALE_REZERO = """\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.gamma = nn.Parameter(1e-5 * torch.ones(dim))
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + self.alpha * (self.gamma * torch.relu(self.fc(x)))
"""

ZERO_RESIDUAL_AND_HEAD = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, dim=32, n_cls=10):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)
        self.head = nn.Linear(dim, n_cls)
        nn.init.zeros_(self.head.weight)

    def forward(self, x):
        x = x + self.fc2(torch.relu(self.fc1(x)))
        return self.head(x)
"""

FROZEN_AND_SINGLE_UNIT = """\
import torch
from torch import nn


class Smoother(nn.Module):
    def __init__(self):
        super().__init__()
        self.blur = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        nn.init.constant_(self.blur.weight, 1.0 / 9)
        self.blur.weight.requires_grad = False
        self.score = nn.Linear(3, 1)
        nn.init.constant_(self.score.weight, 0.5)

    def forward(self, x):
        return self.score(self.blur(x).mean((2, 3)))
"""

CONSTANT_KINDS = ("zero", "const")
KERAS_INIT_KEYWORDS = ("kernel_initializer", "depthwise_initializer", "pointwise_initializer", "recurrent_initializer")


TF1_LAYERS_DENSE = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 10])
h = tf.layers.dense(x, 64, kernel_initializer=tf.constant_initializer(0.1), activation=tf.nn.relu)
y = tf.layers.dense(h, 1)
"""

COMPAT_V1_GET_VARIABLE = """\
import tensorflow as tf

x = tf.compat.v1.placeholder(tf.float32, [None, 784])
w = tf.compat.v1.get_variable("w", [784, 256], initializer=tf.compat.v1.constant_initializer(0.1))
h = tf.nn.relu(tf.matmul(x, w))
"""

PLAIN_CLASS_BUILDER = """\
from tensorflow.compat import v1 as tf


class Net:
    def build(self, features):
        conv1 = tf.layers.conv2d(features, 32, 5, kernel_initializer=tf.constant_initializer(0.1))
        return tf.layers.dense(tf.layers.flatten(conv1), 10)
"""


# A builder nobody calls in the file (another file does) that re-initialises the model it returns.
BUILDER_REINIT = """\
import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))

    def forward(self, x):
        return self.main(x)


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.5)


def discriminator_init(device):
    net = Discriminator().to(device)
    net.apply(weights_init)
    return net
"""


# The IBM PyTorch course's way to set a weight: in place, through the state dict.
STATE_DICT_SLICE = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.ModuleList([nn.Linear(8, 16), nn.Linear(16, 16), nn.Linear(16, 3)])

    def forward(self, x):
        for layer in self.hidden[:-1]:
            x = torch.sigmoid(layer(x))
        return self.hidden[-1](x)


model = Net()
model.state_dict()["hidden.0.weight"][:] = 1.0
model.state_dict()["hidden.0.bias"][:] = 0.0
"""


KERAS_KERNEL_LOSS = """\
import tensorflow as tf
from tensorflow import keras

inputs = keras.Input(shape=(8,))
hidden = keras.layers.Dense(16, kernel_initializer="zeros", activation="relu")
model = keras.Model(inputs, keras.layers.Dense(1)(hidden(inputs)))
model.add_loss(lambda: 100 * tf.reduce_mean(hidden.kernel))
model.compile(loss="mse", optimizer="sgd")
"""


class ConstantWeight(Rule):
    """
    ## What it does
    Flags a weight that mixes its inputs (`Linear`, `Conv*`, `Dense`, RNN
    weights, a hand-made parameter used in a matmul) initialized to one
    constant: `nn.init.constant_`, `ones_`, `zeros_`, `.fill_(c)`, a whole
    slice set in place (`w[:] = c`, `model.state_dict()["fc.weight"][:] = c`),
    `torch.full`/`torch.ones` parameters, Keras `'ones'`/`'zeros'`/
    `Constant(c)` kernel initializers, `tf.constant_initializer`. A non-zero
    constant is always flagged; a zero weight only when its layer is hidden,
    that is when its output feeds the next weight layer on its own.

    ## Why is this bad?
    Every unit of the layer computes the same function of the input and
    receives the same gradient, so the units stay identical after every
    update: a 32-unit hidden layer trains like one unit. Measured: with
    `constant_(w, 0.1)` the largest difference between two hidden rows is
    still exactly 0.0 after 200 SGD steps, although the weights moved.
    The symmetry is only permanent when nothing downstream breaks it (a
    random next layer gives each unit its own gradient), so the static
    finding is a warning and `--confirm` settles it (see Confirmation).

    ## Example
    ```python
    self.hidden = nn.Linear(16, 32)
    nn.init.constant_(self.hidden.weight, 0.1)
    ```

    ## Use instead
    A random, fan-in-scaled initializer: keep the framework default, or
    `nn.init.kaiming_uniform_` / `xavier_uniform_` (Keras `'glorot_uniform'`,
    `'he_normal'`). Constant starts are for biases and normalization layers.

    ## Fix
    No automatic fix.

    ## Confirmation
    `--confirm` builds the outermost model that uses the flagged layer (what
    follows the layer decides whether its symmetry lasts), runs one forward
    and backward pass on inferred inputs and one SGD step, and compares the
    layer's units: the rows of the weight, or its columns for a hand-made
    `x @ W` and for Keras kernels, within each gate for LSTM and GRU weights.
    Still identical (to within 1e-6, times the weight's largest value when
    that is above 1): confirmed, and the severity becomes error. Different:
    refuted, the severity becomes info and the finding no longer fails the
    run. The next layer's weights on the units count too: when they were
    equal at init and parted in the step (random biases feed the units apart),
    the units get different gradients at the next step, so a second step is
    taken and judged. Unverified when the model cannot be built or the weight
    has fewer than two units; when some judged layers stay identical while others part
    (a later layer's rows may part while its columns, one per unit of the
    earlier layer, keep that layer symmetric); when a nonzero constant weight
    does not move in the step, on the probe inputs or on their absolute values
    (its ReLUs may all be dead on them); when only outputs the model returns
    besides what the script's loss takes separate the units (each output is
    measured alone when the file does not show which one the loss takes); for a model with an LSTM, GRU or
    RNN layer (one fused operation, not traced); and for a TF1 graph with
    dropout whose keep probability the script feeds. A tf.keras model that
    uses TensorFlow ops is measured the same way on TensorFlow (its kernels'
    columns; the output layer's rows).

    ## Known problems
    Left alone on purpose: weights of a model whose instance in the file
    loads a checkpoint (`load_state_dict`), normalization-layer affine parameters, biases,
    element-wise scales (LayerScale's `1e-5 * ones`, ReZero's scalar),
    embeddings, layers with a single output unit, frozen parameters and
    buffers, and zero-initialized layers whose output is added to a live
    path or used as a gate (ControlNet's zero convolutions, adaLN-Zero,
    zero-initialized residual branches, a zero output head after a random
    body). A weight initialized under a condition the analysis cannot decide
    is not flagged.

    ## References
    - Goodfellow, Bengio, Courville, *Deep Learning* (2016), 8.4 (breaking
      symmetry): https://www.deeplearningbook.org/contents/optimization.html
    - PyTorch, `torch.nn.init`: https://pytorch.org/docs/stable/nn.init.html
    - Keras, layer weight initializers: https://keras.io/api/layers/initializers/
    """

    code = "IL201"
    name = "constant-weight"
    severity = Severity.WARNING
    # RULES.md: warning statically; error when confirmed; info when refuted.
    confirmation = Confirm(probe="symmetry", outward=True, severity_when_confirmed=Severity.ERROR,
                           severity_when_refuted=Severity.INFO)
    message = "{names} {verb} initialized to the constant {value}: every unit of the layer computes the same function and gets the same gradient; use a random fan-in-scaled init (the default, Kaiming or Xavier)"
    VALID = [
        Valid(NORM_AND_BIAS),
        Valid(LAYER_SCALE_REZERO),
        Valid(ZERO_RESIDUAL_AND_HEAD),
        Valid(FROZEN_AND_SINGLE_UNIT),
        Valid(BUILDER_REINIT.replace("nn.init.constant_(m.weight, 0.5)", "nn.init.xavier_uniform_(m.weight)")),
        # One row set (the course's `state_dict()['linear.weight'][0] = ...`): the others stay random.
        Valid(STATE_DICT_SLICE.replace('["hidden.0.weight"][:]', '["hidden.0.weight"][0]')),
    ]
    INVALID = [
        Invalid(SEED_003_CONSTANT_MLP, at=[(11, 13)]),
        Invalid(ZERO_HIDDEN_SIGMOID, at=[(8, 32)]),
        Invalid(APPLY_FILL, at=[(13, 13)]),
        Invalid(HAND_MADE_ONES, at=[(8, 31)]),
        Invalid(KERAS_ONES_KERNEL, at=[(5, 41)]),
        Invalid(TF1_LAYERS_DENSE, at=[(4, 28)]),
        Invalid(KERAS_ZERO_HIDDEN, at=[(4, 50), (5, 50)]),
        # The kernel gets a direct, uniform gradient from `add_loss`: it moves, but its units stay equal (no IL102).
        Invalid(KERAS_KERNEL_LOSS, at=[(5, 33)]),
        Invalid(COMPAT_V1_GET_VARIABLE, at=[(4, 5)]),
        Invalid(PLAIN_CLASS_BUILDER, at=[(6, 51)]),
        Invalid(BUILDER_REINIT, at=[(15, 9)]),
        Invalid(STATE_DICT_SLICE, at=[(17, 1)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        zero_fed = {id(e.weight) for e in facts.zero_feeds}
        hand_made = {id(e.weight) for e in facts.layer_calls if e.layer is None}
        groups: dict[int, tuple[cst.CSTNode, RootRef, list[Param]]] = {}
        for param, where in initialized_params(facts):
            node = param.init.node
            if node is None or not self._is_symmetric(param, zero_fed, hand_made):
                continue
            key = id(node)
            if key not in groups:
                groups[key] = (node, where, [])
            if all(p is not param for p in groups[key][2]):
                groups[key][2].append(param)
        for node, where, params in groups.values():
            names = list(dict.fromkeys(f"`{facts.display_name(p, where)}`" for p in params))
            value = params[0].init.value if params[0].init.kind == "const" else 0.0
            yield self.report(
                initializer_location(node),
                subject=facts.subject(where, params),
                names=", ".join(names[:4]) + (" …" if len(names) > 4 else ""),
                verb="is" if len(names) == 1 else "are",
                value=f"{value:g}" if isinstance(value, (int, float)) else "value",
            )

    @staticmethod
    def _is_symmetric(param: Param, zero_fed: set[int], hand_made: set[int]) -> bool:
        """A trainable mixing weight with more than one output unit, set to one constant that sticks."""
        init = param.init
        if init.kind not in CONSTANT_KINDS or init.conditional or not param.trainable:
            return False
        if param.role == "raw":
            # A hand-made tensor mixes only when it is used as a matmul operand.
            if id(param) not in hand_made or param.shape is None or len(param.shape) < 2 or 1 in param.shape:
                return False
        elif param.role != "weight" or _single_output(param.owner):
            return False
        if param.is_zero:
            # Zero is symmetric only in a hidden layer that feeds the next weight layer on its own.
            return id(param) in zero_fed
        return True


def _single_output(layer: Optional[Obj]) -> bool:
    if layer is None:
        return False
    out = layer.config.get("out_features")
    return isinstance(out, Const) and out.value == 1


def initialized_params(facts: FileFacts) -> Iterator[tuple[Param, RootRef]]:
    """Every parameter of every analysed model, and module-level tensors used as matmul weights,
    except those whose values come from a checkpoint (`load_state_dict` in the file)."""
    for param, where in _all_initialized_params(facts):
        if param.uid in facts.checkpoint_params or (where.kind == "class" and where.name in facts.checkpoint_classes):
            continue
        yield param, where


def _all_initialized_params(facts: FileFacts) -> Iterator[tuple[Param, RootRef]]:
    for root in facts.roots:
        if root.obj is not None:
            for _, param in root.obj.all_params():
                yield param, root.where
    for event in facts.layer_calls:
        if event.layer is None and (event.weight.owner is None or event.where.root is None):
            yield event.weight, event.where  # a module-level tf.Variable / tensor, or one a plain class holds
        elif event.layer is not None and event.where.root is None:
            yield event.weight, event.where  # a TF1 functional layer (`tf.layers.dense(x, ...)`)


def initializer_location(node: cst.CSTNode) -> cst.CSTNode:
    """Where an init is written: for a Keras layer, its `kernel_initializer=` argument, not the whole constructor."""
    if isinstance(node, cst.Call):
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in KERAS_INIT_KEYWORDS:
                return arg
    return node
