"""The two-pass measurement (probes `zero_gradients` and `symmetry`: IL101/IL102/IL103, IL201):
gradients of a random projection of the model's outputs before and after one SGD step on it
(for IL201, a second step when the next layer's weights on the judged units parted in the first).
Runs in the worker process.

A model that returns several outputs (`(logits, features)`, a dict) is trained on what its loss
takes. When the script's loss says which parts (trained.py), only they are measured; otherwise
each output is measured alone too, and a verdict that rests on an output no loss may take is
unverified (checks.py).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any, Optional, Protocol

import torch

from initlint.confirm.autograd import objective, params_upstream, returned_tensors
from initlint.confirm.checks import feeds_parted, nothing_learned
from initlint.confirm.probes import LR
from initlint.confirm.symmetry import Trace, measure_symmetry

MAX_OUTPUTS_ALONE = 4  # outputs measured one by one (besides all together); the rest are not


class BuiltModel(Protocol):
    """What the measurement uses of worker.Built."""

    obj: Any
    keras: bool
    params: dict[str, torch.Tensor]
    names: dict[int, str]

    def trainable(self) -> dict[str, torch.Tensor]: ...
    def zero_grad(self) -> None: ...
    def __call__(self, inputs: list[torch.Tensor]) -> Any: ...


def seed_all(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass


def grad_norms(built: BuiltModel) -> dict[str, float]:
    return {
        n: (0.0 if p.grad is None else float(p.grad.detach().double().norm()))
        for n, p in built.trainable().items()
    }


def learnable_outputs(out: Any) -> list[torch.Tensor]:
    """The floating outputs that gradients reach (not an `argmax`): what a loss may take."""
    return [t for t in returned_tensors(out) if t.is_floating_point() and t.requires_grad]


def output_part(out: Any, selectors: list[Any]) -> Optional[list[torch.Tensor]]:
    """The parts of a model's output the script's loss takes (`out[0]`, `out["logits"]`), or None
    when they do not apply to what the model returned."""
    parts: list[torch.Tensor] = []
    for sel in selectors:
        fits = (isinstance(out, dict) and isinstance(sel, str) and sel in out) or (
            isinstance(out, (list, tuple)) and isinstance(sel, int) and -len(out) <= sel < len(out))
        if not fits:
            return None
        parts += returned_tensors(out[sel])
    return parts or None


def _one_output(out: Any, k: int) -> list[torch.Tensor]:
    return learnable_outputs(out)[k:k + 1]


def snapshot(built: BuiltModel) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in built.params.items()}


def reset(built: BuiltModel, values: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for n, p in built.params.items():
            p.copy_(values[n])


def two_pass(built: BuiltModel, inputs: list[torch.Tensor], seed: int,
             part: Optional[Callable[[Any], Any]] = None) -> tuple[dict[str, float], dict[str, float]]:
    """Gradient norms of a random projection of the outputs (of `part` of them, given), before and
    after one SGD step on it; the step stays applied."""
    built.zero_grad()
    pgen = torch.Generator().manual_seed(seed + 7)
    state = pgen.get_state()
    norms = []
    for k in range(2):
        seed_all(seed)
        out = built(inputs)
        pgen.set_state(state)
        obj = objective(part(out) if part is not None else out, pgen)
        if obj is not None and obj.requires_grad:
            obj.backward()  # type: ignore[no-untyped-call]
        norms.append(grad_norms(built))
        if k == 0:
            with torch.no_grad():
                for p in built.trainable().values():
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-LR)
            built.zero_grad()
    return norms[0], norms[1]


def step_later(built: BuiltModel, inputs: list[torch.Tensor], seed: int, part: Optional[Callable[[Any], Any]],
               measure: Callable[[], Any]) -> Any:
    """`measure()` after one more step on `part` of the outputs; the weights are put back after."""
    moved = snapshot(built)
    two_pass(built, inputs, seed, part=part)
    found = measure()
    reset(built, moved)
    return found


def two_pass_checks(checks: list[dict[str, Any]], built: BuiltModel, inputs: list[torch.Tensor],
                    init: dict[str, torch.Tensor], written_params: dict[int, set[str]], rec: Trace,
                    shapes_used: list[list[int]], job: dict[str, Any], upstream: dict[int, set[str]],
                    groups: dict[int, list[set[str]]]) -> dict[int, dict[str, Any]]:
    """The measurements of the zero-gradient and symmetry checks, by check index."""
    results: dict[int, dict[str, Any]] = {}
    judged_checks = [c for c in checks if c["probe"] in ("zero_gradients", "symmetry")]
    if not judged_checks:
        return results
    trainable = built.trainable()
    each_output: dict[int, list[Any]] = {}
    returned = built(inputs)
    learnable = len(learnable_outputs(returned))
    trained: Optional[tuple[list[Any], int]] = job.get("trained_output")
    part: Optional[Callable[[Any], Any]] = None
    judged_on: Optional[str] = None
    trained_params: Optional[set[str]] = None  # the parameters the trained outputs depend on
    taken = output_part(returned, trained[0]) if learnable > 1 and trained else None
    if taken and trained:
        # The script's loss takes these parts of the output: the verdict rests on them alone.
        part = functools.partial(output_part, selectors=trained[0])
        trained_params = params_upstream(taken, built.names)
        judged_on = (f"the model's output {' and '.join(f'[{sel!r}]' for sel in trained[0])}, which the "
                     f"script's loss takes (line {trained[1]})")
    elif learnable > 1:

        def units_of(c: dict[str, Any]) -> list[dict[str, Any]]:
            return list(measure_symmetry(c, built, init, written_params, rec, shapes_used)["units"])

        # A model that also returns what no loss may take (embeddings, features): the verdict must
        # not rest on them. Measured on each output alone too; a disagreement is unverified.
        reached = [sorted(params_upstream([t], built.names)) for t in learnable_outputs(returned)]
        for k in range(min(learnable, MAX_OUTPUTS_ALONE)):
            only_k = functools.partial(_one_output, k=k)
            pass1, pass2 = two_pass(built, inputs, job["seed"], part=only_k)
            for c in judged_checks:
                if c["probe"] != "symmetry":
                    each_output.setdefault(c["index"], []).append({"pass1": pass1, "pass2": pass2, "upstream": reached[k]})
                    continue
                found = units_of(c)
                if any(feeds_parted(u) for u in found):  # as on all outputs: a second step shows whether they follow
                    found = step_later(built, inputs, job["seed"], only_k, functools.partial(units_of, c))
                each_output.setdefault(c["index"], []).append({"units": found, "upstream": reached[k]})
            reset(built, init)
    pass1, pass2 = two_pass(built, inputs, job["seed"], part=part)

    def symmetric(c: dict[str, Any]) -> dict[str, Any]:
        return dict(measure_symmetry(c, built, init, written_params, rec, shapes_used),
                    each_output=each_output.get(c["index"]), judged_on=judged_on)

    for c in judged_checks:
        idx = c["index"]
        if c["probe"] == "symmetry":
            results[idx] = symmetric(c)
            if nothing_learned(results[idx]["units"]) and all(t.is_floating_point() for t in inputs):
                # A constant layer's ReLUs all dead on this probe batch: again on |x| (as pixels are).
                moved = snapshot(built)
                reset(built, init)
                two_pass(built, [t.abs() for t in inputs], job["seed"], part=part)
                results[idx] = symmetric(c)
                reset(built, moved)
            if any(feeds_parted(u) for u in results[idx]["units"]):
                # The next layer's weights on the units parted in the step: a second one shows whether they follow.
                results[idx] = dict(step_later(built, inputs, job["seed"], part, functools.partial(symmetric, c)), steps=2)
            continue
        given = [p for p in c.get("params", []) if p in trainable]
        if given:
            judged, how = given, "the finding's parameters"
        elif upstream.get(idx):
            judged = sorted(n for n in upstream[idx] if n in trainable)
            how = f"the parameters upstream of line {c['lines'][0]}"
        else:  # never judge the whole model: its output layer always learns
            judged, how = [], (f"no operation or layer on line {c['lines'][0]} ran in the forward pass, so the "
                               "parameters upstream of it are unknown")
        # Each operation on the line apart, on the parameters it reads (see worker.run_job).
        apart = [sorted(g & set(judged)) for g in groups.get(idx, []) if g & set(judged)] \
            if not given and len(groups.get(idx, [])) > 1 else None
        if trained_params is not None:
            # What the loss takes does not reach the others, whatever their init: that says nothing.
            judged = [n for n in judged if n in trained_params]
            apart = [[n for n in g if n in trained_params] for g in apart] if apart else apart
        alone = each_output.get(idx)
        results[idx] = {
            "params": judged,
            "how": how,
            "pass1": {n: pass1[n] for n in judged},
            "pass2": {n: pass2[n] for n in judged},
            "inputs": shapes_used,
            "each_output": [dict({k: {n: a[k][n] for n in judged} for k in ("pass1", "pass2")}, upstream=a["upstream"])
                            for a in alone] if alone else None,
            "judged_on": judged_on,
            "groups": apart,
        }
    return results
