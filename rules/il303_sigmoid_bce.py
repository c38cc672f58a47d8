from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import libcst as cst

from initlint.diagnostics import Severity
from initlint.facts.project import LossPairing
from initlint.facts.uses import ancestry, output_used_elsewhere, parent
from initlint.loss_rule import LossPairingRule
from initlint.rule import Confirm, FixSpec, Invalid, Valid

if TYPE_CHECKING:
    from initlint.facts import FileFacts

SEQUENTIAL_SIGMOID = """\
import torch
from torch import nn


class ChurnClassifier(nn.Module):
    def __init__(self, in_features=30, hidden=16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x).squeeze(-1)


def fit(model, x, churned):
    criterion = nn.BCELoss()
    loss = criterion(model(x), churned)
    loss.backward()
"""

FUNCTIONAL = """\
import torch
import torch.nn.functional as F

w = torch.nn.Parameter(torch.randn(8, 1) * 0.1)


def step(x, y):
    p = torch.sigmoid(x @ w)
    loss = F.binary_cross_entropy(p, y)
    loss.backward()
"""

TF_EAGER = """\
import tensorflow as tf

w = tf.Variable(tf.random.normal([4, 1]))
bce = tf.keras.losses.BinaryCrossentropy()


def step(x, y):
    with tf.GradientTape() as tape:
        loss = bce(y, tf.sigmoid(tf.matmul(x, w)))
    return tape.gradient(loss, [w])
"""

# A GAN's hand-written losses: `1 - sigmoid(z)` is exactly 0 once z >= 17 in float32, so its log is
# -inf and the gradient nan; `log(sigmoid(z))` keeps its gradient (1 - sigmoid(z)) down to z = -88.
TF_HAND_WRITTEN = """\
import tensorflow as tf

w = tf.Variable(tf.random.normal([784, 1], stddev=0.03))


def discriminator(x):
    return tf.sigmoid(tf.matmul(x, w))


def discriminator_loss(real, fake):
    real_loss = -tf.reduce_mean(tf.math.log(discriminator(real)))
    fake_loss = -tf.reduce_mean(tf.math.log(1 - discriminator(fake) + 1e-8))
    return real_loss + fake_loss
"""

# A TF1 logistic regression started at zero: its output is 0.5 everywhere at first, but it is
# still the sigmoid of a layer, and the hand-written log-loss saturates as soon as it learns.
TF1_ZERO_LOGREG = """\
import tensorflow as tf

w = tf.Variable(tf.zeros([2, 1]))
b = tf.Variable(tf.zeros([1]))
x = tf.placeholder(tf.float32, shape=[None, 2])
t = tf.placeholder(tf.float32, shape=[None, 1])
y = tf.nn.sigmoid(tf.matmul(x, w) + b)
cross_entropy = -tf.reduce_sum(t * tf.log(y) + (1 - t) * tf.log(1 - y))
"""

# The same loss bound in both branches of a device check (a GAN trainer's `gpu_mode`).
BRANCH_BOUND_LOSS = """\
from torch import nn


class GAN:
    def __init__(self, gpu_mode):
        self.D = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid())
        if gpu_mode:
            self.BCE_loss = nn.BCELoss().cuda()
        else:
            self.BCE_loss = nn.BCELoss()

    def train_step(self, x, y):
        return self.BCE_loss(self.D(x), y)
"""

PREDICT_READS_OUTPUT = SEQUENTIAL_SIGMOID + """

@torch.no_grad()
def predict(model, x):
    return model(x) > 0.5
"""

KERAS_STANDARD = """\
from tensorflow import keras
from tensorflow.keras import layers

model = keras.Sequential([
    layers.Dense(16, activation="relu", input_shape=(30,)),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
"""

LOGITS_LOSS = """\
import torch
from torch import nn


class ChurnClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)

    @torch.no_grad()
    def predict_proba(self, x):
        return torch.sigmoid(self(x))


def fit(model, x, churned):
    loss = nn.BCEWithLogitsLoss()(model(x), churned)
    loss.backward()
"""

