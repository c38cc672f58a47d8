"""TensorFlow confirmations: the sigmoid + squared-error pairing (IL301), a hand-written log-loss (IL303), a softmax into a logits loss (IL304), unscaled weights (IL401) behind tanh and
behind a keep-probability placeholder, a Keras model with no input shape; through the real CLI:
Keras models on the TensorFlow backend and TF1 graphs built with `tf.layers` (which Keras 3
removed from `tf.compat.v1`). One run over all the programs, so one worker serves the module."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")
pytest.importorskip("tensorflow")

KERAS = """\
from keras import Sequential
from keras.layers import Dense

model = Sequential()
model.add(Dense(8, input_dim=4, activation='relu'))
model.add(Dense(1, activation='{out}'))
model.compile(loss='mean_squared_error', optimizer='sgd')
"""
TF1 = """\
import tensorflow as tf

tf_x = tf.placeholder(tf.float32, [None, 16])
en0 = tf.layers.dense(tf_x, 32, tf.nn.tanh)
en1 = tf.layers.dense(en0, 8, tf.nn.tanh)
de0 = tf.layers.dense(en1, 32, tf.nn.tanh)
decoded = tf.layers.dense(de0, 16, {out})
loss = tf.losses.mean_squared_error(labels=tf_x, predictions=decoded)
train = tf.train.AdamOptimizer(0.002).minimize(loss)
"""
TANH = """\
import tensorflow as tf

X = tf.placeholder("float", [None, 256])
w1 = tf.Variable(tf.random_normal([256, 256]{std}))
w2 = tf.Variable(tf.random_normal([256, 256]{std}))
w3 = tf.Variable(tf.random_normal([256, 10]{std}))
h1 = tf.nn.tanh(tf.matmul(X, w1))
h2 = tf.nn.tanh(tf.matmul(h1, w2))
out = tf.matmul(h2, w3)
"""
NO_INPUT_SHAPE = """\
from keras import Sequential
from keras.layers import Dense
from sklearn.datasets import make_classification

X, y = make_classification(1000, 5)
model = Sequential([Dense(32, activation='relu'), Dense(1, activation='{out}')])
model.compile(optimizer='sgd', loss='binary_crossentropy')
model.fit(X, y)
"""
KEEP_PROB = """\
import tensorflow as tf

X = tf.placeholder(tf.float32, [None, 256])
keep_prob = tf.placeholder(tf.float32)
w1 = tf.Variable(tf.random_normal([256, 256]))
w2 = tf.Variable(tf.random_normal([256, 256]))
w3 = tf.Variable(tf.random_normal([256, 10]))
h1 = tf.nn.dropout(tf.nn.relu(tf.matmul(X, w1)), keep_prob)
h2 = tf.nn.dropout(tf.nn.relu(tf.matmul(h1, w2)), keep_prob)
out = tf.matmul(h2, w3)
"""
FROM_LOGITS = """\
import tensorflow as tf

model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(100, activation='relu'),
    tf.keras.layers.Dense(10, activation='softmax'),
])
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile(optimizer='adam', loss=loss_fn)
"""
HAND_WRITTEN_BCE = """\
import tensorflow as tf

X = tf.placeholder(tf.float32, [None, 2])
Y = tf.placeholder(tf.float32, [None, 1])
W1 = tf.Variable(tf.random_normal([2, 8]), name="weight1")
W2 = tf.Variable(tf.random_normal([8, 1]), name="weight2")
layer1 = tf.sigmoid(tf.matmul(X, W1))
hypothesis = tf.sigmoid(tf.matmul(layer1, W2))
p = {p}
cost = -tf.reduce_mean(Y * tf.log(p) + (1 - Y) * tf.log(1 - p))
train = tf.train.GradientDescentOptimizer(learning_rate=0.1).minimize(cost)
"""
SOFTMAX_INTO_LOGITS_LOSS = """\
import tensorflow as tf

