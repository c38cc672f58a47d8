"""What the confirmation reads from torch's autograd: the tensors a model returns, the objective
its two-pass and vanishing checks differentiate, and the parameters upstream of a tensor."""

from __future__ import annotations

from typing import Any, Optional

import torch


def returned_tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in returned_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in returned_tensors(o)]
    if hasattr(obj, "logits") and isinstance(obj.logits, torch.Tensor):
        return [obj.logits]
    return []


def params_upstream(tensors: list[torch.Tensor], names: dict[int, str]) -> set[str]:
    found: set[str] = set()
    seen: set[int] = set()
    stack: list[Any] = []
    for t in tensors:
        if id(t) in names:
            found.add(names[id(t)])
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        var = getattr(fn, "variable", None)
        if var is not None and id(var) in names:
            found.add(names[id(var)])
        for nxt, _ in getattr(fn, "next_functions", ()):
            if nxt is not None:
                stack.append(nxt)
    return found


def objective(out: Any, gen: torch.Generator, squared_error: bool = False) -> Optional[torch.Tensor]:
    """A random projection of the outputs, or (for vanishing gradients) the mean
    squared error against random targets, which cannot cancel across the batch."""
    total = None
    for t in returned_tensors(out):
        if not t.is_floating_point():
            continue
        r = torch.randn(t.shape, generator=gen).to(t.device, t.dtype)
        term = (t - r).pow(2).mean() if squared_error else (t * r).sum()
        total = term if total is None else total + term
    return total