# The model behind wrappers that hand back the same module: `nn.DataParallel` in a branch,
# `torch.compile`, Lightning Fabric's `setup(model, optimizer)`.
WRAPPED_MODELS = """\
import torch
from torch import nn
from lightning.fabric import Fabric

fabric = Fabric(accelerator="auto")
D = nn.Sequential(nn.Linear(64, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1), nn.Sigmoid()).to("cpu")
if torch.cuda.device_count() > 1:
    D = nn.DataParallel(D)
D = torch.compile(D)
opt = torch.optim.Adam(D.parameters())
D, opt = fabric.setup(D, opt)
criterion = nn.BCELoss().to("cpu")
for x in fabric.setup_dataloaders(loader):
    loss = criterion(D(x).view(-1), torch.ones(x.shape[0]))
"""

# A GAN's discriminator loss on its real and fake scores joined into one batch.
JOINED_SCORES = """\
import torch
from torch import nn

D = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 1), nn.Sigmoid())
criterion = nn.BCELoss()
for real, fake in loader:
    scores = torch.cat((D(real), D(fake)), 0)
    labels = torch.cat((torch.ones(real.shape[0], 1), torch.zeros(fake.shape[0], 1)), 0)
    loss = criterion(scores, labels)
"""

# A GAN's discriminator and generator losses: one criterion, two calls, each a place the gradient is lost.
TWO_LOSS_CALLS = """\
import torch
from torch import nn

D = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 1), nn.Sigmoid())
criterion = nn.BCELoss()
for real, fake in loader:
    d_loss = criterion(D(real), torch.ones(real.shape[0], 1)) + criterion(D(fake), torch.zeros(fake.shape[0], 1))
    g_loss = criterion(D(fake), torch.ones(fake.shape[0], 1))
"""

# The validation loop's loss is only logged (`loss.item()`), though the name `loss` is also the
# training loop's, which backpropagates its own: only the training call is a place the gradient is lost.
TRAIN_AND_VALIDATION = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
criterion = nn.BCELoss()
for epoch in range(10):
    for x, y in train_loader:
        loss = criterion(model(x), y)
        loss.backward()
    total = 0.0
    for x, y in val_loader:
        loss = criterion(model(x), y)
        total += loss.item()
"""

# The loss backpropagated on its own line, and logged after: still a training loss.
ONE_LINE_BACKWARD = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
criterion = nn.BCELoss()
for x, y in train_loader:
    loss = criterion(model(x), y); loss.backward()
    print(loss.item())
"""

_LOGITS_NAMES = {"BCELoss": "BCEWithLogitsLoss", "binary_cross_entropy": "binary_cross_entropy_with_logits"}


# Keras 2's `backend.sigmoid` (tf_keras) caches its logits on its output, and Keras' binary
# cross-entropy computes the loss from them (Keras 3 has no backend.sigmoid).
KERAS2_BACKEND_SIGMOID = """\
import numpy as np
from tf_keras import backend, losses

target = backend.variable(np.random.randint(0, 2, (5, 1)))
logits = backend.variable(np.random.random((5, 1)))
loss = losses.binary_crossentropy(target, backend.sigmoid(logits))
"""



# A weighted Keras binary cross-entropy in a loss function of the user's: on TensorFlow Keras still
# computes it from the sigmoid layer's cached logits.
KERAS_CUSTOM_BCE = """\
from keras.layers import Dense
from keras.losses import binary_crossentropy
from keras.models import Sequential


def weighted_bce(y_true, y_pred):
    return 2.0 * binary_crossentropy(y_true, y_pred)


model = Sequential([Dense(16, activation="relu", input_shape=(8,)), Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss=weighted_bce)
"""


