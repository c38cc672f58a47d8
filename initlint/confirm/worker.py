"""The confirmation worker: a separate process that builds models and measures them.

Protocol: one JSON job per line on stdin, one JSON result per line on the
file descriptor that was stdout when the process started (the user's code
prints to stderr instead). The first line written is {"ready": true}, after
torch has been imported. torch (and Keras, on demand) is imported only here.

Each job builds one model from an assembled source (see assemble.py), then
runs, on the same inputs:
1. a recorded forward pass: the order in which weights are used and the RMS
   of each weight layer's own output (probe `scale`), and, for every finding
   line, the parameters upstream of the operation on that line (`zero_gradients`);
2. for `vanishing`, a few backward passes of a squared error against random
   targets, one per seed, giving per-layer weight-gradient norms;
3. the two-pass check: forward, random projection of the outputs,
   backward; one SGD step; forward and backward again. Gradient norms of
   both passes (`zero_gradients`) and the weights after the step (`symmetry`).
Each finding's check names its rule's probe (rule.Confirm) and that probe's
parameters; the worker never imports the rules.
It returns measurements; the verdicts are made in checks.py.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from typing import Any, Optional

import torch
from torch.overrides import TorchFunctionMode

from initlint.confirm import keras_tf, sandbox
from initlint.confirm.autograd import objective, params_upstream, returned_tensors
from initlint.confirm.example_inputs import (
    Spec,
    config_spec,
    first_leaf,
    make_tensor,
    materialize_lazy,
    resolve_path,
    spec_for,
)
from initlint.confirm.held import held_model
from initlint.confirm.imports import optional_imports
from initlint.confirm.keras_compat import accept_old_keras_arguments
from initlint.confirm.probes import PROBES, VANISHING_SEEDS, Tools
from initlint.confirm.recipe import replay
from initlint.confirm.two_pass import grad_norms, seed_all, two_pass_checks

try:
    import resource
except ImportError:  # Windows has no setrlimit: measure without a memory limit and say so
    resource = None  # type: ignore[assignment]

MULTIPLICATIVE = {
    "mul", "__mul__", "__rmul__", "multiply", "matmul", "__matmul__", "__rmatmul__", "mm", "bmm",
    "einsum", "dot", "inner", "linear", "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "pow", "__pow__", "square", "norm", "cdist",
    "cosine_similarity", "addmm", "outer",
}
BOUNDED = {"sigmoid", "sigmoid_", "tanh", "tanh_", "softsign"}
ACTIVATIONS = {"relu", "relu_", "relu6", "threshold", "threshold_", "hardswish", "prelu", "rrelu"}
SOFTMAX = {"softmax", "_softmax", "log_softmax"}
BIAS_POSITION = {"linear": 2, "conv1d": 2, "conv2d": 2, "conv3d": 2, "conv_transpose1d": 2,
                 "conv_transpose2d": 2, "conv_transpose3d": 2, "bilinear": 3}
LAYER_FUNCS = {"linear", "matmul", "__matmul__", "__rmatmul__", "mm", "bmm", "conv1d", "conv2d",
               "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "addmm", "einsum"}
# Operations that give a weight another layout, not another value (a Keras kernel before `conv2d`).
RESHAPES = {"permute", "contiguous", "to"}
# The operations a zero-gradient finding is about, by the probe parameter `ops`.
OPS = {"multiplicative": MULTIPLICATIVE, "activation": ACTIVATIONS, "softmax": SOFTMAX}


class BuildError(Exception):
    """The model could not be built or run; the message says why."""


class RawWeight(BuildError):
    """The target is a plain tensor, a weight a script applies by hand (`w1 = torch.randn(1000, 100)`)."""

    def __init__(self, message: str, tensor: torch.Tensor) -> None:
        super().__init__(message)
        self.tensor = tensor


def _user_line(filename: str) -> Optional[int]:
    frame = sys._getframe(2)
    depth = 0
    while frame is not None and depth < 80:
        if frame.f_code.co_filename == filename:
            return frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
        depth += 1
    return None


def _without_bias(name: str, args: Any, kwargs: dict[str, Any], out: torch.Tensor) -> float:
    """The RMS of a layer op's output without its bias (a bias on a near-zero input is no gain)."""
    at = BIAS_POSITION.get(name)
    bias = kwargs.get("bias", args[at] if at is not None and len(args) > at else None)
    y = out.double()
    if isinstance(bias, torch.Tensor) and bias.dim() == 1 and out.dim() >= 2:
        shape = [1] * out.dim()
        shape[-1 if name in ("linear", "bilinear") else 1] = -1
        y = y - bias.detach().double().view(shape)
    return float(y.pow(2).mean().sqrt())


