from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Optional

import libcst as cst

from initlint.diagnostics import Severity
from initlint.facts import FileFacts, RootRef
from initlint.facts.values import Const, Obj, Param, Tensor
from initlint.rule import Confirm, Finding, Invalid, Option, Rule, Valid

from .il201_constant_weight import initialized_params, initializer_location

SEED_001_NORMAL_STD1 = """\
import torch
from torch import nn


class GaussianInitNet(nn.Module):
    def __init__(self, width=64, depth=5):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        for layer in self.layers:
            nn.init.normal_(layer.weight, mean=0.0, std=1.0)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return x
"""

RANDN_PARAMETER = """\
import torch
from torch import nn


class HandRolled(nn.Module):
    def __init__(self, n_in=256, n_out=256):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(n_in, n_out))
        self.w2 = nn.Parameter(torch.randn(n_out, n_out) / n_out ** 0.5)

    def forward(self, x):
        return torch.relu(torch.relu(x @ self.w1) @ self.w2)
"""

UNIFORM_DEFAULT_BOUNDS = """\
from torch import nn

net = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
nn.init.uniform_(net[0].weight)
"""

KERAS_RANDOM_NORMAL = """\
from tensorflow import keras

model = keras.Sequential([
    keras.layers.Dense(256, activation="relu", input_shape=(784,),
                       kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)),
    keras.layers.Dense(10),
])
"""

GPT_STD_002 = """\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d_model=512):
        super().__init__()
        self.ln = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, 4 * d_model)
        self.proj = nn.Linear(4 * d_model, d_model)

    def forward(self, x):
        return x + self.proj(torch.nn.functional.gelu(self.fc(self.ln(x))))


class GPT(nn.Module):
    def __init__(self, vocab=1000, d_model=512, n_layer=2):
        super().__init__()
        self.emb = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.randn(1, 64, d_model))
        self.blocks = nn.ModuleList([Block(d_model) for _ in range(n_layer)])
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=1.0)

    def forward(self, idx):
        x = self.emb(idx) + self.pos[:, : idx.shape[1]]
        for block in self.blocks:
            x = block(x)
        return x
"""

SCALED_RANDN = """\
import math
import torch
from torch import nn


class Scaled(nn.Module):
    def __init__(self, n_in=256, n_out=64):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_in, n_out) / math.sqrt(n_in))
        self.v = nn.Parameter(torch.randn(n_out, 8) * 0.1)
        self.register_buffer("proj", torch.randn(n_in, n_in))

    def forward(self, x):
        return torch.tanh(x @ self.w) @ self.v
"""

TF1_RAW_CONV_NET = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 28, 28, 1])
weights = {
    "conv1": tf.Variable(tf.random_normal([5, 5, 1, 32])),
    "conv2": tf.Variable(tf.random_normal([5, 5, 32, 64])),
    "out": tf.Variable(tf.random_normal([7 * 7 * 64, 10])),
}
h = tf.nn.relu(tf.nn.conv2d(x, weights["conv1"], strides=[1, 1, 1, 1], padding="SAME"))
h = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
h = tf.nn.relu(tf.nn.conv2d(h, weights["conv2"], strides=[1, 1, 1, 1], padding="SAME"))
h = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
logits = tf.matmul(tf.reshape(h, [-1, 7 * 7 * 64]), weights["out"])
"""

COMPAT_V1_GET_VARIABLE = """\
import tensorflow.compat.v1 as tf

x = tf.placeholder(tf.float32, [None, 784])
w = tf.get_variable("w", [784, 256], initializer=tf.random_normal_initializer())
h = tf.nn.relu(tf.matmul(x, w))
"""

TORCH_LINEAR_OUT_IN = """\
import torch
import torch.nn.functional as F
from torch import nn


class Projection(nn.Module):
    def __init__(self, n_in=512, n_out=16):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_out, n_in))

    def forward(self, x):
        return F.linear(x, self.w)
"""

TF2_DEFAULT_STDDEV = """\
import tensorflow as tf


