"""Keras layer lines and TensorFlow runs for the confirmation worker.

Imported only by worker.py, inside the worker process.

- `LayerLines` records, while a model is built, which layers (Keras layers
  and torch modules) each line of the user's file creates; `LayerOutputs`
  then captures those layers' outputs during the forward pass. A Keras
  Sequential or functional model calls its layers from Keras' own code, so
  the torch line recorder never sees the user's line: the layer created
  there stands for it.
- `run_graph` builds a TF1 graph (`tf.compat.v1`, graph mode) from the
  file's module-level statements and measures the flagged tensor's
  gradients with respect to the variables upstream of it.
- `run_keras_tf` measures a Keras model on the TensorFlow backend with a
  GradientTape (the loss-pairing rules must run on the backend the file
  targets).
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any, Optional

from initlint.confirm import symmetry, tf1_layers, tf_feeds, tf_graph
from initlint.confirm.checks import nothing_learned
from initlint.confirm.imports import optional_imports
from initlint.confirm.probes import LR, SATURATED_LOGIT, VANISHING_SEEDS

ONLY_ZERO = ("on TensorFlow the confirmation stage measures exactly-zero gradients (IL101-IL103), constant "
             "kernels (IL201), a sigmoid into squared error (IL301), vanishing gradients (IL302), depth drift "
             "(IL402) and, on TF1 graphs, scale")
# Cross-entropies on logits that TensorFlow computes as written (Keras's own losses take the logits
# back from behind a softmax or sigmoid output; these do not).
TF_LOGITS_LOSSES = ("softmax_cross_entropy", "sigmoid_cross_entropy", "sparse_softmax_cross_entropy")
# The graph op types a zero-gradient finding is about, by the probe parameter `ops` (the torch
# names are worker.OPS): on `tf.matmul(h, W2) + b2` an IL101 finding is the MatMul, not the add.
TF_OPS = {
    "multiplicative": {"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Mul", "Einsum", "Conv1D", "Conv2D",
                       "Conv3D", "DepthwiseConv2dNative", "Conv2DBackpropInput", "Square", "Pow"},
    "activation": {"Relu", "Relu6", "LeakyRelu", "Elu", "Selu"},
    "softmax": {"Softmax", "LogSoftmax"},
}


class TFUnavailable(Exception):
    """TensorFlow (or the backend the file needs) is not installed or is hidden."""


def _user_line(filename: str) -> Optional[int]:
    frame: Any = sys._getframe(2)
    for _ in range(80):
        if frame is None:
            return None
        if frame.f_code.co_filename == filename:
            return int(frame.f_lineno)
        frame = frame.f_back
    return None


class LayerLines:
    """While active: the layers (Keras layers, torch modules) created on each user line."""

    def __init__(self, filename: str, lines: set[int], keras: Any = None) -> None:
        self.filename = filename
        self.lines = lines
        self.keras = keras
        self.at_line: dict[int, list[Any]] = {}
        self._undo: list[Callable[[], None]] = []

    def _patch(self, cls: Any) -> None:
        real = cls.__init__
        owner = self

        def __init__(obj: Any, *args: Any, **kwargs: Any) -> None:
            real(obj, *args, **kwargs)
            line = _user_line(owner.filename)
            if line is not None and line in owner.lines:
                found = owner.at_line.setdefault(line, [])
                if not any(o is obj for o in found):
                    found.append(obj)

        cls.__init__ = __init__
        self._undo.append(lambda: setattr(cls, "__init__", real))

    def __enter__(self) -> LayerLines:
        import torch

        if self.lines:
            self._patch(torch.nn.Module)
            if self.keras is not None:
                self._patch(self.keras.layers.Layer)
        return self

    def __exit__(self, *exc: Any) -> None:
        while self._undo:
            self._undo.pop()()

    def layers(self, first: int, last: int) -> list[Any]:
        out: list[Any] = []
        for ln in range(first, last + 1):
            out.extend(self.at_line.get(ln, []))
        return out


@contextlib.contextmanager
def layer_outputs(layers: list[Any], keras: Any) -> Iterator[dict[int, list[Any]]]:
    """The outputs of `layers` (by id) produced while active."""
    import torch

    got: dict[int, list[Any]] = {}
    watched = {id(layer) for layer in layers}
    handles = []
    for layer in layers:
        if isinstance(layer, torch.nn.Module) and not (keras is not None and isinstance(layer, keras.layers.Layer)):
            handles.append(layer.register_forward_hook(
                lambda mod, _args, out: got.setdefault(id(mod), []).append(out)))
    real = None
    if keras is not None:
        real = keras.layers.Layer.__call__

        def __call__(obj: Any, *args: Any, **kwargs: Any) -> Any:
            out = real(obj, *args, **kwargs)
            if id(obj) in watched:
                got.setdefault(id(obj), []).append(out)
            return out

        keras.layers.Layer.__call__ = __call__
    try:
        yield got
    finally:
        for h in handles:
            h.remove()
        if keras is not None:
            keras.layers.Layer.__call__ = real


# Example inputs tried, in order, to build a subclassed Keras model (its weights exist only once called).
KERAS_PROBES = (([2, 8], "int"), ([2, 8], "float"), ([2, 28, 28, 1], "float"), ([2, 16, 16, 3], "float"), ([2, 8, 8], "float"))
# The probe a model's layers ask for, tried first (a failed call can leave a nested Sequential configured
# for the wrong shape, so the first try should be the right one): by priority, as the layers are not
# listed in call order. An Embedding takes ids, a 2-D conv or pooling layer images, a Conv1D or
# recurrent layer sequences, a Dense model vectors.
LAYER_PROBES = ((("Embedding",), 0), (("Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D",
                 "MaxPooling2D", "AveragePooling2D"), 2), (("Conv1D", "LSTM", "GRU", "SimpleRNN"), 4))


def _probe_order(obj: Any) -> list[tuple[list[int], str]]:
    probes = list(KERAS_PROBES)
    kinds = {type(layer).__name__ for layer in obj._flatten_layers(include_self=False)}
    for names, first in LAYER_PROBES:
        if kinds.intersection(names):
            return [probes[first]] + probes[:first] + probes[first + 1:]
    return probes


def build_subclassed(obj: Any) -> Optional[dict[str, Any]]:
    """Call an unbuilt Keras model on the first probe input it accepts; that input, or None."""
    import numpy as np

    tables = [int(layer.input_dim) for layer in obj._flatten_layers() if hasattr(layer, "input_dim")]
    rng = np.random.default_rng(0)
    for shape, kind in _probe_order(obj):
        if kind == "int" and not tables:
            continue
        high = min(tables) if kind == "int" else 0
        x = rng.integers(0, high, size=shape) if kind == "int" else rng.standard_normal(size=shape).astype("float32")
        try:
            obj(x)
        except Exception:  # noqa: BLE001 - the user's model rejects this probe input: try the next
            continue
        return {"shape": shape, "dtype": "int64" if kind == "int" else "float32", "high": high}
    return None


# --- TensorFlow -------------------------------------------------------------------------------


def tensorflow() -> Any:
    """TensorFlow, or TFUnavailable with the reason."""
    import importlib.util
    import os

    if os.environ.get("INITLINT_CONFIRM_NO_TENSORFLOW"):
        raise TFUnavailable("TensorFlow is hidden from the confirmation stage (INITLINT_CONFIRM_NO_TENSORFLOW)")
    if importlib.util.find_spec("tensorflow") is None:
        raise TFUnavailable("TensorFlow is not installed (pip install tensorflow-cpu)")
    try:
        import tensorflow as tf  # type: ignore[import-untyped]
    except Exception as exc:  # noqa: BLE001 - a broken TensorFlow install is a reason, not a crash
        raise TFUnavailable(f"TensorFlow does not import ({type(exc).__name__}: {exc})") from None
    return tf


def v1_importer(tf: Any) -> Callable[..., Any]:
    """An `__import__` under which `import tensorflow` is `tf.compat.v1` (TF1 code on TF2)."""
    import builtins

    real = builtins.__import__
    v1: Any = tf.compat.v1
    try:
        v1.layers.dense  # noqa: B018 - probing: Keras 3 makes TF1's layers raise
    except AttributeError:
        v1 = tf1_layers.V1(tf)

    compat = types.SimpleNamespace(v1=v1, v2=getattr(tf.compat, "v2", None))

    def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:  # noqa: A002 - __import__'s own signature
        if level == 0 and name == "tensorflow":
            if fromlist:
                return types.SimpleNamespace(**{n: getattr(v1, n) for n in fromlist if hasattr(v1, n)})
            return v1
        # `import tensorflow.compat.v1 as tf`, `from tensorflow.compat import v1`: the same v1, with
        # the stand-ins for the `tf.layers` functions Keras 3 removed.
        if level == 0 and name == "tensorflow.compat":
            return compat if fromlist else types.SimpleNamespace(compat=compat)
        if level == 0 and name == "tensorflow.compat.v1":
            return v1 if fromlist else types.SimpleNamespace(compat=compat)
        return real(name, globals, locals, fromlist, level)

    return _import


def _upstream_vars(tensors: list[Any], variables: list[Any]) -> list[Any]:
    by_op = {}
    for v in variables:
        by_op[v.op.name] = v
    found: dict[str, Any] = {}
    seen: set[str] = set()
    stack = [t.op for t in tensors]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen.add(op.name)
        if op.name in by_op:
            found[op.name] = by_op[op.name]
        stack.extend(i.op for i in op.inputs)
        stack.extend(op.control_inputs)
    return [found[k] for k in sorted(found)]


def _ops_at(graph: Any, filename: str, first: int, last: int) -> list[Any]:
    """Ops created by the flagged lines (the innermost user frame of their creation traceback)."""
    out = []
    for op in graph.get_operations():
        tb = getattr(op, "traceback", None) or []
        line = None
        for frame in tb:
            if frame[0] == filename:
                line = frame[1]
        if line is not None and first <= line <= last:
            out.append(op)
    return out


def run_graph(job: dict[str, Any]) -> dict[str, Any]:
    """The two-pass zero-gradient measurement on a TF1 graph built from the script slice."""
    import numpy as np

    tf = tensorflow()
    v1 = tf.compat.v1
    path = job["path"]
    results: dict[int, dict[str, Any]] = {}
    graph, module, shapes, guessed = _build_graph(tf, job)
    rng = np.random.default_rng(job["seed"])

    with graph.as_default():
        variables = list(v1.trainable_variables())
        pynames = _script_names(tf, module.__dict__)
        if not variables:
            raise ValueError("the graph has no trainable variable")
        plan = []
        graph_probes = []
        for c in job["checks"]:
            if c["probe"] in tf_graph.PROBES:
                if c["probe"] == "loss_pairing":  # the loss tensor is on the finding's own lines
                    c = dict(c, loss_ops=_ops_at(graph, path, *c["loss_lines"]))
                graph_probes.append((c, _ops_at(graph, path, c["lines"][0], c["lines"][1])))
                continue
            if c["probe"] != "zero_gradients":
                results[c["index"]] = {"unverified": ONLY_ZERO}
                continue
            ops = _ops_at(graph, path, c["lines"][0], c["lines"][1])
            kinds = TF_OPS.get(c["probe_params"].get("ops", ""), set())
            ops = [op for op in ops if op.type in kinds] or ops  # the flagged operation, not what follows it
            # Each flagged operation on the line apart (`tf.matmul(deep, W_out) + tf.matmul(wide, W_wide)`):
            # the finding is about one of them, and another one's gradient says nothing of it.
            outputs = [[t for t in op.outputs if t.dtype.is_floating] for op in ops]
            outputs = [ts for ts in outputs if ts]
            if not outputs:
                results[c["index"]] = {"params": [], "how": f"no floating tensor is computed on line {c['lines'][0]}",
                                       "pass1": {}, "pass2": {}}
                continue
            plan.append((c, [_zero_plan(tf, flagged, variables, job["seed"]) for flagged in outputs]))
        init = v1.global_variables_initializer()
        with v1.Session(graph=graph) as sess:
            sess.run(init)
            feeds = tf_feeds.feed(tf, graph, rng, shapes)
            for c, per_op in plan:
                measured: list[dict[str, Any]] = []
                for pairs, norms, step in per_op:
                    names = [pynames.get(id(v), v.op.name) for v, _ in pairs]
                    pass1 = sess.run(norms, feed_dict=feeds) if norms else []
                    if step:
                        sess.run(step, feed_dict=feeds)
                    pass2 = sess.run(norms, feed_dict=feeds) if norms else []
                    sess.run(init)  # the next measurement starts from the same weights
                    measured.append({"params": names, "pass1": {n: float(x) for n, x in zip(names, pass1)},
                                     "pass2": {n: float(x) for n, x in zip(names, pass2)}})
                results[c["index"]] = {
                    "params": sorted({n for g in measured for n in g["params"]}),
                    "how": f"the variables upstream of line {c['lines'][0]} (gradients of the tensor it computes)",
                    "pass1": {n: x for g in measured for n, x in g["pass1"].items()},
                    "pass2": {n: x for g in measured for n, x in g["pass2"].items()},
                    "groups": [g["params"] for g in measured if g["params"]] if len(measured) > 1 else None,
                    "inputs": {t.op.name: list(np.shape(v)) for t, v in feeds.items()},
                }
    if graph_probes:
        results.update(tf_graph.measure(tf, graph, variables, graph_probes, lambda r: tf_feeds.feed(tf, graph, r, shapes),
                                        pynames, job["seed"]))
    if guessed:
        for r in results.values():
            r["inputs_guessed"] = {"shape": next(s for s in shapes.values() if len(s) == 4), "dtype": "float32",
                                   "target": job["target"]}
    return {"ok": True, "checks": results}


def _zero_plan(tf: Any, flagged: list[Any], variables: list[Any], seed: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The gradients of a random projection of `flagged` for its upstream variables: (pairs, their norms, one SGD step)."""
    v1 = tf.compat.v1
    up = _upstream_vars(flagged, variables)
    target = tf.add_n([tf.reduce_sum(t * tf.random.normal(tf.shape(t), seed=seed + 7, dtype=t.dtype)) for t in flagged])
    grads = tf.gradients(target, up) if up else []
    dense = [None if g is None else tf.convert_to_tensor(g) for g in grads]  # IndexedSlices -> dense
    pairs = [(v, g) for v, g in zip(up, dense) if g is not None]
    norms = [tf.norm(tf.cast(g, tf.float64)) for _, g in pairs]
    return pairs, norms, [v1.assign_sub(v, LR * g) for v, g in pairs]


