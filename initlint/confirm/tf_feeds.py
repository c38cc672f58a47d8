"""What a TF1 graph's placeholders are fed, and the shapes of the inputs the confirmation makes itself.

A graph function nobody calls in its file (`def twolayer(X, Y): ...` of a homework skeleton whose
`train.py` calls it) is built on placeholders of its own (`graph_input`). Their shapes are read
from the graph's own layers: a first build on shapeless placeholders shows what each one meets
(`tf.matmul(X, W)` with `W` [784, 30] makes `X` [None, 784]), the next build uses those shapes, so
the layers downstream get theirs (`Y * tf.log(preds)` makes `Y` [None, 10]), until nothing new is
learned. Only spatial sizes of an image input are guessed, and the verdict then says so.
"""

from __future__ import annotations

from typing import Any, Optional

# Ops whose integer input indexes a table: (op type, input position of the table).
GATHER_OPS = {"GatherV2": 0, "ResourceGather": 0, "Gather": 0}
SPARSE_LABEL_OPS = {"SparseSoftmaxCrossEntropyWithLogits"}
GRAPH_INPUT = "initlint_graph_input"  # the name a synthesized call reads its placeholders from
INPUT_PREFIX = "initlint_arg_"  # the confirmation's own placeholders for a function's parameters
GUESSED_SIDE = 28  # the height and width of an image input the graph does not fix
# Ops whose output has their first input's shape, followed from a placeholder to what it meets.
_SAME_SHAPE = {"Identity", "StopGradient", "Cast"}
_ELEMENTWISE = {"Mul", "Sub", "Add", "AddV2", "RealDiv", "SquaredDifference", "Maximum", "Minimum", "Equal"}
_SOFTMAX_LOSSES = {"SoftmaxCrossEntropyWithLogits"}


def feed(tf: Any, graph: Any, rng: Any, shapes: Optional[dict[str, list[Optional[int]]]] = None) -> dict[Any, Any]:
    """Random values for every placeholder: indices below the table size, labels below the logits width.
    The confirmation's own inputs get the `shapes` their layers gave them."""
    import numpy as np

    feeds: dict[Any, Any] = {}
    for op in graph.get_operations():
        if op.type != "Placeholder":
            continue
        t = op.outputs[0]
        dtype = t.dtype
        if op.name.startswith(INPUT_PREFIX):
            dims = (shapes or {}).get(op.name[len(INPUT_PREFIX):]) or t.shape.as_list()
            feeds[t] = rng.random(size=[2 if d is None else d for d in dims]).astype(dtype.as_numpy_dtype)
            continue
        if op.name.startswith("initlint_"):  # the probes' own targets
            continue
        if t.shape.rank is None and dtype.is_floating:
            # No shape at all: a hyperparameter (`keep_prob = tf.placeholder(tf.float32)`, a learning
            # rate). 1.0 keeps dropout off; a training op, the only other reader, never runs.
            feeds[t] = np.asarray(1.0, dtype=dtype.as_numpy_dtype)
            continue
        dims = t.shape.as_list() if t.shape.rank is not None else [2]
        shape = [2 if d is None else d for d in dims]
        if dtype.is_integer:
            high = 2
            for consumer in t.consumers():
                pos = GATHER_OPS.get(consumer.type)
                if pos is not None and consumer.inputs[pos] is not t:
                    table = consumer.inputs[pos].shape.as_list()
                    high = table[0] if table and table[0] else high
                elif consumer.type in SPARSE_LABEL_OPS:
                    width = consumer.inputs[0].shape.as_list()[-1]
                    high = width or high
            feeds[t] = rng.integers(0, max(1, high), size=shape).astype(dtype.as_numpy_dtype)
        elif dtype.is_bool:
            feeds[t] = np.bool_(True) if not shape else np.ones(shape, dtype=bool)
        else:
            feeds[t] = rng.random(size=shape).astype(dtype.as_numpy_dtype)
    return feeds


