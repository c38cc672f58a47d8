"""The `scale`, `vanishing` and `symmetry` probes on a TF1 graph (tf.compat.v1, graph mode).

Imported by keras_tf.run_graph inside the worker. The measurements have the
shape the torch path gives (worker.run_job, symmetry.measure_symmetry), so
checks.py reads them unchanged:
- the weight layers are the MatMul/Conv ops that read a trainable variable,
  each variable at its first use, that lie upstream or downstream of the
  flagged lines (the stack the finding is about), in graph order;
- the model output is the last weight layer's output followed through the
  element-wise ops after it (bias add, activation);
- `scale`: the RMS of each weight layer's own output on one feed;
- `vanishing`: per-layer weight-gradient norms of a squared error against
  random targets, one feed and target per seed;
- `symmetry`: the flagged weights' units after one SGD step on a random
  projection of the output.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch

from initlint.confirm.probes import LR, VANISHING_SEEDS
from initlint.confirm.symmetry import _unit_axis, _units_diff

LAYER_OPS = {"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv1D", "Conv2D", "Conv3D",
             "DepthwiseConv2dNative"}
# Ops between a variable and the layer that reads it.
READS = {"Identity", "ReadVariableOp", "Cast"}
# Element-wise ops after a weight layer that still belong to it (the output is followed through them).
ELEMENTWISE = {"Add", "AddV2", "BiasAdd", "Sigmoid", "Tanh", "Relu", "Relu6", "Elu", "Selu", "Softmax",
               "Softplus", "LeakyRelu", "Identity"}
PROBES = ("scale", "vanishing", "symmetry", "depth_drift", "loss_pairing")
# Activations that bound what the next layer sees: behind them the layer-output RMS cannot grow.
BOUNDED = {"Sigmoid", "Tanh", "Softsign"}
# A wrong sample saturated this far: sigmoid(20) is exactly 1.0 in float32 (as probes.SATURATED_LOGIT).
SATURATED_LOGIT = 20.0


def _variable_of(tensor: Any, by_op: dict[str, Any]) -> Optional[Any]:
    op = tensor.op
    for _ in range(6):
        if op.name in by_op:
            return by_op[op.name]
        if op.type not in READS or not op.inputs:
            return None
        op = op.inputs[0].op
    return None


def _ours(op: Any) -> bool:
    """Not an op of a gradient or optimizer the script built."""
    return not any(part.startswith("gradients") for part in op.name.split("/"))


def _layers(graph: Any, variables: list[Any]) -> list[tuple[Any, Any, int]]:
    """(op, variable, operand position) of each weight layer, each variable at its first use."""
    by_op = {v.op.name: v for v in variables}
    out, seen = [], set()
    for op in graph.get_operations():
        if op.type not in LAYER_OPS or not _ours(op):
            continue
        for pos, t in enumerate(op.inputs):
            v = _variable_of(t, by_op)
            if v is not None and v.shape.rank is not None and v.shape.rank >= 2 and v.op.name not in seen:
                seen.add(v.op.name)
                out.append((op, v, pos))
    return out


def _reach(start: list[Any], forward: bool) -> set[str]:
    seen: set[str] = set()
    stack = list(start)
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        if forward:
            stack.extend(c for t in op.outputs for c in t.consumers() if _ours(c))
        else:
            stack.extend(i.op for i in op.inputs)
    return seen


def _stack(layers: list[tuple[Any, Any, int]], flagged_ops: list[Any]) -> list[tuple[Any, Any, int]]:
    """The weight layers connected to the flagged lines: upstream or downstream of them."""
    names = {op.name for op in flagged_ops}
    starts = [op for op, v, _ in layers if op.name in names or v.op.name in names] or \
             [op for op in flagged_ops if op.type in LAYER_OPS]
    if not starts:
        # A variable created on the line: the layer that reads it.
        starts = [op for op, v, _ in layers if v.op.name in names]
    if not starts:
        # An activation on the line (IL302's first sigmoid): the layers before and after it.
        starts = [op for op in flagged_ops if _ours(op)]
    if not starts:
        return []
    connected = _reach(starts, True) | _reach(starts, False)
    return [layer for layer in layers if layer[0].name in connected]


def _output(op: Any) -> Any:
    """The weight layer's output followed through the element-wise ops after it."""
    t = op.outputs[0]
    for _ in range(8):
        nxt = [c for c in t.consumers() if c.type in ELEMENTWISE and _ours(c) and c.outputs]
        if len(nxt) != 1:
            return t
        t = nxt[0].outputs[0]
    return t