def _build_graph(tf: Any, job: dict[str, Any]) -> tuple[Any, types.ModuleType, dict[str, Any], bool]:
    """The script slice run into a graph of its own; for a graph function nobody calls, built again on
    its own placeholders until their layers have given each a shape (tf_feeds). (graph, module, the
    placeholders' shapes, whether an image size was guessed)."""
    import builtins

    import numpy as np

    v1 = tf.compat.v1
    path = job["path"]
    shapes: dict[str, Any] = {name: None for name in job.get("graph_inputs") or []}
    guessed = False
    for _ in range(len(shapes) + 2):
        graph = tf.Graph()
        module = types.ModuleType("__initlint_confirm__")
        module.__file__ = path
        module.__dict__["__builtins__"] = dict(
            builtins.__dict__, __import__=optional_imports(path, job["source"], v1_importer(tf)))
        module.__dict__[tf_feeds.GRAPH_INPUT] = lambda name: tf_feeds.graph_input(v1, shapes, name)
        with graph.as_default():
            v1.set_random_seed(job["seed"])
            np.random.seed(job["seed"])
            exec(compile(job["source"], path, "exec"), module.__dict__)
        if not shapes:
            break
        learned, guess = tf_feeds.learn_shapes(graph, shapes)
        guessed = guessed or guess
        if not learned:
            break
    missing = [name for name, shape in shapes.items() if shape is None]
    if missing:
        raise ValueError(f"no layer of {job['target']} fixes the shape of its argument `{missing[0]}`")
    return graph, module, shapes, guessed


