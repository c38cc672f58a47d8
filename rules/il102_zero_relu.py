from __future__ import annotations

from collections.abc import Iterator

from initlint.diagnostics import Severity
from initlint.facts import FileFacts
from initlint.facts.values import Param
from initlint.frameworks.tables import DEAD_AT_ZERO_ACTS
from initlint.rule import Confirm, Finding, Invalid, Rule, Valid

ZERO_EMBEDDING_RELU = """\
import torch
from torch import nn


class NewFeatureTower(nn.Module):
    def __init__(self, num_ids=1000, emb_dim=16, hidden=32):
        super().__init__()
        self.emb = nn.Embedding(num_ids, emb_dim)
        nn.init.zeros_(self.emb.weight)
        self.fc1 = nn.Linear(emb_dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, ids):
        h = torch.relu(self.fc1(self.emb(ids)))
        return self.fc2(h).squeeze(-1)
"""

SEQUENTIAL_ZERO_INIT = """\
import torch.nn as nn


def zero_init(m):
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.weight)
        nn.init.zeros_(m.bias)


model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 1))
model.apply(zero_init)
"""

KERAS_ZERO_RELU = """\
from tensorflow import keras

model = keras.Sequential([
    keras.layers.Dense(16, activation="relu", kernel_initializer="zeros", input_shape=(4,)),
    keras.layers.Dense(1),
])
"""

ZERO_EMBEDDING_GELU = """\
import torch.nn.functional as F
from torch import nn


class NewFeatureTower(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(1000, 16)
        nn.init.zeros_(self.emb.weight)
        self.fc1 = nn.Linear(16, 32, bias=False)
        self.fc2 = nn.Linear(32, 1)

    def forward(self, ids):
        return self.fc2(F.gelu(self.fc1(self.emb(ids))))
"""

ZERO_RESIDUAL_BRANCH = """\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x):
        return torch.relu(x + self.fc2(torch.relu(self.fc1(x))))
"""


HAND_MADE_WEIGHTS = """\
import torch
from torch import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.zeros(8, 8))
        self.w2 = nn.Parameter(torch.zeros(8, 8))
        with torch.no_grad():
            self.w2.copy_(torch.randn(8, 8) * 0.1)

    def forward(self, x):
        return torch.relu(x @ self.w1) @ self.w2
"""


PLAIN_TENSORS = """\
import torch

W1 = torch.zeros(784, 128, requires_grad=True)
W2 = torch.randn(128, 10, requires_grad=True)


def forward(x):
    return torch.relu(x @ W1) @ W2
"""


SUBCLASS_RESET_PARAMETERS = """\
import torch
from torch import nn


class ZeroLinear(nn.Linear):
    def reset_parameters(self):
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = ZeroLinear(8, 8)
        self.b = nn.Linear(8, 4)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))
"""


# A Keras model also called on an all-zero reference input: its Dense bias starts at zero, as
# Keras' default does, but the zero comes from the input, and on real data the units live.
KERAS_ZEROS_REFERENCE_INPUT = """\
import tensorflow as tf
from tensorflow import keras

base_model = keras.Sequential([keras.layers.Dense(32, activation="relu", input_shape=(8,)), keras.layers.Dense(4)])
inputs = keras.Input((8,))
logits = base_model(inputs)
model = keras.Model(inputs=inputs, outputs=logits)
zero_logits = base_model(tf.zeros_like(inputs))
model.add_loss(tf.reduce_mean(tf.square(logits - zero_logits)))
"""

# Zeros fed as data: a shape check, and a reference input next to training on real data.
ZEROS_SHAPE_CHECK = """\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, c=3):
        super().__init__()
        self.conv = nn.Conv2d(c, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


blk = Block()
assert blk(torch.zeros((2, 3, 16, 16))).shape == (2, 4)
"""

ZEROS_REFERENCE_INPUT = """\
import torch
from torch import nn

base = nn.Sequential(nn.Linear(10, 32, bias=False), nn.ReLU(), nn.Linear(32, 1))
for x, y in loader:
    ref = base(torch.zeros_like(x))
    loss = ((base(x) - ref - y) ** 2).mean()
"""


# A Keras model built on an agent's `self.model` in its constructor, or by a builder method,
# and never compiled there: analysed like one built at module level.
KERAS_AGENT_INIT = """\
from tensorflow.keras.layers import Conv2D, Dense, Flatten
from tensorflow.keras.models import Sequential


class DQN:
    def __init__(self, input_shape, output_shape):
        self.model = Sequential()
        self.model.add(Conv2D(8, (3, 3), input_shape=input_shape, activation="relu"))
        self.model.add(Flatten())
        self.model.add(Dense(16, kernel_initializer="zeros", activation="relu"))
        self.model.add(Dense(output_shape))
"""

KERAS_BUILDER_METHOD = """\
from tensorflow.keras.layers import Conv2D, Dense, Flatten
from tensorflow.keras.models import Sequential


class DQN:
    def __init__(self, input_shape, output_shape):
        self.input_shape, self.output_shape = input_shape, output_shape
        self.model = self.create_model()

    def create_model(self):
        model = Sequential()
        model.add(Conv2D(8, (3, 3), input_shape=self.input_shape, activation="relu"))
        model.add(Flatten())
        model.add(Dense(16, kernel_initializer="zeros", activation="relu"))
        model.add(Dense(self.output_shape))
        return model
"""

