"""The confirmation stage: build each flagged model and measure whether the finding holds.

`confirm_diagnostics` is the one entry point. It assembles, in this process,
a module per flagged model from the file's syntax tree (never running the
user's script; see assemble.py), hands the builds to one worker process
(pool.py, worker.py: the only place torch and Keras are imported), and turns
the measurements into a Confirmation per finding (checks.py).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any, Optional

from initlint.config import Settings
from initlint.confirm.assemble import Assembly, Target, assemble, resolve_target
from initlint.confirm.checks import VERDICTS
from initlint.confirm.filemodel import FileModel, Unbuildable
from initlint.confirm.rawdata import plan as data_plan
from initlint.confirm.slices import keras_loss_takes_model_output, loss_output
from initlint.diagnostics import TAKES_EFFECT, Confirmation, Diagnostic
from initlint.rule import Confirm, Rule, all_rules

__all__ = ["CHECKED_CODES", "confirm_diagnostics"]


@lru_cache(maxsize=1)
def confirmed_by() -> dict[str, type[Rule]]:
    """Each rule that declares a confirmation (rule.Confirm), by code: the stage never asks which
    rule it is. Looked up on first use: the worker, a submodule, must not load the rules."""
    return {r.code: r for r in all_rules() if r.confirmation is not None}


def __getattr__(name: str) -> Any:
    if name == "CHECKED_CODES":
        return frozenset(confirmed_by())
    raise AttributeError(name)


# A run that has taken this long says which model it is measuring (on stderr, a line each).
PROGRESS_AFTER_SECONDS = 2.0


def _progress(done: int, total: int, name: str, path: str, started: float) -> None:
    if total > 1 and time.monotonic() - started >= PROGRESS_AFTER_SECONDS:
        try:
            shown = os.path.relpath(path)
        except ValueError:  # another drive
            shown = path
        print(f"initlint: confirming {done} of {total}: {name} in {shown}", file=sys.stderr, flush=True)


def _unverified(reason: str) -> Confirmation:
    return Confirmation("unverified", reason, {})


def _read(path: str) -> str:
    with open(path, "rb") as fh:
        data = fh.read()
    return data.decode("utf-8-sig")


def _job(asm: Assembly, checks: list[dict[str, Any]], settings: Settings, project_root: str, key: int,
         backend: str = "torch") -> dict[str, Any]:
    return {
        "id": key,
        "path": os.path.abspath(asm.path),
        "source": asm.source,
        "kind": asm.target.kind,
        "target": asm.target.name,
        "framework": asm.framework,
        "ctor": asm.ctor,
        "inputs": asm.inputs,
        "input_hints": asm.input_hints,
        "forward_args": asm.forward_args,
        "backend": backend,
        "recipe": asm.recipe,
        "graph_inputs": asm.graph_inputs,
        "trained_output": asm.trained_output,
        "checks": checks,
        "seed": settings.confirm.seed,
        "device": settings.confirm.device,
        "project_root": project_root,
    }


def _declared(diag: Diagnostic) -> Confirm:
    confirm = confirmed_by()[diag.code].confirmation
    assert confirm is not None
    return confirm


def _located(diag: Diagnostic) -> Diagnostic:
    """Where the model to build is: the finding itself, or its first related location for a rule
    that asks for it (a loss finding points at the loss call; the activation is in the model)."""
    if not _declared(diag).at_related or not diag.related:
        return diag
    # A finding moved into this file (engine.localize) lists the imported loss call first: the
    # model is at the next related location (the activation), else at the finding itself.
    place = next((r for r in diag.related if not r.message.startswith(TAKES_EFFECT)), None)
    if place is None:
        return diag
    return replace(diag, path=place.path, span=place.span, subject=None)


def _span_text(fm: Any, diag: Diagnostic) -> str:
    """The source lines of the finding's own span."""
    if not isinstance(fm, FileModel):
        return ""
    return "\n".join(fm.text.splitlines()[diag.span.line - 1 : max(diag.span.line, diag.span.end_line)])