class Recorder(TorchFunctionMode):
    """Records weight use, layer output RMS and the operations on given lines."""

    def __init__(self, filename: str, lines: set[int], names: dict[int, str]) -> None:
        super().__init__()
        self.filename = filename
        self.lines = lines
        self.names = names
        self.order: list[str] = []
        self.rms: dict[str, float] = {}
        # Of what each weight layer reads, and of its output before its bias: its own gain is their ratio.
        self.rms_in: dict[str, float] = {}
        self.rms_weight_only: dict[str, float] = {}
        self.axis: dict[str, str] = {}
        self.at_line: dict[int, list[tuple[str, list[torch.Tensor]]]] = {}
        self.written: dict[int, set[int]] = {}
        # Whether a sigmoid or tanh ran between two weight layers (it bounds the next layer's input).
        self.bounded = False
        self._squashed = False
        # Weights reshaped before their operation (a Keras kernel on the torch backend goes through
        # `permute` and `contiguous` before `conv2d`): the reshaped tensors, kept alive so that their
        # ids stay theirs, by id -> the weight's name.
        self._aliases: dict[int, tuple[str, torch.Tensor]] = {}

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        try:
            self._record(name, args, kwargs, out)
        except Exception:  # noqa: BLE001 - recording must never change what the model computes
            pass
        return out

    def _weight_name(self, a: Any) -> Optional[str]:
        if not isinstance(a, torch.Tensor):
            return None
        alias = self._aliases.get(id(a))
        return alias[0] if alias is not None and alias[1] is a else self.names.get(id(a))

    def _record(self, name: str, args: Any, kwargs: dict[str, Any], out: Any) -> None:
        flat = list(args) + list(kwargs.values())
        if name in BOUNDED and self.order:
            self._squashed = True
        if name in RESHAPES and flat and isinstance(out, torch.Tensor) and out is not flat[0]:
            source = self._weight_name(flat[0])
            if source is not None and out.numel() == flat[0].numel():
                self._aliases[id(out)] = (source, out)
        if name in LAYER_FUNCS and "embedding" not in name:
            for pos, a in enumerate(flat):
                pname = self._weight_name(a) if isinstance(a, torch.Tensor) and a.dim() >= 2 else None
                if pname is not None:
                    if pname not in self.rms:
                        outs = returned_tensors(out)
                        if outs and outs[0].is_floating_point():
                            o = outs[0].detach()
                            self.rms[pname] = float(o.double().pow(2).mean().sqrt())
                            self.order.append(pname)
                            self.bounded = self.bounded or self._squashed
                            x = next((t for t in flat if isinstance(t, torch.Tensor) and t is not a and id(t) not in self.names
                                      and t.is_floating_point()), None)
                            if x is not None:
                                self.rms_in[pname] = float(x.detach().double().pow(2).mean().sqrt())
                                self.rms_weight_only[pname] = _without_bias(name, args, kwargs, o)
                    if id(a) not in self.names:
                        continue  # a reshaped weight: its units' axis in the weight itself is not this one's
                    if name in ("matmul", "__matmul__", "mm", "bmm") and pos == 1 or name == "__rmatmul__" and pos == 0:
                        self.axis.setdefault(pname, "columns")
                    else:
                        self.axis.setdefault(pname, "rows")
        if not self.lines:
            return
        line = _user_line(self.filename)
        if line is None or line not in self.lines:
            return
        inputs = [a for a in flat if isinstance(a, torch.Tensor)]
        bias_at = BIAS_POSITION.get(name)
        if bias_at is not None:
            bias = kwargs.get("bias", args[bias_at] if len(args) > bias_at else None)
            inputs = [t for t in inputs if t is not bias]
        if name == "addmm" and args:
            inputs = [t for t in inputs if t is not args[0]]
        self.at_line.setdefault(line, []).append((name, inputs))
        for t in returned_tensors(out):
            self.written.setdefault(line, set()).add(t.data_ptr())