class SigmoidBce(LossPairingRule):
    """
    ## What it does
    Flags a sigmoid output fed to a probability-space binary cross-entropy:
    `nn.BCELoss` / `F.binary_cross_entropy`, `tf.losses.log_loss`, or a raw
    `tf.sigmoid` output into a `tf.keras.losses` binary cross-entropy in an
    eager loop, and a hand-written one: the log of `1 - sigmoid(z)` (with or
    without an epsilon or a clip), as in `-(y * log(p) + (1 - y) * log(1 - p))`
    or a GAN's `log(1 - D(G(z)))`.

    ## Why is this bad?
    In float32 the sigmoid rounds to exactly 0 or 1 once |z| ≳ 17; the log
    is then clamped and the gradient is lost (at z = 20 with label 0,
    `BCELoss` gives loss 100 and gradient 0, `BCEWithLogitsLoss` gives 20
    and gradient 1). The logits form computes the same loss stably.

    ## Example
    ```python
    self.net = nn.Sequential(nn.Linear(30, 1), nn.Sigmoid())
    ...
    loss = nn.BCELoss()(model(x), y)
    ```

    ## Use instead
    ```python
    self.net = nn.Sequential(nn.Linear(30, 1))
    ...
    loss = nn.BCEWithLogitsLoss()(model(x), y)  # torch.sigmoid at inference
    ```

    ## Fix
    Offered for a PyTorch pair in one file, where this loss object takes only
    this sigmoid and the sigmoid feeds only this loss: the fix renames
    `BCELoss` to `BCEWithLogitsLoss` (`F.binary_cross_entropy` to
    `F.binary_cross_entropy_with_logits`) and drops the sigmoid
    (`torch.sigmoid(z)` and `z.sigmoid()` become `z`, an `nn.Sigmoid()` in a
    `Sequential` becomes `nn.Identity()`). Dropping the sigmoid changes what
    the model (or the expression) returns: logits instead of probabilities.
    So the fix is **safe** only when nothing else in the file reads that
    output: no other call of the model besides the loss, no other method of
    the model that uses the layers. Otherwise, or when that cannot be told (a
    `predict()` comparing `model(x)` with 0.5, a metric, an `nn.Sigmoid`
    bound to an attribute), it is **unsafe** (`--fix --unsafe-fixes`): those
    readers must then apply `torch.sigmoid` themselves.

    ## Confirmation
    `--confirm` builds the model the sigmoid belongs to (the finding's related
    location) and checks structurally: the sigmoid's output reaches the
    model's output at run time, and at a saturated wrong sample (logit 20,
    label 0) dL/dz through the sigmoid is exactly 0.0 (`BCELoss` clamps its logarithm) against 1/B with
    `BCEWithLogitsLoss` (at initialization the gradients of both losses are
    alike, so a gradient ratio would not tell). Confirmed when dL/dz is below
    a thousandth of the logits loss's; refuted when the sigmoid does not
    reach the output at run time; unverified when no sigmoid runs there.

    ## Known problems
    Keras's `Dense(1, activation='sigmoid')` with `loss='binary_crossentropy'`
    is not flagged: Keras computes it from the cached logits. Of a
    hand-written cross-entropy only the `log(1 - p)` term is reported: `1 - p`
    is exactly 0 once z >= 17 (loss inf, gradient nan), while `log(p)` keeps
    its gradient until z < -88, so `-log(sigmoid(z))` alone is left alone.
    Only a model's output is judged: a loss function that takes logits and
    applies the sigmoid itself (an asymmetric loss with its probability clip)
    works in probability space on purpose.
    Confirmation judges the sigmoid as for `BCELoss`: at the same saturated
    sample a hand-written `log(1 - p)` has gradient nan (0 with an epsilon);
    on a TF1 graph the script's own loss is evaluated there (loss inf,
    dL/dz nan: confirmed).

    ## References
    - PyTorch, `torch.nn.BCELoss` (its log is clamped at -100): https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html
    - PyTorch, `torch.nn.BCEWithLogitsLoss`: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
    - Keras, probabilistic losses (`from_logits`): https://keras.io/api/losses/probabilistic_losses/
    """

    code = "IL303"
    name = "sigmoid-bce"
    severity = Severity.WARNING
    confirmation = Confirm(probe="loss_pairing", params={"loss": "bce"}, at_related=True, file_backend=True)
    message = "`{loss}` takes a sigmoid output (`{act}`): the sigmoid saturates to exactly 0 or 1 in float32 and the gradient is lost; use the logits loss on the pre-sigmoid value"
    VALID = [Valid(KERAS_STANDARD), Valid(LOGITS_LOSS), Valid(KERAS2_BACKEND_SIGMOID), Valid(KERAS_CUSTOM_BCE)]
    INVALID = [
        Invalid(SEQUENTIAL_SIGMOID, at=[(21, 12)]),
        Invalid(FUNCTIONAL, at=[(9, 12)]),
        Invalid(TF_EAGER, at=[(9, 16)]),
        Invalid(TF_HAND_WRITTEN, at=[(12, 33)]),
        Invalid(TF1_ZERO_LOGREG, at=[(8, 58)]),
        Invalid(BRANCH_BOUND_LOSS, at=[(13, 16)]),
        Invalid(PREDICT_READS_OUTPUT, at=[(21, 12)]),
        Invalid(WRAPPED_MODELS, at=[(14, 12)]),
        Invalid(JOINED_SCORES, at=[(9, 12)]),
        Invalid(TWO_LOSS_CALLS, at=[(7, 14), (7, 65), (8, 14)]),
        Invalid(TRAIN_AND_VALIDATION, at=[(8, 16)]),
        Invalid(ONE_LINE_BACKWARD, at=[(7, 12)]),
    ]

    def applies(self, pairing: LossPairing) -> bool:
        if pairing.squash != "sigmoid":
            return False
        if pairing.loss == "bce":
            return True
        # Keras computes its binary cross-entropy from a Keras layer's cached logits.
        return pairing.loss == "keras_bce" and not pairing.compiled and not pairing.caches_logits and not pairing.from_logits

    def fix(self, pairing: LossPairing, facts: FileFacts) -> Optional[Any]:
        """`BCELoss` -> `BCEWithLogitsLoss` and the sigmoid -> its input, when both are plain and unshared."""
        if pairing.framework != "torch" or pairing.squash_node is None or pairing.node is None:
            return None
        call = pairing.loss_ctor if pairing.loss_ctor is not None else pairing.node
        if not isinstance(call, cst.Call):
            return None
        func = call.func
        name_node = func.attr if isinstance(func, cst.Attribute) else func
        if not isinstance(name_node, cst.Name) or name_node.value not in _LOGITS_NAMES:
            return None
        # Unambiguous only: this loss object takes only this sigmoid, and the sigmoid feeds only it.
        for event in facts.losses:
            same_loss = event.loss.node is call
            squash = event.prediction.squash
            same_sigmoid = squash is not None and squash.node is pairing.squash_node
            if same_loss != same_sigmoid:
                return None
        drop = _drop_sigmoid(pairing.squash_node, facts)
        if drop is None:
            return None
        losses = [e.node for e in facts.losses if e.loss.node is call or e.node is call]
        others = [e.node for e in facts.losses if not any(e.node is n for n in losses)]
        # Dropping the sigmoid changes the value it produced (a model's output): safe only when
        # the loss is its one reader.
        unsafe = output_used_elsewhere(facts.module, pairing.squash_node, losses, others) or not _sole_layer(
            pairing.squash_node, facts
        )
        return FixSpec(
            f"use `{_LOGITS_NAMES[name_node.value]}` and drop the sigmoid (apply it at inference)",
            ((name_node, _LOGITS_NAMES[name_node.value]), drop),
            "unsafe" if unsafe else "safe",
        )


