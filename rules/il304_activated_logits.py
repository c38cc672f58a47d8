from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

import libcst as cst

from initlint.diagnostics import Edit, Fix, Severity, Span
from initlint.facts.project import LossPairing
from initlint.facts.uses import ancestry, parent
from initlint.loss_rule import LossPairingRule
from initlint.rule import Confirm, FixSpec, Invalid, Valid

if TYPE_CHECKING:
    from initlint.facts import FileFacts

SOFTMAX_CE = """\
import torch
from torch import nn


class IntentClassifier(nn.Module):
    def __init__(self, in_features=20, hidden=64, num_classes=5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
            nn.Softmax(dim=-1),
        )

    def forward(self, x):
        return self.net(x)


def fit(model, x, intent):
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), intent)
    loss.backward()
"""

SIGMOID_BCE_LOGITS = """\
import torch
import torch.nn.functional as F
from torch import nn

head = nn.Linear(16, 1)


def step(h, y):
    loss = F.binary_cross_entropy_with_logits(torch.sigmoid(head(h)), y)
    loss.backward()
"""

TF1_SOFTMAX = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 10])
y = tf.placeholder(tf.float32, [None, 3])
w = tf.Variable(tf.truncated_normal([10, 3], stddev=0.1))
probs = tf.nn.softmax(tf.matmul(x, w))
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=probs))
"""

KERAS_FROM_LOGITS = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(64, activation="relu", input_shape=(20,)),
    layers.Dense(5, activation="softmax"),
])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
"""

LOG_SOFTMAX_CE = """\
import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(32, 5)

    def forward(self, h):
        return torch.log_softmax(self.out(h), dim=-1)


def fit(model, h, tags):
    loss = nn.CrossEntropyLoss()(model(h), tags)
    loss.backward()
"""

SOFTMAX_AT_INFERENCE = """\
import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.out = nn.Linear(32, 5)

    def forward(self, h):
        return self.out(h)


def fit(model, h, labels):
    loss = nn.CrossEntropyLoss()(model(h), labels)
    loss.backward()


def predict(model, h):
    with torch.no_grad():
        return torch.softmax(model(h), dim=-1)
"""