def _bias_of(layer: Any) -> Optional[torch.Tensor]:
    """A torch or Keras layer's bias, as the tensor its parameters are named by (Built.names)."""
    bias = getattr(layer, "bias", None)
    value = getattr(bias, "value", bias)  # a Keras variable holds its torch tensor in .value
    return value if isinstance(value, torch.Tensor) else None


class Built:
    """A built model with a uniform view of its parameters (torch or Keras)."""

    def __init__(self, obj: Any, keras: bool, backend: str = "torch") -> None:
        self.obj = obj
        self.keras = keras
        self.backend = backend
        self.params: dict[str, torch.Tensor] = {}
        if backend != "torch":  # measured by keras_tf.run_keras_tf, not through torch tensors
            pass
        elif keras:
            prefix = obj.name + "/"
            for v in obj.weights:
                path = v.path[len(prefix):] if v.path.startswith(prefix) else v.path
                self.params[path.replace("/", ".")] = v.value
        else:
            self.params = dict(obj.named_parameters())
        self.names = {id(p): n for n, p in self.params.items()}
        self.ptrs = {p.data_ptr(): n for n, p in self.params.items() if not torch.nn.parameter.is_lazy(p)}

    def trainable(self) -> dict[str, torch.Tensor]:
        return {n: p for n, p in self.params.items() if p.requires_grad}

    def __call__(self, inputs: list[torch.Tensor]) -> Any:
        if self.keras:
            return self.obj(inputs[0] if len(inputs) == 1 else inputs, training=True)
        return self.obj(*inputs)

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None


def _keras(backend: str = "torch") -> Any:
    os.environ.setdefault("KERAS_BACKEND", backend)
    try:
        import keras  # type: ignore[import-untyped]
    except Exception as exc:  # noqa: BLE001 - keras missing, or configured for another backend
        raise BuildError(f"Keras 3 is not available on the {backend} backend ({type(exc).__name__}: {exc})") from None
    if keras.backend.backend() != backend:
        raise BuildError(f"Keras runs on the {keras.backend.backend()} backend, not {backend}")
    accept_old_keras_arguments(keras)
    return keras


def _tensorflow_import(keras: Any) -> Optional[Callable[..., Any]]:
    """Without TensorFlow, an `__import__` for the user's module only under which
    `tensorflow.keras` is Keras 3 on torch and any other `tf.` use says why.

    Installed in the assembled module's builtins, not in sys.modules: Keras
    itself probes for TensorFlow and must keep seeing that it is absent.
    """
    import builtins
    import importlib
    import importlib.util

    if importlib.util.find_spec("tensorflow") is not None and not os.environ.get("INITLINT_CONFIRM_NO_TENSORFLOW"):
        return None

    class _TF(types.ModuleType):
        def __getattr__(self, item: str) -> Any:
            raise BuildError(f"`tensorflow.{item}` needs TensorFlow, which is not installed")

    tf = _TF("tensorflow")
    tf.keras = keras  # type: ignore[attr-defined]
    real = builtins.__import__

    def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:  # noqa: A002 - __import__'s own signature
        if level == 0 and (name == "tensorflow" or name.startswith("tensorflow.")):
            if name == "tensorflow":
                return tf
            if name.startswith("tensorflow.keras"):
                mod = importlib.import_module("keras" + name[len("tensorflow.keras"):])
                return mod if fromlist else tf
            raise BuildError(f"`{name}` needs TensorFlow, which is not installed")
        return real(name, globals, locals, fromlist, level)

    return _import