class Linear(tf.keras.layers.Layer):
    def __init__(self, units=32, input_dim=784):
        super().__init__()
        w_init = tf.random_normal_initializer()
        self.w = tf.Variable(w_init(shape=(input_dim, units), dtype="float32"))

    def call(self, inputs):
        return tf.matmul(inputs, self.w)


model = tf.keras.Sequential([
    tf.keras.layers.Dense(256, activation="relu", input_shape=(784,),
                          kernel_initializer=tf.random_normal_initializer()),
    tf.keras.layers.Dense(10, kernel_initializer=tf.keras.initializers.RandomNormal()),
])
"""

TRANSPOSED_WEIGHTS = """\
import tensorflow as tf
import torch
import torch.nn.functional as F
from torch import nn

x = tf.keras.Input(shape=(16,))
w = tf.Variable(tf.random.normal([1024, 16], stddev=0.25))
h = tf.matmul(x, w, transpose_b=True)


class Wide(nn.Module):
    def __init__(self, n_in=16, n_out=1024):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n_out, n_in) * 0.25)

    def forward(self, x):
        return F.linear(x, self.w)
"""

# One output unit still sums over its whole fan-in: std 1 at fan-in 128 feeds tanh
# an RMS near 11.
TF1_SINGLE_OUTPUT_UNIT = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 128])
w1 = tf.Variable(tf.random_normal([128, 128]) / 11.3)
w2 = tf.Variable(tf.random_normal([128, 1]))
h = tf.nn.relu(tf.matmul(x, w1))
out = tf.nn.tanh(tf.matmul(h, w2))
"""

# TF1's defaults: `truncated_normal` draws with stddev 1, `random_uniform` from U(0, 1); bounds
# or a stddev scaled to the fan-in are fine.
TF1_DEFAULT_DRAWS = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 784])
w1 = tf.Variable(tf.truncated_normal([784, 256]))
w2 = tf.Variable(tf.random_uniform([784, 10]))
w3 = tf.Variable(tf.truncated_normal([256, 10], stddev=0.06))
w4 = tf.Variable(tf.random_uniform([784, 10], -0.05, 0.05))
h = tf.nn.relu(tf.matmul(x, w1))
logits = tf.matmul(h, w3) + tf.matmul(x, w2) + tf.matmul(x, w4)


def head(inputs, n):  # U(0, 1) adds 0.5 per input whatever the fan-in
    w = tf.Variable(tf.random_uniform([int(inputs.shape[1]), n]))
    return tf.matmul(inputs, w)
"""

# Gradient descent written by hand: `w.assign(w - lr * grad)` updates the draw, it does not replace it.
TF1_HAND_WRITTEN_UPDATE = """\
import tensorflow as tf

x, y = tf.placeholder(tf.float32, (None, 1000)), tf.placeholder(tf.float32, (None, 10))
w1 = tf.Variable(tf.random_normal((1000, 100)))
w2 = tf.Variable(tf.random_normal((100, 10)))
y_pred = tf.matmul(tf.maximum(tf.matmul(x, w1), tf.zeros(1)), w2)
loss = tf.reduce_sum((y - y_pred) ** 2.0)
grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
new_w1 = w1.assign(w1 - 1e-6 * grad_w1)
step_w2 = w2.assign_sub(1e-6 * grad_w2)
"""

# Rescaled after the draw (`w.assign(w * 0.03)`): the weight the graph trains is in range.
TF1_RESCALED_BY_ASSIGN = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, (None, 1000))
w1 = tf.Variable(tf.random_normal((1000, 100)))
scale_w1 = w1.assign(w1 * 0.03)
h = tf.nn.relu(tf.matmul(x, w1))
"""