KERAS_SOFTMAX_CCE = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([layers.Dense(64, activation="relu", input_shape=(20,)), layers.Dense(5, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
"""

_FUNCTIONAL_MODULES = {"torch", "F", "functional", "nn.functional", "torch.nn.functional", "tf", "tf.nn", "tf.math"}
_EXPECTED = {"ce": "softmax", "bce_logits": "sigmoid", "keras_cce": "softmax", "keras_bce": "sigmoid"}


KERAS_SUBCLASSED = """\
from tensorflow import keras


class Classifier(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(64, activation="relu")
        self.out = keras.layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.out(self.hidden(x))


model = Classifier()
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
"""

KERAS_SUBCLASSED_TRAINING_FLAG = """\
import tensorflow as tf
from tensorflow import keras


class Classifier(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(64, activation="relu")
        self.out = keras.layers.Dense(10)

    def call(self, x, training=False):
        logits = self.out(self.hidden(x))
        return logits if training else tf.nn.softmax(logits)


model = Classifier()
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
"""


class ActivatedLogits(LossPairingRule):
    """
    ## What it does
    Flags a loss that applies its own squashing given an already squashed
    output: a softmax before `nn.CrossEntropyLoss` / `F.cross_entropy` /
    `tf.nn.softmax_cross_entropy_with_logits` / `tf.losses.softmax_cross_entropy`
    or a Keras loss with `from_logits=True`; a sigmoid before
    `nn.BCEWithLogitsLoss` / `F.binary_cross_entropy_with_logits` /
    `tf.nn.sigmoid_cross_entropy_with_logits` / `tf.losses.sigmoid_cross_entropy`.

    ## Why is this bad?
    The loss squashes again, so it is computed on a compressed range: it
    flattens and the gradient shrinks. With 5 classes, a softmax before
    `CrossEntropyLoss` scales the gradient by about 0.2 at init and the loss
    cannot go below log(1 + 4/e) = 0.905.

    ## Example
    ```python
    self.net = nn.Sequential(nn.Linear(64, 5), nn.Softmax(dim=-1))
    ...
    loss = nn.CrossEntropyLoss()(model(x), labels)
    ```

    ## Use instead
    Pass the logits; apply the softmax only for inference.

    ## Fix
    Offered, and **safe**, when the softmax or sigmoid is written in its
    functional form as an argument of the loss call itself
    (`F.cross_entropy(F.softmax(logits, dim=-1), y)`, `torch.sigmoid(z)`,
    `tf.nn.softmax(...)`): the fix passes its input to the loss instead. It
    changes only what the loss receives; the model and what it returns are
    untouched.

    Offered, and **unsafe**, for a PyTorch model that squashes its own
    output: an `nn.Softmax` / `nn.Sigmoid` as the last layer of a
    `Sequential` is removed, and a `return F.softmax(z, dim=-1)` (or
    `torch.softmax`, `z.softmax(-1)`, a sigmoid) returns `z`. The model then
    returns logits, so whatever reads its output as probabilities must apply
    the softmax itself; apply it with `--fix --unsafe-fixes`. A Keras
    `activation='softmax'` and a squash bound to a name before it is
    returned get no fix.

    ## Confirmation
    `--confirm` builds the model the activation belongs to (the finding's
    related location) and measures the first weight layer's gradient norm
    under the loss (cross-entropy after a softmax, `BCEWithLogitsLoss` after
    a sigmoid, random labels) with the activation and with it replaced by
    the identity. Confirmed when the ratio is below 0.5 (0.02-0.23 measured
    on small classifiers), refuted otherwise; the evidence gives the loss
    floor the squashed output cannot go below (0.905 for five classes).
    With two classes the softmax's Jacobian alone halves the gradient at
    initialization, so the ratio there sits near 0.5 either way and the line
    is 0.75 (a two-class softmax before cross-entropy floors the loss at
    0.313, and its gradient at a saturated wrong sample is 3e-9 against 1).
    Refuted when the activation's output does not reach the model's output
    at run time. A TF1 graph is measured the same way on TensorFlow: the
    cross-entropy with logits taken on the activation's output and on its
    input, with the same random labels, when the activation reaches the
    finding's loss. A Keras model is measured on the backend the file
    targets (TensorFlow unless the file sets `KERAS_BACKEND`), on the
    output the activation reaches, with the finding's kind of loss. A Keras
    loss (`from_logits=True`) on TensorFlow takes the logits behind a
    softmax or sigmoid output even then (it warns), so the loss and the
    gradient equal the logits loss's: refuted, since training on that
    backend is unaffected (on the jax or torch backend it would not be). It
    takes them only from the model's own output tensor: a loss that receives
    it through another op (`loss_fn(y, tf.reshape(model(x), [-1, 5]))`,
    which drops them) stays unverified. A `tf.nn` cross-entropy takes no
    logits back and is measured as itself.

    ## Known problems
    Log-softmax before `CrossEntropyLoss` is not flagged: log-softmax is
    idempotent, so the pair computes the right loss.

    ## References
    - PyTorch, `torch.nn.CrossEntropyLoss` (its input is unnormalized logits):
      https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
    - PyTorch, `torch.nn.BCEWithLogitsLoss`: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    - Keras, probabilistic losses (`from_logits`): https://keras.io/api/losses/probabilistic_losses/
    """

    code = "IL304"
    name = "activated-logits"
    severity = Severity.WARNING
    confirmation = Confirm(probe="loss_pairing", params={"loss": "logits"}, at_related=True, file_backend=True)
    message = "`{loss}` expects logits but receives an activated output (`{act}`): the loss squashes it again, flattens and shrinks the gradient"
    VALID = [Valid(LOG_SOFTMAX_CE), Valid(SOFTMAX_AT_INFERENCE), Valid(KERAS_SOFTMAX_CCE), Valid(KERAS_SUBCLASSED_TRAINING_FLAG)]
    INVALID = [
        Invalid(SOFTMAX_CE, at=[(21, 12)]),
        Invalid(SIGMOID_BCE_LOGITS, at=[(9, 12)]),
        Invalid(TF1_SOFTMAX, at=[(7, 23)]),
        Invalid(KERAS_FROM_LOGITS, at=[(8, 1)]),
        Invalid(KERAS_SUBCLASSED, at=[(15, 1)]),
    ]

    def applies(self, pairing: LossPairing) -> bool:
        expected = _EXPECTED.get(pairing.loss)
        if expected is None or pairing.squash != expected:
            return False
        if pairing.loss.startswith("keras_"):
            return pairing.from_logits is True
        return True

    def fix(self, pairing: LossPairing, facts: FileFacts) -> Optional[Any]:
        """A functional softmax/sigmoid written in the loss call itself: pass its input instead
        (safe). In the model, drop its last layer or return the logits (unsafe)."""
        node, squash = pairing.node, pairing.squash_node
        if not isinstance(node, cst.Call) or not isinstance(squash, cst.Call):
            return None
        if not any(arg.value is squash for arg in node.args):
            return _model_fix(pairing, squash, facts) if pairing.framework == "torch" else None
        func = squash.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("softmax", "sigmoid")) or not squash.args:
            return None
        first = squash.args[0]
        # Only the functional forms, whose first argument is the tensor (`logits.softmax(-1)` is a method).
        if first.keyword is not None or first.star or facts.code(func.value) not in _FUNCTIONAL_MODULES:
            return None
        return FixSpec(
            f"pass the logits (drop `{func.attr.value}`)", ((squash, facts.module.code_for_node(first.value)),), "safe"
        )


def _model_fix(pairing: LossPairing, squash: cst.Call, facts: FileFacts) -> Optional[Union[Fix, FixSpec]]:
    """The squash is the model's own: an `nn.Softmax()` last in a `Sequential`, or a softmax
    returned from a function. Removing it changes what the model returns, so it is unsafe."""
    path = ancestry(facts.module, squash)
    if path is None:
        return None
    owner = parent(path)
    func = squash.func
    if isinstance(owner, cst.Arg) and isinstance(func, cst.Attribute) and func.attr.value in ("Softmax", "Sigmoid"):
        seq = parent(path, (cst.Arg,))
        if not isinstance(seq, cst.Call) or not facts.code(seq.func).endswith("Sequential"):
            return None
        args = list(seq.args)
        if len(args) < 2 or args[-1] is not owner or any(a.star or a.keyword is not None for a in args):
            return None
        # Delete from the end of the layer before to the end of this one: the trailing comma,
        # the line breaks and the closing bracket stay as written.
        before, last = facts.positions.span(args[-2].value), facts.positions.span(squash)
        layer = facts.code(squash, 40)
        return Fix(
            f"return the logits (remove the last layer `{layer}`; apply it at inference)",
            (Edit(Span(before.end_line, before.end_column, last.end_line, last.end_column), ""),),
            "unsafe",
        )
    if isinstance(owner, cst.Return) and isinstance(func, cst.Attribute) and func.attr.value in ("softmax", "sigmoid"):
        logits = _squash_input(squash, facts)
        if logits is None:
            return None
        return FixSpec(
            f"return the logits (drop `{func.attr.value}`; apply it at inference)",
            ((squash, facts.module.code_for_node(logits)),),
            "unsafe",
        )
    return None


def _squash_input(squash: cst.Call, facts: FileFacts) -> Optional[cst.BaseExpression]:
    """The tensor a softmax/sigmoid call squashes: `F.softmax(z, dim=-1)` and `z.softmax(-1)` -> `z`."""
    func = squash.func
    assert isinstance(func, cst.Attribute)
    if facts.code(func.value) in _FUNCTIONAL_MODULES:
        first = squash.args[0] if squash.args else None
        if first is None or first.keyword is not None or first.star:
            return None
        return first.value
    return func.value
