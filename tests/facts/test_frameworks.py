"""Direct tests of the interpreter and the framework modules: a small source in, the
analysis's facts out (the values it binds, the parameters it builds, the events it records)."""

from __future__ import annotations

import libcst as cst

from initlint.config import Settings
from initlint.facts import FileFacts
from initlint.facts.analysis import build_facts
from initlint.facts.context import CallContext
from initlint.facts.interpret import Interpreter
from initlint.facts.values import Const, Obj, Param, const_int


def run(source: str) -> tuple[Interpreter, FileFacts]:
    """Run a module body once, the way the analysis runs a script."""
    module = cst.parse_module(source)
    facts = FileFacts(path="m.py", module=module, settings=Settings())
    interp = Interpreter(module, facts)
    interp.exec_body(module, interp.globals, CallContext())
    return interp, facts


def bound(source: str, name: str) -> object:
    return run(source)[0].globals.vars[name]


def test_constant_arithmetic_is_evaluated() -> None:
    value = bound("x = 2 * 3\n", "x")
    assert isinstance(value, Const) and value.value == 6


def test_a_torch_linear_has_an_out_by_in_weight_with_fan_in_the_input_size() -> None:
    layer = bound("from torch import nn\nlayer = nn.Linear(4, 8)\n", "layer")
    assert isinstance(layer, Obj) and layer.kind == "torch.nn.Linear"
    weight = layer.params["weight"]
    assert weight.shape == (8, 4) and const_int(layer.config["fan_in"]) == 4
    assert weight.init.kind == "default" and abs((weight.init.std or 0) - 1 / (3 * 4) ** 0.5) < 1e-12
    assert layer.params["bias"].shape == (8,)


def test_a_torch_bilinear_has_its_weight_and_bias() -> None:
    layer = bound("import torch\nlayer = torch.nn.Bilinear(3, 5, 7, bias=False)\n", "layer")
    assert isinstance(layer, Obj)
    assert layer.params["weight"].shape == (7, 3, 5) and "bias" not in layer.params
    assert const_int(layer.config["fan_in"]) == 3


def test_a_bilinear_with_a_zero_weight_is_a_zero_product() -> None:
    source = (
        "import torch\nfrom torch import nn\n\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.b = nn.Bilinear(4, 4, 2)\n"
        "        nn.init.zeros_(self.b.weight)\n\n"
        "    def forward(self, x, y):\n"
        "        return self.b(x, y)\n"
    )
    facts = build_facts(cst.parse_module(source), "m.py", Settings())
    calls = [c for c in facts.layer_calls if c.layer is not None and c.layer.kind == "torch.nn.Bilinear"]
    assert calls and calls[0].weight.is_zero


def test_an_unknown_frameworks_layer_is_left_opaque() -> None:
    # Not read as a Keras layer: no parameters are invented for it.
    from initlint.frameworks.registry import CONSTRUCTORS

    assert set(CONSTRUCTORS) == {"torch", "keras"}
    interp, _ = run("x = 1\n")
    obj = Obj(kind="", site=None)
    from initlint.frameworks.registry import construct_into

    construct_into(interp, obj, "flax.linen.Dense", [Const(3)], {}, None, CallContext())
    assert obj.kind == "flax.linen.Dense" and obj.params == {} and obj.children == []


def test_a_keras_dense_with_a_sigmoid_applies_it() -> None:
    source = (
        "from tensorflow import keras\n"
        "layer = keras.layers.Dense(3, activation='sigmoid')\n"
        "y = layer(keras.Input(shape=(4,)))\n"
    )
    interp, facts = run(source)
    assert [a.kind for a in facts.activations] == ["sigmoid"]
    layer = interp.globals.vars["layer"]
    assert isinstance(layer, Obj) and layer.params["kernel"].shape == (None, 3)
    assert layer.params["bias"].is_zero


def test_tf2_random_normal_initializer_has_std_0_05_and_tf1_has_1() -> None:
    tf2 = bound("import tensorflow as tf\nw = tf.Variable(tf.random_normal_initializer()(shape=(3, 4)))\n", "w")
    assert isinstance(tf2, Param) and tf2.init.std == 0.05
    tf1 = bound("import tensorflow as tf\nx = tf.placeholder(tf.float32)\nw = tf.Variable(tf.random_normal_initializer()(shape=(3, 4)))\n", "w")
    assert isinstance(tf1, Param) and tf1.init.std == 1.0


def test_nn_init_zeros_zeroes_the_parameter() -> None:
    layer = bound("from torch import nn\nlayer = nn.Linear(4, 8)\nnn.init.zeros_(layer.weight)\n", "layer")
    assert isinstance(layer, Obj) and layer.params["weight"].is_zero and layer.params["weight"].init.kind == "zero"


def test_a_product_of_two_zero_tensors_is_recorded() -> None:
    _, facts = run("import torch\na = torch.zeros(3)\nb = torch.zeros(3)\nc = a * b\n")
    assert [p.op for p in facts.products] == ["mul"]
    assert all(f.state == "zero" for f in facts.products[0].factors)


def test_a_module_base_of_another_framework_is_not_torch() -> None:
    # `flax.linen.Module` is named like torch's base class: the class is left alone, while a
    # `Module` from a library that wraps torch (d2l's) is still a torch model.
    interp, _ = run(
        "import flax.linen as nn\nfrom d2l import torch as d2l\n\n"
        "class Head(nn.Module):\n    pass\n\n"
        "class Net(d2l.Module):\n    pass\n"
    )
    assert interp.classes["Head"].framework is None
    assert interp.classes["Net"].framework == "torch"