def _script_names(tf: Any, namespace: dict[str, Any]) -> dict[int, str]:
    """Each variable named as the script does (`W`, `weights['h1']`, not `Variable_2`)."""
    names: dict[int, str] = {}
    for k, v in namespace.items():
        if isinstance(v, tf.Variable):
            names[id(v)] = k
        elif isinstance(v, dict) and not k.startswith("__"):
            for key, item in v.items():
                if isinstance(item, tf.Variable):
                    names[id(item)] = f"{k}[{key!r}]"
    return names


def run_keras_tf(job: dict[str, Any], obj: Any, lines: LayerLines, keras: Any) -> dict[str, Any]:
    """The two-pass zero-gradient measurement of a Keras model on the TensorFlow backend."""
    import numpy as np

    tf = tensorflow()
    rng = np.random.default_rng(job["seed"])
    inputs = []
    guessed: Optional[dict[str, Any]] = None
    if not _has_inputs(obj):
        given = job.get("inputs")
        if given and hasattr(obj, "build"):
            # The feature shape of the script's own data (`fit(x, ...)`), or of the configured inputs.
            obj.build(tuple([None] + list(given[0]["shape"] if isinstance(given[0], dict) else given[0])[1:]))
        else:
            # The script's data is not in the file: the first probe input the model accepts. The verdicts
            # measured here do not depend on the input width, but a refutation on it stays unverified.
            guessed = build_subclassed(obj)
            if guessed is None:
                raise TFUnavailable(f"the Keras model `{job['target']}` has no input shape (no Input, "
                                    "input_shape or input_dim, no literal data passed to fit, and no probe "
                                    f"input fits it); set inputs under [tool.initlint.confirm.modules.{job['target']}]")
    if guessed is not None:
        shape = guessed["shape"]
        inputs.append(rng.integers(0, guessed["high"], size=shape) if guessed["dtype"] == "int64"
                      else rng.standard_normal(size=shape).astype("float32"))
    else:
        for t in obj.inputs:
            shape = [2] + [d or 8 for d in t.shape[1:]]
            if "int" in str(t.dtype):
                inputs.append(rng.integers(0, _table_size(obj, t), size=shape).astype(str(t.dtype)))
            else:
                inputs.append(rng.standard_normal(size=shape).astype("float32"))
    x = inputs[0] if len(inputs) == 1 else inputs
    weights = {v.path: v for v in obj.trainable_weights}
    results: dict[int, dict[str, Any]] = {}

    def measure(layers: list[Any], first: bool = False) -> tuple[dict[str, float], list[str]]:
        with layer_outputs(layers, keras) as got, tf.GradientTape(persistent=True) as tape:
            out = obj(x, training=True)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            outs = [o for o in outs if o.dtype.is_floating][:1] if first else outs
            gen = tf.random.Generator.from_seed(job["seed"] + 7)
            objective = tf.add_n([tf.reduce_sum(o * gen.normal(tf.shape(o), dtype=o.dtype)) for o in outs])
            flagged = [o for layer in layers for o in got.get(id(layer), [])]
            probe = tf.add_n([tf.reduce_sum(tf.cast(f, tf.float32)) for f in flagged]) if flagged else None
        names = list(weights)
        grads = tape.gradient(objective, [weights[n] for n in names])
        up = tape.gradient(probe, [weights[n] for n in names]) if probe is not None else [None] * len(names)
        del tape
        upstream = [n for n, g in zip(names, up) if g is not None]
        norms = {n: 0.0 if g is None else float(tf.norm(tf.cast(tf.convert_to_tensor(g), tf.float64)))
                 for n, g in zip(names, grads)}
        for n, g in zip(names, grads):
            if g is not None:
                weights[n].assign_sub(LR * tf.convert_to_tensor(g))
        return norms, upstream

    for c in job["checks"]:
        if c["probe"] == "loss_pairing" and c["probe_params"].get("loss") in ("mse", "bce"):
            results[c["index"]] = _saturated_pair(tf, keras, obj, x, lines.layers(c["lines"][0], c["lines"][1]), c)
            continue
        if c["probe"] == "loss_pairing" and c["probe_params"].get("loss") == "logits":
            results[c["index"]] = _activated_pair(tf, keras, obj, x, lines.layers(c["lines"][0], c["lines"][1]), c,
                                                  job["seed"])
            continue
        if c["probe"] == "vanishing" and not isinstance(x, list):
            results[c["index"]] = _vanishing(tf, keras, obj, x, job["seed"])
            continue
        if c["probe"] == "depth_drift" and not isinstance(x, list):
            results[c["index"]] = _depth_drift(tf, keras, obj, x, job["seed"])
            continue
        if c["probe"] == "symmetry":
            snapshot = {n: v.numpy() for n, v in weights.items()}
            probe = x
            for _ in range(2):
                results[c["index"]] = _symmetry(tf, keras, obj, x, lines.layers(c["lines"][0], c["lines"][1]), snapshot,
                                                measure, [list(np.shape(i)) for i in inputs])
                for n, v in weights.items():
                    v.assign(snapshot[n])
                if not nothing_learned(results[c["index"]]["units"]) or isinstance(x, list) or x.dtype.kind != "f":
                    break
                x = np.abs(x)  # a constant kernel's ReLUs all dead on this probe batch: again on |x| (as pixels)
            x = probe
            continue
        if c["probe"] != "zero_gradients":
            results[c["index"]] = {"unverified": ONLY_ZERO}
            continue
        layers = lines.layers(c["lines"][0], c["lines"][1])
        called = [] if layers else _called_on(keras, obj, x, job["path"], c["lines"])
        snapshot = {n: v.numpy() for n, v in weights.items()}
        layers = layers or called
        pass1, upstream = measure(layers)
        pass2, _ = measure(layers)
        for n, v in weights.items():
            v.assign(snapshot[n])
        alone = None
        returned = obj(x, training=True)
        if isinstance(returned, (list, tuple)) and len([o for o in returned if o.dtype.is_floating]) > 1:
            # Outputs no loss may take (`Model(inputs, [score, u])` compiled with `loss=[..., None]`):
            # measured on the first output alone too, as on torch.
            alone = {"pass1": measure(layers, first=True)[0], "pass2": measure(layers, first=True)[0]}
            for n, v in weights.items():
                v.assign(snapshot[n])
        if c["probe_params"].get("ops") == "multiplicative":
            # A layer's own bias is added after its product (x @ kernel + bias): not upstream of it.
            own = {getattr(getattr(layer, "bias", None), "path", None) for layer in layers}
            upstream = [n for n in upstream if n not in own]
        how = f"the weights upstream of the layer {'called' if called else 'built'} on line {c['lines'][0]} (Keras on TensorFlow)"
        if not layers:
            how = f"no Keras layer is built on line {c['lines'][0]}"
        results[c["index"]] = {"params": upstream, "how": how,
                               "pass1": {n: pass1[n] for n in upstream}, "pass2": {n: pass2[n] for n in upstream},
                               "inputs": [list(np.shape(i)) for i in inputs],
                               "each_output": [{k: {n: alone[k][n] for n in upstream} for k in alone}] if alone else None}
    if guessed is not None:
        for r in results.values():
            r["inputs_guessed"] = {"shape": guessed["shape"], "dtype": guessed["dtype"], "target": job["target"]}
    return {"ok": True, "checks": results}


