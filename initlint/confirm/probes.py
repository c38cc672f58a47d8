"""Worker probes beyond the two-pass check: loss pairings (IL301, IL303, IL304), depth drift
(IL402) and raw inputs (IL403). Imported by the worker only (it imports torch).

A probe takes the built model, the example inputs and one check (its lines
and `probe_params`) and returns a measurement; checks.py reads it. The
worker dispatches on the probe's name (PROBES) and never on a rule code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

SIGMOID = {"sigmoid", "sigmoid_"}
SOFTMAX = {"softmax", "_softmax"}
# A wrong sample saturated this far: sigmoid(20) is exactly 1.0 in float32.
SATURATED_LOGIT = 20.0
# The SGD step between the two passes of the zero-gradient and symmetry checks (torch, TF graphs, Keras on TF).
LR = 0.1
# Seeds over which the vanishing-gradient ratio is taken (its median).
VANISHING_SEEDS = 5


class Tools(NamedTuple):
    """The worker's measuring helpers, handed in so that this module need not import the worker."""

    user_line: Callable[[str], Optional[int]]
    tensors: Callable[[Any], list[torch.Tensor]]
    recorder: Callable[[str, set[int], dict[int, str]], Any]
    norms: Callable[[Any], dict[str, float]]
    objective: Callable[..., Optional[torch.Tensor]]


class _Activation(TorchFunctionMode):
    """Records the sigmoid/softmax calls of a forward pass (kind, output, whether it ran on the
    finding's lines); with `bypass`, call number `bypass` returns its input instead."""

    def __init__(self, tools: Tools, filename: str, lines: set[int], bypass: Optional[int] = None) -> None:
        super().__init__()
        self.tools, self.filename, self.lines, self.bypass = tools, filename, lines, bypass
        self.calls: list[tuple[str, torch.Tensor, bool]] = []

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if (name in SIGMOID or name in SOFTMAX) and args and isinstance(args[0], torch.Tensor):
            if self.bypass == len(self.calls):
                self.calls.append(("", args[0], False))
                return args[0]
            out = func(*args, **kwargs)
            on_lines = self.tools.user_line(self.filename) in self.lines
            self.calls.append(("sigmoid" if name in SIGMOID else "softmax", out, on_lines))
            return out
        return func(*args, **kwargs)

    def chosen(self) -> Optional[int]:
        """The call on the finding's lines; else the last one (an `nn.Softmax` layer runs where the
        model calls it, not on the line that constructs it)."""
        on_lines = [i for i, c in enumerate(self.calls) if c[2]]
        return on_lines[0] if on_lines else (len(self.calls) - 1 if self.calls else None)


