"""The cross-file link of a run: a loss in one file meets a model output in another.

Each file's analysis exports a plain-data summary (initlint/exports.py,
collected by facts/project.py): the output activation of each model class it
defines, and the losses it computes on instances of imported classes. After
every file is checked, `link_project` resolves each imported class against
the files of the run (relative to the importing file's directory, its
parents, then the project root, as Python would for a script) and lets the
same loss rules judge the pair. An import that resolves to no file, or a
class whose output is unknown, gives nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from initlint.config import Settings
from initlint.diagnostics import Diagnostic, Related
from initlint.engine import FileResult
from initlint.facts.modules import module_files
from initlint.facts.project import LossPairing
from initlint.loss_rule import LossPairingRule
from initlint.rule import active_rules
from initlint.suppress import is_suppressed


def link_project(results: Sequence[FileResult], settings: Settings) -> list[Diagnostic]:
    """Findings that join a loss in one file to a model output in another."""
    by_path = {os.path.abspath(r.path): r for r in results if r.exports is not None}
    if not any(r.exports is not None and r.exports.pending for r in results):
        return []
    out: list[Diagnostic] = []
    for result in results:
        if result.exports is None or not result.exports.pending:
            continue
        rules = [r() for r in active_rules(settings, result.path) if issubclass(r, LossPairingRule)]
        if not rules:
            continue
        for pending in result.exports.pending:
            exporter = next((by_path[c] for c in module_files(pending.target, result.path, settings.project_root) if c in by_path), None)
            if exporter is None or exporter.exports is None:
                continue
            output = exporter.exports.outputs.get(pending.target.rsplit(".", 1)[-1])
            if output is None:
                continue
            pairing = LossPairing(
                squash=output.squash,
                loss=pending.loss,
                from_logits=pending.from_logits,
                framework=pending.framework,
                compiled=False,
                caches_logits=False,
                loss_text=pending.loss_text,
                act_text=output.text,
            )
            for rule in rules:
                if not rule.applies(pairing):
                    continue
                related = Related(exporter.path, output.span, rule.related_message(pairing) + f" ({os.path.basename(exporter.path)})")
                message = rule.message.format(loss=pairing.loss_text, act=pairing.act_text)
                diagnostic = rule.diagnostic(result.path, pending.span, message, related=(related,))
                if not is_suppressed(diagnostic, result.suppressions):
                    out.append(diagnostic)
    return out