def _loss_output(fm: Any, diag: Diagnostic) -> Optional[int]:
    """The element of the model's output that the loss on the finding's line receives, if known."""
    return loss_output(fm.tree, diag.span.line) if isinstance(fm, FileModel) else None


def _takes_model_output(fm: Any, diag: Diagnostic) -> Optional[bool]:
    """Whether the Keras loss on the finding's line receives the model's own output (slices.py)."""
    return keras_loss_takes_model_output(fm.tree, diag.span.line) if isinstance(fm, FileModel) else None


def _backend_for(asm: Assembly, confirm: Confirm) -> str:
    """Where a finding is measured. The init rules do not depend on the Keras backend and run on
    torch; the loss-pairing ones run on the backend the file targets (TensorFlow's Keras recovers
    logits from a sigmoid or softmax output, torch's does not); TF graphs and Keras models written
    with tf ops run only on TensorFlow."""
    if asm.framework == "tf" or asm.tf_ops or (asm.framework == "keras" and confirm.file_backend):
        return asm.backend
    return "torch"


def _apply(diag: Diagnostic, confirmation: Confirmation) -> Diagnostic:
    out = diag.with_confirmation(confirmation)
    declared = _declared(diag)
    severity = {"confirmed": declared.severity_when_confirmed,
                "refuted": declared.severity_when_refuted}.get(confirmation.status)
    return replace(out, severity=severity) if severity is not None else out


