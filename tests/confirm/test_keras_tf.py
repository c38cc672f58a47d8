"""Confirming Keras 3 models (init rules on the torch backend, loss-pairing rules on TensorFlow)
and TF1 graphs, in real workers. One confirmation run serves the whole module."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from initlint.config import ConfirmSettings, Settings
from initlint.confirm import confirm_diagnostics
from initlint.diagnostics import Confirmation, Diagnostic, Severity, Span
from initlint.engine import check_source
from tests.corpus import CORPUS

DEAD_DENSE = 'layers.Dense(8, kernel_initializer="zeros", bias_initializer="zeros", activation="relu")'
LIVE_DENSE = 'layers.Dense(8, kernel_initializer="zeros", bias_initializer="ones", activation="relu")'

SEQUENTIAL = """\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(4,)),
    {dense},
    layers.Dense(1),
])
model.compile(optimizer="sgd", loss="mse")
"""
FUNCTIONAL = f"""\
import keras
from keras import layers

inp = keras.Input(shape=(6,), dtype="int32")
emb = layers.Embedding(50, 8)(inp)
flat = layers.Flatten()(emb)
hidden = {DEAD_DENSE}(flat)
out = layers.Dense(1)(hidden)
model = keras.Model(inp, out)
"""
SUBCLASSED = f"""\
import keras
from keras import layers


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = {DEAD_DENSE}
        self.out = layers.Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))
"""
SCALE = """\
import keras
from keras import layers

big = keras.initializers.RandomNormal(stddev=1.0)
model = keras.Sequential([keras.Input(shape=(256,))] + [
    layers.Dense(256, kernel_initializer=big, activation="relu") for _ in range(4)
])
"""
# A zero kernel fed by a zero hidden layer: its own bias learns, but is added after the product.
ZERO_CHAIN = """\
from keras.models import Sequential
from keras.layers import Dense

model = Sequential()
model.add(Dense(8, input_dim=2, kernel_initializer="zeros", activation="relu"{bias}))
model.add(Dense(2, kernel_initializer="zeros"))
model.compile(optimizer="sgd", loss="mse")
"""
# An agent class holding its network; `input_shape` is guessed as an image shape, not a width,
# and the Keras 2 optimizer arguments of its `compile` do not stop the build.
AGENT = """\
from tensorflow.keras.layers import Dense, Flatten, Conv2D
from tensorflow.keras.models import Sequential
from tensorflow.keras.optimizers import Adam

class DQN:
    def __init__(self, input_shape, output_shape):
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.model = self.create_model()
    def create_model(self):
        model = Sequential()
        model.add(Conv2D(8, (3, 3), input_shape=self.input_shape, activation="relu"))
        model.add(Flatten())
        model.add(Dense(16, kernel_initializer="zeros", activation="relu"))
        model.add(Dense(self.output_shape))
        model.compile(loss="mse", optimizer=Adam(lr=0.001, decay=1e-6))
        return model
"""
# A tf.keras Sequential that also calls a tf op (`activation=tf.nn.softmax`): still a Keras model,
# measured as one on TensorFlow, not built as a TF1 graph.
TF_OP_SEQUENTIAL = """\
import tensorflow as tf
from tensorflow import keras