# Look-alikes: a [1, 1] weight and a [4, 1] one have fan-ins 1 and 4, where std 1 is in
# range; a [1, 128] row is a bias (added, never multiplied); a [1, 128] weight has fan-in 1.
TF1_SMALL_FAN_IN = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 1])
u = tf.placeholder(tf.float32, [None, 4])
w = tf.Variable(tf.random_normal([1, 1]))
v = tf.Variable(tf.random_normal([4, 1]))
wide = tf.Variable(tf.random_normal([1, 128]))
b = tf.Variable(tf.random_normal([1, 128]))
out = tf.nn.tanh(tf.matmul(x, w) + tf.matmul(u, v))
h = tf.nn.tanh(tf.matmul(x, wide) + b)
"""

# Layers built and filled in a script's main block: whenever the layers exist, the block
# ran, so the draws into them are certain (`copy_`, `.data =`, in `torch.no_grad()` or not).
MAIN_GUARD_COPY = """\
import torch
from torch import nn

if __name__ == "__main__":
    lin1, lin2, lin3 = nn.Linear(784, 256), nn.Linear(256, 128), nn.Linear(128, 10)
    w1 = torch.randn(784, 256)
    with torch.no_grad():
        lin1.weight.copy_(w1.T)
    lin2.weight.data = torch.randn(128, 256)
    lin3.weight.copy_(torch.randn(10, 128))
    model = nn.Sequential(lin1, nn.Sigmoid(), lin2, nn.Sigmoid(), lin3)
"""

# The same draw under a condition the analysis cannot decide, into a layer made before
# it: the draw may not happen.
UNDECIDED_REDRAW = """\
import torch
from torch import nn


def build(gaussian):
    lin = nn.Linear(784, 256)
    if gaussian:
        lin.weight.data = torch.randn(256, 784)
    return nn.Sequential(lin, nn.Sigmoid(), nn.Linear(256, 10))
"""

# Keras Dense layers take their fan-in from what they are applied to: N(0, 1) is within range
# on 2 inputs and after a 3-unit layer (a toy two-moons classifier), and far off after 512 units.
KERAS_TOY_RANDOM_NORMAL = """\
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.initializers import RandomNormal

model = Sequential()
model.add(Dense(3, activation="sigmoid", input_dim=2, kernel_initializer=RandomNormal(stddev=1.0)))
model.add(Dense(1, activation="sigmoid", kernel_initializer=RandomNormal(stddev=1.0)))
"""
KERAS_WIDE_RANDOM_NORMAL = """\
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense
from tensorflow.keras.initializers import RandomNormal

model = Sequential()
model.add(Dense(512, activation="relu", input_dim=20))
model.add(Dense(10, kernel_initializer=RandomNormal(stddev=1.0)))
"""

# Too small: std 0.01 where fan-in 50 wants 0.14, on two layers in a row: the signal shrinks
# 14x per layer (measured on this model: output RMS 2.3e-2, 1.1e-3, 1.4e-5).
KERAS_TOO_SMALL = """\
from keras import Model, layers, initializers


class FeedForward(Model):
    def __init__(self):
        super().__init__()
        self.dense1 = layers.Dense(50, activation="relu", kernel_initializer=initializers.RandomNormal(stddev=0.01))
        self.dense2 = layers.Dense(50, activation="relu", kernel_initializer=initializers.RandomNormal(stddev=0.01))
        self.dense3 = layers.Dense(1, kernel_initializer=initializers.RandomNormal(stddev=0.01))

    def call(self, inputs):
        return self.dense3(self.dense2(self.dense1(inputs)))
"""
# Small on purpose: one small layer alone (a regression head), and small layers whose output a
# normalization or a residual sum rescales.
SMALL_HEAD_AND_BLOCKS = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.up, self.down = nn.Linear(64, 64), nn.Linear(64, 64)
        self.a, self.b, self.norm = nn.Linear(64, 64), nn.Linear(64, 64), nn.LayerNorm(64)
        self.head = nn.Linear(64, 4)
        for m in (self.up, self.down, self.a, self.b, self.head):
            nn.init.normal_(m.weight, std=0.001)

    def forward(self, x):
        x = torch.relu(self.fc(x))
        x = x + self.down(torch.relu(self.up(x)))
        x = self.norm(self.b(torch.relu(self.a(x))))
        return self.head(x)
"""