x = tf.placeholder(tf.float32, [None, 64])
y = tf.placeholder(tf.float32, [None, 10])
W1 = tf.Variable(tf.truncated_normal([64, 32], stddev=0.1))
W2 = tf.Variable(tf.truncated_normal([32, 10], stddev=0.1))
hidden = tf.nn.relu(tf.matmul(x, W1))
prediction = tf.nn.softmax(tf.matmul(hidden, W2))
loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=prediction))
train_step = tf.train.AdamOptimizer(0.001).minimize(loss)
"""
# The sigmoid layer is built on its own line and applied later: the model to build is the one over it.
LAYER_BUILT_APART = """\
from keras.layers import Dense, Input
from keras.models import Model

inputs = Input(shape=(16,))
hidden = Dense(8, activation="relu")(inputs)
out_layer = Dense(16, activation="sigmoid")
outputs = out_layer(hidden)
autoencoder = Model(inputs, outputs)
autoencoder.compile(optimizer="adam", loss="mse")
"""
PROGRAMS = {
    "keras_layer_built_apart.py": LAYER_BUILT_APART,
    "tf1_softmax_into_logits_loss.py": SOFTMAX_INTO_LOGITS_LOSS,
    "tf1_hand_written_bce.py": HAND_WRITTEN_BCE.format(p="hypothesis"),
    "tf1_hand_written_bce_clipped.py": HAND_WRITTEN_BCE.format(p="tf.clip_by_value(hypothesis, 1e-7, 1 - 1e-7)"),
    "keras_softmax_from_logits.py": FROM_LOGITS,
    "tf1_keep_prob.py": KEEP_PROB,
    "no_input_shape_softmax.py": NO_INPUT_SHAPE.format(out="softmax"),
    "no_input_shape_sigmoid.py": NO_INPUT_SHAPE.format(out="sigmoid"),
    "tf1_tanh_unscaled.py": TANH.format(std=""),
    "tf1_tanh_scaled.py": TANH.format(std=", stddev=0.0625"),
    "keras_sigmoid_mse.py": KERAS.format(out="sigmoid"),
    "keras_linear_mse.py": KERAS.format(out="linear"),
    "tf1_sigmoid_mse.py": TF1.format(out="tf.nn.sigmoid"),
    "tf1_linear_mse.py": TF1.format(out="None"),
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    root = tmp_path_factory.mktemp("tf_loss_pairing")
    for name, text in PROGRAMS.items():
        (root / name).write_text(text)
    # The init rules may run Keras on torch; the loss pairing must still be judged on TensorFlow.
    env = dict(os.environ, KERAS_BACKEND="torch")
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json",
                           *PROGRAMS], cwd=root, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return list(json.loads(proc.stdout))


def il301(findings: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    return [f["confirmation"] for f in findings if f["path"] == path and f["code"] == "IL301"]


def test_keras_sigmoid_into_mse_is_confirmed_on_tensorflow(findings: list[dict[str, Any]]) -> None:
    [got] = il301(findings, "keras_sigmoid_mse.py")
    assert got["status"] == "confirmed", got
    assert got["evidence"]["backend"] == "tensorflow"
    assert got["evidence"]["dz"] == 0.0 and got["evidence"]["dz_logits"] > 0
    assert il301(findings, "keras_linear_mse.py") == []


def test_tf1_layers_graph_builds_and_its_sigmoid_mse_is_confirmed(findings: list[dict[str, Any]]) -> None:
    [got] = il301(findings, "tf1_sigmoid_mse.py")
    assert got["status"] == "confirmed", got
    assert "saturated" in got["detail"] and got["evidence"]["on_path"] is True
    assert il301(findings, "tf1_linear_mse.py") == []


def test_unscaled_weights_behind_tanh_are_confirmed_by_their_own_gain(findings: list[dict[str, Any]]) -> None:
    # tanh bounds what each layer reads, so the output RMS stays flat; the N(0, 1) [256, 256]
    # weight itself still multiplies the RMS by sqrt(256) = 16.
    got = [f["confirmation"] for f in findings if f["path"] == "tf1_tanh_unscaled.py" and f["code"] == "IL401"]
    assert got and all(c["status"] == "confirmed" for c in got), got
    # The first weight reads the model's input: its own growth (about 16x) confirms, as a later one's does.
    assert all(c["evidence"].get("layer_gain") and "itself scales" in c["detail"]
               or c["evidence"].get("first_layer_gain", 0) > 10 and "its first layer alone scales" in c["detail"]
               for c in got), got
    scaled = [f["confirmation"]["status"] for f in findings
              if f["path"] == "tf1_tanh_scaled.py" and f["code"] == "IL401"]
    assert "confirmed" not in scaled


def test_a_keras_model_whose_data_is_not_in_the_file_is_confirmed_on_a_guessed_input_shape(
        findings: list[dict[str, Any]]) -> None:
    # A single-unit softmax stops every gradient whatever the input width; the verdict says it guessed.
    [got] = [f["confirmation"] for f in findings if f["path"] == "no_input_shape_softmax.py" and f["code"] == "IL103"]
    assert got["status"] == "confirmed", got
    assert "guessed input shape" in got["detail"]
    assert [f for f in findings if f["path"] == "no_input_shape_sigmoid.py" and f["code"] == "IL103"] == []


def test_a_shapeless_hyperparameter_placeholder_gets_a_scalar_feed(findings: list[dict[str, Any]]) -> None:
    # `keep_prob = tf.placeholder(tf.float32)` has no shape: a vector feed would break tf.nn.dropout.
    got = [f["confirmation"] for f in findings if f["path"] == "tf1_keep_prob.py" and f["code"] == "IL401"]
    assert got and all(c["status"] == "confirmed" for c in got), got
    assert [] in got[0]["evidence"]["inputs"].values()  # the scalar keep_prob


def test_softmax_into_from_logits_on_tensorflow_is_refuted_by_keras_logit_recovery(
        findings: list[dict[str, Any]]) -> None:
    # TensorFlow's Keras takes the logits behind the softmax even with from_logits=True: measured,
    # the loss and the first kernel's gradient are the logits loss's, so training there is unaffected.
    [got] = [f["confirmation"] for f in findings
             if f["path"] == "keras_softmax_from_logits.py" and f["code"] == "IL304"]
    assert got["status"] == "refuted", got
    assert "from_logits=True" in got["detail"] and "softmax" in got["detail"]
    assert got["evidence"]["recovered"] is True and got["evidence"]["ratio"] == pytest.approx(1.0)


def test_a_hand_written_log_loss_on_a_saturated_sigmoid_is_confirmed(findings: list[dict[str, Any]]) -> None:
    # log(1 - sigmoid(20)) is log(0): the loss is inf and dL/dz nan; behind a clip it is exactly 0.
    [raw] = [f["confirmation"] for f in findings if f["path"] == "tf1_hand_written_bce.py" and f["code"] == "IL303"]
    assert raw["status"] == "confirmed", raw
    assert raw["evidence"]["dz"] is None and raw["evidence"]["loss_at_saturation"] == "inf"
    [clipped] = [f["confirmation"] for f in findings
                 if f["path"] == "tf1_hand_written_bce_clipped.py" and f["code"] == "IL303"]
    assert clipped["status"] == "confirmed", clipped
    assert clipped["evidence"]["dz"] == 0.0 and clipped["evidence"]["dz_logits"] > 0


def test_a_softmax_into_a_logits_loss_on_a_tf1_graph_shrinks_the_first_layer_gradient(
        findings: list[dict[str, Any]]) -> None:
    [got] = [f["confirmation"] for f in findings if f["path"] == "tf1_softmax_into_logits_loss.py" and f["code"] == "IL304"]
    assert got["status"] == "confirmed", got
    evidence = got["evidence"]
    assert evidence["layer"] == "W1" and evidence["ratio"] < 0.5 and evidence["backend"] == "tensorflow"
    assert abs(evidence["loss_floor"] - 1.4612) < 1e-3  # log(1 + 9/e) for ten classes


def test_a_sigmoid_layer_built_apart_from_its_call_is_judged_in_the_model_over_it(findings: list[dict[str, Any]]) -> None:
    [got] = il301(findings, "keras_layer_built_apart.py")
    assert got["status"] == "confirmed", got
    assert "autoencoder" in got["evidence"]["model"]