def _axis(op: Any, pos: int) -> str:
    """Where a layer's units lie in its weight: columns for `x @ W` and conv filters."""
    if op.type.startswith("MatMul") or op.type.startswith("BatchMatMul"):
        transposed = op.get_attr("transpose_b" if pos == 1 else "transpose_a") if op.type == "MatMul" else False
        return ("columns" if pos == 1 else "rows") if not transposed else ("rows" if pos == 1 else "columns")
    return "columns"


def measure(tf: Any, graph: Any, variables: list[Any], checks: list[tuple[dict[str, Any], list[Any]]],
            feed: Any, names: dict[int, str], seed: int) -> dict[int, dict[str, Any]]:
    """The measurements of `checks` (each with the ops its lines created), on their own session."""
    import numpy as np

    v1 = tf.compat.v1
    layers = _layers(graph, variables)
    results: dict[int, dict[str, Any]] = {}
    plans = []
    with graph.as_default():
        for c, ops in checks:
            if c["probe"] == "loss_pairing" and c["probe_params"].get("loss") == "logits":
                results[c["index"]] = _activated_pair(tf, graph, c, ops, feed, seed, layers, names)
                continue
            if c["probe"] == "loss_pairing":
                results[c["index"]] = _saturated_pair(tf, graph, c, ops, feed, seed)
                continue
            stack = _stack(layers, ops)
            if len(stack) < 2:
                results[c["index"]] = {"layers": [], "rms": [], "norms": [], "units": [],
                                       "how": f"no weight layer of the graph is connected to line {c['lines'][0]}"}
                continue
            out = _output(stack[-1][0])
            target = v1.placeholder(out.dtype, name="initlint_target")
            loss = tf.reduce_mean(tf.square(out - target)) if c["probe"] in ("vanishing", "depth_drift") else \
                tf.reduce_sum(out * target)
            used = [v for v in variables if v.op.name in _reach([out.op], False)]
            grads = tf.gradients(loss, used)
            pairs = [(v, tf.convert_to_tensor(g)) for v, g in zip(used, grads) if g is not None]
            norms = {v.op.name: tf.norm(tf.cast(g, tf.float64)) for v, g in pairs}
            step = [v1.assign_sub(v, LR * g) for v, g in pairs]
            plans.append((c, stack, out, target, norms, step, ops))
        init = v1.global_variables_initializer()
    with v1.Session(graph=graph) as sess:
        for c, stack, out, target, norms, step, ops in plans:
            sess.run(init)
            feeds = feed(np.random.default_rng(seed))
            label = [names.get(id(v), v.op.name) for _, v, _ in stack]
            shapes = {t.op.name: list(np.shape(x)) for t, x in feeds.items()}
            if c["probe"] == "scale":
                outs = sess.run([op.outputs[0] for op, _, _ in stack], feed_dict=feeds)
                rms = [float(np.sqrt(np.mean(np.square(o.astype("float64"))))) for o in outs]
                if not np.any(sess.run(stack[-1][1])):  # a zero-initialized last layer is left out
                    label, rms = label[:-1], rms[:-1]
                between = _reach([stack[0][0]], True) & _reach([stack[-1][0]], False)
                bounded = any(graph.get_operation_by_name(n).type in BOUNDED for n in between)
                results[c["index"]] = {"layers": label, "rms": rms, "inputs": shapes, "bounded": bounded,
                                       "gains": _gains(sess, stack, ops, feeds, names)}
            elif c["probe"] == "depth_drift":
                outs = sess.run([op.outputs[0] for op, _, _ in stack], feed_dict=feeds)
                rms = [float(np.sqrt(np.mean(np.square(o.astype("float64"))))) for o in outs]
                value = sess.run(out, feed_dict=feeds)
                feeds[target] = np.random.default_rng(seed + 13).standard_normal(np.shape(value)).astype(value.dtype)
                got = sess.run(norms, feed_dict=feeds)
                results[c["index"]] = {"layers": label, "output_rms": rms, "inputs": shapes,
                                       "grad_norms": [float(got.get(v.op.name, 0.0)) for _, v, _ in stack]}
            elif c["probe"] == "vanishing":
                per_seed = []
                for k in range(VANISHING_SEEDS):
                    rng = np.random.default_rng(seed + 1000 + k)
                    xs = feed(rng)
                    value = sess.run(out, feed_dict=xs)
                    xs[target] = rng.standard_normal(np.shape(value)).astype(value.dtype)
                    got = sess.run(norms, feed_dict=xs)
                    per_seed.append([float(got.get(v.op.name, 0.0)) for _, v, _ in stack])
                results[c["index"]] = {"layers": label, "norms": per_seed, "inputs": shapes}
            else:
                results[c["index"]] = _symmetry(sess, c, stack, out, target, step, ops, feeds, names, seed)
    return results