model = keras.Sequential([
    keras.layers.Dense(16, activation="relu", input_shape=(8,)),
    keras.layers.Dense(1, activation=tf.nn.softmax),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
"""
# A subclassed tf.keras model with no input shape whose first layer is a convolution: the first
# probe input tried is an image (a failed vector probe would leave the inner Sequential configured
# for vectors, and every later probe would fail).
CONV_SUBCLASSED = """\
import tensorflow as tf


class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.net = tf.keras.Sequential([
            tf.keras.layers.Conv2D(4, 5, activation="relu"),
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(8, kernel_initializer="zeros", bias_initializer="zeros", activation="relu"),
            tf.keras.layers.Dense(1),
        ])

    def call(self, x):
        return tf.identity(self.net(x))
"""
# Keras 1 and 2 spellings Keras 3 refuses: `Model(input=, output=)` and the initializers_v1 module.
OLD_KERAS = """\
from keras.layers import Dense, Input
from keras.models import Model
from keras.initializers.initializers_v1 import RandomNormal

inp = Input(shape=(784,))
hidden = Dense(30, kernel_initializer=RandomNormal(stddev=1), activation="relu")(inp)
out = Dense(10, kernel_initializer=RandomNormal(stddev=1))(hidden)
model = Model(input=inp, output=out)
"""
# A stack whose activations are tf ops: measured on TensorFlow, vanishing through sigmoids, not through ReLUs.
TF_OP_STACK = """\
import tensorflow as tf

model = tf.keras.Sequential([
    tf.keras.Input(shape=(16,)),
    tf.keras.layers.Dense(32, activation=tf.nn.{act}),
    tf.keras.layers.Dense(32, activation=tf.nn.{act}),
    tf.keras.layers.Dense(32, activation=tf.nn.{act}),
    tf.keras.layers.Dense(32, activation=tf.nn.{act}),
    tf.keras.layers.Dense(1),
])
"""
# A tf.keras subclassed model with tf ops (measured on TensorFlow): zero kernels everywhere (IL201 on the
# hidden layer, IL101 where the zero layer meets the zero output kernel), and the same with random kernels:
# gradients flow there, but on an input shape the check had to guess, so it does not refute.
TF_KERAS_ZEROS = """\
import tensorflow as tf


class FLModel(tf.keras.Model):
    def __init__(self, number_of_classes=10):
        super().__init__()
        init = {init}
        self.dense1 = tf.keras.layers.Dense(32, activation=tf.nn.relu, kernel_initializer=init)
        self.dense2 = tf.keras.layers.Dense(number_of_classes, kernel_initializer=init, activation=tf.nn.softmax)

    def call(self, inputs):
        x = self.dense1(inputs)
        return self.dense2(x)
"""
# Eight plain Dense layers with tf ops (measured on TensorFlow), their init twice too large for ReLU.
TF_KERAS_DEEP = """\
import tensorflow as tf

big = tf.keras.initializers.RandomNormal(stddev=0.35)
model = tf.keras.Sequential(
    [tf.keras.Input(shape=(32,))]
    + [tf.keras.layers.Dense(32, activation=tf.nn.relu, kernel_initializer=big) for _ in range(8)]
)
"""
# A softmax output into a loss that takes logits: on TensorFlow Keras takes the logits behind the
# softmax (it warns), so the gradient is the logits loss's; a file that picks the torch backend
# gets no such rescue, and its gradient is shrunk.
SOFTMAX_FROM_LOGITS = """\
{backend}import keras
from keras import layers

inputs = keras.Input(shape=(32,))
h = layers.Dense(64, activation="relu")(inputs)
outputs = layers.Dense(5, activation="softmax")(h)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
"""
# A TF1 script whose sizes are command-line flags (their defaults are what a run without arguments
# gets); two such scripts in one worker define the same flags.
FLAGS_GRAPH = """\
import tensorflow as tf

flags = tf.app.flags
FLAGS = flags.FLAGS
flags.DEFINE_integer("input_size", 784, "pixels")
flags.DEFINE_integer("hidden_size", 300, "hidden units")
tf.app.flags.DEFINE_integer("output_size", 10, "classes")

x = tf.placeholder(tf.float32, [None, FLAGS.input_size])
W1 = tf.Variable(tf.random_normal([FLAGS.input_size, FLAGS.hidden_size]))
h1 = tf.nn.relu(tf.matmul(x, W1))
W2 = tf.Variable(tf.random_normal([FLAGS.hidden_size, FLAGS.output_size]))
y = tf.matmul(h1, W2)
"""
# A plain class whose method builds the model, its constructor given the data (`data.shape` read).
PLAIN_BUILDER = """\
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense


class Builder:
    def __init__(self, data):
        self.width = data.shape[-1]

    def build_model(self):
        model = Sequential()
        model.add(Dense(16, input_shape=(self.width,), kernel_initializer="zeros", bias_initializer="zeros",
                        activation="relu"))
        model.add(Dense(1))
        return model
"""
# The same built by a static method with defaults (LeNet.build(...) in many Keras tutorials).
STATIC_BUILDER = """\
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense


class Net:
    @staticmethod
    def build(width=8):
        model = Sequential()
        model.add(Dense(16, input_shape=(width,), kernel_initializer="zeros", bias_initializer="zeros",
                        activation="relu"))
        model.add(Dense(1))
        return model
"""
# TensorFlow's private copy of Keras 2, imported as such by older projects.
LEGACY_TF_KERAS = SEQUENTIAL.format(dense=DEAD_DENSE).replace(
    "import keras\nfrom keras import layers\n",
    "from tensorflow.python.keras import Input, Sequential, layers\n").replace("keras.Sequential", "Sequential").replace(
    "keras.Input", "Input")
# `import tensorflow.keras as keras` names Keras, not TensorFlow: the factory is a Keras model.
KERAS_ALIAS_FACTORY = """\
import tensorflow.keras as keras
from keras.layers import Dense
from keras.models import Sequential


def build_model(width=8):
    model = Sequential()
    model.add(Dense(16, input_shape=(width,), kernel_initializer="zeros", bias_initializer="zeros", activation="relu"))
    model.add(Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.Adam())
    return model
"""
# The same softmax into TensorFlow's own cross-entropy, which takes no logits back: shrunk; and the
# softmax on the second output of a two-headed model, which the check follows.
SOFTMAX_TF_NN_LOSS = """\
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers

inp = keras.Input(shape=(20,))
h = layers.Dense(64, activation="relu")(inp)
value = layers.Dense(1)(h)
policy = layers.Dense(5, activation="softmax")(h)
model = keras.Model(inp, {outputs})


def loss_fn(labels, probs):
    return tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=probs)


model.compile(optimizer="adam", loss=loss_fn)
"""
# A 'ones' kernel behind ReLU: on random probe rows whose sum is negative every unit is dead, nothing
# moves, and identical units after the step say nothing (training on [0, 1) pixels separates them).
ONES_KERNELS = """\
import numpy as np
from tensorflow import keras

model = keras.Sequential([
    keras.Input((784,)),
    keras.layers.Dense(32, activation="relu", kernel_initializer="ones"),
    keras.layers.Dense(32, activation="relu", kernel_initializer="ones"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile("sgd", "sparse_categorical_crossentropy")
"""
# The model also returns an embedding no loss takes (`loss=["mse", None]`): only that output moves
# the zero kernels, so the verdict is left to the loss.
EXTRA_OUTPUT = """\
import tensorflow as tf


class TwoTower(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.dense_u = tf.keras.layers.Dense(8, kernel_initializer="zeros", bias_initializer="zeros")
        self.dense_v = tf.keras.layers.Dense(8, kernel_initializer="zeros", bias_initializer="zeros")

    def call(self, x):
        u = self.dense_u(x)
        return tf.reduce_sum(u * self.dense_v(x), axis=-1), u
"""
# Two constant hidden kernels: the second one's columns part through the random output layer, its rows
# (one per unit of the first) stay equal, so the first layer stays symmetric; judged on its own kernel.
KERAS_CONSTANT_STACK = """\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(10,)),
    layers.Dense(32, activation="relu", kernel_initializer=keras.initializers.Constant(0.1)),
    layers.Dense(32, activation="relu", kernel_initializer=keras.initializers.Constant(0.1)),
    layers.Dense(2, activation="softmax"),
])
"""
# LeNet with sigmoids (Keras 2 code: pooling without a window, built again with a batch size). On the
# torch backend a conv kernel reaches `conv2d` permuted: the stack's first layers are its conv kernels.
SIGMOID_LENET = """\
import keras
from keras import layers

net = keras.Sequential([
    layers.Conv2D(6, 5, activation="sigmoid", input_shape=(28, 28, 1)),
    layers.AveragePooling2D(),
    layers.Conv2D(16, 5, activation="sigmoid"),
    layers.AveragePooling2D(),
    layers.Flatten(),
    layers.Dense(120, activation="sigmoid"),
    layers.Dense(84, activation="sigmoid"),
    layers.Dense(10, activation="softmax"),
])
net.build(input_shape=(1, 28, 28, 1))
"""
# A TF1 graph function nobody calls, whose flag parameter is tested (`if norm:`): called with the flag
# False (a placeholder there cannot be tested), on a placeholder for the tensor.
FLAG_PARAMETER_GRAPH = """\
import tensorflow as tf


def built_net(xs, norm):
    w1 = tf.Variable(tf.random_normal([784, 300], stddev=1.0))
    h = tf.matmul(xs, w1)
    if norm:
        mean, var = tf.nn.moments(h, axes=[0])
        h = tf.nn.batch_normalization(h, mean, var, None, None, 0.001)
    w2 = tf.Variable(tf.random_normal([300, 10], stddev=1.0))
    return tf.matmul(tf.nn.relu(h), w2)
"""
CASES = {
    "keras_constant_stack.py": (KERAS_CONSTANT_STACK, "IL201", 6, "confirmed"),
    "flag_parameter_graph.py": (FLAG_PARAMETER_GRAPH, "IL401", 5, "confirmed"),
    "sigmoid_lenet.py": (SIGMOID_LENET, "IL302", 5, "confirmed"),
    "extra_output.py": (EXTRA_OUTPUT, "IL101", 12, "unverified"),
    "ones_kernels_dead_probe.py": (ONES_KERNELS, "IL201", 6, "unverified"),
    "softmax_tf_nn_loss.py": (SOFTMAX_TF_NN_LOSS.format(outputs="policy"), "IL304", 13, "confirmed"),
    "softmax_second_output.py": (SOFTMAX_TF_NN_LOSS.format(outputs="[value, policy]").split("\n\ndef loss_fn")[0]
                                 + "\nx, y = tf.random.normal((4, 20)), tf.one_hot([0, 1, 2, 3], 5)\nv, p = model(x)\n"
                                 "loss = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=p)\n",
                                 "IL304", 13, "confirmed"),
    "keras_alias_factory.py": (KERAS_ALIAS_FACTORY, "IL102", 8, "confirmed"),
    "legacy_tf_keras.py": (LEGACY_TF_KERAS, "IL102", 5, "confirmed"),
    "static_builder_args.py": (STATIC_BUILDER.replace("width=8", "width, classes").replace("Dense(1)", "Dense(classes)"),
                               "IL102", 9, "confirmed"),
    "plain_builder.py": (PLAIN_BUILDER, "IL102", 11, "confirmed"),
    "static_builder.py": (STATIC_BUILDER, "IL102", 9, "confirmed"),
    # A method without parameters (no self) only the class can call: `Net.build()`.
    "paramless_builder.py": (STATIC_BUILDER.replace("    @staticmethod\n", "").replace("build(width=8)", "build()")
                             .replace("(width,)", "(8,)"), "IL102", 8, "confirmed"),
    "flags_graph_w1.py": (FLAGS_GRAPH, "IL401", 10, "confirmed"),
    "flags_graph_w2.py": (FLAGS_GRAPH, "IL401", 12, "confirmed"),
    "softmax_from_logits_tf.py": (SOFTMAX_FROM_LOGITS.format(backend=""), "IL304", 8, "refuted"),
    "softmax_from_logits_torch.py": (SOFTMAX_FROM_LOGITS.format(
        backend='import os\nos.environ["KERAS_BACKEND"] = "torch"\n'), "IL304", 10, "confirmed"),
    "tf_keras_deep_plain.py": (TF_KERAS_DEEP, "IL402", 6, "confirmed"),
    # Behind a constant output layer the hidden kernel gets no gradient at all (the softmax's gradient
    # sums to zero over the classes): nothing moves, on x or on |x|, which one step cannot tell from
    # ReLUs that the probe batch happens to leave dead.
    "tf_keras_constant_kernels.py": (TF_KERAS_ZEROS.format(init="tf.keras.initializers.Constant(0.3)"), "IL201", 8, "unverified"),
    "tf_keras_constant_head.py": (TF_KERAS_ZEROS.format(init="tf.keras.initializers.Constant(0.3)"), "IL201", 9, "confirmed"),
    "tf_keras_zero_product.py": (TF_KERAS_ZEROS.format(init="tf.keras.initializers.Zeros()"), "IL101", 13, "confirmed"),
    "tf_keras_random_kernels.py": (TF_KERAS_ZEROS.format(init="tf.keras.initializers.GlorotUniform()"), "IL101", 13, "unverified"),
    # name: (source, code, line, expected status)
    "tf_op_sigmoid_stack.py": (TF_OP_STACK.format(act="sigmoid"), "IL302", 5, "confirmed"),
    "tf_op_relu_stack.py": (TF_OP_STACK.format(act="relu"), "IL302", 5, "refuted"),
    "old_keras.py": (OLD_KERAS, "IL401", 6, "confirmed"),
    "tf_op_sequential.py": (TF_OP_SEQUENTIAL, "IL103", 6, "confirmed"),
    "conv_subclassed.py": (CONV_SUBCLASSED, "IL102", 10, "confirmed"),
    "dqn_agent.py": (AGENT, "IL102", 14, "confirmed"),
    "zero_chain.py": (ZERO_CHAIN.format(bias=""), "IL101", 6, "confirmed"),
    "zero_chain_live.py": (ZERO_CHAIN.format(bias=', bias_initializer="ones"'), "IL101", 6, "refuted"),
    "sequential.py": (SEQUENTIAL.format(dense=DEAD_DENSE), "IL102", 6, "confirmed"),
    "sequential_live.py": (SEQUENTIAL.format(dense=LIVE_DENSE), "IL102", 6, "refuted"),
    "functional.py": (FUNCTIONAL, "IL102", 7, "confirmed"),
    "subclassed.py": (SUBCLASSED, "IL102", 8, "confirmed"),
    "scale.py": (SCALE, "IL401", 6, "confirmed"),
    "seed000_pair_tf1.py": (None, "IL101", 16, "confirmed"),
    "seed000_pair_fixed_tf1.py": (None, "IL101", 16, "refuted"),
    "tf1_pos_zero_distance.py": (None, "IL101", 6, "confirmed"),
    "tf1_neg_random_positive.py": (None, "IL101", 6, "refuted"),
    "il103_pos_keras_dense_softmax.py": (None, "IL103", 11, "confirmed"),
}


def _settings() -> Settings:
    return Settings(confirm=ConfirmSettings(enabled=True, timeout=120.0))


def _write(root: Path, name: str, source: Optional[str]) -> str:
    """`source`, or the corpus file of that name, written under `root`."""
    (root / name).write_text(textwrap.dedent(source) if source is not None else (CORPUS / name).read_text())
    return str(root / name)


# Seed 000's TF1 pair model (the fixed twin's layer bias is random, so gradients flow).
TF1_PAIR = """\
# seed 000's TF1 pair model
import tensorflow as tf
import numpy as np

a = tf.Variable(initial_value=[[0., 0., 0., 0., 0., 0., 0., 0.]])
b = tf.Variable(initial_value=[[0., 0., 0., 0., 0., 0., 0., 0.]])

label = tf.constant([[0.]])

W = tf.Variable(initial_value=np.random.rand(8, 4), dtype=tf.float32)
B = tf.Variable(initial_value=np.{bias}, dtype=tf.float32)

vec_a = tf.matmul(a, W) + B
vec_b = tf.matmul(b, W) + B

cos = tf.multiply(vec_a, vec_b)

loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=label, logits=tf.reduce_sum(cos, keep_dims=True)))

