"""Methods of plain classes nobody called run like functions nobody called.

TF1 code often builds its graph in a plain class (`class Net: def build(self, x)`)
that the file never instantiates; its layers are analysed all the same.
"""

from __future__ import annotations

import textwrap

from initlint.config import Settings
from initlint.engine import check_source


def codes(source: str) -> list[tuple[str, int]]:
    result = check_source("model.py", textwrap.dedent(source), Settings())
    return [(d.code, d.line) for d in result.diagnostics]


BUILDER = """
import tensorflow as tf


class {header}:
    def __init__(self, n_in=784, hidden=256):
        self.w = tf.Variable(tf.random_normal([n_in, hidden]))
        self.v = tf.get_variable("v", [hidden, 10], initializer=tf.constant_initializer(0.1))

    def build(self, features):
        return self.head(tf.nn.relu(tf.matmul(features, self.w)))

    def head(self, h):
        return tf.matmul(h, self.v)
"""


def test_methods_of_a_plain_class_nobody_called() -> None:
    # `w`: std 1 at fan-in 784 (28x too large); `v`: one constant for 10 output units.
    assert codes(BUILDER.format(header="Net")) == [("IL401", 7), ("IL201", 8)]
    assert codes(BUILDER.format(header="Net(object)")) == [("IL401", 7), ("IL201", 8)]


def test_a_class_with_an_imported_base_is_not_guessed_at() -> None:
    source = "from mylib import Base\n" + BUILDER.format(header="Net(Base)")
    assert codes(source) == []


def test_methods_called_by_the_file_are_not_run_again() -> None:
    source = BUILDER.format(header="Net") + "\nx = tf.placeholder(tf.float32, [None, 784])\nlogits = Net(784, 256).build(x)\n"
    assert codes(source) == [("IL401", 7), ("IL201", 8)]