def _input_specs(job: dict[str, Any], built: Built) -> list[list[tuple[list[int], str, int]]]:
    """Per forward argument, candidate specs in order of preference."""
    if job.get("inputs") is not None:
        return [[config_spec(item)] for item in job["inputs"]]
    obj = built.obj
    if built.keras:
        shape = getattr(obj, "input_shape", None)
        if shape is None:
            raise BuildError("the Keras model has no input shape; set inputs under [tool.initlint.confirm.modules]")
        shapes = shape if isinstance(shape, list) else [shape]
        tensors = list(getattr(obj, "inputs", None) or [])
        kinds = [("int", keras_tf._table_size(obj, t)) if "int" in str(getattr(t, "dtype", "")) else ("float", 0)
                 for t in tensors] if len(tensors) == len(shapes) else [("float", 0)] * len(shapes)
        return [[([2] + [d or 8 for d in s[1:]], kind, high)] for s, (kind, high) in zip(shapes, kinds)]
    args = job.get("forward_args")
    if args is None:
        args = ["input"]
    fallback_leaf = first_leaf(obj)
    fallback = spec_for(fallback_leaf, "matmul") if fallback_leaf is not None else []
    specs = []
    for arg in args:
        hint = job.get("input_hints", {}).get(arg)
        spec: Spec = []
        if hint is not None:
            try:
                layer, transposed = resolve_path(obj, hint["path"])
            except (AttributeError, IndexError, KeyError, TypeError):
                layer, transposed = None, False
            if isinstance(layer, torch.nn.Module) and not spec_for(layer, hint["role"]):
                layer = first_leaf(layer)
            if layer is not None:
                spec = spec_for(layer, hint["role"], transposed)
        spec = spec or fallback
        if not spec:
            raise BuildError(
                f"cannot infer an example input for forward argument `{arg}`; set inputs under "
                f"[tool.initlint.confirm.modules.{job['target']}]"
            )
        specs.append(spec)
    return specs


def _user_error(exc: BaseException, filename: str) -> str:
    where = ""
    for fs in reversed(traceback.extract_tb(exc.__traceback__)):
        if fs.filename == filename:
            where = f" (line {fs.lineno})"
            break
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{where}: {text}"[:400]


def build(job: dict[str, Any]) -> Built:
    path = job["path"]
    for extra in (job.get("project_root"), os.path.dirname(os.path.abspath(path))):
        if extra and extra not in sys.path:
            sys.path.insert(0, extra)
    import builtins

    keras_mod = None
    module = types.ModuleType("__initlint_confirm__")
    module.__file__ = path
    importer: Optional[Callable[..., Any]] = None
    if job["framework"] == "keras":
        keras_mod = _keras(job.get("backend", "torch"))
        keras_mod.utils.set_random_seed(job["seed"])
        importer = _tensorflow_import(keras_mod)
    module.__dict__["__builtins__"] = dict(
        builtins.__dict__, __import__=optional_imports(path, job["source"], importer or builtins.__import__))
    sys.modules[module.__name__] = module
    seed_all(job["seed"])
    code = compile(job["source"], path, "exec")
    target = job["target"]
    try:
        exec(code, module.__dict__)
        if job["kind"] in ("class", "factory"):
            obj = eval(compile(job["ctor"], path, "eval"), module.__dict__)
        else:
            obj = module.__dict__.get(target)
        obj = replay(obj, job.get("recipe"), module.__dict__, path)
    except BuildError:
        raise
    except BaseException as exc:  # user code: any failure is a reason, never a crash of the run
        if isinstance(exc, KeyboardInterrupt):
            raise
        what = f"building {target}" + (f" as `{job['ctor']}`" if job.get("ctor") else "")
        if isinstance(exc, SystemExit):  # argparse with a required argument, or an explicit exit
            raise BuildError(f"{what} made the script exit ({_user_error(exc, path)}); it is run without "
                             "command-line arguments") from None
        raise BuildError(f"{what} raised {_user_error(exc, path)}") from None
    obj = held_model(obj, keras_mod, path, {ln for c in job["checks"] for ln in range(c["lines"][0], c["lines"][1] + 1)})
    if keras_mod is not None and isinstance(obj, keras_mod.Model):
        if job.get("backend", "torch") != "torch":
            return Built(obj, keras=True, backend=job["backend"])
        return Built(obj, keras=True)
    if isinstance(obj, torch.Tensor) and obj.dim() == 2 and obj.is_floating_point():
        raise RawWeight(f"`{target}` is a Tensor, not a torch.nn.Module or Keras model", obj.detach())
    if not isinstance(obj, torch.nn.Module):
        raise BuildError(f"`{target}` is a {type(obj).__name__}, not a torch.nn.Module or Keras model")
    return Built(obj.to(job.get("device", "cpu")), keras=False)