with tf.Session() as sess:
    sess.run(tf.global_variables_initializer())
    print("loss: ", sess.run(loss))
"""


def _diag(path: str, code: str, line: int) -> Diagnostic:
    return Diagnostic(path, Span(line, 1, line, 2), code, code.lower(), Severity.ERROR, "finding")


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Confirmation]:
    root = tmp_path_factory.mktemp("keras_tf")
    diags = []
    for name, (source, code, line, _) in CASES.items():
        if name == "seed000_pair_tf1.py":
            source = TF1_PAIR.format(bias="zeros((1, 4))")
        elif name == "seed000_pair_fixed_tf1.py":
            source = TF1_PAIR.format(bias="random.rand(1, 4)")
        path = _write(root, name, source)
        if code == "IL304":  # the check needs the finding's related activation line: the static stage's own
            found = [d for d in check_source(path, Path(path).read_text(), Settings()).diagnostics if d.code == code]
            assert [d.line for d in found] == [line], found
            diags.extend(found)
        else:
            diags.append(_diag(path, code, line))
    done = confirm_diagnostics(diags, _settings(), str(root))
    out = {}
    for d in done:
        assert d.confirmation is not None
        out[Path(d.path).name] = d.confirmation
    return out


def test_verdicts(verdicts: dict[str, Confirmation]) -> None:
    # One test on the shared run: under pytest-xdist each test of a module may land in another
    # process, and the run (a torch and a TensorFlow worker) is what costs.
    assert {n: c.status for n, c in verdicts.items()} == {n: case[3] for n, case in CASES.items()}, verdicts

    # Keras init rules judge only the layers upstream of the flagged one, on torch: the output Dense
    # learns in each of these models, so a verdict over every parameter would refute.
    for name in ("sequential.py", "functional.py", "subclassed.py"):
        params = verdicts[name].evidence["parameters"]
        assert len([p for p in params if p.endswith("kernel")]) == 1, params
    assert any(p.startswith("embedding") for p in verdicts["functional.py"].evidence["parameters"])

    # TF1 graphs: the script's own variable names; the fixed twin's random bias gets a gradient.
    assert set(verdicts["seed000_pair_tf1.py"].evidence["parameters"]) == {"a", "b", "W", "B"}
    assert verdicts["seed000_pair_fixed_tf1.py"].evidence["pass1_grad_norm"]["B"] > 0

    assert "other outputs it returns" in verdicts["extra_output.py"].detail
    assert "data: an array of shape (2, 16)" in verdicts["plain_builder.py"].detail
    assert "guessed constructor arguments (width=16, classes=16)" in verdicts["static_builder_args.py"].detail

    # The flags' defaults, defined again by the second script in the same worker; the stack's RMS
    # stays within 10x, but W2 itself grows what it reads about sqrt(300 / 2) times behind a ReLU.
    assert "W2 itself scales the RMS of what it reads" in verdicts["flags_graph_w2.py"].detail

    assert "computes this loss from the logits behind the softmax" in verdicts["softmax_from_logits_tf.py"].detail
    assert verdicts["softmax_from_logits_tf.py"].evidence["ratio"] == pytest.approx(1.0)
    assert verdicts["softmax_from_logits_torch.py"].evidence["ratio"] < 0.5

    assert verdicts["sigmoid_lenet.py"].evidence["layers"][:2] == ["conv2d.kernel", "conv2d_1.kernel"], verdicts["sigmoid_lenet.py"]

    # The Keras loss-pairing check runs on TensorFlow, the backend the file targets.
    assert "Keras on TensorFlow" in verdicts["il103_pos_keras_dense_softmax.py"].evidence["judged"]


def test_without_tensorflow_the_tf_findings_are_unverified_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INITLINT_CONFIRM_NO_TENSORFLOW", "1")
    graph = _write(tmp_path, "tf1_pos_zero_distance.py", None)
    keras_file = _write(tmp_path, "il103_pos_keras_dense_softmax.py", None)
    done = confirm_diagnostics([_diag(graph, "IL101", 6), _diag(keras_file, "IL103", 11)], _settings(), str(tmp_path))
    for d in done:
        assert d.confirmation is not None and d.confirmation.status == "unverified", d
        assert "TensorFlow is not installed" in d.confirmation.detail, d.confirmation


FIT_DATA = """\
import numpy
from keras import Sequential
from keras.layers.core import Dense, Activation

