from __future__ import annotations

from collections.abc import Iterator

from initlint.diagnostics import Severity
from initlint.facts import FileFacts
from initlint.facts.project import compiled_loss
from initlint.facts.values import Const, Tensor, Value, const_int
from initlint.frameworks.keras import model_output, model_width
from initlint.rule import Confirm, Finding, Invalid, Rule, Valid

TORCH_HEAD = """\
import torch
from torch import nn


class ChurnClassifier(nn.Module):
    def __init__(self, n_features=20, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        return torch.softmax(self.head(self.body(x)), dim=-1)
"""

KERAS_HEAD = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(32, activation="relu", input_shape=(20,)),
    layers.Dense(1, activation="softmax"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
"""

# Layers from a star import (`from keras.layers import *`) are Keras' own, also when another
# module's star import (the optimizers) comes after it.
KERAS_STAR_IMPORT = """\
from keras.models import Model
from keras.layers import *
from keras.optimizers import *

inp = Input(shape=(8,))
x = Dense(4, activation="relu")(inp)
out = Dense(1, activation="softmax")(x)
model = Model(inputs=inp, outputs=out)
model.compile(optimizer=SGD(), loss="mse")
"""

KERAS_ACTIVATION_LAYER = """\
from keras.models import Sequential
from keras.layers import Activation, Dense

model = Sequential()
model.add(Dense(16, activation="relu", input_shape=(8,)))
model.add(Dense(1))
model.add(Activation("softmax"))
model.compile(loss="binary_crossentropy", optimizer="adam")
"""

KERAS_MAIN_BLOCK = """\
from keras.models import Sequential
from keras.layers import Activation, Dense

if __name__ == "__main__":
    model = Sequential()
    model.add(Dense(4, input_dim=3))
    model.add(Dense(1))
    model.add(Activation("softmax"))
    model.compile(loss="mean_squared_error", optimizer="sgd")
"""

KERAS_MODEL_ON_MODULE = """\
import tensorflow as tf

tf.model = tf.keras.Sequential()
tf.model.add(tf.keras.layers.Dense(16, activation="relu", input_dim=4))
tf.model.add(tf.keras.layers.Dense(1, activation="softmax"))
tf.model.compile(loss="binary_crossentropy", optimizer="adam")
"""

KERAS_ACTIVATION_LAYERS_FINE = """\
from keras.models import Sequential
from keras.layers import Activation, Dense

binary = Sequential([Dense(16, input_shape=(8,)), Activation("relu"), Dense(1), Activation("sigmoid")])
binary.compile(loss="binary_crossentropy", optimizer="adam")
classes = Sequential([Dense(16, input_shape=(8,)), Activation("relu"), Dense(3), Activation("softmax")])
classes.compile(loss="categorical_crossentropy", optimizer="adam")
"""

KERAS_PRETRAINED_BODY = """\
from tensorflow.keras.applications import VGG16
from tensorflow.keras.layers import Dense, Flatten
from tensorflow.keras.models import Sequential

base = VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
model = Sequential()
for layer in base.layers:
    model.add(layer)
model.add(Flatten())
model.add(Dense(1, activation="softmax"))
model.compile(loss="binary_crossentropy", optimizer="adam")
"""

KERAS_STATIC_BUILDER = """\
from keras.layers import Dense
from keras.models import Sequential


class Models:
    @staticmethod
    def binary(units):
        model = Sequential([Dense(units, activation="relu", input_shape=(8,)), Dense(1, activation="softmax")])
        model.compile(loss="binary_crossentropy", optimizer="adam")
        return model
"""

# Layers kept in a config for a custom model that runs them in a loop: the layer alone decides.
KERAS_CONFIG_LAYERS = """\
from keras.layers import Dense, Dropout

CONFIG = {
    "model": [
        Dense(units=32, activation="relu"),
        Dropout(0.2),
        Dense(units=1, activation="softmax"),
    ],
    "loss": "binary_crossentropy",
}
"""

SEQUENTIAL_MODULE = """\
from torch import nn

net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1), nn.Softmax(dim=-1))
"""

DIM_ONE_HEAD = """\
import torch.nn.functional as F
from torch import nn


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 1)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)
"""

LISTWISE = """\
import torch
from torch import nn


class ListwiseRanker(nn.Module):
    def __init__(self):
        super().__init__()
        self.scorer = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, candidates):
        scores = self.scorer(candidates).squeeze(-1)
        return torch.log_softmax(scores, dim=-1)
"""

ATTENTION_POOLING = """\
import torch
from torch import nn


class AttentionPool(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, h):
        weights = torch.softmax(self.score(h), dim=1)
        return (weights * h).sum(dim=1)
