"""Methods of plain classes nobody called run like functions nobody called.

TF1 code often builds its graph in a plain class (`class Net: def build(self, x)`)
that the file never instantiates; its layers are analysed all the same.
"""

from __future__ import annotations

import textwrap
from typing import Optional

import libcst as cst

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


def test_an_imported_helper_is_followed_for_a_module_or_a_squashed_output_not_a_config_object() -> None:
    # timm hands a `ByoModelCfg` dataclass to `build_model_with_cfg`: following that helper built every
    # registered variant's model once more (byobnet.py's analysis took 10x longer for no finding).
    # A plain holder (an RL agent with `self.net`) is followed: the helper may initialize its network.
    from initlint.facts.modules import hands_over_model
    from initlint.facts.values import ClassInfo, Obj, Tensor

    def instance(source: str, framework: Optional[str] = None) -> Obj:
        node = cst.parse_statement(source)
        assert isinstance(node, cst.ClassDef)
        return Obj(kind="user", cls=ClassInfo(node.name.value, node, [], framework=framework))

    dataclass = instance("@dataclass(frozen=True)\nclass ByoModelCfg:\n    depth: int = 4\n")
    named = instance("class ModelConfig:\n    pass\n")
    assert not hands_over_model([], {"model_cfg": dataclass})
    assert not hands_over_model([named], {})
    assert hands_over_model([instance("class Agent:\n    pass\n")], {})
    assert hands_over_model([instance("class Net(nn.Module):\n    pass\n", "torch")], {})
    assert hands_over_model([], {"net": Obj(kind="torch.nn.Linear")})
    assert not hands_over_model([Tensor()], {})
