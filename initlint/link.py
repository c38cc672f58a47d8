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
from typing import Optional

from initlint.config import Settings
from initlint.diagnostics import Diagnostic, Related
from initlint.engine import FileResult
from initlint.exports import OutputExport, parse_argument_target
from initlint.facts.modules import module_files
from initlint.facts.project import LossPairing
from initlint.loss_rule import LossPairingRule
from initlint.rule import active_rules
from initlint.suppress import is_suppressed


def _imported_output(target: str, importer: FileResult, by_path: dict[str, FileResult],
                     settings: Settings) -> Optional[tuple[FileResult, OutputExport]]:
    """The output of the imported model class `target` ("model.Scorer"), and the file that defines it."""
    exporter = next((by_path[c] for c in module_files(target, importer.path, settings.project_root) if c in by_path), None)
    if exporter is None or exporter.exports is None:
        return None
    output = exporter.exports.outputs.get(target.rsplit(".", 1)[-1])
    return (exporter, output) if output is not None else None


def _argument_output(target: str, owner: FileResult, results: Sequence[FileResult], by_path: dict[str, FileResult],
                     settings: Settings) -> Optional[tuple[FileResult, OutputExport, tuple[Related, ...]]]:
    """The output of the model another file hands to a constructor argument of `owner`'s class
    (`NFQAgent(NFQNetwork(), opt)` in train.py, for agents.py's loss on `self._nfq_net(x)`), when
    every file of the run that builds the class hands it the same model class."""
    parsed = parse_argument_target(target)
    assert parsed is not None
    cls, position, name = parsed
    owner_path = os.path.abspath(owner.path)
    found: dict[str, tuple[FileResult, OutputExport, tuple[Related, ...]]] = {}
    for result in results:
        for argument in result.exports.arguments if result.exports is not None else ():
            if argument.target.rsplit(".", 1)[-1] != cls or not (argument.position == position or argument.keyword == name):
                continue
            if owner_path not in module_files(argument.target, result.path, settings.project_root):
                continue
            if argument.local:
                local = result.exports.outputs.get(argument.model) if result.exports is not None else None
                output = (result, local) if local is not None else None
            else:
                output = _imported_output(argument.model, result, by_path, settings)
            if output is None:
                return None  # a model whose output is not known: the link is uncertain
            given = Related(result.path, argument.span, f"the network is given here ({os.path.basename(result.path)})")
            found[argument.model] = (*output, (given,))
    return next(iter(found.values())) if len(found) == 1 else None


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
            if parse_argument_target(pending.target) is not None:
                found = _argument_output(pending.target, result, results, by_path, settings)
            else:
                imported = _imported_output(pending.target, result, by_path, settings)
                found = (*imported, ()) if imported is not None else None
            if found is None:
                continue
            exporter, output, given = found
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
                diagnostic = rule.diagnostic(result.path, pending.span, message, related=(related, *given))
                if not is_suppressed(diagnostic, result.suppressions):
                    out.append(diagnostic)
    return out
