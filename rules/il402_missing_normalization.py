from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from initlint.diagnostics import Severity
from initlint.facts import FileFacts, RootRef
from initlint.facts.values import CHAIN_LIMIT, ChainItem, Tensor
from initlint.rule import Confirm, Finding, Invalid, Option, Rule, Valid

PLAIN_SEQUENTIAL = """\
from torch import nn


class PlainDeepMLP(nn.Module):
    def __init__(self, d=32, h=128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d, h), nn.ReLU(),
            nn.Linear(h, h), nn.ReLU(),
            nn.Linear(h, h), nn.ReLU(),
            nn.Linear(h, h), nn.ReLU(),
            nn.Linear(h, h), nn.ReLU(),
            nn.Linear(h, 10),
        )

    def forward(self, x):
        return self.net(x)
"""

UNUSED_BATCHNORM = """\
import torch
from torch import nn


class Layer(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n, n) / n ** 0.5)
        self.bn = nn.BatchNorm1d(n)

    def forward(self, x):
        return torch.relu(x @ self.w)


net = nn.Sequential(*[Layer(64) for _ in range(8)])
"""

KERAS_DENSE_STACK = """\
from tensorflow import keras

model = keras.Sequential([keras.layers.Dense(64, activation="relu", input_shape=(20,))])
for _ in range(6):
    model.add(keras.layers.Dense(64, activation="relu"))
model.add(keras.layers.Dense(1))
"""

KERAS_ALIASED_CONV_STACK = """\
from keras import Sequential
from keras.layers import Convolution2D, Dense, GlobalAvgPool2D, MaxPool2D

model = Sequential([Convolution2D(32, 3, activation="relu", input_shape=(64, 64, 3))])
for filters in (32, 64, 64, 128, 128):
    model.add(Convolution2D(filters, 3, padding="same", activation="relu"))
    model.add(MaxPool2D(2))
model.add(GlobalAvgPool2D())
model.add(Dense(2, activation="softmax"))
"""

KERAS_ALIASED_CONV_STACK_NORMALIZED = """\
from keras import Sequential
from keras.layers import BatchNormalization, Convolution2D, Dense, GlobalAvgPool2D, MaxPool2D

model = Sequential([Convolution2D(32, 3, activation="relu", input_shape=(64, 64, 3))])
for filters in (32, 64, 64, 128, 128):
    model.add(Convolution2D(filters, 3, padding="same", activation="relu"))
    model.add(BatchNormalization())
    model.add(MaxPool2D(2))
model.add(GlobalAvgPool2D())
model.add(Dense(2, activation="softmax"))
"""

BATCHNORM_LOOP = """\
from torch import nn


class NormalizedDeepMLP(nn.Module):
    def __init__(self, d=32, h=128, depth=8):
        super().__init__()
        layers = [nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Linear(h, h), nn.BatchNorm1d(h), nn.ReLU()]
        layers.append(nn.Linear(h, 10))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
"""

RESIDUAL_BLOCKS = """\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d=64):
        super().__init__()
        self.fc1 = nn.Linear(d, d)
        self.fc2 = nn.Linear(d, d)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(x)))


class ResMLP(nn.Module):
    def __init__(self, d=64, depth=8):
        super().__init__()
        self.blocks = nn.ModuleList([Block(d) for _ in range(depth)])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x
"""

FIVE_LAYERS = """\
from torch import nn

net = nn.Sequential(
    nn.Linear(8, 32), nn.Tanh(),
    nn.Linear(32, 32), nn.Tanh(),
    nn.Linear(32, 32), nn.Tanh(),
    nn.Linear(32, 32), nn.Tanh(),
    nn.Linear(32, 1),
)
"""


# The instance's constructor flag decides which layers exist; only the plain one is a stack,
# and it is reported once, where it is written (not again where the instance is built).
CONSTRUCTOR_FLAG = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, batch_normalization=False):
        super().__init__()
        self.do_bn, self.fcs, self.bns = batch_normalization, [], []
        for i in range(8):
            self.fcs.append(nn.Linear(1 if i == 0 else 10, 10))
            if self.do_bn: self.bns.append(nn.BatchNorm1d(10))

    def forward(self, x):
        for i in range(8):
            x = self.fcs[i](x)
            if self.do_bn: x = self.bns[i](x)
        return x


