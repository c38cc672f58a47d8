"""The confirmation stage: build each flagged model and measure whether the finding holds.

`confirm_diagnostics` is the one entry point. It assembles, in this process,
a module per flagged model from the file's syntax tree (never running the
user's script; see assemble.py), hands the builds to one worker process
(pool.py, worker.py: the only place torch and Keras are imported), and turns
the measurements into a Confirmation per finding (checks.py).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Any, Optional, Sequence

from initlint.config import Settings
from initlint.confirm.assemble import Assembly, FileModel, Target, Unbuildable, assemble, resolve_target
from initlint.confirm.checks import CHECKED_CODES, VERDICTS
from initlint.diagnostics import Confirmation, Diagnostic, Severity

__all__ = ["CHECKED_CODES", "confirm_diagnostics"]


def _unverified(reason: str) -> Confirmation:
    return Confirmation("unverified", reason, {})


def _read(path: str) -> str:
    with open(path, "rb") as fh:
        data = fh.read()
    return data.decode("utf-8-sig")


def _job(asm: Assembly, checks: list[dict[str, Any]], settings: Settings, project_root: str, key: int) -> dict[str, Any]:
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
        "recipe": asm.recipe,
        "checks": checks,
        "seed": settings.confirm.seed,
        "device": settings.confirm.device,
        "project_root": project_root,
    }


def _apply(diag: Diagnostic, confirmation: Confirmation) -> Diagnostic:
    out = diag.with_confirmation(confirmation)
    if diag.code == "IL201":
        # RULES.md: warning statically; error when confirmed; info when refuted.
        if confirmation.status == "confirmed":
            out = replace(out, severity=Severity.ERROR)
        elif confirmation.status == "refuted":
            out = replace(out, severity=Severity.INFO)
    return out


def confirm_diagnostics(
    diagnostics: Sequence[Diagnostic], settings: Settings, project_root: Optional[str] = None
) -> list[Diagnostic]:
    """The diagnostics, in the same order, with a confirmation on each one a rule can check."""
    root = os.path.abspath(project_root or settings.project_root or os.getcwd())
    out: list[Optional[Diagnostic]] = [None if d.code in CHECKED_CODES else d for d in diagnostics]
    files: dict[str, Any] = {}
    groups: dict[tuple[str, Target], list[int]] = {}
    for i, d in enumerate(diagnostics):
        if out[i] is not None:
            continue
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
            out[i] = _apply(d, _unverified(str(fm)))
            continue
        try:
            target = resolve_target(fm, d)
        except Unbuildable as exc:
            out[i] = _apply(d, _unverified(str(exc)))
            continue
        groups.setdefault((d.path, target), []).append(i)

    if groups:
        from initlint.confirm.pool import WorkerPool

        pool = WorkerPool(settings.confirm.memory_mb, root)
        deadline = time.monotonic() + settings.confirm.total_timeout
        try:
            for key, ((path, target), indices) in enumerate(groups.items()):
                fm = files[path]
                try:
                    asm = assemble(fm, target, settings.confirm.modules, root)
                except Unbuildable as exc:
                    for i in indices:
                        out[i] = _apply(diagnostics[i], _unverified(f"cannot build {target.name}: {exc}"))
                    continue
                checks = []
                for i in indices:
                    d = diagnostics[i]
                    subject = d.subject
                    checks.append({
                        "index": i,
                        "code": d.code,
                        "lines": [d.span.line, max(d.span.line, d.span.end_line)],
                        "params": list(subject.params) if subject is not None else [],
                        "layers": list(subject.layers) if subject is not None else [],
                    })
                left = deadline - time.monotonic()
                if left <= 0:
                    for i in indices:
                        out[i] = _apply(diagnostics[i], _unverified(
                            f"the total confirmation time limit ({settings.confirm.total_timeout:g} s) was reached"))
                    continue
                result = pool.run(_job(asm, checks, settings, root, key), min(settings.confirm.timeout, left))
                for i in indices:
                    d = diagnostics[i]
                    if not result.get("ok"):
                        out[i] = _apply(d, _unverified(f"cannot build {target.name}: {result.get('error')}"))
                        continue
                    measured = result["checks"].get(str(i)) or result["checks"].get(i)
                    if measured is None:
                        out[i] = _apply(d, _unverified("no measurement was returned for this finding"))
                        continue
                    measured = dict(measured, guessed=asm.guessed_arguments())
                    confirmation = VERDICTS[d.code](measured, settings)
                    evidence = dict(confirmation.evidence)
                    evidence["model"] = f"{target.name} built from {asm.ctor_origin}" + (
                        f" as {asm.ctor}" if asm.ctor else "")
                    if asm.recipe_origin:
                        evidence["recipe"] = asm.recipe_origin
                    if result.get("memory_limit"):
                        evidence["memory_limit"] = result["memory_limit"]
                    out[i] = _apply(d, Confirmation(confirmation.status, confirmation.detail, evidence))
        finally:
            pool.close()
    return [d for d in out if d is not None]