# A loop over the modules picking the Linear layers by `type(m) is ...` (as `==` or isinstance).
TYPE_IS_LOOP = """\
import torch
from torch import nn


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 2)
        for m in self.modules():
            if type(m) is nn.Linear:
                nn.init.normal_(m.weight)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""

# DCGAN's N(0, 0.02) in a transposed conv on the 1x1 latent: each output sums over the 4000
# input channels only (1/sqrt(4000) = 0.016), not over 4000 x 4 x 4 as a forward conv would.
DCGAN_TRANSPOSED_CONV = """\
from torch import nn


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(4000, 512, 4, 1, 0, bias=False)
        nn.init.normal_(self.up.weight, 0.0, 0.02)

    def forward(self, z):
        return self.up(z)
"""

# N(0, 1) in a transposed conv: far too large even for its smallest fan-in, in_channels.
TRANSPOSED_CONV_STD1 = """\
from torch import nn


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        nn.init.normal_(self.up.weight, 0.0, 1.0)

    def forward(self, z):
        return self.up(z)
"""

# A std-1 vector applied to an L2-normalized input (SwiftFormer's additive attention): the
# input's entries have RMS 1/sqrt(fan_in) already, so the scores have RMS 1.
UNIT_NORM_INPUT = """\
import torch
import torch.nn.functional as F
from torch import nn


class AdditiveAttention(nn.Module):
    def __init__(self, dim=256):
        super().__init__()
        self.to_query = nn.Linear(dim, dim)
        self.w_g = nn.Parameter(torch.randn(dim, 1))

    def forward(self, x):
        query = F.normalize(self.to_query(x), dim=-1)
        return F.normalize(query @ self.w_g, dim=1)
"""

# A weight is flagged when its RMS is more than `init-scale-factor` (4) times
# 1/sqrt(fan_in) (too large: activations explode with depth).
# Kaiming (sqrt(2/fan_in)) sits 1.4x above the reference and PyTorch's
# default Linear init 1.7x below it, so both are well inside.
SPARED_DISTRIBUTIONS = ("xavier", "kaiming", "scaled", "orthogonal", "default", "int")



# Inference with weights from a checkpoint: the init never reaches training.
FROM_CHECKPOINT = """\
import torch
from torch import nn


class Projection(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(32, 512))

    def forward(self, x):
        return nn.functional.linear(x, self.weight)


class Policy:
    def __init__(self, path):
        self.projection = Projection()
        self.projection.load_state_dict(torch.load(path)["projection"])

    def act(self, x):
        return self.projection(x)