def graph_input(v1: Any, shapes: dict[str, list[Optional[int]]], name: str) -> Any:
    """The placeholder standing for parameter `name` of the graph function: shapeless until its layers
    have given it a shape."""
    return v1.placeholder("float32", shape=shapes.get(name), name=INPUT_PREFIX + name)


def learn_shapes(graph: Any, shapes: dict[str, list[Optional[int]]]) -> tuple[bool, bool]:
    """Fill in `shapes` for the confirmation's placeholders that are still shapeless, from what each one
    meets in `graph`. (anything learned, a size guessed)."""
    learned = guessed = False
    for op in graph.get_operations():
        if op.type != "Placeholder" or not op.name.startswith(INPUT_PREFIX):
            continue
        name = op.name[len(INPUT_PREFIX):]
        if shapes.get(name) is not None:
            continue
        found = _shape_from_consumers(op.outputs[0], graph)
        if found is not None:
            shapes[name], guess = found
            learned, guessed = True, guessed or guess
    return learned, guessed


def _known(shape: Any) -> Optional[list[Optional[int]]]:
    """A static shape with every dimension but the first known, as a list; None otherwise."""
    if shape.rank is None or shape.rank == 0:
        return None
    dims = shape.as_list()
    return dims if all(d is not None for d in dims[1:]) else None


def _shape_from_consumers(t: Any, graph: Any) -> Optional[tuple[list[Optional[int]], bool]]:
    """The shape the first layer `t` meets fixes, and whether a spatial size was guessed."""
    import numpy as np

    seen: set[str] = set()
    stack = [t]
    while stack:
        tensor = stack.pop(0)
        for consumer in tensor.consumers():
            if consumer.name in seen:
                continue
            seen.add(consumer.name)
            kind = consumer.type
            first = consumer.inputs[0] is tensor
            if kind in _SAME_SHAPE:
                stack.append(consumer.outputs[0])
            elif kind in ("MatMul", "BatchMatMulV2") and first:
                w = consumer.inputs[1].shape
                transposed = bool(consumer.get_attr("transpose_a" if kind == "MatMul" else "adj_x"))
                # `tf.matmul(X, W, transpose_b=True)` reads W's second dimension.
                k = 1 if consumer.get_attr("transpose_b" if kind == "MatMul" else "adj_y") else 0
                if w.rank == 2 and w.as_list()[k] is not None and not transposed:
                    return [None, w.as_list()[k]], False
            elif kind == "Reshape" and first:
                target = _static(graph, consumer.inputs[1])
                if target is not None and len(target) >= 2 and target[0] == -1 and all(d > 0 for d in target[1:]):
                    return [None, int(np.prod(target[1:]))], False  # a flat input reshaped into images
                stack.append(consumer.outputs[0])  # labels flattened on their way to the loss
            elif kind == "Conv2D" and first:
                k = consumer.inputs[1].shape
                if k.rank == 4 and k.as_list()[2] is not None:
                    return [None, GUESSED_SIDE, GUESSED_SIDE, k.as_list()[2]], True
            elif kind in _ELEMENTWISE:
                other = consumer.inputs[1] if first else consumer.inputs[0]
                known = _known(other.shape)
                if known is not None and len(known) >= 2:
                    return [None, *known[1:]], False
            elif kind in _SOFTMAX_LOSSES and not first:
                logits = consumer.inputs[0]
                known = _known(logits.shape) or (_known(logits.op.inputs[0].shape) if logits.op.type == "Reshape" else None)
                if known is not None:
                    return [None, *known[1:]], False
    return None


def _static(graph: Any, tensor: Any) -> Optional[list[int]]:
    """The constant value of a shape tensor, if the graph fixes it."""
    import tensorflow as tf  # type: ignore[import-untyped]

    with graph.as_default():
        value = tf.get_static_value(tensor)
    return [int(d) for d in value.tolist()] if value is not None and getattr(value, "ndim", 0) == 1 else None