def _weights_of(built: Built, layers: list[str]) -> list[str]:
    """The weight parameter each named layer (or parameter) stands for."""
    out = []
    for layer in layers:
        for cand in (layer, layer + ".weight", layer + ".kernel"):
            if cand in built.params:
                out.append(cand)
                break
        else:
            sub = [n for n in built.params if n.startswith(layer + ".") and built.params[n].dim() >= 2]
            if sub:
                out.append(sub[0])
    return out


def _layer_params(built: Built, layers: list[str], order: list[str]) -> list[str]:
    out = _weights_of(built, layers)
    if len(out) >= 2:
        used = [n for n in order if n in out]
        return used if len(used) >= 2 else out
    return list(order)


def _raw_weight_gain(w: torch.Tensor, name: str, seed: int, fan_in: Optional[int]) -> dict[str, Any]:
    """IL401 on a hand-applied weight: how much it scales the RMS of unit-variance rows it multiplies,
    on the side the static stage's fan-in names (`x @ w` when it is the first dimension, `x @ w.T`
    when the second); with neither, the smaller of the two gains stands, so that the verdict holds
    whichever way the script applies it."""
    gen = torch.Generator().manual_seed(seed)
    w = w.double()
    gains = []
    for weight in (w, w.T):
        x = torch.randn(64, weight.shape[0], generator=gen, dtype=torch.float64)
        gains.append(float((x @ weight).pow(2).mean().sqrt() / x.pow(2).mean().sqrt()))
    rows, columns = int(w.shape[0]), int(w.shape[1])
    gain = gains[0] if fan_in == rows else gains[1] if fan_in == columns else min(gains)
    width = rows if fan_in == rows or fan_in != columns else columns
    return {"layers": [name], "rms": [gain], "input_rms": 1.0, "inputs": [[64, width]],
            "orientation_gains": {"x @ w": gains[0], "x @ w.T": gains[1]}}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    device = job.get("device", "cpu")
    checks = job["checks"]
    path = job["path"]
    lines = {ln for c in checks for ln in range(c["lines"][0], c["lines"][1] + 1)}
    if job["framework"] == "tf":
        return _tf_graph(job)
    keras_mod = _keras(job.get("backend", "torch")) if job["framework"] == "keras" else None
    # Construction under a recorder: which tensors the finding lines write, which layers they create.
    pre = Recorder(path, lines, {})
    created = keras_tf.LayerLines(path, lines, keras_mod)
    with pre, created:
        try:
            built = build(job)
        except RawWeight as raw:
            if any(c["probe"] != "scale" for c in checks):
                raise
            return {"ok": True, "checks": {c["index"]: _raw_weight_gain(raw.tensor, job["target"], job["seed"], c.get("fan_in"))
                                           for c in checks}}
    if built.backend != "torch":
        return _keras_on_tf(job, built, created, keras_mod)
    if not built.keras:
        try:
            lazy_shape = materialize_lazy(built.obj, torch.Generator().manual_seed(job["seed"]), device)
        except ValueError as exc:
            raise BuildError(str(exc)) from None
        if lazy_shape is not None:  # the weights exist now: list them again
            built = Built(built.obj, keras=False)
            job = dict(job, inputs=job.get("inputs") or [lazy_shape])
        if len({p.dtype for p in built.params.values() if p.is_floating_point()}) > 1:
            # `.weight.data = torch.from_numpy(...)` made one layer float64: measure in float32.
            built = Built(built.obj.float(), keras=False)
    written_params: dict[int, set[str]] = {}
    for ln, ptrs in pre.written.items():
        written_params[ln] = {built.ptrs[p] for p in ptrs if p in built.ptrs}
    guessed_input: Optional[dict[str, Any]] = None
    if built.keras and not built.params:
        probe = keras_tf.build_subclassed(built.obj)
        if probe is not None:
            if not job.get("inputs"):  # no Input, no input_shape, no data in the file: the width is a guess
                guessed_input = {"shape": probe["shape"], "dtype": probe["dtype"], "target": job["target"]}
            built, job = Built(built.obj, keras=True), dict(job, inputs=job.get("inputs") or [probe])
    if not built.params:
        raise BuildError(f"`{job['target']}` has no parameters")
    if built.keras:  # Keras writes a layer's kernel from its own code: the layer built on a line stands for it
        for ln, made in created.at_line.items():
            for layer in made:
                kernel = getattr(getattr(layer, "kernel", None), "value", None)
                if kernel is not None and id(kernel) in built.names:
                    written_params.setdefault(ln, set()).add(built.names[id(kernel)])
    init = {n: p.detach().clone() for n, p in built.params.items()}
    if built.keras:
        built.obj.train() if hasattr(built.obj, "train") else None
    else:
        built.obj.train()

    specs = _input_specs(job, built)
    gen = torch.Generator().manual_seed(job["seed"])
    # Try the candidate input shapes in turn (few combinations).
    combos: list[list[int]] = [[0] * len(specs)]
    for i, s in enumerate(specs):
        for k in range(1, len(s)):
            combo = [0] * len(specs)
            combo[i] = k
            combos.append(combo)
    combos.append([len(s) - 1 for s in specs])
    inputs: list[torch.Tensor] = []
    rec = None
    flagged_layers = [m for c in checks for m in created.layers(c["lines"][0], c["lines"][1])]
    layer_out: dict[int, list[Any]] = {}
    last_error = ""
    for combo in combos[:8]:
        gen.manual_seed(job["seed"])
        inputs = [make_tensor(s[k], gen, device) for s, k in zip(specs, combo)]
        rec = Recorder(path, lines, built.names)
        built.zero_grad()
        seed_all(job["seed"])
        try:
            with rec, keras_tf.layer_outputs(flagged_layers, keras_mod) as layer_out:
                out0 = built(inputs)
            break
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            last_error = _user_error(exc, path)
            rec = None
    if rec is None:
        shapes = ", ".join(str(s[0][0]) for s in specs)
        raise BuildError(f"the forward pass on inferred inputs {shapes} raised {last_error}")
    shapes_used = [list(t.shape) for t in inputs]

    upstream: dict[int, set[str]] = {}
    groups: dict[int, list[set[str]]] = {}
    for c in checks:
        if c["probe"] != "zero_gradients":
            continue
        wanted = OPS[c["probe_params"]["ops"]]
        ops = [op for ln in range(c["lines"][0], c["lines"][1] + 1) for op in rec.at_line.get(ln, [])]
        chosen = [op for op in ops if op[0] in wanted] or ops
        # A layer created on the flagged line stands for it (Keras calls its layers from its own code).
        made_layers = list(created.layers(c["lines"][0], c["lines"][1]))
        made = [t for m in made_layers for o in layer_out.get(id(m), []) for t in returned_tensors(o)]
        own_biases = {built.names[id(b)] for b in map(_bias_of, made_layers) if b is not None and id(b) in built.names}
        # A layer's own bias is added after its product (x @ kernel + bias): not upstream of it.
        drop = own_biases if c["probe_params"]["ops"] == "multiplicative" else set()
        # Each operation on the line apart (`self.linear(x) + (u * v).sum(-1)`, a ReLU line in a loop
        # over layers): the finding is about one of them, and another one's gradient says nothing of it.
        groups[c["index"]] = [params_upstream(ts, built.names) - drop for _, ts in chosen] + (
            [params_upstream(made, built.names) - drop] if made else [])
        upstream[c["index"]] = set().union(*groups[c["index"]])
    del out0

    results: dict[int, dict[str, Any]] = {}
    order = [n for n in rec.order if n in built.params]
    # scale: per-layer output RMS at each layer's own output.
    for c in checks:
        if c["probe"] != "scale":
            continue
        layers = _layer_params(built, c.get("layers", []), order)
        layers = [n for n in layers if n in rec.rms]
        if layers and float(init[layers[-1]].abs().max()) == 0.0:
            layers = layers[:-1]
        # The model's own input, when the first judged layer reads it: that layer's gain counts too.
        reads_input = bool(layers) and layers[0] == order[0] and len(inputs) == 1 and inputs[0].is_floating_point()
        # The flagged layers' own gains (output RMS over what each reads): an N(0, 1) middle layer of
        # 1024 inputs multiplies its input's RMS ~22x, which first-to-last can hide.
        flagged = [n for n in _weights_of(built, c.get("params") or c.get("layers", [])) if n in rec.rms and rec.rms_in.get(n)]
        results[c["index"]] = {"layers": layers, "rms": [rec.rms[n] for n in layers], "inputs": shapes_used,
                               "bounded": rec.bounded,
                               "input_rms": float(inputs[0].double().pow(2).mean().sqrt()) if reads_input else None,
                               "gains": {n: rec.rms_weight_only[n] / rec.rms_in[n] for n in flagged}}

    # vanishing: per-layer weight-gradient norms, squared error vs random targets, a few seeds.
    vanishing = [c for c in checks if c["probe"] == "vanishing"]
    if vanishing:
        per_seed: list[dict[str, float]] = []
        for k in range(VANISHING_SEEDS):
            g = torch.Generator().manual_seed(job["seed"] + 1000 + k)
            xs = [_regen(t, g) for t in inputs]
            built.zero_grad()
            seed_all(job["seed"] + k)
            loss = objective(built(xs), g, squared_error=True)
            if loss is not None and loss.requires_grad:
                loss.backward()  # type: ignore[no-untyped-call]
            per_seed.append(grad_norms(built))
        built.zero_grad()
        for c in vanishing:
            layers = _layer_params(built, c.get("layers", []), order)
            layers = [n for n in layers if n in built.trainable()]
            norms = [[ps[n] for n in layers] for ps in per_seed]
            results[c["index"]] = {"layers": layers, "norms": norms, "inputs": shapes_used}

    # The two-pass check (IL101/IL102/IL103 zero gradients, IL201 symmetry).
    results.update(two_pass_checks(checks, built, inputs, init, written_params, rec, shapes_used, job,
                                   upstream, groups))
    # The probes of probes.py, each on its own pass.
    tools = Tools(_user_line, returned_tensors, Recorder, grad_norms, objective)
    for c in checks:
        if c["probe"] in PROBES:
            seed_all(job["seed"])
            results[c["index"]] = dict(PROBES[c["probe"]](tools, built, inputs, c, path, job["seed"]),
                                       inputs=shapes_used)
    if guessed_input is not None:
        for r in results.values():
            r["inputs_guessed"] = guessed_input
    return {"ok": True, "checks": results}