def confirm_diagnostics(
    diagnostics: Sequence[Diagnostic], settings: Settings, project_root: Optional[str] = None
) -> list[Diagnostic]:
    """The diagnostics, in the same order, with a confirmation on each one a rule can check."""
    root = os.path.abspath(project_root or settings.project_root or os.getcwd())
    out: list[Optional[Diagnostic]] = [None if d.code in confirmed_by() else d for d in diagnostics]
    files: dict[str, Any] = {}
    groups: dict[tuple[str, Target], list[int]] = {}
    data: dict[int, dict[str, Any]] = {}  # the script's own data and training set-up, per finding replayed
    for i, diag in enumerate(diagnostics):
        if out[i] is not None:
            continue
        d = _located(diag)
        fm = files.get(d.path)
        if fm is None:
            try:
                fm = FileModel(d.path, _read(d.path))
            except (OSError, UnicodeDecodeError) as exc:
                fm = Unbuildable(f"cannot read the file to build its model: {exc}")
            except Unbuildable as exc:
                fm = exc
            files[d.path] = fm
        if isinstance(fm, Unbuildable):
            out[i] = _apply(diag, _unverified(str(fm)))
            continue
        try:
            if _declared(d).probe == "raw_input":  # the model the data is fed to, not the data's line
                target, data[i] = data_plan(fm, d)
            else:
                target = resolve_target(fm, d, outward=_declared(d).outward)
        except Unbuildable as exc:
            out[i] = _apply(diag, _unverified(str(exc)))
            continue
        groups.setdefault((d.path, target), []).append(i)

    if groups:
        from initlint.confirm.pool import WorkerPool, backend_missing

        pools: dict[str, WorkerPool] = {}
        started = time.monotonic()
        deadline = started + settings.confirm.total_timeout
        try:
            jobs: list[tuple[Target, Assembly, list[int], str]] = []
            for (path, target), group in groups.items():
                fm = files[path]
                try:
                    # The loss-pairing check reads the model's structure, not its weights: how a script
                    # re-initializes or loads them does not matter to it.
                    weights_matter = any(_declared(diagnostics[i]).probe != "loss_pairing" for i in group)
                    asm = assemble(fm, target, settings.confirm.modules, root, weights_matter)
                except Unbuildable as exc:
                    for i in group:
                        out[i] = _apply(diagnostics[i], _unverified(f"cannot build {target.name}: {exc}"))
                    continue
                by_backend: dict[str, list[int]] = {}
                for i in group:
                    backend = _backend_for(asm, _declared(diagnostics[i]))
                    missing = backend_missing(backend)
                    if missing is not None:
                        out[i] = _apply(diagnostics[i], _unverified(f"cannot measure {target.name}: {missing}"))
                    else:
                        by_backend.setdefault(backend, []).append(i)
                jobs.extend((target, asm, indices, backend) for backend, indices in by_backend.items())
            for key, (target, asm, indices, backend) in enumerate(jobs):
                _progress(key + 1, len(jobs), target.name, asm.path, started)
                checks = []
                for i in indices:
                    d = _located(diagnostics[i])
                    subject = d.subject
                    declared = _declared(d)
                    checks.append({
                        "index": i,
                        "probe": declared.probe,
                        "probe_params": dict(declared.params),
                        "lines": [d.span.line, max(d.span.line, d.span.end_line)],
                        "params": list(subject.params) if subject is not None else [],
                        "layers": list(subject.layers) if subject is not None else [],
                        # Which of the model's outputs the loss receives (a tuple's element, say).
                        "output": (_loss_output(files.get(diagnostics[i].path), diagnostics[i])
                                   if declared.probe == "loss_pairing" else None),
                        "model_output": (_takes_model_output(files.get(diagnostics[i].path), diagnostics[i])
                                         if declared.probe == "loss_pairing" else None),
                        # The finding's own lines (the loss) when `lines` are its related activation's.
                        "loss_lines": [diagnostics[i].span.line,
                                       max(diagnostics[i].span.line, diagnostics[i].span.end_line)],
                        # Its code: which loss it is (a `tf.nn` cross-entropy or a Keras loss).
                        "loss_text": _span_text(files.get(diagnostics[i].path), diagnostics[i])
                        if declared.probe == "loss_pairing" else "",
                        "data": data.get(i),
                        # The fan-in the static stage judged, which orients a hand-applied weight.
                        "fan_in": _stated_fan_in(diagnostics[i].message) if declared.probe == "scale" else None,
                    })
                left = deadline - time.monotonic()
                if left <= 0:
                    for i in indices:
                        out[i] = _apply(diagnostics[i], _unverified(
                            f"the total confirmation time limit ({settings.confirm.total_timeout:g} s) was reached"))
                    continue
                if backend not in pools:
                    pools[backend] = WorkerPool(settings.confirm.memory_mb, root, backend=backend)
                result = pools[backend].run(_job(asm, checks, settings, root, key, backend),
                                            min(settings.confirm.timeout, left))
                for i in indices:
                    d = diagnostics[i]
                    if not result.get("ok"):
                        out[i] = _apply(d, _unverified(f"cannot build {target.name}: {result.get('error')}"))
                        continue
                    measured = result["checks"].get(str(i)) or result["checks"].get(i)
                    if measured is None:
                        out[i] = _apply(d, _unverified("no measurement was returned for this finding"))
                        continue
                    if "unverified" in measured:
                        out[i] = _apply(d, _unverified(measured["unverified"]))
                        continue
                    measured = dict(measured, guessed=asm.guessed_arguments())
                    declared = _declared(d)
                    threshold = (None if declared.threshold is None
                                 else float(confirmed_by()[d.code].option(settings, declared.threshold)))
                    confirmation = VERDICTS[declared.probe](measured, threshold)
                    evidence = dict(confirmation.evidence)
                    evidence["model"] = f"{target.name} built from {asm.ctor_origin}" + (
                        f" as {asm.ctor}" if asm.ctor else "")
                    if asm.recipe_origin:
                        evidence["recipe"] = asm.recipe_origin
                    if result.get("memory_limit"):
                        evidence["memory_limit"] = result["memory_limit"]
                    out[i] = _apply(d, Confirmation(confirmation.status, confirmation.detail, evidence))
        finally:
            for pool in pools.values():
                pool.close()
    return [d for d in out if d is not None]


_FAN_IN = re.compile(r"\(fan-in (\d+)\)")


def _stated_fan_in(message: str) -> Optional[int]:
    """The fan-in an IL401 message states ("... is 0.0316 (fan-in 1000): ..."), if any."""
    found = _FAN_IN.search(message)
    return int(found.group(1)) if found else None