def _reaches(out: torch.Tensor, target: torch.Tensor) -> bool:
    """Whether `target` lies on the autograd path of `out`."""
    if out is target:
        return True
    want, seen, stack = target.grad_fn, set(), [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        if fn is want:
            return True
        seen.add(id(fn))
        stack += [nxt for nxt, _ in getattr(fn, "next_functions", ())]
    return False


def _output(tools: Tools, out: Any, element: Optional[int] = None) -> Optional[torch.Tensor]:
    """The floating tensor the loss receives: element `element` of a tuple output when the script
    picks one (`a, b = model(x)`, `model(x)[1]`), else the first."""
    if element is not None and element >= 0 and isinstance(out, (list, tuple)) and element < len(out):
        out = out[element]
    found = [t for t in tools.tensors(out) if t.is_floating_point()]
    return found[0] if found else None


def _outputs(tools: Tools, out: Any) -> list[torch.Tensor]:
    return [t for t in tools.tensors(out) if t.is_floating_point()]


def _weights(built: Any) -> list[str]:
    """The trainable weights (2-D and up), in the model's own order."""
    return [n for n, p in built.trainable().items() if p.dim() >= 2]


def loss_pairing(tools: Tools, built: Any, inputs: list[torch.Tensor], check: dict[str, Any], path: str,
                 seed: int) -> dict[str, Any]:
    """The activation on the finding's lines: whether its output reaches the model's output, and
    the loss's gradient with it against the loss on the logits (before the activation)."""
    lines = set(range(check["lines"][0], check["lines"][1] + 1))
    loss = check["probe_params"]["loss"]  # "logits" (IL304), "bce" (IL303) or "mse" (IL301)
    element = check.get("output")
    mode = _Activation(tools, path, lines)
    built.zero_grad()
    with mode:
        whole = built(inputs)
    out = _output(tools, whole, element)
    index = mode.chosen()
    if index is None or out is None:
        return {"activation": None, "lines": check["lines"]}
    kind, act_out, _ = mode.calls[index]
    on_path = _reaches(out, act_out)
    many = _outputs(tools, whole)
    if (element is None or element < 0) and len(many) > 1:
        # Which of several outputs the loss receives is unknown (`def loss_fn(recon, ...)`): the static
        # stage paired the loss with this activation, so the output it reaches stands for it; when it
        # reaches none, nothing here tells that the loss does not receive it.
        reached = [k for k, t in enumerate(many) if _reaches(t, act_out)]
        if not reached:
            return {"activation": kind, "outputs": len(many), "lines": check["lines"]}
        out, on_path, element = many[reached[0]], True, None
        many_index = reached[0]
    else:
        many_index = None
    result: dict[str, Any] = {"activation": kind, "on_path": on_path, "output_shape": list(out.shape),
                              "lines": check["lines"]}
    if many_index is not None:
        result["output_reached"] = f"output {many_index} of {len(many)} (the one the {kind} reaches)"
    if not on_path:
        return result
    gen = torch.Generator().manual_seed(seed + 11)
    batch = out.shape[0] if out.dim() else 1
    if loss == "logits":
        def objective(o: torch.Tensor) -> torch.Tensor:
            if kind == "softmax":
                labels = torch.randint(0, o.shape[-1], o.shape[:-1], generator=gen).to(o.device)
                return F.cross_entropy(o.reshape(-1, o.shape[-1]), labels.reshape(-1))
            return F.binary_cross_entropy_with_logits(o, torch.randint(0, 2, o.shape, generator=gen).to(o))
        state = gen.get_state()
        objective(out).backward()  # type: ignore[no-untyped-call]
        with_act = {n: _grad_norm(built, n) for n in _weights(built)}
        built.zero_grad()
        gen.set_state(state)
        bypass = _Activation(tools, path, lines, bypass=index)
        with bypass:
            raw_all = built(inputs)
            raw = _outputs(tools, raw_all)[many_index] if many_index is not None else _output(tools, raw_all, element)
        assert raw is not None
        objective(raw).backward()  # type: ignore[no-untyped-call]
        without_all = {n: _grad_norm(built, n) for n in _weights(built)}
        built.zero_grad()
        # The first weight that learns on the logits: an auxiliary head the forward pass never uses,
        # or a layer behind a zero one, gets no gradient either way and says nothing.
        first = next((n for n in without_all if without_all[n] > 0), next(iter(without_all), None))
        without = without_all.get(first, 0.0) if first is not None else 0.0
        classes = int(out.shape[-1]) if kind == "softmax" else 2
        # Probabilities in [0, 1] as logits: a one-hot output still costs log(1 + (C-1)/e).
        floor = math.log(1 + (classes - 1) / math.e) if kind == "softmax" else math.log(1 + math.exp(-1))
        grad_with = with_act.get(first, 0.0) if first is not None else 0.0
        result.update(layer=first, grad_with=grad_with, grad_without=without,
                      ratio=grad_with / without if without > 0 else None, loss_floor=floor, classes=classes)
        return result
    # Sigmoid + BCELoss / MSE: at a saturated wrong sample (logit 20, label 0), dL/dz through the
    # sigmoid against the logits loss (1/B for each element with mean reduction).
    z = torch.full((batch,), SATURATED_LOGIT, requires_grad=True)
    y = torch.zeros(batch)
    p = torch.sigmoid(z)
    paired = F.binary_cross_entropy(p, y) if loss == "bce" else F.mse_loss(p, y)
    paired.backward()  # type: ignore[no-untyped-call]
    assert z.grad is not None
    dz = float(z.grad.abs().max())
    zl = z.detach().clone().requires_grad_(True)
    F.binary_cross_entropy_with_logits(zl, y).backward()  # type: ignore[no-untyped-call]
    assert zl.grad is not None
    result.update(loss=loss, saturated_logit=SATURATED_LOGIT, batch=batch, dz=dz,
                  dz_logits=float(zl.grad.abs().max()))
    return result


def _grad_norm(built: Any, name: Optional[str]) -> float:
    if name is None:
        return 0.0
    grad = built.params[name].grad
    return 0.0 if grad is None else float(grad.detach().double().norm())


def depth_drift(tools: Tools, built: Any, inputs: list[torch.Tensor], check: dict[str, Any], path: str,
                seed: int) -> dict[str, Any]:
    """Layer-output RMS and weight-gradient norm of each weight layer through the stack."""
    rec = tools.recorder(path, set(), built.names)
    built.zero_grad()
    with rec:
        out = built(inputs)
    gen = torch.Generator().manual_seed(seed + 13)
    loss = tools.objective(out, gen, squared_error=True)
    if loss is not None and loss.requires_grad:
        loss.backward()  # type: ignore[no-untyped-call]
    norms = tools.norms(built)
    built.zero_grad()
    layers = [n for n in rec.order if n in norms]
    return {"layers": layers, "output_rms": [rec.rms[n] for n in layers], "grad_norms": [norms[n] for n in layers]}


# Updates replayed per run: enough for a raw arange(0, 100) regression with SGD(0.01) to reach nan
# in four (1.8e4, 9.3e11, 1.4e36, nan) while its standardized twin trains (0.50 -> 0.15).
RAW_STEPS = 10


def _as_float(value: Any, what: str) -> torch.Tensor:
    t = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.int16, torch.uint8)):
        raise TypeError(f"the {what} are {t.dtype}, not numbers")
    t = t.to(torch.float32)
    return t.unsqueeze(1) if t.dim() == 1 else t  # a 1-D array is one feature (as Keras's fit reads it)