# The zero layer is added only under a flag nobody sets here: it may not be in the model.
KERAS_AGENT_INIT_FLAG = KERAS_AGENT_INIT.replace("output_shape):", "output_shape, zero_init):").replace(
    '        self.model.add(Dense(16, kernel_initializer="zeros"',
    '        if zero_init:\n            self.model.add(Dense(16, kernel_initializer="zeros"',
)


class ZeroRelu(Rule):
    """
    ## What it does
    Flags a ReLU (or ReLU6) whose input is identically zero when training
    starts: a zero weight with a zero or absent bias, or a zero input carried
    through a layer without a bias.

    ## Why is this bad?
    PyTorch defines `relu'(0) = 0`. With every pre-activation at exactly
    zero, the gradient through the activation is zero for every sample, so
    nothing before it ever learns: every unit is dead from the first step.

    ## Example
    ```python
    self.emb = nn.Embedding(n, 16)
    nn.init.zeros_(self.emb.weight)
    self.fc1 = nn.Linear(16, 32, bias=False)
    ...
    h = torch.relu(self.fc1(self.emb(ids)))  # relu(0): no gradient reaches emb or fc1
    ```

    ## Use instead
    Initialise the weights randomly (the framework default), or keep the zero
    start and use an activation whose derivative at 0 is not 0 (GELU, SiLU,
    LeakyReLU).

    ## Fix
    No automatic fix: initialising randomly and changing the activation are
    both modelling choices.

    ## Confirmation
    `--confirm` builds the model (from its constructor defaults or
    `[tool.initlint.confirm.modules]`), runs it on inferred inputs,
    backpropagates a random projection of the outputs, takes one SGD step
    (learning rate 0.1) and runs a second forward and backward pass. It judges
    the finding's parameters, or else those upstream of the activation, all
    together. Confirmed when every one of them gets exactly zero gradient on
    both passes; refuted when any of them gets a non-zero gradient on either
    pass. A refuted finding stays in the output but no longer fails the run.
    Unverified when the model cannot be built or no trainable parameter lies
    upstream.

    ## Known problems
    `Hardtanh` and `clamp(min=0)` pass their gradient at the boundary in
    PyTorch and are not flagged. A zero input into sigmoid, tanh or GELU is
    not dead but may be symmetric (see IL201).

    ## References
    - PyTorch, `torch.nn.ReLU`: https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html
    - He et al., *Delving Deep into Rectifiers* (2015), initialization for
      rectifier networks: https://arxiv.org/abs/1502.01852
    - PyTorch, `torch.nn.init`: https://pytorch.org/docs/stable/nn.init.html
    """

    code = "IL102"
    name = "zero-relu"
    severity = Severity.ERROR
    confirmation = Confirm(probe="zero_gradients", params={"ops": "activation"})
    message = "`{act}` receives an input that is zero at initialization ({causes}); relu'(0) = 0, so no gradient flows back through it"
    VALID = [Valid(ZERO_EMBEDDING_GELU), Valid(ZERO_RESIDUAL_BRANCH), Valid(ZEROS_SHAPE_CHECK), Valid(ZEROS_REFERENCE_INPUT), Valid(KERAS_AGENT_INIT_FLAG), Valid(KERAS_ZEROS_REFERENCE_INPUT)]
    INVALID = [
        Invalid(ZERO_EMBEDDING_RELU, at=[(14, 13)]),
        Invalid(SEQUENTIAL_ZERO_INIT, at=[(10, 42)], also=[("IL101", 10, 53), ("IL201", 6, 9)]),
        Invalid(KERAS_ZERO_RELU, at=[(4, 5)], also=[("IL201", 4, 47)]),
        Invalid(SUBCLASS_RESET_PARAMETERS, at=[(18, 23)], also=[("IL201", 7, 9)]),
        Invalid(PLAIN_TENSORS, at=[(8, 12)], also=[("IL201", 3, 6), ("IL401", 4, 6)]),
        Invalid(HAND_MADE_WEIGHTS, at=[(14, 16)], also=[("IL201", 8, 32)]),
        Invalid(KERAS_AGENT_INIT, at=[(10, 24)], also=[("IL201", 10, 34)]),
        Invalid(KERAS_BUILDER_METHOD, at=[(14, 19)], also=[("IL201", 14, 29)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        seen: set[int] = set()
        for event in facts.activations:
            if event.kind not in DEAD_AT_ZERO_ACTS or not event.input.is_zero or not event.input.params:
                continue
            if any(p.uid in facts.direct_gradient_params for p in event.input.params):
                continue  # a loss term moves the weights directly: the unit revives after a step
            if id(event.node) in seen:
                continue
            names, related = facts.zero_causes([event.input], event.where)
            zeroed = [cause for _, cause in event.input.zero_sites if isinstance(cause, Param)]
            if zeroed and all(p.role == "bias" for p in zeroed):
                # A zero bias alone never makes a layer's output zero: its input was (Keras' zero
                # default bias behind `base(tf.zeros_like(x))`), and on real data the unit lives.
                continue
            if not names:
                # Zero only because the input is (`blk(torch.zeros(...)).shape`, a zeros reference
                # input): the model's weights are not what makes it zero.
                continue
            seen.add(id(event.node))
            causes = ", ".join(names[:4])
            yield self.report(
                event.node,
                related=related,
                subject=facts.subject(event.where, event.input.params),
                act=facts.code(event.node, 40),
                causes=causes,
            )
