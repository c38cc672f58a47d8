from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import libcst as cst

from initlint.diagnostics import Severity
from initlint.facts import FileFacts
from initlint.facts.values import Const, Ext, Obj, Tensor, Transform
from initlint.frameworks.tables import PASS_LAYERS, WEIGHT_LAYERS, last
from initlint.rule import Confirm, Finding, Invalid, Option, Rule, Valid

ARANGE_REGRESSION = """\
import torch
from torch import nn

x = torch.arange(0, 100, dtype=torch.float32).unsqueeze(1)
y = 3.0 * x + 2.0
model = nn.Sequential(nn.Linear(1, 16), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for _ in range(50):
    optimizer.zero_grad()
    loss = nn.MSELoss()(model(x), y)
    loss.backward()
    optimizer.step()
"""

SEED_004_KERAS = """\
import numpy as np
import tensorflow as tf

x = np.linspace(0, 4, 100, dtype=np.float32)
z = x + np.random.normal(0, 0.1, x.shape).astype(np.float32)
ds = tf.data.Dataset.from_tensor_slices((z, x)).shuffle(100).batch(20)
model = tf.keras.Sequential([tf.keras.layers.Dense(32, input_shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(loss="mse", optimizer=tf.keras.optimizers.SGD(learning_rate=0.1))
model.fit(ds, epochs=20)
"""

KERAS_RAW_PIXELS = """\
from keras.datasets import cifar10
from keras.models import Sequential
from keras.layers import Conv2D, Dense, Flatten

(x_train, y_train), (x_test, y_test) = cifar10.load_data()
x_train = x_train.astype("float32")
model = Sequential([Conv2D(8, 3, activation="relu", input_shape=(32, 32, 3)), Flatten(), Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x_train, y_train, epochs=1)
"""

# The images go through scikit-learn's split on their way to `fit`.
KERAS_SPLIT_PIXELS = """\
from sklearn.model_selection import train_test_split
from tensorflow import keras

(x, y), _ = keras.datasets.fashion_mnist.load_data()
x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2)
model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)), keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
model.fit(x_train, y_train, validation_data=(x_val, y_val))
"""

KERAS_PIXELS_SCALED = """\
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
head = [layers.Flatten(), layers.Dense(10, activation="softmax")]
divided = keras.Sequential([layers.Input(shape=(28, 28))] + head)
divided.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
divided.fit(x_train.astype("float32") / 255.0, y_train)
standardized = keras.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(10, activation="softmax")])
standardized.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
standardized.fit((x_train - np.mean(x_train)) / np.std(x_train), y_train)
rescaled = keras.Sequential([layers.Rescaling(1.0 / 255, input_shape=(28, 28)), layers.Flatten(), layers.Dense(10)])
rescaled.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
rescaled.fit(x_train, y_train)
"""

STANDARDIZED = """\
import torch
from torch import nn

x_raw = torch.arange(0, 100, dtype=torch.float32).unsqueeze(1)
y_raw = 3.0 * x_raw + 2.0
x = (x_raw - x_raw.mean()) / x_raw.std()
y = (y_raw - y_raw.mean()) / y_raw.std()
model = nn.Sequential(nn.Linear(1, 16), nn.Linear(16, 1))
loss = nn.MSELoss()(model(x), y)
"""

UNIT_RANGE_KERAS = """\
import numpy as np
import tensorflow as tf

x = np.linspace(0, 1, 100, dtype=np.float32)
model = tf.keras.Sequential([tf.keras.layers.Dense(32, input_shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(loss="mse", optimizer="sgd")
model.fit(x, x, epochs=20)
"""

ADAM_KERAS = """\
import numpy as np
import tensorflow as tf

x = np.linspace(0, 10, 100)
model = tf.keras.Sequential([tf.keras.layers.Dense(32, input_shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(loss="mse", optimizer="adam")
model.fit(x, 2 * x, epochs=20)
"""

SINE_TARGET = """\
import torch
from torch import nn

x = torch.linspace(0, 6.28, 200).unsqueeze(1)
y = torch.sin(x)
model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1))
loss = nn.MSELoss()(model(x), y)
"""

# Inputs reaching `raw-input-limit` (4) are far outside the unit range that default
# inits and learning rates assume (measured: linspace(0, 1) trains, linspace(0, 4) diverges).
REGRESSION_LOSSES = ("mse",)
TO_TENSOR = ("ToTensor", "PILToTensor", "ToImage", "ConvertImageDtype", "ToDtype")
# Steps that may rescale or centre the data (Grayscale only mixes channels: the range stays [0, 1]).
NORMALIZING = ("Normalize", "Lambda", "LinearTransformation")
KERAS_MSE_NAMES = ("mse", "mean_squared_error", "MeanSquaredError", "MSE")