def _depth_drift(tf: Any, keras: Any, obj: Any, x: Any, seed: int) -> dict[str, Any]:
    """IL402 on TensorFlow, as on torch: the output RMS and kernel-gradient norm of each weight layer
    (Dense, Conv) in the order the forward pass calls them, under a squared error against random targets."""
    import numpy as np

    layers = {id(layer): layer for layer in obj._flatten_layers(include_self=False) if getattr(layer, "kernel", None) is not None}
    with layer_outputs(list(layers.values()), keras) as got, tf.GradientTape() as tape:
        out = obj(x, training=True)
        outs = out if isinstance(out, (list, tuple)) else [out]
        gen = tf.random.Generator.from_seed(seed + 13)
        loss = tf.add_n([tf.reduce_mean(tf.square(o - gen.normal(tf.shape(o), dtype=o.dtype))) for o in outs])
    called = [layers[key] for key in got]  # in the order the calls returned
    grads = tape.gradient(loss, [layer.kernel for layer in called])
    rms = [float(np.sqrt(np.mean(np.square(np.asarray(got[id(layer)][0], dtype="float64"))))) for layer in called]
    norms = [0.0 if g is None else float(tf.norm(tf.cast(tf.convert_to_tensor(g), tf.float64))) for g in grads]
    return {"layers": [layer.kernel.path for layer in called], "output_rms": rms, "grad_norms": norms}