"""

# Weights replaced through `.weight.data` with a NumPy draw: uniform(3, 5) has RMS 4.
NUMPY_WEIGHT_DATA = """\
import numpy as np
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(100, 50)
        self.fc2 = nn.Linear(50, 10)
        self.fc1.weight.data = torch.from_numpy(np.random.uniform(3, 5, (50, 100))).float()

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
"""

# The same draw, scaled to the fan-in: uniform(-0.1, 0.1) at fan-in 100.
NUMPY_WEIGHT_DATA_SCALED = NUMPY_WEIGHT_DATA.replace("np.random.uniform(3, 5, (50, 100))", "np.random.uniform(-0.1, 0.1, (50, 100))")

class UnscaledInit(Rule):
    """
    ## What it does
    Flags a random weight of a layer that mixes its inputs (`Linear`,
    `Conv*`, `Dense`, a hand-made parameter used in a matmul) whose scale
    does not follow its fan-in: `nn.Parameter(torch.randn(n_in, n_out))`
    with no `/ sqrt(n_in)`, `nn.init.normal_(w)` (std 1) or a fixed `std`,
    `nn.init.uniform_(w)` with its default bounds U(0, 1), Keras
    `RandomNormal(stddev=1.0)`.

    The weight's root-mean-square value, sqrt(std² + mean²), is compared
    with 1/sqrt(fan_in) when the fan-in is known statically (literal sizes,
    constructor defaults, values passed where the model is built): it is
    flagged when it is more than **4x above** it. Kaiming's
    sqrt(2/fan_in) sits 1.4x above the reference and PyTorch's default
    Linear init 1.7x below, so both pass; so does the transformer habit
    `std=0.02` at widths of 256 and more (0.45x at d_model 512, 0.9x at
    2048). When the fan-in is unknown, only a standard deviation of 1 or
    more (an unscaled `randn`, `normal_(w)`) is flagged. A transposed
    convolution's fan-in is taken as its in_channels, the least it can be
    (on a 1x1 input each output sums over the channels alone). For a hand-made
    matrix whose orientation is unknown, the side that makes the finding
    less likely is taken as the fan-in.

    Too small a scale is flagged where it compounds: two or more layers in a
    row (only activations between them), each drawn more than **4x below**
    1/sqrt(fan_in), on the model's plain path to its output, with no
    normalization layer or residual sum after them (Keras
    `RandomNormal(stddev=0.01)` on 50-unit `Dense` layers, 14x below: the
    output RMS falls 2.3e-2, 1.1e-3, 1.4e-5 over three layers).

    ## Why is this bad?
    Each layer multiplies the scale of its input by about
    RMS(w)·sqrt(fan_in). Above 1 activations explode with depth, below 1 they
    vanish, and the gradients follow. A product of 100 Gaussian matrices of
    variance 1 reaches values of 1e24 (measured); with `normal_(std=1)` on
    five 64-wide ReLU layers the activation RMS grows 767x (5.7 to 4.4e3),
    while the per-layer weight-gradient norms stay within 1.1x of each other,
    so the loss curve does not show why training diverges.

    ## Example
    ```python
    self.w = nn.Parameter(torch.randn(n_in, n_out))
    ```

    ## Use instead
    ```python
    self.w = nn.Parameter(torch.randn(n_in, n_out) / math.sqrt(n_in))
    # or: nn.init.kaiming_uniform_(w, nonlinearity="relu"), nn.init.xavier_uniform_(w),
    # Keras "he_normal" / "glorot_uniform", or simply the framework default
    ```

    ## Fix
    No automatic fix: the right scale depends on the activation that follows.

    ## Confirmation
    `--confirm` builds the outermost model that uses the flagged layer, runs
    one forward pass on inferred inputs and measures the RMS of each weight
    layer's own output (not a residual sum), leaving out a zero-initialized
    last layer. Confirmed when it grows or shrinks by more than `scale-ratio`
    (default 10) from the first weight layer to the last; refuted when it
    stays within that ratio (the finding then no longer fails the run),
    except behind a sigmoid or tanh between the layers: it bounds each
    layer's input, so an unscaled init shows as saturation, not growth, a
    shrink there is the bound's, and the finding stays unverified. TF1 graphs are measured the same way. A
    flagged weight is also measured on its own (the RMS of its layer's
    output before its bias over the RMS of what it reads: an N(0, 1) weight
    multiplies it by about sqrt(fan-in); a flagged middle layer of 1024
    inputs measures ~30x while first-to-last stays within 10x): a gain beyond `scale-ratio`
    confirms it, and so does one below its inverse (std 0.001 `Linear` layers of
    64 inputs measure 0.008x each, while their default biases keep every
    layer's output RMS near 0.04) or flagged weights whose shrinking gains
    multiply to below it (a too-small run: two layers at 0.19x carry 0.036 of
    the signal), and one
    beyond sqrt(`scale-ratio`) keeps it from a refutation. When the first weight layer reads the model's
    input, its own growth counts too: N(0, 1) weights on 784 inputs take the
    input's RMS from 1 to about 28, and a second layer of the same init stays
    within 10x of that, so the growth from the input beyond `scale-ratio`
    confirms (only growth: a small first-layer gain is DCGAN's N(0, 0.02)
    before a BatchNorm, which trains). A first layer that grows its input
    more than sqrt(`scale-ratio`) times is never refuted on the ratio: the
    finding stays unverified. A model with one weight layer is confirmed by
    that layer's own growth alone (never refuted on it), and so is a weight
    a script creates as a plain tensor and applies by hand (`w1 =
    torch.randn(1000, 100)`, `x.mm(w1)`): its gain on unit-variance rows of
    the fan-in the finding names.
    Unverified when the model cannot be built or its forward pass uses fewer
    than two weight layers. Only findings the static stage raised are
    measured, because the measure alone is not a detector: PyTorch's default
    init already shrinks activations 9.4x over a seven-layer ReLU MLP.

    ## Known problems
    Embeddings (`normal_(std=1)` is `nn.Embedding`'s own default),
    positional tables and other parameters that are not used as a matmul
    operand, buffers and frozen parameters are left alone. So are the weights of a
    model whose instance in the file loads a checkpoint (`load_state_dict`):
    their init never reaches training; the same class trained from scratch
    elsewhere in that file is then missed. A fan-in the
    analysis cannot compute (sizes read from a config object) limits the
    rule to unscaled standard normals. A too-small scale on one layer alone
    is not flagged, nor one that a normalization or residual sum follows:
    vision transformers use `trunc_normal_(std=0.02)` on stems with a fan-in
    of 48 and tiny head scales (BEiT's `head_init_scale`) on purpose, and
    their normalization layers and residual paths absorb it. A hand-made
    matrix (`x @ W`) is judged only for too large a scale.

    ## References
    - He et al., *Delving Deep into Rectifiers* (2015): https://arxiv.org/abs/1502.01852
    - Glorot & Bengio, *Understanding the difficulty of training deep
      feedforward neural networks* (2010): https://proceedings.mlr.press/v9/glorot10a.html
    - PyTorch, `torch.nn.init`: https://pytorch.org/docs/stable/nn.init.html
    - Keras, layer weight initializers: https://keras.io/api/layers/initializers/
    """

    code = "IL401"
    name = "unscaled-init"
    severity = Severity.WARNING
    options = (
        Option("scale-ratio", float, 10.0, "the growth or shrinkage of the layer-output RMS, first weight layer to last, that confirms a finding"),
        Option("init-scale-factor", float, 4.0, "how many times above 1/sqrt(fan_in) a weight's RMS may be (below it, for two layers in a row) before it is flagged"),
    )
    confirmation = Confirm(probe="scale", threshold="scale-ratio", outward=True,
                           plot=("output_rms", "layer-output RMS", "#2c7fb8"))
    message = "{names} {verb} drawn with RMS {rms} where 1/sqrt(fan_in) is {ref}{fan}: {trend} with depth; use Kaiming/Xavier or scale by 1/sqrt(fan_in)"
    VALID = [Valid(GPT_STD_002), Valid(SCALED_RANDN), Valid(TF2_DEFAULT_STDDEV), Valid(TRANSPOSED_WEIGHTS), Valid(FROM_CHECKPOINT), Valid(NUMPY_WEIGHT_DATA_SCALED), Valid(TF1_SMALL_FAN_IN), Valid(UNDECIDED_REDRAW), Valid(UNIT_NORM_INPUT), Valid(DCGAN_TRANSPOSED_CONV),
             Valid(KERAS_TOY_RANDOM_NORMAL), Valid(SMALL_HEAD_AND_BLOCKS), Valid(TF1_RESCALED_BY_ASSIGN)]
    INVALID = [
        Invalid(SEED_001_NORMAL_STD1, at=[(10, 13)]),
        Invalid(RANDN_PARAMETER, at=[(8, 32)]),
        Invalid(NUMPY_WEIGHT_DATA, at=[(11, 49)]),
        Invalid(UNIFORM_DEFAULT_BOUNDS, at=[(4, 1)]),
        Invalid(KERAS_RANDOM_NORMAL, at=[(5, 24)]),
        Invalid(TF1_RAW_CONV_NET, at=[(5, 26), (6, 26), (7, 24)]),
        Invalid(COMPAT_V1_GET_VARIABLE, at=[(4, 5)]),
        Invalid(TORCH_LINEAR_OUT_IN, at=[(9, 31)]),
        Invalid(TF1_SINGLE_OUTPUT_UNIT, at=[(5, 18)]),
        Invalid(TF1_DEFAULT_DRAWS, at=[(4, 18), (5, 18), (13, 21)]),
        Invalid(TF1_HAND_WRITTEN_UPDATE, at=[(4, 18), (5, 18)]),
        Invalid(MAIN_GUARD_COPY, at=[(6, 10), (9, 24), (10, 23)]),
        Invalid(TRANSPOSED_CONV_STD1, at=[(8, 9)]),
        Invalid(TYPE_IS_LOOP, at=[(12, 17)]),
        Invalid(KERAS_WIDE_RANDOM_NORMAL, at=[(7, 21)]),
        Invalid(KERAS_TOO_SMALL, at=[(8, 59), (9, 39)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        # The fan-in of each hand-made weight in each of its uses (None: orientation unknown).
        matmul_fans: dict[int, list[Optional[int]]] = {}
        unit_inputs: set[int] = set()  # weights applied to an L2-normalized input: RMS 1 is their scale
        for event in facts.layer_calls:
            if event.layer is None:
                matmul_fans.setdefault(id(event.weight), []).append(event.fan_in)
                if event.input.unit_norm:
                    unit_inputs.add(id(event.weight))
            elif event.layer.kind.endswith(DENSE_KINDS):
                # A deferred Dense / LazyLinear takes its fan-in from what it is applied to.
                matmul_fans.setdefault(id(event.weight), []).append(event.input.last_dim)
        groups: dict[tuple[int, bool], tuple[cst.CSTNode, RootRef, list[Param], float, Optional[float]]] = {}
        factor = self.option(facts.settings, "init-scale-factor")
        initialized = list(initialized_params(facts))
        small = _too_small_runs(facts, {id(p): p for p, _ in initialized}, matmul_fans, factor)
        for param, where in initialized:
            if id(param) in unit_inputs:
                continue
            judged = self._judge(param, matmul_fans.get(id(param)), factor) or small.get(id(param))
            if judged is None or param.init.node is None:
                continue
            rms, ref = judged
            key = (id(param.init.node), id(param) in small)
            if key not in groups:
                groups[key] = (param.init.node, where, [], rms, ref)
            if all(p is not param for p in groups[key][2]):
                groups[key][2].append(param)
        for (_, shrinks), (node, where, params, rms, ref) in groups.items():
            names = list(dict.fromkeys(f"`{facts.display_name(p, where)}`" for p in params))
            yield self.report(
                initializer_location(node),
                subject=facts.subject(where, params),
                names=", ".join(names[:4]) + (" …" if len(names) > 4 else ""),
                verb="is" if len(names) == 1 else "are",
                rms=f"{rms:.3g}",
                ref=f"{ref:.3g}" if ref is not None else "much smaller",
                fan=f" (fan-in {round(1 / ref ** 2)})" if ref is not None else " for any realistic fan-in",
                trend="activations and gradients vanish" if shrinks else "activations and gradients grow",
            )

    @staticmethod
    def _judge(param: Param, uses: Optional[list[Optional[int]]], factor: float) -> Optional[tuple[float, Optional[float]]]:
        """(RMS, 1/sqrt(fan_in) or None) when the weight is far too large for its fan-in; else None.

        `uses`: the fan-in of each use of a hand-made weight (None for a layer's weight)."""
        init = param.init
        if not _judged_draw(param) or init.std is None:  # (the std test narrows the type)
            return None
        if param.role == "raw":
            # A vector is no mixing matrix. A matrix with one column is: each output sums
            # over its fan-in whatever the fan-out (a [128, 1] head); one with a single row
            # has fan-in 1, which `_fan_in` finds, as it does for a use of unknown orientation.
            shape = param.shape
            if uses is None or shape is None or len(shape) < 2:
                return None
        elif param.role != "weight":
            return None
        rms = math.sqrt(init.std ** 2 + (init.value or 0.0) ** 2)
        fan = _fan_in(param, uses)
        if fan is None:
            # Unknown fan-in: std 1, or U(0, 1)'s all-positive draws (mean 0.5, which every input adds up), is
            # too large for any realistic one.
            return (rms, None) if init.std >= 1.0 or abs(init.value or 0.0) >= 0.5 else None
        if rms > factor / math.sqrt(fan):
            return rms, 1 / math.sqrt(fan)
        return None


# Layers whose weight's fan-in is the last axis of their input.
DENSE_KINDS = ("Dense", "dense", "Linear", "LazyLinear")


def _judged_draw(param: Param) -> bool:
    """A trainable weight drawn at random with a known std, by an init that does not scale itself."""
    init = param.init
    return (init.kind == "random" and not init.conditional and param.trainable and init.std is not None
            and init.distribution not in SPARED_DISTRIBUTIONS)


def _too_small_runs(
    facts: FileFacts, judged: dict[int, Param], matmul_fans: dict[int, list[Optional[int]]], factor: float
) -> dict[int, tuple[float, float]]:
    """Layer weights drawn more than `factor` times below 1/sqrt(fan_in) that feed another such layer
    with only activations between (no normalization, no residual sum): by id, (RMS, 1/sqrt(fan_in)).

    Two of them shrink the signal by factor² (16x, beyond the confirmation's 10x); one alone is a
    choice (a detection head's std=0.001 regression layer). Both must be on a model's plain path to
    its output: a normalization or residual sum after them restores the scale (a transformer
    block's std=0.02 attention projections)."""
    weights = {id(event.layer): event.weight for event in facts.layer_calls if event.layer is not None}
    on_output_path: set[int] = set()
    for out in (root.main_output() for root in facts.roots):
        for item in reversed(out.chain if out is not None else ()):
            if item.kind == "norm":
                break
            if item.kind == "weight" and item.layer is not None:
                on_output_path.add(id(item.layer))

    def too_small(param: Optional[Param]) -> Optional[tuple[float, float]]:
        if param is None or id(param) not in judged or param.role != "weight" or not _judged_draw(param):
            return None
        std = param.init.std
        fan = _fan_in(param, matmul_fans.get(id(param)))
        if std is None or param.init.value or fan is None or std * math.sqrt(fan) * factor >= 1:
            return None
        return std, 1 / math.sqrt(fan)

    found: dict[int, tuple[float, float]] = {}
    for event in facts.layer_calls:
        if event.layer is None or id(event.layer) not in on_output_path:
            continue
        before = _previous_layer(event.input)
        previous = weights.get(id(before)) if before is not None else None
        if previous is None or previous is event.weight:
            continue
        mine, theirs = too_small(event.weight), too_small(previous)
        if mine is not None and theirs is not None:
            found[id(event.weight)], found[id(previous)] = mine, theirs
    return found


def _previous_layer(tensor: Tensor) -> Optional[Obj]:
    """The weight layer whose output a tensor is, through activations only."""
    for item in reversed(tensor.chain):
        if item.kind == "weight":
            layer: Optional[Obj] = item.layer
            return layer
        if item.kind not in ("act", "sigmoid", "tanh"):
            return None
    return None


def _fan_in(param: Param, uses: Optional[list[Optional[int]]]) -> Optional[int]:
    """The fan-in of a weight: a layer's from its constructor, else (a deferred Dense) from the
    inputs it is applied to; a hand-made one's from how it is applied (the smallest over its
    uses). A use of unknown orientation leaves the side of a matrix that makes a finding less
    likely, the smaller."""
    fan = param.owner.config.get("fan_in") if param.owner is not None else None
    if isinstance(fan, Const) and isinstance(fan.value, int) and fan.value > 0:
        return fan.value
    if uses is None:
        return None
    fans = [fan for fan in uses if fan is not None]
    if param.role != "raw":
        return min(fans) if fans and len(fans) == len(uses) else None
    if len(fans) < len(uses):
        dims = [d for d in (param.shape or ())[:2] if isinstance(d, int) and d > 0]
        if len(dims) < 2:
            return None
        fans.append(min(dims))
    return min(fans) if fans else None