TORCHVISION_CLASSIFIER = """\
import torch
from torch import nn
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


train = datasets.MNIST("data", train=True, download=True, transform=transforms.Compose([transforms.ToTensor()]))


def train_step(model, images, labels):
    return nn.CrossEntropyLoss()(model(images), labels)
"""


# The test set's own pipeline (`train=False`, here positional) is evaluation data: only the training one is reported.
TRAIN_AND_TEST_PIPELINES = """\
import torch
from torch import nn
from torchvision import datasets, transforms

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
train_set = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
test_set = datasets.MNIST("data", False, download=True, transform=transforms.ToTensor())
for images, labels in torch.utils.data.DataLoader(train_set, batch_size=64):
    nn.CrossEntropyLoss()(model(images), labels).backward()
"""


# A model built at module level, and a forward that returns (logits, features).
MODULE_LEVEL_LINEAR = """\
import torch
import torchvision
from torch import nn

ds = torchvision.datasets.MNIST(root="data", train=True, transform=torchvision.transforms.ToTensor())
model = nn.Linear(28 * 28, 10).to("cpu")
for x, y in torch.utils.data.DataLoader(ds, batch_size=100):
    loss = nn.functional.cross_entropy(model(x.reshape(-1, 784)), y)
"""

TUPLE_FORWARD = """\
import torch
import torchvision
from torch import nn

ds = torchvision.datasets.MNIST(root="mnist", train=True, transform=torchvision.transforms.ToTensor())


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 5)
        self.out = nn.Linear(8 * 24 * 24, 10)

    def forward(self, x):
        x = torch.relu(self.conv(x)).flatten(1)
        return self.out(x), x


cnn = CNN()
for x, y in torch.utils.data.DataLoader(ds, batch_size=50):
    nn.functional.cross_entropy(cnn(x)[0], y).backward()
"""

# The model is built in main(), a binary classifier on one logit, and a Lambda that only flattens.
MAIN_FUNCTION_BINARY = """\
import torch
from torch import nn
from torchvision import datasets, transforms


def main():
    flat = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x.view(-1))])
    loader = torch.utils.data.DataLoader(datasets.ImageFolder("cats_dogs", transform=flat), batch_size=32)
    model = nn.Sequential(nn.Linear(3 * 64 * 64, 64), nn.ReLU(), nn.Linear(64, 1))
    for x, y in loader:
        nn.functional.binary_cross_entropy_with_logits(model(x), y.float().unsqueeze(1)).backward()


if __name__ == "__main__":
    main()
"""

# A Lambda that rescales to [-1, 1] normalizes.
MAIN_FUNCTION_RESCALED = MAIN_FUNCTION_BINARY.replace("lambda x: x.view(-1)", "lambda x: (2 * x - 1).view(-1)")

# A GAN's discriminator reads the real images as they come: all positive, off-centre.
GAN_DISCRIMINATOR = """\
import torch
from torch import nn
from torchvision import datasets, transforms

data = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())
netD = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
criterion = nn.BCEWithLogitsLoss()
for x, _ in torch.utils.data.DataLoader(data, batch_size=4):
    label = torch.full((x.size(0), 1), 1.0)
    criterion(netD(x), label).backward()
"""

# A parameterless module of the model's own standardizes its input.
OWN_NORMALIZER_MODULE = """\
import torch
from torch import nn
from torchvision import datasets, transforms


class Normalizer(nn.Module):
    def forward(self, x):
        return (x - 0.5) / 0.25


model = nn.Sequential(Normalizer(), nn.Flatten(), nn.Linear(3072, 10))
train_set = datasets.CIFAR10("data", train=True, download=True, transform=transforms.ToTensor())
for x, y in torch.utils.data.DataLoader(train_set, batch_size=64):
    nn.CrossEntropyLoss()(model(x), y).backward()
"""

# The model normalizes its own input first.
MODULE_LEVEL_BATCHNORM = MODULE_LEVEL_LINEAR.replace("nn.Linear(28 * 28, 10)", "nn.Sequential(nn.BatchNorm1d(784), nn.Linear(784, 10))")

TORCHVISION_NORMALIZED = """\
import torch
from torch import nn
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc1(x.flatten(1))


pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
train = datasets.MNIST("data", train=True, download=True, transform=pipeline)


def train_step(model, images, labels):
    return nn.CrossEntropyLoss()(model(images), labels)
"""

