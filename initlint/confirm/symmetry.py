"""The symmetry measurement (the `symmetry` probe, IL201): whether the units of a layer that
started constant are still identical after one optimizer step (two, when the next layer's weights
on them parted in the first). Runs in the worker process."""

from __future__ import annotations

from typing import Any, Optional, Protocol

import torch


class BuiltModel(Protocol):
    """What the measurement reads of worker.Built."""

    obj: Any
    keras: bool
    params: dict[str, torch.Tensor]


class Trace(Protocol):
    """What the measurement reads of worker.Recorder: the weights in the order the forward pass
    used them, and which of them it applied as `x @ W` (units on the columns)."""

    order: list[str]
    axis: dict[str, str]


def _units_diff(w: torch.Tensor, dim: int, gates: int) -> tuple[float, int]:
    """Max difference between the units of a weight along `dim` (per gate block on dim 0)."""
    w = w.detach().double()
    units = w.movedim(dim, 0).reshape(w.shape[dim], -1)
    blocks = units.chunk(gates, dim=0) if gates > 1 and dim == 0 and units.shape[0] % gates == 0 else [units]
    worst = 0.0
    n = 0
    for block in blocks:
        if block.shape[0] < 2:
            continue
        n = max(n, block.shape[0])
        worst = max(worst, float((block - block[0:1]).abs().max()))
    return worst, n


def _unit_axis(out_axis: str, ndim: int, is_output_layer: bool) -> tuple[int, str]:
    """The hidden-unit axis of a weight: its output units, except on the output layer.

    The output layer's rows are the model's outputs, which the loss separates;
    the hidden units it sees are its inputs (fc2's columns mirror fc1's rows),
    so a constant output layer after a constant hidden layer is judged there.
    """
    if out_axis == "rows":
        return (1, "columns" if ndim == 2 else "input channels") if is_output_layer else (0, "rows")
    return (ndim - 2, "rows" if ndim == 2 else "input channels") if is_output_layer else (ndim - 1, "columns")


def _consumer_spread(built: BuiltModel, rec: Trace, init: dict[str, torch.Tensor], weights: list[str], name: str,
                     units: int, gates: int) -> Optional[dict[str, Any]]:
    """How far apart the next layer's weights on `name`'s units (its inputs) are, after the step and
    at init. Equal at init and apart after the step, they give `name`'s units different gradients
    at the next step: identical units after this one do not confirm. None when the next layer's
    inputs do not line up with the units."""
    if gates > 1 or name not in weights:
        return None

    def spread(w: torch.Tensor, out_axis: str) -> Optional[float]:
        w = w.detach().double()
        dim, _ = _unit_axis(out_axis, w.dim(), True)  # the output layer's unit axis is its input axis
        per_input = w.movedim(dim, 0).reshape(w.shape[dim], -1)
        if per_input.shape[0] % units:
            return None
        # A flattened feature map reads each channel at several positions: one block per channel.
        blocks = per_input.reshape(units, -1)
        return float((blocks - blocks[0:1]).abs().max())

    # The next weight used whose inputs line up with the units (a side branch on the model's input,
    # used in between, reads something else).
    for nxt in weights[weights.index(name) + 1:]:
        out_axis = "columns" if (built.keras or rec.axis.get(nxt) == "columns") else "rows"
        now, before = spread(built.params[nxt], out_axis), spread(init[nxt], out_axis)
        if now is not None and before is not None:
            return {"param": nxt, "max_diff": now, "max_diff_at_init": before,
                    "scale": float(built.params[nxt].abs().max())}
    return None


def _gates(built: BuiltModel, name: str) -> int:
    if built.keras:
        return 1
    owner_name = name.rsplit(".", 1)[0] if "." in name else ""
    try:
        owner = built.obj.get_submodule(owner_name) if owner_name else built.obj
    except AttributeError:
        return 1
    if isinstance(owner, (torch.nn.LSTM, torch.nn.LSTMCell)):
        return 4
    if isinstance(owner, (torch.nn.GRU, torch.nn.GRUCell)):
        return 3
    return 1


def measure_symmetry(
    c: dict[str, Any], built: BuiltModel, init: dict[str, torch.Tensor], written: dict[int, set[str]],
    rec: Trace, shapes: list[list[int]],
) -> dict[str, Any]:
    """IL201's measurement after the step(s) taken: how far apart the units of each judged weight are,
    on the hidden-unit axis (the output layer is judged on its inputs), and how far apart the next
    layer's weights on them are (`feeds`)."""
    given = [p for p in c.get("params", []) if p in built.params]
    how = "the finding's parameters"
    if not given:
        at_line = set()
        for ln in range(c["lines"][0], c["lines"][1] + 1):
            at_line |= written.get(ln, set())
        given = sorted(n for n in at_line if built.params[n].dim() >= 2)
        how = f"the weights line {c['lines'][0]} initializes"
    if not given:
        given = sorted(
            n for n, w in init.items()
            if w.dim() >= 2 and w.numel() > 1 and bool((w == w.reshape(-1)[0]).all())
        )
        how = "the weights that start constant"
    units = []
    weights = [n for n in rec.order if built.params[n].dim() >= 2]
    output_layer = weights[-1] if len(weights) >= 2 else None
    # A weight the forward pass never uses (a layer left over from an experiment, an auxiliary head
    # another method calls) gets no gradient: its units stay equal whatever its init, which says nothing.
    unused = [n for n in given if built.params[n].dim() >= 2 and n not in rec.order]
    if not built.keras and any(isinstance(m, torch.nn.RNNBase) for m in built.obj.modules()):
        # A recurrent layer runs as one fused op the recorder does not see: which weights the forward
        # pass uses, and which layer is the output layer, are not known.
        return {"units": [], "unused": [], "how": "a recurrent layer (LSTM, GRU, RNN) runs as one fused operation "
                "the confirmation does not trace", "inputs": shapes}
    for n in given:
        p = built.params[n]
        if p.dim() < 2 or n in unused:
            continue
        out_axis = "columns" if (built.keras or rec.axis.get(n) == "columns") else "rows"
        dim, axis = _unit_axis(out_axis, p.dim(), n == output_layer)
        gates = _gates(built, n)
        diff, count = _units_diff(p, dim, gates)
        if count < 2:
            continue
        moved = float((p.detach() - init[n]).abs().max())
        init_diff, _ = _units_diff(init[n], dim, gates)
        units.append({"param": n, "axis": axis, "units": count, "max_diff": diff,
                      "max_diff_at_init": init_diff, "moved": moved, "output_layer": n == output_layer,
                      "scale": float(p.detach().abs().max()),
                      "feeds": _consumer_spread(built, rec, init, weights, n, count, gates) if n != output_layer else None})
    return {"units": units, "unused": unused, "how": how, "inputs": shapes}