def _called_on(keras: Any, obj: Any, x: Any, filename: str, lines: list[int]) -> list[Any]:
    """The Keras layers a forward pass calls from the user's lines (`return self.dense2(x)` in call())."""
    real = keras.layers.Layer.__call__
    found: list[Any] = []

    def __call__(layer: Any, *args: Any, **kwargs: Any) -> Any:
        line = _user_line(filename)
        if line is not None and lines[0] <= line <= lines[1] and not any(f is layer for f in found):
            found.append(layer)
        return real(layer, *args, **kwargs)

    keras.layers.Layer.__call__ = __call__
    try:
        obj(x, training=True)
    finally:
        keras.layers.Layer.__call__ = real
    return found


def _symmetry(tf: Any, keras: Any, obj: Any, x: Any, layers: list[Any], init: dict[str, Any],
              step: Callable[[list[Any]], Any], shapes: list[list[int]]) -> dict[str, Any]:
    """IL201 on TensorFlow, as on torch (symmetry.measure_symmetry): after one SGD step on a random
    projection of the output, how far apart the units of each judged kernel are on its hidden-unit
    axis (a Keras kernel is [in, out]: its units are columns; the output layer's are its rows)."""
    import torch

    order = _kernels_in_call_order(keras, obj, x)
    judged = [k for k in (getattr(layer, "kernel", None) for layer in layers) if k is not None]
    how = "the kernels of the layers built on the finding's line (Keras on TensorFlow)"
    if not judged:
        judged = [k for k in order if k.path in init and init[k.path].size > 1
                  and bool((init[k.path] == init[k.path].reshape(-1)[0]).all())]
        how = "the kernels that start constant (Keras on TensorFlow)"
    step([])
    output_layer = order[-1] if len(order) >= 2 else None
    units = []
    for kernel in judged:
        now, start = torch.from_numpy(kernel.numpy()), torch.from_numpy(init[kernel.path])
        if now.dim() < 2:
            continue
        dim, axis = symmetry._unit_axis("columns", now.dim(), kernel is output_layer)
        diff, count = symmetry._units_diff(now, dim, 1)
        if count < 2:
            continue
        units.append({"param": kernel.path, "axis": axis, "units": count, "max_diff": diff,
                      "max_diff_at_init": symmetry._units_diff(start, dim, 1)[0],
                      "moved": float((now - start).abs().max()), "output_layer": kernel is output_layer,
                      "scale": float(now.abs().max())})
    return {"units": units, "how": how, "inputs": shapes}