nets = [Net(batch_normalization=False), Net(batch_normalization=True)]
for net in nets:
    loss = nn.MSELoss()(net(torch.randn(4, 1)), torch.randn(4, 10))
"""

NORMALIZED_INSTANCE = CONSTRUCTOR_FLAG.replace("[Net(batch_normalization=False), Net(batch_normalization=True)]", "[Net(batch_normalization=True)]")

GAN = """\
import torch
from torch import nn

D = nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
G = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh())
z = torch.randn(100, 64)
g_loss = nn.BCEWithLogitsLoss()(D(G(z)), torch.ones(100, 1))
"""

# The same in a TF1 graph: two functions over their own module-level variables.
TF1_GAN = """\
import tensorflow as tf

z = tf.placeholder(tf.float32, [None, 100])
g_w1, g_w2, g_w3 = (tf.Variable(tf.random_normal(s) / s[0] ** 0.5) for s in ([100, 128], [128, 256], [256, 784]))
d_w1, d_w2, d_w3 = (tf.Variable(tf.random_normal(s) / s[0] ** 0.5) for s in ([784, 256], [256, 128], [128, 1]))


def generator(z):
    h = tf.nn.relu(tf.matmul(tf.nn.relu(tf.matmul(z, g_w1)), g_w2))
    return tf.nn.tanh(tf.matmul(h, g_w3))


def discriminator(x):
    h = tf.nn.relu(tf.matmul(tf.nn.relu(tf.matmul(x, d_w1)), d_w2))
    return tf.matmul(h, d_w3)


g_loss = -tf.reduce_mean(tf.log(tf.sigmoid(discriminator(generator(z)))))
"""

# A helper given its weight is one layer of the stack that calls it.
TF1_LAYER_HELPER = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 64])
ws = [tf.Variable(tf.random_normal([64, 64]) / 8.0) for _ in range(6)]


def dense(h, w):
    return tf.nn.relu(tf.matmul(h, w))


h = x
for w in ws:
    h = dense(h, w)
loss = tf.reduce_mean(tf.square(h))
"""

ENCODER_DECODER = """\
import torch
from torch import nn


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 128), nn.Tanh(), nn.Linear(128, 64), nn.Tanh(), nn.Linear(64, 3))
        self.decoder = nn.Sequential(nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 784))

    def forward(self, x):
        encoded = self.encoder(x)
        return encoded, self.decoder(encoded)


model = AutoEncoder()
encoded, decoded = model(torch.randn(8, 784))
loss = nn.MSELoss()(decoded, torch.randn(8, 784))
"""


# The class's own run and the script's instance reach the same stack: one report, at the stack.
AUTOENCODER_INSTANCE = ENCODER_DECODER.replace("return encoded, self.decoder(encoded)", "return self.decoder(encoded)").replace(
    "encoded, decoded = model(", "decoded = model("
)

# Lazy layers are weight layers whose in_features comes from the first input.
LAZY_STACK = """\
from torch import nn

net = nn.Sequential(
    nn.LazyConv2d(32, 3), nn.ReLU(),
    nn.LazyConv2d(32, 3), nn.ReLU(),
    nn.LazyConv2d(32, 3), nn.ReLU(),
    nn.LazyConv2d(32, 3), nn.ReLU(),
    nn.Flatten(), nn.LazyLinear(64), nn.ReLU(),
    nn.LazyLinear(10),
)
"""


# Builders nobody calls in the file: a stack written out inside is certain; one built by a
# loop over an unknown list may have any depth, so nothing is said about it.
BUILDER_FIXED_STACK = """\
from torch import nn


def make_head(d):
    return nn.Sequential(
        nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
        nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1),
    )
"""

BUILDER_UNKNOWN_DEPTH = """\
from torch import nn


def make_mlp(sizes):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)
"""


# Keras 1 spelled the functional model's arguments `input=` / `output=`.
KERAS1_FUNCTIONAL = """\
from keras.layers import Dense, Input
from keras.models import Model

x = inputs = Input(shape=(784,))
for units in (128, 64, 10, 2, 10, 64, 128):
    x = Dense(units, activation="relu")(x)
autoencoder = Model(input=inputs, output=Dense(784, activation="tanh")(x))
autoencoder.compile(optimizer="adam", loss="mse")
"""

