"""Fan-in follows how a hand-made weight is applied, and the IL401 message quotes it.

`tf.matmul(x, W)` / `x @ W` sum over W's first axis, `F.linear(x, W)` and
`transpose_b=True` over its last, a TF conv kernel [k..., in, out] over all
axes but the last, a torch one [out, in, k...] over all but the first.
"""

from __future__ import annotations

import re
import textwrap

import pytest

from initlint.config import Settings
from initlint.engine import check_source
from initlint.facts.tensors import CONV_TF, CONV_TORCH, IN_OUT, OUT_IN, weight_fan_in


def quoted_fans(source: str) -> list[tuple[int, int]]:
    """(line, fan-in quoted in the message) of each IL401 finding."""
    result = check_source("model.py", textwrap.dedent(source), Settings())
    out = []
    for d in result.diagnostics:
        assert d.code == "IL401", d.message
        match = re.search(r"\(fan-in (\d+)\)", d.message)
        assert match is not None, d.message
        out.append((d.line, int(match.group(1))))
    return out


@pytest.mark.parametrize(
    ("shape", "layout", "fan"),
    [
        ((784, 256), IN_OUT, 784),
        ((8, 784, 256), IN_OUT, 784),  # batched: the axis before the last
        ((256, 784), OUT_IN, 784),
        ((5, 5, 32, 64), CONV_TF, 800),
        ((64, 32, 5, 5), CONV_TORCH, 800),
        ((784, None), IN_OUT, 784),
        ((None, 256), IN_OUT, None),
        ((784,), IN_OUT, None),
        ((784, 256), None, None),
    ],
)
def test_weight_fan_in(shape: tuple[object, ...], layout: str, fan: object) -> None:
    assert weight_fan_in(shape, layout) == fan


def test_tf1_weights_quote_the_fan_in_of_their_use() -> None:
    source = """
    import tensorflow as tf

    x = tf.placeholder(tf.float32, [None, 14, 14, 32])
    wc = tf.Variable(tf.random_normal([5, 5, 32, 64]))
    wd = tf.Variable(tf.random_normal([14 * 14 * 64, 1024]))
    wo = tf.Variable(tf.random_normal([1024, 10]))
    wt = tf.Variable(tf.random_normal([10, 1024]))
    h = tf.nn.relu(tf.nn.conv2d(x, wc, strides=[1, 1, 1, 1], padding="SAME"))
    h = tf.nn.relu(tf.matmul(tf.reshape(h, [-1, 14 * 14 * 64]), wd))
    out = tf.matmul(h, wo)
    back = tf.matmul(h, wt, transpose_b=True)
    """
    # 5*5*32 = 800: std 1 is 28x the 1/sqrt(800) = 0.035 a fan-in-scaled init gives.
    assert quoted_fans(source) == [(5, 800), (6, 12544), (7, 1024), (8, 1024)]


def test_torch_hand_made_weights() -> None:
    source = """
    import torch
    import torch.nn.functional as F
    from torch import nn


    class Net(nn.Module):
        def __init__(self, n_in=256, n_out=16):
            super().__init__()
            self.a = nn.Parameter(torch.randn(n_in, n_out))      # x @ a: fan-in n_in
            self.b = nn.Parameter(torch.randn(n_out, n_in))      # F.linear(x, b): [out, in]
            self.k = nn.Parameter(torch.randn(32, 3, 3, 3))      # F.conv2d: [out, in, kh, kw]

        def forward(self, x, img):
            return F.linear(x, self.b) + x @ self.a + F.conv2d(img, self.k).mean()
    """
    assert quoted_fans(source) == [(10, 256), (11, 256), (12, 27)]


def test_unknown_orientation_takes_the_smaller_side() -> None:
    # tensordot's contracted axes are not read: the smaller side keeps the finding less likely.
    source = """
    import tensorflow as tf

    x = tf.keras.Input(shape=(784,))
    w = tf.Variable(tf.random.normal([784, 64]))
    h = tf.tensordot(x, w, axes=1)
    """
    assert quoted_fans(source) == [(5, 64)]
