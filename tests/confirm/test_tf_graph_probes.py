"""The scale, vanishing and symmetry probes on TF1 graphs (tf.compat.v1), through the real CLI.
One run over all the programs, so one worker serves the module."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

MLP = """\
import tensorflow as tf

X = tf.placeholder("float", [None, 64])
weights = {
    'h1': tf.Variable(tf.random_normal([64, 256])),
    'h2': tf.Variable(tf.random_normal([256, 256])),
    'out': tf.Variable(tf.random_normal([256, 10])),
}


def net(x):
    layer_1 = tf.matmul(x, weights['h1'])
    layer_2 = tf.matmul(layer_1, weights['h2'])
    return tf.matmul(layer_2, weights['out'])


logits = net(X)
"""
SIGMOIDS = """\
import tensorflow as tf

X = tf.placeholder("float", [None, 64])
w1 = tf.Variable(tf.random_normal([64, 64]{std}))
w2 = tf.Variable(tf.random_normal([64, 64]{std}))
w3 = tf.Variable(tf.random_normal([64, 64]{std}))
w4 = tf.Variable(tf.random_normal([64, 10]{std}))
h1 = tf.nn.sigmoid(tf.matmul(X, w1))
h2 = tf.nn.sigmoid(tf.matmul(h1, w2))
h3 = tf.nn.sigmoid(tf.matmul(h2, w3))
out = tf.nn.sigmoid(tf.matmul(h3, w4))
"""
CONSTANT = """\
import tensorflow as tf

X = tf.placeholder("float", [None, 16])
w1 = tf.Variable(tf.ones([16, 8]))
b1 = tf.Variable(tf.zeros([8]))
w2 = tf.Variable({head})
hidden = tf.nn.relu(tf.matmul(X, w1) + b1)
out = tf.matmul(hidden, w2)
"""
ADD_LAYER = """\
import tensorflow as tf


def add_layer(inputs, in_size, out_size):
    Weights = tf.Variable(tf.random_normal([in_size, out_size]))
    return tf.matmul(inputs, Weights)


xs = tf.placeholder(tf.float32, [None, 64])
{calls}
"""
# The graph function is called only by the training function, on the script's own placeholder.
NET_IN_TRAIN = """\
import tensorflow as tf

x = tf.placeholder("float", [None, 64])


def create_network(data):
    w1 = tf.Variable(tf.random_normal([64, 256]))
    w2 = tf.Variable(tf.random_normal([256, 256]))
    w3 = tf.Variable(tf.random_normal([256, 10]))
    l1 = tf.nn.relu(tf.matmul(data, w1))
    l2 = tf.nn.relu(tf.matmul(l1, w2))
    return tf.matmul(l2, w3)


def train(x):
    prediction = create_network(x)
    cost = tf.reduce_mean(prediction)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())


train(x)
"""
# TF2 eager code, each sigmoid on a line of its own after its layer (`o1 = x @ w1 + b1`).
EAGER_SIGMOIDS = """\
import tensorflow as tf

