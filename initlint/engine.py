"""One file through the pipeline: parse -> facts -> rules -> diagnostics -> suppressions.

`check_source` is the whole static analysis of one file; runner.py drives it
over many files (discovery, parallelism, cache, cross-file links) and the
language server calls it on unsaved buffers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import libcst as cst

from initlint.config import Settings
from initlint.diagnostics import TAKES_EFFECT, Diagnostic, Edit, Fix, Related, Span
from initlint.facts import ProjectExports
from initlint.facts.analysis import build_facts
from initlint.facts.modules import ForeignModule, checked_parse, place
from initlint.facts.project import collect_exports
from initlint.parse import parse_source
from initlint.positions import Positions
from initlint.rule import Finding, FixSpec, RelatedRef, active_rules
from initlint.suppress import apply_suppressions


@dataclass(frozen=True)
class FileResult:
    """One file's findings, plus what the cross-file link step needs from it."""

    path: str
    diagnostics: tuple[Diagnostic, ...]
    # What other files may link to (model outputs) and what this file needs
    # from others (losses on imported models); see facts/project.py.
    exports: Optional[ProjectExports] = None
    # Suppression comments of this file, kept so project-level findings can
    # honour them too: line -> codes (empty set = bare noqa).
    suppressions: dict[int, frozenset[str]] = field(default_factory=dict)
    # The roots whose analysis ran out of its step budget ("class `Net`"): analysed in part.
    partial: tuple[str, ...] = ()
    # Digests of the project modules whose definitions the analysis read: the result depends on them.
    depends: tuple[tuple[str, str], ...] = ()  # (absolute path, blake2b-16 hex)
    # Classes whose call sites in other files the analysis looked up (facts/callsites.py): a new or
    # edited file that calls one of them can change the result (runner.py re-analyses it).
    lookups: tuple[str, ...] = ()


def to_diagnostics(path: str, positions: Positions, findings: Sequence[Finding]) -> list[Diagnostic]:
    """Findings (node-based) -> diagnostics (span-based), one per (code, place)."""
    out: dict[tuple[str, Span], Diagnostic] = {}
    for finding in findings:
        span = positions.span(finding.node)
        key = (finding.code, span)
        if key in out:  # a rule never reports the same location twice
            continue
        related = tuple(
            ref if isinstance(ref, Related) else Related(path, positions.span(ref[0]), ref[1])
            for ref in finding.related
        )
        fix: Optional[Fix] = None
        if isinstance(finding.fix, FixSpec):
            fix = Fix(
                finding.fix.message,
                tuple(Edit(positions.span(node), text) for node, text in finding.fix.replacements),
                finding.fix.applicability,
            )
        elif isinstance(finding.fix, Fix):
            fix = finding.fix
        out[key] = finding.rule.diagnostic(
            path, span, finding.message, severity=finding.severity, related=related, fix=fix, subject=finding.subject
        )
    return sorted(out.values(), key=Diagnostic.sort_key)


def localize(
    findings: Sequence[Finding], foreign: Sequence[ForeignModule], entries: Sequence[tuple[cst.CSTNode, cst.CSTNode]] = (),
    checked: str = "",
) -> list[Finding]:
    """Findings placed in the checked file.

    A finding on a node of an imported module moves to its first related location
    in this file (the init call that caused it), else, inside an imported function this
    file's code ran (`entries`: `model.apply(init_weights)`), to that call; its own place
    becomes a related location in the other file. Without a local cause it is that
    file's own finding, which its own analysis reports, and is dropped. The other files'
    paths are written as the checked file's is (relative to the working directory, or absolute).
    """
    if not foreign:
        return list(findings)

    def shown(fm: ForeignModule) -> str:
        return fm.path if os.path.isabs(checked) or not checked else os.path.relpath(fm.path)

    out: list[Finding] = []
    for finding in findings:
        related: list[RelatedRef] = []
        local: Optional[tuple[cst.CSTNode, str]] = None
        for ref in finding.related:
            if isinstance(ref, Related):
                related.append(ref)
                continue
            where = place(ref[0], foreign)
            if where is None:
                if local is None:
                    local = ref
                related.append(ref)
            else:
                related.append(Related(shown(where[0]), where[1], ref[1]))
        primary = place(finding.node, foreign)
        if primary is None:
            finding.related = related
            out.append(finding)
            continue
        fm, span = primary
        entered = local is None
        if entered:
            local = _entry_into(fm, finding.node, entries)
        if local is None and entered:
            # A loss object built at the top of a helper module (`adversarial_loss = nn.BCELoss()`): the
            # helper that calls it (a related location) is what this file ran.
            for ref in (r for r in finding.related if not isinstance(r, Related)):
                where = place(ref[0], foreign)
                local = _entry_into(where[0], ref[0], entries) if where is not None else None
                if local is not None:
                    break
        if local is None:
            continue
        moved = [r for r in related if r is not local]
        if entered:  # the finding's own related locations (a loss rule's activation) stay first
            moved.append(Related(shown(fm), span, f"where it is written ({os.path.basename(fm.path)})"))
        else:
            moved.insert(0, Related(shown(fm), span, f"{TAKES_EFFECT} ({os.path.basename(fm.path)})"))
        finding.node = local[0]
        finding.related = moved
        finding.fix = None  # a fix is written for the node it was made on
        out.append(finding)
    return out


def _entry_into(
    fm: ForeignModule, node: cst.CSTNode, entries: Sequence[tuple[cst.CSTNode, cst.CSTNode]]
) -> Optional[tuple[cst.CSTNode, str]]:
    """The call in this file that ran the imported function holding `node`, if any."""
    for top, call in entries:
        if fm.span_in(top, node) is not None:
            return call, "applied here"
    return None


def check_source(path: str, text: str, settings: Settings, *, verify_fixes: bool = True) -> FileResult:
    """The static analysis of one file's text.

    `verify_fixes`: keep only the fixes that verify (fixes.verified); off for the
    verification's own reruns.
    """
    rules = active_rules(settings, path)
    codes = {r.code for r in rules}
    parsed = checked_parse(path, text, lambda source: parse_source(path, source))
    if isinstance(parsed, Diagnostic):
        return FileResult(path, (parsed,) if "IL001" in codes else ())
    facts = build_facts(parsed, path, settings)
    facts.positions.use_source(text)  # the text parsed: most findings are placed without a pass
    findings: list[Finding] = []
    for rule_class in rules:
        if rule_class.emitted_by_pipeline:
            continue
        findings.extend(rule_class().check(facts))
    findings = localize(findings, facts.foreign, facts.foreign_entries, path)  # a finding on an imported module's node
    positions = facts.positions
    exports = collect_exports(facts, positions.spans)
    diagnostics, suppressions = apply_suppressions(
        to_diagnostics(path, positions, findings), text, settings, path, pending=bool(exports and exports.pending)
    )
    if verify_fixes and any(d.fix is not None for d in diagnostics):  # files without fixes pay nothing
        from initlint.fixes import verified

        diagnostics = verified(
            path, text, diagnostics, lambda fixed: check_source(path, fixed, settings, verify_fixes=False).diagnostics
        )
    partial = tuple(dict.fromkeys(facts.partial_roots))
    depends = dict((os.path.abspath(fm.path), fm.digest) for fm in facts.foreign)
    depends.update(facts.callers)  # the files whose calls gave a class its arguments
    return FileResult(path, tuple(diagnostics), exports=exports, suppressions=suppressions, partial=partial,
                      depends=tuple(depends.items()), lookups=tuple(facts.lookups))