def _tf_graph(job: dict[str, Any]) -> dict[str, Any]:
    try:
        return keras_tf.run_graph(job)
    except keras_tf.TFUnavailable as exc:
        raise BuildError(str(exc)) from None
    except BaseException as exc:  # user code: any failure is a reason
        if isinstance(exc, KeyboardInterrupt):
            raise
        what = (f"no top-level assignment calls {job['target']}, and called on a placeholder for each of "
                f"{', '.join(job['graph_inputs'])} it" if job.get("graph_inputs") else "building the TensorFlow graph")
        raise BuildError(f"{what} raised {_user_error(exc, job['path'])}") from None


def _keras_on_tf(job: dict[str, Any], built: Built, created: keras_tf.LayerLines, keras: Any) -> dict[str, Any]:
    try:
        return keras_tf.run_keras_tf(job, built.obj, created, keras)
    except keras_tf.TFUnavailable as exc:
        raise BuildError(str(exc)) from None
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise BuildError(f"measuring on the TensorFlow backend raised {_user_error(exc, job['path'])}") from None


def _regen(t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    if t.is_floating_point():
        return torch.randn(t.shape, generator=g).to(t.device, t.dtype)
    high = int(t.max()) + 1 if t.numel() else 1
    return torch.randint(0, max(high, 1), t.shape, generator=g).to(t.device)


def _limit_memory(mb: int) -> Optional[str]:
    """Cap the worker's address space at `mb` MB; why no limit applies when it cannot."""
    if mb <= 0:
        return None
    if resource is None:
        return f"no memory limit applied: this platform has no `resource` module (asked for {mb} MB)"
    limit = mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError) as exc:
        return f"no memory limit applied: setting {mb} MB failed ({exc})"
    return None