def _kernels_in_call_order(keras: Any, obj: Any, x: Any) -> list[Any]:
    """The kernels of the weight layers (Dense, Conv) one forward pass calls, in the order it calls them."""
    layers = {id(layer): layer for layer in obj._flatten_layers(include_self=False)}
    with layer_outputs(list(layers.values()), keras) as got:  # keyed in the order the calls return
        obj(x, training=True)
    kernels = [getattr(layers[key], "kernel", None) for key in got]
    return [k for k in kernels if k is not None]


def _vanishing(tf: Any, keras: Any, obj: Any, x: Any, seed: int) -> dict[str, Any]:
    """IL302 on TensorFlow, as on torch: per-layer kernel-gradient norms of a squared error against
    random targets, on fresh random inputs, for a few seeds (checks.vanishing takes the median)."""
    import numpy as np

    kernels = _kernels_in_call_order(keras, obj, x)
    per_seed = []
    for k in range(VANISHING_SEEDS):
        gen = tf.random.Generator.from_seed(seed + 1000 + k)
        xk = gen.normal(np.shape(x)) if np.asarray(x).dtype.kind == "f" else x
        with tf.GradientTape() as tape:
            out = obj(xk, training=True)
            outs = out if isinstance(out, (list, tuple)) else [out]
            loss = tf.add_n([tf.reduce_mean(tf.square(o - gen.normal(tf.shape(o), dtype=o.dtype))) for o in outs])
        grads = tape.gradient(loss, kernels)
        per_seed.append([0.0 if g is None else float(tf.norm(tf.cast(tf.convert_to_tensor(g), tf.float64)))
                         for g in grads])
    return {"layers": [k.path for k in kernels], "norms": per_seed, "inputs": [list(np.shape(x))]}