def _symmetry(sess: Any, c: dict[str, Any], stack: list[tuple[Any, Any, int]], out: Any, target: Any,
              step: list[Any], ops: list[Any], feeds: dict[Any, Any], names: dict[int, str],
              seed: int) -> dict[str, Any]:
    import numpy as np

    fed_rates = [t.op.name for t, x in feeds.items() if t.shape.rank is None and np.ndim(x) == 0]
    if fed_rates and any("dropout" in op.name.lower() for op in sess.graph.get_operations()):
        # The shapeless placeholder fed 1.0 is most likely dropout's keep probability: training feeds
        # less, and dropout's random masks break the symmetry there.
        return {"unverified": f"the graph has dropout whose rate the script feeds (`{fed_rates[0]}`, run here at 1.0, "
                "so dropout is off): in training its masks may break the symmetry"}
    created = {op.name for op in ops}
    judged = [(op, v, pos) for op, v, pos in stack if v.op.name in created]
    how = f"the weights line {c['lines'][0]} creates"
    if not judged:
        judged = [layer for layer in stack if _constant(sess.run(layer[1]))]
        how = "the weights that start constant"
    before = {v.op.name: sess.run(v) for _, v, _ in judged}
    value = sess.run(out, feed_dict=feeds)
    feeds = dict(feeds)
    feeds[target] = np.random.default_rng(seed + 7).standard_normal(np.shape(value)).astype(value.dtype)
    sess.run(step, feed_dict=feeds)
    units = []
    last = stack[-1][1].op.name
    for op, v, pos in judged:
        w, w0 = torch.from_numpy(sess.run(v)), torch.from_numpy(before[v.op.name])
        is_output = v.op.name == last
        dim, axis = _unit_axis(_axis(op, pos), w.dim(), is_output)
        diff, count = _units_diff(w, dim, 1)
        if count < 2:
            continue
        init_diff, _ = _units_diff(w0, dim, 1)
        units.append({"param": names.get(id(v), v.op.name), "axis": axis, "units": count, "max_diff": diff,
                      "max_diff_at_init": init_diff, "moved": float((w - w0).abs().max()),
                      "output_layer": is_output, "scale": float(w.abs().max())})
    return {"units": units, "how": how + " (TensorFlow graph)",
            "inputs": {t.op.name: list(np.shape(x)) for t, x in feeds.items() if t is not target}}


def _constant(w: Any) -> bool:
    return bool(w.size > 1 and (w == w.reshape(-1)[0]).all())


def _activated_pair(tf: Any, graph: Any, c: dict[str, Any], ops: list[Any], feed: Any, seed: int,
                    layers: list[tuple[Any, Any, int]], names: dict[int, str]) -> dict[str, Any]:
    """IL304 on a TF1 graph: the first weight layer's gradient norm under a cross-entropy on logits
    that already went through the softmax (or sigmoid) on the finding's related line, against the
    same loss on the activation's own input, with the same random labels (the torch check's measure)."""
    import numpy as np

    v1 = tf.compat.v1
    acts = [op for op in ops if op.type in ("Softmax", "Sigmoid")]
    if not acts:
        return {"activation": None, "lines": c["lines"]}
    act = acts[-1]
    kind = "softmax" if act.type == "Softmax" else "sigmoid"
    s, z = act.outputs[0], act.inputs[0]
    losses = [op for op in c["loss_ops"] if _ours(op) and op.outputs and op.outputs[0].dtype.is_floating]
    if not losses:
        return {"unverified": f"no loss tensor is computed on line {c['loss_lines'][0]}"}
    if act.name not in _reach([losses[-1]], False):
        return {"activation": kind, "lines": c["lines"], "on_path": False}
    stack = [(op, v, pos) for op, v, pos in layers if op.name in _reach([z.op], False)]
    if not stack:
        return {"unverified": f"no weight layer of the graph feeds the {kind} on line {c['lines'][0]}"}
    upstream = [v for _, v, _ in stack]
    label = v1.placeholder(s.dtype, name="initlint_labels")
    if kind == "softmax":
        with_act = tf.nn.softmax_cross_entropy_with_logits(labels=label, logits=s)
        without = tf.nn.softmax_cross_entropy_with_logits(labels=label, logits=z)
    else:
        with_act = tf.nn.sigmoid_cross_entropy_with_logits(labels=label, logits=s)
        without = tf.nn.sigmoid_cross_entropy_with_logits(labels=label, logits=z)
    g_with = tf.gradients(tf.reduce_mean(with_act), upstream)
    g_without = tf.gradients(tf.reduce_mean(without), upstream)
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        rng = np.random.default_rng(seed + 11)
        feeds = feed(np.random.default_rng(seed))
        value = sess.run(s, feed_dict=feeds)
        if kind == "softmax":
            classes = int(np.shape(value)[-1])
            onehot = np.eye(classes, dtype=value.dtype)[rng.integers(0, classes, np.shape(value)[:-1])]
            feeds[label] = onehot
        else:
            classes = 2
            feeds[label] = rng.integers(0, 2, np.shape(value)).astype(value.dtype)
        gw, gwo = sess.run([g_with, g_without], feed_dict=feeds)
    norms = [(float(np.linalg.norm(np.asarray(a, dtype="float64"))), float(np.linalg.norm(np.asarray(b, dtype="float64"))))
             for a, b in zip(gw, gwo)]
    # The first weight layer that learns on the logits: one behind a zero layer gets no gradient at all.
    at = next((i for i, (_, without_norm) in enumerate(norms) if without_norm > 0), 0)
    first = upstream[at]
    grad_with, grad_without = norms[at]
    floor = math.log(1 + (classes - 1) / math.e) if kind == "softmax" else math.log(1 + math.exp(-1))
    return {"activation": kind, "on_path": True, "lines": c["lines"], "output_shape": list(np.shape(value)),
            "layer": names.get(id(first), first.op.name), "grad_with": grad_with, "grad_without": grad_without,
            "ratio": grad_with / grad_without if grad_without > 0 else None, "loss_floor": floor,
            "classes": classes, "backend": "tensorflow"}