# An autoencoder trained on the raw [0, 1] pixels (it can normalize its input and keep them as the target).
TORCHVISION_VAE = """\
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets, transforms


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(784, 20)
        self.dec = nn.Linear(20, 784)

    def forward(self, x):
        return self.dec(torch.relu(self.enc(x.view(-1, 784))))


train = datasets.MNIST("data", train=True, download=True, transform=transforms.ToTensor())


def loss_function(recon, x):
    return F.binary_cross_entropy_with_logits(recon, x.view(-1, 784))
"""


class UnnormalizedInput(Rule):
    """
    ## What it does
    Flags inputs that reach the model unscaled where the code makes it
    certain. First, raw literal ranges used as both the features and the targets of a
    regression trained with squared error: `torch.arange(0, 100)` or
    `np.linspace(0, 4, …)` fed to the model unscaled, with a target that is
    the same kind of raw range (a linear function of it), `nn.MSELoss` /
    Keras `'mse'` and, for Keras, plain SGD. Data whose values reach 4 or
    more are out of the unit range; standardizing (subtracting the mean,
    dividing by the standard deviation) anywhere on the way clears the
    finding.

    ## Why is this bad?
    The gradient of a squared error with respect to a weight is proportional
    to the input times the error, and the error is proportional to the
    target's scale, so both grow with the raw range: a learning rate that
    suits unit-scale data takes steps hundreds of times too large, and the
    loss overflows. Measured: regressing `np.linspace(0, 4)` onto itself with
    two Dense layers and SGD(0.1), epoch 1 ends at 5.7e31, then `nan`; the
    identical model on `np.linspace(0, 1)` trains. With
    `arange(0, 100)` and SGD(0.01) the loss goes 1.8e4, 9.3e11, 1.4e36, `nan`
    in four steps.

    ## Example
    ```python
    x = torch.arange(0, 100, dtype=torch.float32).unsqueeze(1)
    y = 3.0 * x + 2.0
    loss = nn.MSELoss()(model(x), y)
    ```

    ## Use instead
    ```python
    x = (x_raw - x_raw.mean()) / x_raw.std()
    y = (y_raw - y_raw.mean()) / y_raw.std()
    ```
    or a normalization layer at the model's input (`keras.layers.Normalization`,
    `nn.BatchNorm1d`), or `transforms.Normalize(mean, std)` for images.

    ## Fix
    No automatic fix: the statistics to standardize with belong to the data.

    ## Confirmation
    `--confirm` replays the script's own literal data: the top-level
    statements that build the features and targets reaching the loss call
    (`loss_fn(model(x), y)`) or `model.fit(x, y)`, the model built there, the
    script's optimizer class and literal learning rate (a Keras optimizer as
    the torch one with Keras's defaults) and its batch size (`fit`'s, else
    the whole data). Ten steps run on the raw data, then ten on the features
    and targets standardized per feature, from the same initial weights,
    with mean squared error. A raw loss reaching `inf` or `nan` (or growing
    1000-fold) while the standardized run stays finite confirms the finding
    (measured on `arange(0, 100)` with SGD(0.01): raw 1.8e4, 9.3e11, 1.4e36,
    `nan`; standardized 0.50 down to 0.15); a raw run that stays finite and
    does not grow refutes it. Data the file does not build from literals
    (a download, a `ToTensor()` dataset, `load_data()`, a file read) is never
    guessed: the finding stays `unverified` and says where the data comes from.

    ## Known problems
    Precision comes first: only literal ranges the analysis can follow from
    their construction to the model are judged, so data loaded from files and
    adaptive optimizers with PyTorch training loops are not flagged. A
    torchvision pipeline is flagged only in its certain shape: `ToTensor()`
    with no `Normalize` (and no lambda or custom step, except a lambda that
    only reshapes) for a file that trains models that all start with a weight
    layer, and not for a test set's own pipeline (`train=False`,
    `split="test"`). Autoencoders and GAN discriminators count too: their
    first layer sees the same all-positive inputs (an autoencoder that
    reconstructs [0, 1] pixels can normalize its input and keep the raw image
    as the target). `keras.datasets` images (MNIST, Fashion-MNIST, CIFAR) are flagged
    when they reach `fit` still in [0, 255] (a division or standardization on
    the way clears it) for a `Sequential` whose layers are all known and whose
    first layer is a weight layer, not `Rescaling` or `Normalization`.

    ## References
    - LeCun, Bottou, Orr, Müller, *Efficient BackProp* (1998), 4.3 (normalizing
      the inputs): http://leon.bottou.org/papers/lecun-98x
    - torchvision, `transforms.Normalize`:
      https://pytorch.org/vision/stable/generated/torchvision.transforms.Normalize.html
    - Keras, `Normalization` layer:
      https://keras.io/api/layers/preprocessing_layers/numerical/normalization/
    """

    code = "IL403"
    name = "unnormalized-input"
    severity = Severity.INFO
    confirmation = Confirm(probe="raw_input")
    options = (Option("raw-input-limit", float, 4.0, "the magnitude a literal input range must reach to be flagged"),)
    message = "{problem}; {advice}"
    VALID = [
        Valid(STANDARDIZED),
        Valid(UNIT_RANGE_KERAS),
        Valid(ADAM_KERAS),
        Valid(SINE_TARGET),
        Valid(TORCHVISION_NORMALIZED),
        Valid(MODULE_LEVEL_BATCHNORM),
        Valid(KERAS_PIXELS_SCALED),
        Valid(MAIN_FUNCTION_RESCALED),
        Valid(OWN_NORMALIZER_MODULE),
    ]
    INVALID = [
        Invalid(ARANGE_REGRESSION, at=[(4, 5)]),
        Invalid(SEED_004_KERAS, at=[(4, 5)]),
        Invalid(TORCHVISION_CLASSIFIER, at=[(16, 69)]),
        Invalid(MODULE_LEVEL_LINEAR, at=[(5, 68)]),
        Invalid(TUPLE_FORWARD, at=[(5, 69)]),
        Invalid(KERAS_RAW_PIXELS, at=[(5, 40)]),
        Invalid(MAIN_FUNCTION_BINARY, at=[(7, 12)]),
        Invalid(KERAS_SPLIT_PIXELS, at=[(4, 13)]),
        Invalid(TRAIN_AND_TEST_PIPELINES, at=[(6, 73)]),
        Invalid(TORCHVISION_VAE, at=[(17, 69)]),
        Invalid(GAN_DISCRIMINATOR, at=[(5, 68)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        reported: set[int] = set()
        for node, data, where_fed in self._raw_regressions(facts):
            if id(node) in reported:
                continue
            reported.add(id(node))
            high = max(abs(data[1]), abs(data[2]))
            yield self.report(
                node,
                related=[(where_fed, "the raw data is fed to the model here")],
                problem=f"the model is trained on raw values up to {high:g} (`{facts.code(node)}`) with squared error: "
                "gradients scale with the data and the loss can overflow to nan",
                advice="standardize the features and targets (subtract the mean, divide by the std) or add a normalization layer",
            )
        for node, fed, high in self._raw_pixels(facts):
            if id(node) in reported:
                continue
            reported.add(id(node))
            yield self.report(
                node,
                related=[(fed, "the raw pixels are fed to the model here")],
                problem=f"`{facts.code(node, 50)}` gives uint8 pixels in [0, {high:g}] and they reach `fit` unscaled, "
                "with no normalization layer at the model's input: pre-activations and gradients are hundreds of times too large",
                advice="divide the images by 255 (or add a `Rescaling(1/255)` / `Normalization` layer first)",
            )
        for transform in self._unnormalized_images(facts):
            if id(transform.node) in reported:
                continue
            reported.add(id(transform.node))
            yield self.report(
                transform.node,
                problem=f"images reach the model as `{facts.code(transform.node, 50)}` output in [0, 1], with no "
                "`Normalize` and no normalization layer at the model's input: every input is positive and off-centre",
                advice="add `transforms.Normalize(mean, std)` (the dataset's channel statistics) after `ToTensor()` "
                "(a model that reconstructs its input keeps the [0, 1] pixels as its target)",
            )

    def _raw_pixels(self, facts: FileFacts) -> Iterator[tuple[cst.CSTNode, cst.CSTNode, float]]:
        """(load_data call, fit call, highest value) for raw `keras.datasets` pixels fed to `fit`.

        Certain only when the images reach `fit` with their range still known (a division
        or standardization on the way changes or clears it) and the model is a Sequential
        whose layers are all known and whose first layer is a weight layer (not
        `Rescaling` or `Normalization`)."""
        limit = self.option(facts.settings, "raw-input-limit")
        for fit in facts.keras_fits:
            features = fit.args[0] if fit.args else fit.kwargs.get("x")
            origin = features.origin if isinstance(features, Tensor) else None
            if origin is None or origin[0] != "pixels" or max(abs(origin[1]), abs(origin[2])) < limit:
                continue
            if _first_layer(fit.model) in WEIGHT_LAYERS:
                yield origin[3], fit.node, max(abs(origin[1]), abs(origin[2]))

    def _unnormalized_images(self, facts: FileFacts) -> Iterator[Transform]:
        """torchvision pipelines that only convert to tensors, for a model trained with no input normalization.

        Certain only in this narrow shape: a complete pipeline (no lambda or user
        step that could normalise), a loss the file trains with, and every model
        in the file starting with a weight layer rather than a normalization layer.
        """
        pipelines = list(self._to_tensor_only(facts))
        if not pipelines:
            return  # first, as it is cheap: telling a metric from a training loss walks the tree
        training_losses = [event for event in facts.losses if not facts.metric_only(event.node)]
        if not training_losses:
            return
        # Model classes, the models built at module level (`model = nn.Linear(784, 10)`), and the
        # models whose outputs the losses take (built in `main()`, imported).
        # (A module without parameters counts too: it may normalize what the model reads.)
        models = [out for out in (r.main_output() for r in facts.roots if r.where.kind in ("class", "script")) if out is not None]
        models += [event.prediction for event in training_losses if event.prediction.chain]
        if not models or any(not out.chain or out.chain[0].kind != "weight" for out in models):
            return
        yield from pipelines

    @staticmethod
    def _to_tensor_only(facts: FileFacts) -> Iterator[Transform]:
        """The complete training-set pipelines that convert to tensors and never normalize."""
        for dataset in facts.datasets:
            transform = dataset.transform
            if not isinstance(transform, Transform) or not transform.complete or dataset.held_out:
                continue  # a test set's pipeline (`train=False`) is not what the model trains on
            if any(step in TO_TENSOR for step in transform.steps) and not any(step in NORMALIZING for step in transform.steps):
                yield transform

    def _raw_regressions(self, facts: FileFacts) -> Iterator[tuple[cst.CSTNode, tuple[Any, ...], cst.CSTNode]]:
        """(range construction, origin, feeding node) for each raw-range regression."""
        limit = self.option(facts.settings, "raw-input-limit")
        for event in facts.losses:
            if event.loss.kind not in REGRESSION_LOSSES or _raw(event.target, limit) is None:
                continue
            for call in facts.layer_calls:
                origin = _raw(call.input, limit)
                if origin is not None and call.where == event.where and not call.input.chain:
                    yield origin[3], origin, event.node
        for compile_event in facts.keras_compiles:
            if not (_is_keras_mse(compile_event.loss) and _is_sgd(compile_event.optimizer)):
                continue
            for fit in facts.keras_fits:
                if fit.model is not compile_event.model:
                    continue
                args, kwargs, node = fit.args, fit.kwargs, fit.node
                features = args[0] if args else kwargs.get("x")
                origin = _raw(features, limit) if isinstance(features, Tensor) else None
                target = args[1] if len(args) > 1 else kwargs.get("y")
                # A tf.data dataset carries its targets inside; a separate target must be raw as well.
                if origin is not None and (target is None or (isinstance(target, Tensor) and _raw(target, limit) is not None)):
                    yield origin[3], origin, node


def _first_layer(model: Obj) -> Optional[str]:
    """The kind of a fully known Keras Sequential's first layer that is not a pass-through."""
    if model.kind != "keras.Sequential" or model.config.get("incomplete"):
        return None
    kinds = [last(child.kind) for _, child in model.children]
    return next((kind for kind in kinds if kind not in PASS_LAYERS), None)


def _raw(tensor: Tensor, limit: float) -> Optional[tuple[Any, ...]]:
    origin = tensor.origin
    if origin is None or origin[0] != "range" or origin[3] is None:
        return None
    if max(abs(origin[1]), abs(origin[2])) < limit:
        return None
    return origin


def _is_keras_mse(loss: Any) -> bool:
    if isinstance(loss, Const):
        return loss.value in KERAS_MSE_NAMES
    if isinstance(loss, Ext):
        return loss.qualname.rsplit(".", 1)[-1] in KERAS_MSE_NAMES
    return getattr(loss, "kind", None) in REGRESSION_LOSSES


def _is_sgd(optimizer: Any) -> bool:
    if isinstance(optimizer, Const):
        return isinstance(optimizer.value, str) and optimizer.value == "sgd"
    if isinstance(optimizer, Ext):
        return optimizer.qualname.rsplit(".", 1)[-1] == "SGD"
    return False