x = tf.random.normal([3, 64])
w1 = tf.Variable(tf.random.truncated_normal([64, 64], stddev=0.1))
w2 = tf.Variable(tf.random.truncated_normal([64, 64], stddev=0.1))
w3 = tf.Variable(tf.random.truncated_normal([64, 64], stddev=0.1))
w4 = tf.Variable(tf.random.truncated_normal([64, 10], stddev=0.1))
o1 = x @ w1
s1 = tf.nn.sigmoid(o1)
s2 = tf.nn.sigmoid(s1 @ w2)
s3 = tf.nn.sigmoid(s2 @ w3)
out = s3 @ w4
"""
# Zero weights, the output layer's bias on the product's own line: b2 moves, but it lies after the
# product, so the finding is judged on W1, b1 and W2 (all exactly zero), not refuted by b2.
ZERO_WITH_BIAS = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 20])
W1 = tf.Variable(tf.zeros([20, 32]))
b1 = tf.Variable(tf.zeros([32]))
W2 = tf.Variable(tf.zeros([32, 3]))
b2 = tf.Variable(tf.zeros([3]))
h = tf.nn.relu(tf.matmul(x, W1) + b1)
logits = tf.matmul(h, W2) + b2
"""
# A homework skeleton: the graph functions are called by another file (train.py), never here.
SKELETON = """\
import tensorflow as tf


def twolayer(X, Y, hiddensize=30, outputsize=10):
    w1 = tf.Variable(tf.truncated_normal([784, hiddensize]))
    b1 = tf.Variable(tf.constant(0.1, shape=[hiddensize]))
    y1 = tf.nn.relu(tf.matmul(X, w1) + b1)
    w2 = tf.Variable(tf.truncated_normal([hiddensize, outputsize], stddev=0.1))
    b2 = tf.Variable(tf.zeros([outputsize]))
    logits = tf.matmul(y1, w2) + b2
    preds = tf.nn.softmax(logits)
    batch_xentropy = tf.nn.softmax_cross_entropy_with_logits(labels=Y, logits=preds)
    batch_loss = tf.reduce_mean(batch_xentropy)
    return w1, b1, w2, b2, logits, preds, batch_xentropy, batch_loss


def convnet(X, Y, outputsize=10):
    x_square = tf.reshape(X, [-1, 28, 28, 1])
    conv1 = tf.layers.conv2d(x_square, filters=8, kernel_size=3, padding="same", activation=tf.nn.relu)
    x_flat = tf.reshape(conv1, [-1, 28 * 28 * 8])
    w = tf.Variable(tf.zeros([28 * 28 * 8, outputsize]))
    b = tf.Variable(tf.zeros([outputsize]))
    preds = tf.nn.softmax(tf.matmul(x_flat, w) + b)
    batch_xentropy = tf.nn.softmax_cross_entropy_with_logits(labels=Y, logits=preds)
    return preds, tf.reduce_mean(batch_xentropy)
"""
# The whole graph is built in the main block, its layers in a function defined there.
MAIN_BLOCK = """\
import tensorflow as tf

if __name__ == "__main__":
    x = tf.placeholder("float", [None, 784])
    weights = {
        "h1": tf.Variable(tf.random_normal([784, 256])),
        "h2": tf.Variable(tf.random_normal([256, 784])),
    }

    def autoencoder(x):
        hidden = tf.nn.relu(tf.matmul(x, weights["h1"]))
        return tf.matmul(hidden, weights["h2"])

    y = autoencoder(x)
    cost = tf.reduce_mean(tf.pow(x - y, 2))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
"""
# A dead product beside a live one on the same line: the dead one is judged.
WIDE_AND_DEEP = """\
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()

x = tf.placeholder(tf.float32, [None, 8])
W_h = tf.Variable(tf.zeros([8, 16]))
W_out = tf.Variable(tf.zeros([16, 1]))
W_wide = tf.Variable(tf.truncated_normal([8, 1], stddev=0.1))
logits = tf.matmul(tf.nn.relu(tf.matmul(x, W_h)), W_out) + tf.matmul(x, W_wide)
"""
# Dropout's keep probability is fed by the script (0.5 in training): its masks break the symmetry.
KEEP_PROB = """\
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()

x = tf.placeholder(tf.float32, [None, 20])
keep_prob = tf.placeholder(tf.float32)
W1 = tf.get_variable("W1", [20, 50], initializer=tf.constant_initializer(0.1))
W2 = tf.get_variable("W2", [50, 3], initializer=tf.constant_initializer(0.1))
h = tf.nn.dropout(tf.nn.relu(tf.matmul(x, W1) + 0.1), keep_prob)
logits = tf.matmul(h, W2)
"""
# tf.layers under `import tensorflow.compat.v1 as tf`, which Keras 3 removed: its stand-ins build.
COMPAT_V1_LAYERS = """\
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()

x = tf.placeholder(tf.float32, [None, 8])
y = tf.placeholder(tf.float32, [None, 1])
h = tf.layers.dense(x, 32, activation=tf.nn.relu)
pred = tf.sigmoid(tf.layers.dense(h, 1))
loss = tf.losses.mean_squared_error(y, pred)
"""
# The layers are built under name scopes, as TensorBoard examples do.
NAME_SCOPES = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 784])
y = tf.placeholder(tf.float32, [None, 10])
weights = {"w1": tf.Variable(tf.random_normal([784, 256])), "w2": tf.Variable(tf.random_normal([256, 10]))}