def _standardized(t: torch.Tensor) -> torch.Tensor:
    """Per feature (column): zero mean, unit standard deviation; a constant column is only centred."""
    std = t.std(dim=0, keepdim=True)
    return (t - t.mean(dim=0, keepdim=True)) / torch.where(std > 0, std, torch.ones_like(std))


def _train(tools: Tools, built: Any, x: torch.Tensor, y: torch.Tensor, data: dict[str, Any],
           init: dict[str, torch.Tensor], seed: int) -> list[float]:
    """Mean squared error before each of RAW_STEPS updates of the script's optimizer, from `init`."""
    params = built.trainable()
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(init[n])
    spec = data["optimizer"]
    optimizer = getattr(torch.optim, spec["class"])(list(params.values()), **spec["kwargs"])
    n = x.shape[0]
    batch = data["batch_size"] or n
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)) if batch < n else torch.arange(n)
    torch.manual_seed(seed)
    losses = []
    for step in range(RAW_STEPS):
        start = (step * batch) % n
        idx = order[start:start + batch]
        built.zero_grad()
        optimizer.zero_grad()
        pred = _output(tools, built([x[idx]]))
        if pred is None:
            raise TypeError("the model returned no floating tensor")
        target = y[idx]
        if data["keras"] and target.numel() == pred.numel():
            target = target.reshape(pred.shape)
        loss = F.mse_loss(pred, target)
        losses.append(float(loss.detach()))
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return losses


def raw_input(tools: Tools, built: Any, inputs: list[torch.Tensor], check: dict[str, Any], path: str,
              seed: int) -> dict[str, Any]:
    """The script's own literal data through RAW_STEPS updates of its own optimizer, learning rate
    and batch size, raw and then standardized per feature (features and targets), both from the
    same initial weights."""
    data = check["data"]
    spec = data["optimizer"]
    if not hasattr(torch.optim, spec["class"]):
        return {"reason": f"the optimizer `{spec['class']}` (line {spec['line']}) is not a torch.optim class"}
    namespace: dict[str, Any] = {"__name__": "__initlint_data__", "__file__": path}
    try:
        import numpy  # the script's random data (`np.random.normal`) is drawn from the run's seed

        numpy.random.seed(seed)
    except ImportError:
        pass
    try:
        exec(compile(data["source"], path, "exec"), namespace)
        x = _as_float(eval(compile(data["features"], path, "eval"), namespace), "features")
        y = _as_float(eval(compile(data["targets"], path, "eval"), namespace), "targets")
    except BaseException as exc:  # user code: any failure is a reason
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"reason": f"building the script's data raised {type(exc).__name__}: {str(exc)[:200]}"}
    if x.shape[0] != y.shape[0] or x.shape[0] < 2:
        return {"reason": f"the features ({list(x.shape)}) and targets ({list(y.shape)}) do not pair up "
                          "into two or more samples"}
    init = {n: p.detach().clone() for n, p in built.trainable().items()}
    try:
        raw = _train(tools, built, x, y, data, init, seed)
        standardized = _train(tools, built, _standardized(x), _standardized(y), data, init, seed)
    except BaseException as exc:  # user code: any failure is a reason
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {"reason": f"replaying the training steps raised {type(exc).__name__}: {str(exc)[:200]}"}
    finally:
        with torch.no_grad():
            for n, p in built.trainable().items():
                p.copy_(init[n])
    return {"raw": raw, "standardized": standardized, "samples": int(x.shape[0]), "features_shape": list(x.shape),
            "range": [float(x.min()), float(x.max())], "batch_size": data["batch_size"] or int(x.shape[0]),
            "optimizer": spec, "fed_line": data["fed_line"], "steps": RAW_STEPS}


PROBES: dict[str, Callable[[Tools, Any, list[torch.Tensor], dict[str, Any], str, int], dict[str, Any]]] = {
    "loss_pairing": loss_pairing,
    "depth_drift": depth_drift,
    "raw_input": raw_input,
}