KERAS1_FUNCTIONAL_NORMALIZED = """\
from keras.layers import BatchNormalization, Dense, Input
from keras.models import Model

x = inputs = Input(shape=(784,))
for units in (128, 64, 10, 2, 10, 64, 128):
    x = BatchNormalization()(Dense(units, activation="relu")(x))
autoencoder = Model(input=inputs, output=Dense(784, activation="tanh")(x))
autoencoder.compile(optimizer="adam", loss="mse")
"""


# A raw TF1 graph with a hand-written cost: the chain ends at the last `tf.matmul`.
TF1_MATMUL_STACK = """\
import tensorflow as tf

xs = tf.placeholder(tf.float32, [None, 1])
ys = tf.placeholder(tf.float32, [None, 1])
h = xs
for size in (30, 30, 30, 30, 30, 30, 30):
    h = tf.nn.relu(tf.matmul(h, tf.Variable(tf.random_normal([int(h.shape[1]), size], stddev=0.1))))
pred = tf.matmul(h, tf.Variable(tf.random_normal([30, 1], stddev=0.1)))
cost = tf.reduce_mean(tf.reduce_sum(tf.square(ys - pred), axis=1))
train_op = tf.train.GradientDescentOptimizer(0.001).minimize(cost)
"""

TF1_MATMUL_STACK_NORMALIZED = """\
import tensorflow as tf

xs = tf.placeholder(tf.float32, [None, 1])
ys = tf.placeholder(tf.float32, [None, 1])
h = xs
for size in (30, 30, 30, 30, 30, 30, 30):
    z = tf.matmul(h, tf.Variable(tf.random_normal([int(h.shape[1]), size], stddev=0.1)))
    h = tf.nn.relu(tf.layers.batch_normalization(z, training=True))
pred = tf.matmul(h, tf.Variable(tf.random_normal([30, 1], stddev=0.1)))
cost = tf.reduce_mean(tf.reduce_sum(tf.square(ys - pred), axis=1))
train_op = tf.train.GradientDescentOptimizer(0.001).minimize(cost)
"""



# Stages built as models of their own, then chained (a GoogLeNet-style `net = nn.Sequential(b1, b2)`):
# `b2`'s stack is part of `net`'s, and the one mistake is reported once, where the longer stack starts.
NESTED_STAGES = """\
from torch import nn

b1 = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
b2 = nn.Sequential(*[m for _ in range(6) for m in (nn.Linear(64, 64), nn.ReLU())])
net = nn.Sequential(b1, b2, nn.Linear(64, 10))
"""

# A course's depth demo: 100 plain layers in a ModuleList built by one comprehension.
HUNDRED_LAYERS = """\
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.linears = nn.ModuleList([nn.Linear(width, width, bias=False) for _ in range(depth)])

    def forward(self, x):
        for linear in self.linears:
            x = torch.relu(linear(x))
        return x


net = MLP(256, 100)
"""