def _activated_pair(tf: Any, keras: Any, model: Any, x: Any, layers: list[Any], check: dict[str, Any],
                    seed: int) -> dict[str, Any]:
    """IL304 on Keras over TensorFlow, as on torch: the first kernel's gradient of the file's kind of
    loss on the model output the activation reaches, with the flagged softmax or sigmoid and with
    that activation replaced by the identity. A Keras loss (`from_logits=True`) on TensorFlow takes
    the logits behind the activation (backend.tensorflow.nn._get_logits, with a warning): then both
    losses are the same, which is measured here (`recovered`), not assumed. A `tf.nn` cross-entropy
    on the finding's line takes no such logits back, and is measured as itself."""
    import math
    import warnings

    import numpy as np

    acts = [layer for layer in layers
            if getattr(getattr(layer, "activation", None), "__name__", "") in ("softmax", "sigmoid")]
    if not acts:
        return {"activation": None, "lines": check["lines"]}
    layer = acts[-1]
    real = layer.activation
    kind = real.__name__
    kernels = _kernels_in_call_order(keras, model, x)
    if not kernels:
        return {"unverified": f"no Dense or Conv kernel runs before the {kind} on line {check['lines'][0]}"}
    raw_tf_loss = any(name in check.get("loss_text", "") for name in TF_LOGITS_LOSSES)

    def run(activation: Any, k: Optional[int] = None) -> tuple[list[Any], float, float]:
        """The outputs with `activation` in the layer's place; with `k`, also the first kernel's
        gradient norm and the value of the loss on output `k`."""
        layer.activation = activation
        try:
            with warnings.catch_warnings(), tf.GradientTape() as tape:
                warnings.simplefilter("ignore")  # Keras's "received from_logits=True" warning
                out = model(x, training=False)
                outs = list(out) if isinstance(out, (list, tuple)) else [out]
                loss = loss_of(outs[k]) if k is not None else None
            grad = tape.gradient(loss, kernels[0]) if loss is not None else None
        finally:
            layer.activation = real
        norm = 0.0 if grad is None else float(tf.norm(tf.cast(tf.convert_to_tensor(grad), tf.float64)))
        return outs, norm, float(loss) if loss is not None else 0.0

    with_outs, without_outs = run(real)[0], run(keras.activations.linear)[0]
    reached = [k for k, (a, b) in enumerate(zip(with_outs, without_outs)) if not np.allclose(np.asarray(a), np.asarray(b))]
    if not reached:
        return {"activation": kind, "on_path": False, "lines": check["lines"]}
    k = reached[0]  # the output the activation reaches stands for the one the loss receives
    shape = tuple(with_outs[k].shape)
    classes = int(shape[-1]) if kind == "softmax" else 2
    rng = np.random.default_rng(seed + 11)
    if kind == "softmax":
        labels = np.eye(classes, dtype="float32")[rng.integers(0, classes, shape[:-1])]
    else:
        labels = rng.integers(0, 2, shape).astype("float32")

    def loss_of(o: Any) -> Any:
        if raw_tf_loss:
            op = tf.nn.softmax_cross_entropy_with_logits if kind == "softmax" else tf.nn.sigmoid_cross_entropy_with_logits
            return tf.reduce_mean(op(labels=labels, logits=o))
        cross_entropy = keras.losses.categorical_crossentropy if kind == "softmax" else keras.losses.binary_crossentropy
        return tf.reduce_mean(cross_entropy(labels, o, from_logits=True))

    _, with_act, loss_with = run(real, k)
    _, without, loss_without = run(keras.activations.linear, k)
    floor = math.log(1 + (classes - 1) / math.e) if kind == "softmax" else math.log(1 + math.exp(-1))
    result = {"activation": kind, "on_path": True, "lines": check["lines"], "output_shape": list(shape),
              "layer": kernels[0].path, "grad_with": with_act, "grad_without": without,
              "ratio": with_act / without if without > 0 else None, "loss_floor": floor, "classes": classes,
              "backend": "tensorflow", "loss": "tf.nn" if raw_tf_loss else "keras",
              "recovered": not raw_tf_loss and math.isclose(loss_with, loss_without, rel_tol=1e-5, abs_tol=1e-6),
              "model_output": check.get("model_output")}
    if len(with_outs) > 1:
        result["output_reached"] = f"output {k} of {len(with_outs)} (the one the {kind} reaches)"
    return result


