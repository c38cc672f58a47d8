"""Low-level TensorFlow: which TensorFlow a file targets (TF1 or TF2 defaults)
and `tf.Variable` / `tf.get_variable`.
"""

from __future__ import annotations

from typing import Any, Optional

from initlint.facts.context import CallContext, Machine
from initlint.facts.tensors import argument, as_tensor, event_from_value, literal_shape, new_param, shape_of, truthy
from initlint.facts.values import UNKNOWN, Const, InitEvent, Param, Seq, Value
from initlint.frameworks.keras import keras_initializer
from initlint.frameworks.tables import framework_of, last

# Which TensorFlow a file targets decides some defaults (`random_normal_initializer`'s
# stddev is 1.0 in TF1, 0.05 in TF2). These names exist only in TF1's root namespace
# (TF2 moved them to tf.compat.v1), so a file that spells them `tf.X` runs on TF1.
TF_ROOTS = ("tf", "tf.train")
TF1_ONLY_API = {
    "placeholder", "placeholder_with_default", "Session", "InteractiveSession", "get_variable", "variable_scope",
    "layers", "contrib", "global_variables_initializer", "initialize_all_variables", "random_normal",
    "truncated_normal", "random_uniform", "get_default_graph", "reset_default_graph", "to_float",
}
TF2_ONLY_API = {"function", "GradientTape"}  # with a TF1-only name too, the file's target is unclear


def note_tf_generation(interp: Machine, owner: str, name: str) -> None:
    """Record a TF1-only (`tf.placeholder`, `tf.train.AdamOptimizer`) or TF2-only name used from the root `tf`."""
    if owner == "tf.train":
        if name.endswith("Optimizer"):
            interp.tf_generations.add(1)  # TF2 has only tf.keras.optimizers
    elif name in TF1_ONLY_API:
        interp.tf_generations.add(1)
    elif name in TF2_ONLY_API:
        interp.tf_generations.add(2)


def tf1_defaults(interp: Machine) -> Optional[bool]:
    """Whether a bare `tf.X` has TF1's defaults in this file: True for a file that uses
    TF1-only names, False for one that does not (TF2), None when it uses both kinds."""
    generations = interp.tf_generations
    if 1 in generations:
        return None if 2 in generations else True
    return False


def make_variable(interp: Machine, qual: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
    if framework_of(qual) == "torch":
        data = argument(args, kwargs, 0, "data", UNKNOWN)
        trainable = truthy(argument(args, kwargs, 1, "requires_grad", Const(True))) is not False
    else:
        if last(qual) == "get_variable":
            # get_variable(name, shape=None, dtype=None, initializer=None, ...)
            init = argument(args, kwargs, 3, "initializer", Const(None))
            event: Optional[InitEvent] = InitEvent("random", node, "tf.get_variable default (glorot)", distribution="xavier")
            if not (isinstance(init, Const) and init.value is None):
                event = keras_initializer(init, node)
            size = argument(args, kwargs, 1, "shape", Const(None))
            shape = shape_of([size]) if isinstance(size, Seq) else None
            p = new_param(_name_of(args), "raw", shape, event or InitEvent("unknown", node, "initializer"), None, node)
            p.trainable = truthy(kwargs.get("trainable", Const(True))) is not False
            return p
        data = argument(args, kwargs, 0, "initial_value", UNKNOWN)
        trainable = truthy(kwargs.get("trainable", Const(True))) is not False
    if isinstance(data, Param) and not data.trainable and data.owner is None:
        data.trainable = trainable
        data.role = "raw"
        data.site = node
        return data
    event = event_from_value(data, node)
    t = as_tensor(data)
    shape = t.shape if t is not None and t.shape else None
    if shape is None and isinstance(data, Seq):
        shape = literal_shape(data)
    return new_param("", "raw", shape, event, None, node, trainable=trainable)


def _name_of(args: list[Value]) -> str:
    return str(args[0].value) if args and isinstance(args[0], Const) else ""