class MissingNormalization(Rule):
    """
    ## What it does
    Flags a deep plain stack: `plain-stack-min` (default 6) or more weight
    layers (`Linear`, `Conv*`, `Dense`, matmuls with a parameter) applied one
    after another in the forward pass with no normalization layer
    (`BatchNorm*`, `LayerNorm`, `GroupNorm`, `InstanceNorm*`, `RMSNorm`,
    Keras `BatchNormalization`/`LayerNormalization`) between them and no
    residual connection around them. It follows what the forward pass
    actually calls: a `BatchNorm` that is built but never used does not
    count, and a block whose output is added to its input restarts the count.
    A class the file builds with arguments (`Net(batch_normalization=True)`)
    is judged by what those arguments build, two models applied one after
    the other in a script (`D(G(z))`, torch models or functions applying weights
    built before the call, as a TF1 GAN's) are two stacks, and a stack is reported
    once, where it is written, however many instances reach it. The stacks
    judged are those behind a model's output, a loss or a compiled model, and
    in a raw TF1 graph those ending at a `tf.matmul` whose output no other
    hand-made weight takes (the cost is often written by hand there).

    ## Why is this bad?
    Without normalization each layer multiplies the scale of its
    activations by its own gain, so small init errors compound with depth:
    with PyTorch's default init, six ReLU `Linear` layers already shrink the
    layer-output RMS 11x (0.58 to 0.05), and a 30-layer network without
    BatchNorm lets activations fall from 0.4 to 2e-5 (measured).
    Normalization re-centres and re-scales every layer's output, and a
    residual path gives the gradient a way around the stack.

    ## Example
    ```python
    self.net = nn.Sequential(
        nn.Linear(32, 128), nn.ReLU(),
        nn.Linear(128, 128), nn.ReLU(),
        ...  # six Linear layers, nothing in between
    )
    ```

    ## Use instead
    ```python
    self.net = nn.Sequential(
        nn.Linear(32, 128), nn.BatchNorm1d(128), nn.ReLU(),
        nn.Linear(128, 128), nn.BatchNorm1d(128), nn.ReLU(),
        ...
    )
    ```
    or residual blocks (`x + f(x)`), or `nn.LayerNorm` for sequence models.

    ## Fix
    No automatic fix.

    ## Confirmation
    Evidence only: `--confirm` measures each weight layer's output RMS and
    weight-gradient norm (squared error against random targets) through the
    stack. Confirmed when the last/first RMS or the first/last gradient norm
    lies beyond 10x; otherwise `unverified` with the figures, never refuted:
    this is advice about depth, and a stack that is fine at initialization
    may still drift in training. Keras models that run on TensorFlow (tf ops
    in the model) are measured there the same way, over the Dense and Conv
    kernels in the order the forward pass calls them.

    ## Known problems
    A normalization written by hand (`x / x.norm(...)`, a custom RMSNorm
    module made of tensor arithmetic) is not recognised as a normalization
    layer. Shallow stacks are left alone.

    ## References
    - Ioffe & Szegedy, *Batch Normalization: Accelerating Deep Network Training
      by Reducing Internal Covariate Shift* (2015): https://arxiv.org/abs/1502.03167
    - He et al., *Deep Residual Learning for Image Recognition* (2016):
      https://arxiv.org/abs/1512.03385
    - Keras, normalization layers: https://keras.io/api/layers/normalization_layers/
    """

    code = "IL402"
    name = "missing-normalization"
    severity = Severity.INFO
    confirmation = Confirm(probe="depth_drift", outward=True)
    options = (Option("plain-stack-min", int, 6, "weight layers in sequence without normalization"),)
    message = "{count} weight layers run in sequence with no normalization layer and no residual connection: activations and gradients scale with depth; add BatchNorm/LayerNorm between them or residual connections"
    VALID = [Valid(BATCHNORM_LOOP), Valid(RESIDUAL_BLOCKS), Valid(FIVE_LAYERS), Valid(NORMALIZED_INSTANCE), Valid(GAN), Valid(BUILDER_UNKNOWN_DEPTH), Valid(KERAS_ALIASED_CONV_STACK_NORMALIZED),
             Valid(KERAS1_FUNCTIONAL_NORMALIZED), Valid(TF1_MATMUL_STACK_NORMALIZED), Valid(TF1_GAN)]
    INVALID = [
        Invalid(PLAIN_SEQUENTIAL, at=[(8, 13)]),
        Invalid(UNUSED_BATCHNORM, at=[(15, 23)]),
        Invalid(KERAS_DENSE_STACK, at=[(3, 27)]),
        Invalid(CONSTRUCTOR_FLAG, at=[(10, 29)]),
        Invalid(ENCODER_DECODER, at=[(16, 9)]),
        Invalid(AUTOENCODER_INSTANCE, at=[(8, 38)]),
        Invalid(LAZY_STACK, at=[(4, 5)]),
        Invalid(BUILDER_FIXED_STACK, at=[(6, 9)]),
        Invalid(NESTED_STAGES, at=[(3, 20)]),
        Invalid(TF1_LAYER_HELPER, at=[(8, 23)]),
        Invalid(KERAS_ALIASED_CONV_STACK, at=[(4, 21)]),
        Invalid(KERAS1_FUNCTIONAL, at=[(6, 9)]),
        Invalid(TF1_MATMUL_STACK, at=[(7, 20)]),
        Invalid(HUNDRED_LAYERS, at=[(8, 39)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        minimum = self.option(facts.settings, "plain-stack-min")
        # The longest plain run behind each model output, keyed by the layer the run starts at:
        # a class run with its defaults and an instance of it built in the script reach the
        # same layers, and the stack is reported once, where it is written.
        stacks: dict[int, tuple[int, ChainItem, tuple[Any, ...], RootRef]] = {}
        instance_keys: set[int] = set()  # stacks some run other than a class's defaults reached
        for chain, where in _output_chains(facts):
            plain = _plain_run(chain)
            run, first = len(plain), plain[-1] if plain else None
            if first is None or run < minimum:
                continue
            key = id(first.node)
            if where.kind != "class":
                instance_keys.add(key)
            if key not in stacks or stacks[key][0] < run or (
                stacks[key][0] == run and where.kind == "class" and stacks[key][3].kind != "class"
            ):
                stacks[key] = (run, first, chain, where)
        # A stack that is part of a longer one (`b4 = nn.Sequential(...)` inside `net = nn.Sequential(b1, ..., b4)`,
        # each also a model of its own) is the same mistake: it is reported once, with the longer stack.
        runs = {key: frozenset(id(item.node) for item in _plain_run(chain)) for key, (_, _, chain, _) in stacks.items()}
        for key, (run, first, chain, where) in stacks.items():
            if any(runs[key] < other for other_key, other in runs.items() if other_key != key):
                continue
            if facts.foreign and all(facts.imported(item.node) for item in _plain_run(chain)):
                continue  # an imported class's own stack (`Discriminator()` from models.py): models.py reports it
            if where.kind == "class" and where.name in facts.configured_classes and key not in instance_keys:
                continue  # the script builds this class only with arguments under which the stack is not plain
            layers = tuple(dict.fromkeys(
                item.layer.name for item in chain if item.kind == "weight" and item.layer is not None and item.layer.name
            ))
            yield self.report(
                first.anchor,
                subject=facts.subject(where, layers=layers),
                # A chain keeps only its last steps: a run that fills it may be longer.
                count=f"at least {run}" if len(chain) >= CHAIN_LIMIT and all(item.kind != "norm" for item in chain) else run,
            )


def _plain_run(chain: tuple[Any, ...]) -> list[ChainItem]:
    """The weight items of a chain after its last normalization: the plain run it ends with."""
    run: list[ChainItem] = []
    for item in reversed(chain):
        if item.kind == "norm":
            break
        if item.kind == "weight":
            run.append(item)
    return run


def _output_chains(facts: FileFacts) -> Iterator[tuple[tuple[Any, ...], RootRef]]:
    """The layer chains of what models return and what losses are computed on: the main path,
    where a gate's side branch (squeeze-excitation) has already been left out."""
    for root in facts.roots:
        output = root.main_output()
        if output is not None:
            yield output.chain, root.where
    for event in facts.losses:
        yield event.prediction.chain, event.where
    yield from _hand_made_ends(facts)
    for compile_event in facts.keras_compiles:
        outputs = compile_event.model.config.get("outputs")
        if isinstance(outputs, Tensor):
            yield outputs.chain, compile_event.where


def _hand_made_ends(facts: FileFacts) -> Iterator[tuple[tuple[Any, ...], RootRef]]:
    """The chain through each hand-made weight (`tf.matmul(h, W)`) whose output no later
    hand-made weight consumes: the end of a raw TF1 graph, whose cost is often written by
    hand (`tf.square(ys - pred)` does not carry the chain on)."""
    calls = [call for call in facts.layer_calls if call.layer is None]
    for call in calls:
        n = len(call.input.chain)
        if not any(_extends(other.input.chain, call.input.chain, call.node) for other in calls if len(other.input.chain) > n):
            yield call.input.chain + (ChainItem("weight", call.node, call.node),), call.where


def _extends(longer: tuple[Any, ...], chain: tuple[Any, ...], node: Any) -> bool:
    """`longer` went through `chain`, then the weight applied at `node` (a helper's one
    `tf.matmul` serves every layer, so the chain itself says which call it was)."""
    n = len(chain)
    return all(a is b for a, b in zip(longer, chain)) and longer[n].kind == "weight" and longer[n].node is node