def _saturated_pair(tf: Any, keras: Any, model: Any, x: Any, layers: list[Any], check: dict[str, Any]) -> dict[str, Any]:
    """IL301/IL303 on Keras over TensorFlow: whether the sigmoid layer on the finding's line feeds the
    model's output, and dL/dz of the file's loss at a saturated wrong sample (z = 20, label 0), taken
    through the model's own forward pass so that Keras's logit recovery (bce on TF) plays its part."""
    lo, hi = check["lines"]
    sig = [layer for layer in layers if getattr(getattr(layer, "activation", None), "__name__", "") == "sigmoid"]
    if not sig:
        return {"activation": None, "lines": check["lines"]}
    layer = sig[-1]
    real = layer.activation
    seen: list[Any] = []

    def saturated(z: Any) -> Any:
        # The value is 20 everywhere; the gradient still flows to z (d(out)/dz as for z itself).
        z20 = z - tf.stop_gradient(z) + SATURATED_LOGIT
        seen.append(z20)
        return real(z20)

    loss_fn = keras.losses.mean_squared_error if check["probe_params"]["loss"] == "mse" \
        else keras.losses.binary_crossentropy
    layer.activation = saturated
    try:
        with tf.GradientTape(persistent=True) as tape:
            out = model(x, training=False)
            outs = out if isinstance(out, (list, tuple)) else [out]
            outs = [o for o in outs if o.dtype.is_floating]
            if not seen:
                return {"activation": None, "lines": check["lines"]}
            z = seen[-1]
            reached = [o for o in outs if tape.gradient(tf.reduce_sum(o), z) is not None]
            if not reached:
                if len(outs) > 1:
                    return {"activation": "sigmoid", "outputs": len(outs), "lines": check["lines"]}
                return {"activation": "sigmoid", "on_path": False, "lines": check["lines"]}
            o = reached[0]
            loss = tf.reduce_mean(loss_fn(tf.zeros_like(o), o))
            ref = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(z), logits=z))
        dz, dz_ref = tape.gradient(loss, z), tape.gradient(ref, z)
        del tape
    finally:
        layer.activation = real
    return {"activation": "sigmoid", "on_path": True, "output_shape": list(o.shape),
            "lines": [lo, hi], "loss": check["probe_params"]["loss"], "saturated_logit": SATURATED_LOGIT,
            "batch": int(o.shape[0]), "backend": "tensorflow",
            "dz": 0.0 if dz is None else float(tf.reduce_max(tf.abs(dz))),
            "dz_logits": float(tf.reduce_max(tf.abs(dz_ref)))}


def _has_inputs(model: Any) -> bool:
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):  # an unbuilt Sequential "has no defined inputs yet"
        return False


def _table_size(model: Any, tensor: Any) -> int:
    """The smallest `input_dim` of an Embedding the Keras input feeds (indices stay valid), else 2."""
    sizes = [int(layer.input_dim) for layer in getattr(model, "layers", [])
             if hasattr(layer, "input_dim") and _feeds(model, tensor, layer)]
    return min(sizes) if sizes else 2


def _feeds(model: Any, tensor: Any, layer: Any) -> bool:
    try:
        return any(node_in is tensor for node in layer._inbound_nodes for node_in in node.input_tensors)
    except Exception:  # noqa: BLE001 - Keras internals differ across versions: assume it feeds
        return True
