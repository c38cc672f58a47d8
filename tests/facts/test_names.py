"""Name resolution: imports, aliases, shadowing and function-local imports.

Tested the way users meet it: the same zero-product bug spelled through
different imports must be found, and a shadowed name must not be trusted.
"""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from initlint.config import Settings
from initlint.engine import check_source
from initlint.facts.names import canonical, import_bindings, strip_tf1

BODY = """
class Pair({module}):
    def __init__(self):
        super().__init__()
        self.emb = {emb}(10, 4)
        {zeros}(self.emb.weight)

    def forward(self, a, b):
        return self.emb(a) * self.emb(b)
"""


def codes(source: str) -> list[tuple[str, int]]:
    result = check_source("model.py", textwrap.dedent(source), Settings())
    return [(d.code, d.line) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("imports", "module", "emb", "zeros"),
    [
        ("import torch.nn as nn", "nn.Module", "nn.Embedding", "nn.init.zeros_"),
        ("from torch import nn", "nn.Module", "nn.Embedding", "nn.init.zeros_"),
        ("import torch", "torch.nn.Module", "torch.nn.Embedding", "torch.nn.init.zeros_"),
        ("from torch import nn\nfrom torch.nn import init", "nn.Module", "nn.Embedding", "init.zeros_"),
        ("from torch.nn import Module, Embedding\nfrom torch.nn.init import zeros_", "Module", "Embedding", "zeros_"),
        ("from torch import nn as xx\nfrom torch.nn import init as I", "xx.Module", "xx.Embedding", "I.zeros_"),
        ("import torch.nn.modules.sparse as sp\nfrom torch import nn", "nn.Module", "sp.Embedding", "nn.init.zeros_"),
    ],
)
def test_aliases_resolve_to_the_same_bug(imports: str, module: str, emb: str, zeros: str) -> None:
    source = imports + "\n" + BODY.format(module=module, emb=emb, zeros=zeros)
    assert [c for c, _ in codes(source)] == ["IL101"]


def test_shadowed_module_name_is_not_trusted() -> None:
    source = "from torch import nn\nimport mylib as nn\n" + BODY.format(module="nn.Module", emb="nn.Embedding", zeros="nn.init.zeros_")
    assert codes(source) == []


def test_local_variable_shadows_an_import() -> None:
    source = """
    import torch
    from torch import nn

    class Pair(nn.Module):
        def __init__(self, init):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            init.zeros_(self.emb.weight)   # `init` is a parameter here, not torch.nn.init

        def forward(self, a, b):
            return self.emb(a) * self.emb(b)
    """
    assert codes(source) == []


def test_function_local_import() -> None:
    source = """
    import torch

    class Pair(torch.nn.Module):
        def __init__(self):
            super().__init__()
            from torch.nn import init
            self.emb = torch.nn.Embedding(10, 4)
            init.zeros_(self.emb.weight)

        def forward(self, a, b):
            return self.emb(a) * self.emb(b)
    """
    assert [c for c, _ in codes(source)] == ["IL101"]


def test_unknown_helper_makes_parameters_unknown() -> None:
    # An imported helper may re-initialise what it is given: stay quiet.
    source = """
    from torch import nn
    from mylib import init_weights

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            nn.init.zeros_(self.emb.weight)
            init_weights(self)

        def forward(self, a, b):
            return self.emb(a) * self.emb(b)
    """
    assert codes(source) == []


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("tensorflow.keras.layers.Dense", "keras.layers.Dense"),
        ("tensorflow.compat.v1.Variable", "tf.compat.v1.Variable"),  # TF1 API: same meaning, TF1 defaults
        ("keras.src.layers.core.dense.Dense", "keras.layers.Dense"),
        ("torch.nn.modules.linear.Linear", "torch.nn.Linear"),
        ("numpy.zeros", "np.zeros"),
        ("tensorflow", "tf"),
    ],
)
def test_canonical_names(spelling: str, expected: str) -> None:
    assert canonical(spelling) == expected


def first_import(source: str) -> cst.BaseSmallStatement:
    line = cst.parse_statement(source)
    assert isinstance(line, cst.SimpleStatementLine)
    return line.body[0]


def test_import_bindings() -> None:
    stmt = first_import("from torch import nn as xx, optim\n")
    assert list(import_bindings(stmt)) == [("xx", "torch.nn"), ("optim", "torch.optim")]
    stmt = first_import("import torch.nn.functional as F\n")
    assert list(import_bindings(stmt)) == [("F", "torch.nn.functional")]
    stmt = first_import("from .layers import Block\n")
    assert list(import_bindings(stmt, package="pkg.models")) == [("Block", "pkg.models.layers.Block")]