def _cuda_on_cpu() -> None:
    """Without a GPU, `.cuda()` on the model's tensors and modules (`torch.randn(b, n).cuda()` in a
    forward) keeps them where they are, as the measurement runs on the CPU anyway."""
    if torch.cuda.is_available():
        return
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]


@contextlib.contextmanager
def _own_flags() -> Iterator[None]:
    """The command-line flags a job's code defines (absl, `tf.app.flags.DEFINE_integer`) last for
    that job: absl keeps one registry per process and refuses a flag defined twice."""
    def names() -> set[str]:
        flags = sys.modules.get("absl.flags")
        return set(flags.FLAGS) if flags is not None else set()

    before = names()
    try:
        yield
    finally:
        flags = sys.modules.get("absl.flags")
        for name in names() - before:
            with contextlib.suppress(AttributeError):
                delattr(flags.FLAGS, name)  # type: ignore[union-attr]


def main() -> None:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the user's code prints goes to stderr, not the protocol
    memory_note = _limit_memory(int(config.get("memory_mb", 0)))
    torch.set_num_threads(int(config.get("threads", 1)))
    torch.use_deterministic_algorithms(True, warn_only=True)
    _cuda_on_cpu()
    if os.environ.get("KERAS_BACKEND") == "tensorflow":
        try:  # import TensorFlow under the start-up limit, not a job's time limit (~15 s)
            import keras  # noqa: F401
        except Exception:  # noqa: BLE001 - a failed import is reported by the job that needs it
            pass
    sandbox.install()
    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        try:
            sys.argv = [job.get("path", "")]  # as `python file.py`: argparse reads its defaults
            sandbox.guard(job.get("project_root", ""), os.path.dirname(job.get("path", "")))
            with _own_flags():
                result = run_job(job)
        except BuildError as exc:
            result = {"ok": False, "error": str(exc)}
        except MemoryError:
            limit = memory_note or f"limit {config.get('memory_mb')} MB"
            result = {"ok": False, "error": f"ran out of memory ({limit})"}
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            result = {"ok": False, "error": f"measuring raised {_user_error(exc, job.get('path', ''))}"}
        finally:
            sandbox.guard()
        result["id"] = job.get("id")
        if memory_note:
            result["memory_limit"] = memory_note
        proto.write(json.dumps(result, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return str(obj)


if __name__ == "__main__":
    main()