def _sole_layer(node: cst.CSTNode, facts: FileFacts) -> bool:
    """An `nn.Sigmoid()` object is safe to swap only as a `Sequential`'s own element: bound to an
    attribute it may be called elsewhere too (a gate)."""
    func = node.func if isinstance(node, cst.Call) else None
    if not (isinstance(func, cst.Attribute) and func.attr.value == "Sigmoid"):
        return True  # the functional and method forms: their own value, judged by the caller
    path = ancestry(facts.module, node)
    owner = parent(path, (cst.Arg,)) if path is not None else None
    return isinstance(owner, cst.Call) and facts.code(owner.func).endswith("Sequential")


def _drop_sigmoid(node: cst.CSTNode, facts: FileFacts) -> Optional[tuple[cst.CSTNode, str]]:
    """`torch.sigmoid(x)` / `F.sigmoid(x)` -> `x`, `x.sigmoid()` -> `x`, `nn.Sigmoid()` -> `nn.Identity()`."""
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value == "Sigmoid" and not node.args:
        return node, facts.code(func.value, 200) + ".Identity()"
    if isinstance(func, cst.Name) and func.value == "Sigmoid" and not node.args:
        return None  # `Identity` may not be imported
    if isinstance(func, cst.Attribute) and func.attr.value == "sigmoid":
        if len(node.args) == 1 and node.args[0].keyword is None and not node.args[0].star:
            return node, facts.module.code_for_node(node.args[0].value)
        if not node.args and isinstance(func.value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            return node, facts.module.code_for_node(func.value)
    return None