X_train = numpy.array([[1] * 16] * 50 + [[0] * 16] * 50)
X_train = X_train.astype("float32")
Y_train = numpy.array([1] * 50 + [0] * 50)

model = Sequential()
model.add(Dense(8))
model.add(Activation('relu'))
model.add(Dense(1))
model.add(Activation('softmax'))
model.compile(loss='binary_crossentropy', optimizer='sgd')
model.fit({data}, Y_train, epochs=5)
"""


def test_sequential_without_input_is_built_from_the_data_passed_to_fit(tmp_path: Path) -> None:
    """No Input and no input_shape: the literal data given to `fit` shapes the model; without such
    data a probe input does, and the verdict says it was guessed. `keras.layers.core` is Keras 2's path."""
    import json
    import subprocess
    import sys

    (tmp_path / "literal.py").write_text(FIT_DATA.format(data="X_train"))
    (tmp_path / "loaded.py").write_text(FIT_DATA.format(data="numpy.load('x.npy')"))
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json",
                           "literal.py", "loaded.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    found = {f["path"]: f["confirmation"] for f in json.loads(proc.stdout) if f["code"] == "IL103"}
    assert found["literal.py"]["status"] == "confirmed", found
    assert "guessed" not in found["literal.py"]["detail"]
    assert found["loaded.py"]["status"] == "confirmed", found
    assert "guessed input shape" in found["loaded.py"]["detail"]


# No Input and the data loaded from a file: the width the model is probed at is a guess, and a
# refutation on it (RMS within 10x at width 8; N(0, 1) on 784 real inputs grows it 20x) is not kept.
UNSCALED_NO_INPUT = """\
import numpy
import keras

model = keras.Sequential([
    keras.layers.Dense(128, activation="relu", kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10),
])
model.compile(optimizer="sgd", loss="mse")
model.fit(numpy.load("x.npy"), numpy.load("y.npy"))
"""


def test_a_keras_model_probed_at_a_guessed_width_says_so(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    (tmp_path / "unscaled.py").write_text(UNSCALED_NO_INPUT)
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json",
                           "unscaled.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    (found,) = [f["confirmation"] for f in json.loads(proc.stdout) if f["code"] == "IL401"]
    assert found["status"] != "refuted", found
    assert "guessed input shape" in found["detail"], found