"""


# Losses that normalize their prediction over the class axis (log-softmax, or Keras'
# division by the sum): constant on a 1-unit output.
SOFTMAX_LOSSES = frozenset({"ce", "keras_cce"})

TORCH_LOSS_ON_ONE_UNIT = """\
import torch
import torch.nn.functional as F


class Trainer:
    def __init__(self, model, optimizer):
        self.model = model
        self.optimizer = optimizer

    def step(self, source, targets):
        self.optimizer.zero_grad()
        loss = F.cross_entropy(self.model(source), targets)
        loss.backward()
        self.optimizer.step()


model = torch.nn.Linear(20, 1)
trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=1e-3))
trainer.step(torch.randn(32, 20), torch.rand(32, 1))
"""

KERAS_LOSS_ON_ONE_UNIT = """\
from keras.layers import Dense
from keras.models import Sequential

model = Sequential([Dense(32, activation="relu", input_dim=10), Dense(1, activation="sigmoid")])
model.compile(loss="categorical_crossentropy", optimizer="adam")
"""

ONE_UNIT_BINARY_LOSSES = """\
import torch
import torch.nn.functional as F
from keras.layers import Dense
from keras.models import Sequential
from torch import nn

head = nn.Linear(20, 1)
two = nn.Linear(20, 2)
x = torch.randn(8, 20)
F.binary_cross_entropy_with_logits(head(x), torch.ones(8, 1)).backward()
F.cross_entropy(two(x), torch.zeros(8, dtype=torch.long)).backward()
model = Sequential([Dense(32, activation="relu", input_dim=10), Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam")
"""


class SingleUnitSoftmax(Rule):
    """
    ## What it does
    Flags a softmax (or log-softmax) over an axis of size one, such as
    `Dense(1, activation='softmax')` or `nn.Linear(k, 1)` followed by
    `softmax(dim=-1)`; and a cross-entropy loss computed on a 1-unit
    output (`F.cross_entropy` / `nn.CrossEntropyLoss` on `nn.Linear(k, 1)`,
    Keras `categorical_crossentropy` or `sparse_categorical_crossentropy` on
    `Dense(1)`), which softmaxes (or normalizes) over that axis itself. That
    finding is reported at the loss, with the 1-unit layer as related.

    ## Why is this bad?
    A softmax over one value is always exactly 1 (log-softmax exactly 0),
    whatever the input. Its gradient is zero, so nothing before it ever
    learns. It is a common slip when a binary or regression model keeps a
    multi-class head. The same holds inside a cross-entropy: on one class
    the loss is constant (PyTorch: exactly 0) and every gradient is exactly
    zero (measured on `F.cross_entropy` over `nn.Linear(20, 1)`), whatever
    the targets. Binary losses (`BCEWithLogitsLoss`, `binary_crossentropy`)
    are the right ones for a 1-unit output and are not flagged.

    ## Example
    ```python
    self.head = nn.Linear(hidden, 1)
    ...
    return torch.softmax(self.head(h), dim=-1)
    ```

    ## Use instead
    A sigmoid for a binary probability (better: return the logit and use
    `BCEWithLogitsLoss`), or no activation for regression.

    ## Fix
    No automatic fix: whether the head should be a sigmoid or no activation
    depends on the task.

    ## Confirmation
    `--confirm` builds the model (from its constructor defaults or
    `[tool.initlint.confirm.modules]`), runs it on inferred inputs,
    backpropagates a random projection of the outputs, takes one SGD step
    (learning rate 0.1) and runs a second forward and backward pass. It judges
    the parameters upstream of the softmax, all together. Confirmed when
    every one of them gets exactly zero gradient on both passes; refuted when
    any of them gets a non-zero gradient on either pass. A refuted finding
    stays in the output but no longer fails the run. Unverified when the
    model cannot be built or no trainable parameter lies upstream.
    A Keras model is measured on the backend the file targets (TensorFlow
    for `tf.keras` and plain `keras`; needs `tensorflow-cpu`, else
    unverified), with a GradientTape; a TF1 graph under `tf.compat.v1`.
    A finding at a loss is unverified: the stage runs the model, not the loss.

    ## Known problems
    The last axis (`dim=-1`, Keras' default `axis=-1`) is judged everywhere;
    `dim=1` only where the softmax is the model's output or a loss's input,
    because inside a model a softmax over `dim=1` of a `[batch, tokens, 1]`
    score is attention pooling, which is correct. For the same reason a
    PyTorch cross-entropy is judged on a 1-unit output as `[batch, 1]`: a
    `[batch, tokens, 1]` score given to it unsqueezed would be read as
    `tokens` classes, which this rule would report wrongly. A loss is judged
    only when the output's width is certainly 1.

    ## References
    - PyTorch, `torch.nn.Softmax`: https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html
    - PyTorch, `torch.nn.BCEWithLogitsLoss`: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    """

    code = "IL103"
    name = "single-unit-softmax"
    severity = Severity.ERROR
    confirmation = Confirm(probe="zero_gradients", params={"ops": "softmax"}, file_backend=True)
    message = "`{act}` normalizes over an axis of size 1: its output is always {constant}, so no gradient reaches the layers before it"
    VALID = [Valid(LISTWISE), Valid(ATTENTION_POOLING), Valid(KERAS_ACTIVATION_LAYERS_FINE), Valid(ONE_UNIT_BINARY_LOSSES)]
    INVALID = [
        Invalid(TORCH_HEAD, at=[(12, 16)]),
        Invalid(KERAS_HEAD, at=[(6, 5)]),
        Invalid(KERAS_ACTIVATION_LAYER, at=[(7, 11)]),
        Invalid(KERAS_STAR_IMPORT, at=[(7, 7)]),
        Invalid(KERAS_STATIC_BUILDER, at=[(8, 80)]),
        Invalid(KERAS_MODEL_ON_MODULE, at=[(5, 14)]),
        Invalid(KERAS_MAIN_BLOCK, at=[(8, 15)]),
        Invalid(KERAS_PRETRAINED_BODY, at=[(10, 11)]),
        Invalid(SEQUENTIAL_MODULE, at=[(3, 68)]),
        Invalid(KERAS_CONFIG_LAYERS, at=[(7, 9)]),
        Invalid(DIM_ONE_HEAD, at=[(11, 16)]),
        Invalid(TORCH_LOSS_ON_ONE_UNIT, at=[(12, 16)]),
        Invalid(KERAS_LOSS_ON_ONE_UNIT, at=[(5, 1)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        # Softmax over dim=1 (or the implicit dim) is judged only where it is the
        # model's output or a loss's input: [batch, 1] there, while inside a model
        # a [batch, tokens, 1] score softmaxed over dim=1 is attention pooling.
        outputs = {id(t.squash.node) for t in self._final_values(facts) if t.squash is not None}
        seen: set[int] = set()
        for event in facts.activations:
            if event.kind not in ("softmax", "log_softmax") or event.input.last_dim != 1:
                continue
            dim = const_int(event.dim)
            last_axis = dim == -1 or (dim in (1, None) and id(event.node) in outputs and _is_output_dim(event.dim))
            if not last_axis or id(event.node) in seen:
                continue
            seen.add(id(event.node))
            yield self.report(
                event.node,
                subject=facts.subject(event.where, event.input.params),
                act=facts.code(event.node, 50),
                constant="1" if event.kind == "softmax" else "0",
            )
        yield from self._loss_findings(facts)

    def _loss_findings(self, facts: FileFacts) -> Iterator[Finding]:
        """A cross-entropy normalizes over the class axis itself: on a 1-unit output the
        loss is constant and every gradient is zero. A softmax already applied to that
        output is reported above, so only an output without one is judged here."""
        seen: set[int] = set()
        for event in facts.losses:
            pred = event.prediction
            if event.loss.kind not in SOFTMAX_LOSSES or pred.last_dim != 1 or id(event.node) in seen:
                continue
            if pred.squash is not None and pred.squash.kind in ("softmax", "log_softmax"):
                continue
            seen.add(id(event.node))
            layer = next((c.layer for c in reversed(pred.chain) if c.kind == "weight" and c.layer is not None), None)
            yield self.report(
                event.node,
                related=[(layer.site, "the 1-unit output layer")] if layer is not None and layer.site is not None else [],
                act=facts.code(event.node, 50),
                constant="0" if event.loss.framework == "torch" or event.loss.from_logits else "the same",
            )
        for compile_event in facts.keras_compiles:
            kind, _ = compiled_loss(compile_event.loss)
            width = model_width(compile_event.model)
            if kind != "keras_cce" or width is None or width[0] != 1 or id(compile_event.node) in seen:
                continue
            output = model_output(compile_event.model)
            if output is not None and output[0] in ("softmax", "log_softmax"):
                continue
            seen.add(id(compile_event.node))
            yield self.report(
                compile_event.node,
                related=[(width[1], "the 1-unit output layer")] if width[1] is not None else [],
                act=facts.code(compile_event.node, 50),
                constant="the same",
            )

    @staticmethod
    def _final_values(facts: FileFacts) -> Iterator[Tensor]:
        for root in facts.roots:
            if isinstance(root.output, Tensor):
                yield root.output
        for loss in facts.losses:
            yield loss.prediction


def _is_output_dim(dim: Value) -> bool:
    """dim=1, or no dim (PyTorch's implicit choice is 1 for 2-D input)."""
    return const_int(dim) == 1 or (isinstance(dim, Const) and dim.value is None)