def test_type_and_class_name_guards_are_decided() -> None:
    # The DCGAN-style `classname.find("Linear") != -1` and `type(m) == nn.Linear` guards.
    source = """
    import torch.nn as nn

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Embedding") != -1:
            m.weight.data.fill_(0)

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.fc = nn.Linear(4, 4)
            self.apply(weights_init)
            for m in self.modules():
                if type(m) == nn.Linear:
                    nn.init.zeros_(m.bias)

        def forward(self, a, b):
            return self.fc(self.emb(a)) * self.fc(self.emb(b))
    """
    assert [c for c, _ in codes(source)] == ["IL101"]


# ---------------------------------------------------------------- TensorFlow's compat modules
@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("import tensorflow.compat.v1 as tf\n", [("tf", "tf.compat.v1")]),
        ("import tensorflow.compat.v2 as tf\n", [("tf", "tf")]),
        ("from tensorflow.compat import v1 as tf\n", [("tf", "tf.compat.v1")]),
        ("from tensorflow.compat import v2\n", [("v2", "tf")]),
        ("from tensorflow.compat.v1 import placeholder, keras\n", [("placeholder", "tf.compat.v1.placeholder"), ("keras", "keras")]),
        ("from tensorflow.compat.v1.keras import layers\n", [("layers", "keras.layers")]),
    ],
)
def test_compat_import_bindings(statement: str, expected: list[tuple[str, str]]) -> None:
    assert list(import_bindings(first_import(statement))) == expected


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        # Attribute chains off an imported module are canonical too.
        ("tf.keras.layers.Dense", "keras.layers.Dense"),
        ("tf.compat.v1.keras.layers.Dense", "keras.layers.Dense"),
        ("tf.compat.v2.nn.relu", "tf.nn.relu"),
        ("tf.compat.v2", "tf"),
        ("tensorflow.compat.v2.random_normal_initializer", "tf.random_normal_initializer"),
        ("tf.compat.v1.get_variable", "tf.compat.v1.get_variable"),
    ],
)
def test_compat_canonical_names(spelling: str, expected: str) -> None:
    assert canonical(spelling) == expected


def test_strip_tf1() -> None:
    assert strip_tf1("tf.compat.v1.nn.sigmoid") == ("tf.nn.sigmoid", True)
    assert strip_tf1("tf.compat.v1") == ("tf", True)
    assert strip_tf1("tf.nn.sigmoid") == ("tf.nn.sigmoid", False)


CONSTANT_GET_VARIABLE = """
x = {tf}.placeholder({tf}.float32, [None, 784])
w = {tf}.get_variable("w", [784, 256], initializer={tf}.constant_initializer(0.1))
h = {tf}.nn.relu({tf}.matmul(x, w))
"""


@pytest.mark.parametrize(
    ("imports", "tf"),
    [
        ("import tensorflow as tf", "tf"),
        ("import tensorflow as tf", "tf.compat.v1"),
        ("import tensorflow.compat.v1 as tf", "tf"),
        ("from tensorflow.compat import v1 as tf", "tf"),
        ("from tensorflow.compat import v1", "v1"),
        ("import tensorflow.compat.v2 as tf", "tf.compat.v1"),
    ],
)
def test_compat_spellings_find_the_same_bug(imports: str, tf: str) -> None:
    source = imports + "\n" + CONSTANT_GET_VARIABLE.format(tf=tf)
    assert codes(source) == [("IL201", 4)]


RANDOM_NORMAL_DEFAULT = """
h = tf.keras.layers.Dense(256, kernel_initializer={tf}.random_normal_initializer())(x)
"""


@pytest.mark.parametrize(
    ("preamble", "tf", "flagged"),
    [
        # TF1's default stddev is 1.0: through compat.v1, or in a file that uses TF1-only names.
        ("import tensorflow.compat.v1 as tf\nx = tf.placeholder(tf.float32, [None, 784])", "tf", True),
        ("import tensorflow as tf\nx = tf.keras.Input(shape=(784,))", "tf.compat.v1", True),
        ("import tensorflow as tf\nx = tf.placeholder(tf.float32, [None, 784])", "tf", True),
        ("import tensorflow as tf\nx = tf.keras.Input(shape=(784,))\nopt = tf.train.AdamOptimizer(0.01)", "tf", True),
        # TF2's is 0.05: 1.4x 1/sqrt(784), fine.
        ("import tensorflow as tf\nx = tf.keras.Input(shape=(784,))", "tf", False),
        ("import tensorflow.compat.v2 as tf\nx = tf.keras.Input(shape=(784,))", "tf", False),
        ("import tensorflow as tf\nx = tf.compat.v1.placeholder(tf.float32, [None, 784])", "tf", False),
        # TF1-only and TF2-only names in one file: the default is unknown, so nothing is said.
        ("import tensorflow as tf\nx = tf.placeholder(tf.float32, [None, 784])\nstep = tf.function(lambda: 0)", "tf", False),
    ],
)
def test_tf_generation_decides_the_default_stddev(preamble: str, tf: str, flagged: bool) -> None:
    source = preamble + "\n" + RANDOM_NORMAL_DEFAULT.format(tf=tf)
    line = preamble.count("\n") + 3
    assert codes(source) == ([("IL401", line)] if flagged else [])