def _saturated_pair(tf: Any, graph: Any, c: dict[str, Any], ops: list[Any], feed: Any, seed: int) -> dict[str, Any]:
    """IL301/IL303 on a TF1 graph: whether the sigmoid on the finding's related line reaches the
    loss tensor on its own line, and the loss's dL/dz with the sigmoid's input fed 20 (a saturated
    sample) against sigmoid_cross_entropy_with_logits at the same logits. A hand-written log-loss
    there takes the log of exactly 0: its loss is inf and dL/dz nan (or 0 behind a clip)."""
    import numpy as np

    v1 = tf.compat.v1
    sig = [op for op in ops if op.type == "Sigmoid"]
    if not sig:
        return {"activation": None, "lines": c["lines"]}
    s = sig[-1]
    losses = [op for op in c["loss_ops"] if _ours(op) and op.outputs and op.outputs[0].dtype.is_floating
              and op.outputs[0].shape.rank == 0]
    if not losses:
        return {"unverified": f"no scalar loss tensor is computed on line {c['loss_lines'][0]}"}
    loss = losses[-1].outputs[0]
    result: dict[str, Any] = {"activation": "sigmoid", "lines": c["lines"],
                              "on_path": s.name in _reach([loss.op], False)}
    if not result["on_path"]:
        return result
    z = s.inputs[0]
    dz_t = tf.gradients(loss, [z])[0]
    ref = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(z), logits=z))
    dref_t = tf.gradients(ref, [z])[0]
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        feeds = feed(np.random.default_rng(seed))
        value = sess.run(z, feed_dict=feeds)
        feeds[z] = np.full(np.shape(value), SATURATED_LOGIT, dtype=value.dtype)
        with np.errstate(all="ignore"):
            dz, dref, at_saturation = sess.run([dz_t, dref_t, loss], feed_dict=feeds)
    dz_abs = np.abs(dz)
    result.update(loss=c["probe_params"].get("loss", "mse"), saturated_logit=SATURATED_LOGIT,
                  batch=int(np.shape(value)[0]) if np.ndim(value) else 1,
                  # None (nan) when the log of exactly 0 poisons the gradient: no gradient reaches z either.
                  dz=None if np.isnan(dz_abs).any() else float(np.max(dz_abs)),
                  dz_logits=float(np.max(np.abs(dref))), backend="tensorflow", output_shape=list(np.shape(value)),
                  loss_at_saturation=float(at_saturation) if np.isfinite(at_saturation) else str(at_saturation))
    return result



def _gains(sess: Any, stack: list[tuple[Any, Any, int]], ops: list[Any], feeds: dict[Any, Any],
           names: dict[int, str]) -> dict[str, float]:
    """RMS of each flagged weight layer's own output over the RMS of what it reads: behind a sigmoid
    or tanh this still shows the weight's scale (an N(0, 1) weight multiplies it by sqrt(fan-in))."""
    import numpy as np

    created = {op.name for op in ops}
    gains = {}
    for op, v, pos in stack:
        if v.op.name not in created:
            continue
        x_t = op.inputs[1 - pos] if len(op.inputs) == 2 else None
        if x_t is None:
            continue
        x, y = sess.run([x_t, op.outputs[0]], feed_dict=feeds)
        rx = float(np.sqrt(np.mean(np.square(x.astype("float64")))))
        if rx > 0:
            gains[names.get(id(v), v.op.name)] = float(np.sqrt(np.mean(np.square(y.astype("float64"))))) / rx
    return gains