def net(x):
    return tf.matmul(tf.nn.relu(tf.matmul(x, weights["w1"])), weights["w2"])


with tf.name_scope("Model"):
    pred = net(x)
with tf.name_scope("Loss"):
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=tf.nn.softmax(pred), labels=y))
"""
# A weight stored transposed: `tf.matmul(X, W1, transpose_b=True)` makes X [None, 784].
TRANSPOSED = """\
import tensorflow as tf

W1 = tf.Variable(tf.zeros([30, 784]))
b1 = tf.Variable(tf.zeros([30]))
W2 = tf.Variable(tf.random_normal([30, 10]))
b2 = tf.Variable(tf.zeros([10]))


def twolayer(X):
    h = tf.nn.relu(tf.matmul(X, W1, transpose_b=True) + b1)
    return tf.matmul(h, W2) + b2
"""
PROGRAMS = {
    "transposed.py": TRANSPOSED,
    "name_scopes.py": NAME_SCOPES,
    "compat_v1_layers.py": COMPAT_V1_LAYERS,
    "wide_and_deep.py": WIDE_AND_DEEP,
    "keep_prob.py": KEEP_PROB,
    "skeleton.py": SKELETON,
    "main_block.py": MAIN_BLOCK,
    "zero_with_bias.py": ZERO_WITH_BIAS,
    "eager_sigmoids.py": EAGER_SIGMOIDS,
    "net_in_train.py": NET_IN_TRAIN,
    "add_layer.py": ADD_LAYER.format(calls="l1 = add_layer(xs, 64, 256)\nout = add_layer(l1, 256, 1)"),
    "add_layer_uncalled.py": ADD_LAYER.format(calls=""),
    "mlp.py": MLP,
    "sigmoids_small.py": SIGMOIDS.format(std=", stddev=0.125"),
    "sigmoids_unit.py": SIGMOIDS.format(std=""),
    "constant.py": CONSTANT.format(head="tf.ones([8, 4])"),
    "constant_random_head.py": CONSTANT.format(head="tf.random_normal([8, 4], stddev=0.35)"),
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, int], dict[str, Any]]:
    root = tmp_path_factory.mktemp("tf_graphs")
    for name, text in PROGRAMS.items():
        (root / name).write_text(text)
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json",
                           *PROGRAMS], cwd=root, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr
    return {(f["path"], f["code"], f["line"]): f["confirmation"] for f in json.loads(proc.stdout)}


def status(verdicts: dict[tuple[str, str, int], dict[str, Any]], *key: Any) -> str:
    assert key in verdicts, sorted(verdicts)
    return str(verdicts[key]["status"])


def test_scale_confirms_unscaled_linear_stack(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    for line in (5, 6, 7):
        assert status(verdicts, "mlp.py", "IL401", line) == "confirmed"
    evidence = verdicts[("mlp.py", "IL401", 5)]["evidence"]
    assert evidence["layers"] == ["weights['h1']", "weights['h2']", "weights['out']"]
    assert evidence["ratio_last_first"] > 10


def test_scale_behind_sigmoids_is_never_refuted(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    # Sigmoids bound each layer's input: the RMS stays flat although the init is unscaled.
    for line in (4, 5, 6, 7):
        got = verdicts[("sigmoids_unit.py", "IL401", line)]
        assert got["status"] == "unverified", got
        assert "bounds their inputs" in got["detail"]


def test_vanishing_on_a_sigmoid_stack(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    assert status(verdicts, "sigmoids_small.py", "IL302", 8) == "confirmed"
    # Behind N(0, 1) weights the sigmoid chain keeps its gradient (the documented look-alike).
    assert status(verdicts, "sigmoids_unit.py", "IL302", 8) == "refuted"
    assert len(verdicts[("sigmoids_small.py", "IL302", 8)]["evidence"]["grad_norms"]) == 4


def test_vanishing_from_a_sigmoid_on_a_line_of_its_own(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    # The flagged line holds the sigmoid alone: the stack is the weight layers before and after it.
    got = verdicts[("eager_sigmoids.py", "IL302", 9)]
    assert got["status"] == "confirmed", got
    assert len(got["evidence"]["grad_norms"]) == 4


def test_symmetry_after_one_step(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    assert status(verdicts, "constant.py", "IL201", 4) == "confirmed"
    assert status(verdicts, "constant.py", "IL201", 6) == "confirmed"
    # A random head gives each hidden unit its own gradient.
    assert status(verdicts, "constant_random_head.py", "IL201", 4) == "refuted"


def test_a_layer_function_is_measured_where_the_script_calls_it(
        verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    assert status(verdicts, "add_layer.py", "IL401", 5) == "confirmed"
    uncalled = verdicts[("add_layer_uncalled.py", "IL401", 5)]
    # Called on a placeholder per parameter, its sizes are tensors: the build fails, and says why.
    assert uncalled["status"] == "unverified" and "no top-level assignment calls add_layer" in uncalled["detail"]
    assert "placeholder for each of inputs, in_size, out_size" in uncalled["detail"]


def test_a_graph_function_nobody_calls_is_built_on_placeholders_its_layers_shape(
        verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    # X is [None, 784] by tf.matmul(X, w1); Y is [None, 10] by the loss's logits, once X has its shape.
    unscaled = verdicts[("skeleton.py", "IL401", 5)]
    assert unscaled["status"] == "confirmed", unscaled
    assert "placeholders shaped by its own layers (X, Y)" in unscaled["evidence"]["model"]
    assert status(verdicts, "skeleton.py", "IL304", 12) == "confirmed"
    # X reshaped into images is fed flat ([None, 784]); the first layer that learns on the logits
    # is measured: the conv kernel gets no gradient behind the zero dense layer, w does.
    conv = verdicts[("skeleton.py", "IL304", 24)]
    assert conv["status"] == "confirmed", conv
    assert conv["evidence"]["layer"] == "Variable", conv["evidence"]


def test_a_graph_built_in_the_main_block_is_built_as_at_the_top_level(
        verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    for line in (6, 7):
        got = verdicts[("main_block.py", "IL401", line)]
        assert got["status"] == "confirmed", got


def test_a_graph_function_called_by_the_training_function_is_built_on_the_script_placeholder(
        verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    for line in (7, 8):
        got = verdicts[("net_in_train.py", "IL401", line)]
        assert got["status"] == "confirmed", got
        assert "its call on line 16" in got["evidence"]["model"]


def test_a_product_is_judged_without_the_bias_added_on_its_line(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    assert status(verdicts, "zero_with_bias.py", "IL101", 9) == "confirmed", verdicts[("zero_with_bias.py", "IL101", 9)]
    assert "b2" not in verdicts[("zero_with_bias.py", "IL101", 9)]["evidence"]["parameters"]


def test_a_dead_product_beside_a_live_one_on_its_line_is_confirmed(
        verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    got = verdicts[("wide_and_deep.py", "IL101", 8)]
    assert got["status"] == "confirmed", got


def test_symmetry_under_dropout_with_a_fed_rate_is_unverified(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    for line in (6, 7):
        got = verdicts[("keep_prob.py", "IL201", line)]
        assert got["status"] == "unverified" and "dropout" in got["detail"], got


def test_tf_layers_under_the_compat_v1_import_build(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    found = [v for (path, code, _), v in verdicts.items() if path == "compat_v1_layers.py" and code == "IL301"]
    assert [v["status"] for v in found] == ["confirmed"], found


def test_a_graph_built_under_name_scopes_is_built(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    found = {(code, line): v["status"] for (path, code, line), v in verdicts.items() if path == "name_scopes.py"}
    assert found == {("IL401", 5): "confirmed", ("IL304", 15): "confirmed"}, found


def test_a_transposed_weight_shapes_the_placeholder_it_multiplies(verdicts: dict[tuple[str, str, int], dict[str, Any]]) -> None:
    got = verdicts[("transposed.py", "IL102", 10)]
    assert got["status"] == "confirmed", got
