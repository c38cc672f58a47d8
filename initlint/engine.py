"""One file through the pipeline: parse -> facts -> rules -> diagnostics -> suppressions.

`check_source` is the whole static analysis of one file; runner.py drives it
over many files (discovery, parallelism, cache, cross-file links) and the
language server calls it on unsaved buffers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from initlint.config import Settings
from initlint.diagnostics import Diagnostic, Edit, Fix, Related, Span
from initlint.facts import FileFacts, ProjectExports, build_facts
from initlint.facts.project import collect_exports
from initlint.parse import parse_source
from initlint.rule import Finding, FixSpec, Rule, select_rules
from initlint.suppress import apply_suppressions


@dataclass(frozen=True)
class FileResult:
    path: str
    diagnostics: tuple[Diagnostic, ...]
    # What other files may link to (model outputs) and what this file needs
    # from others (losses on imported models); see facts/project.py.
    exports: Optional[ProjectExports] = None
    # Suppression comments of this file, kept so project-level findings can
    # honour them too: line -> codes (empty set = bare noqa).
    suppressions: dict[int, frozenset[str]] = field(default_factory=dict)


def _span_of(positions: dict[cst.CSTNode, object], node: cst.CSTNode) -> Span:
    pos = positions.get(node)
    if pos is None:  # a node outside this module (should not happen); point at the top
        return Span(1, 1, 1, 1)
    start, end = pos.start, pos.end  # type: ignore[attr-defined]
    return Span(start.line, start.column + 1, end.line, end.column + 1)


def to_diagnostics(path: str, module: cst.Module, findings: Sequence[Finding]) -> list[Diagnostic]:
    """Resolve node positions once (only files with findings pay for it)."""
    if not findings:
        return []
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    out: dict[tuple[str, Span], Diagnostic] = {}
    for finding in findings:
        span = _span_of(positions, finding.node)
        related = tuple(
            ref if isinstance(ref, Related) else Related(path, _span_of(positions, ref[0]), ref[1])
            for ref in finding.related
        )
        fix: Optional[Fix] = None
        if isinstance(finding.fix, FixSpec):
            fix = Fix(
                finding.fix.message,
                tuple(Edit(_span_of(positions, node), text) for node, text in finding.fix.replacements),
            )
        elif isinstance(finding.fix, Fix):
            fix = finding.fix
        key = (finding.code, span)
        if key in out:  # a rule never reports the same location twice
            continue
        out[key] = Diagnostic(
            path=path,
            span=span,
            code=finding.code,
            name=finding.name,
            severity=finding.severity,
            message=finding.message,
            related=related,
            fix=fix,
            subject=finding.subject,
        )
    return sorted(out.values(), key=Diagnostic.sort_key)


def resolve_spans(module: cst.Module, nodes: Sequence[cst.CSTNode]) -> list[Span]:
    """Spans of a few nodes for the project index (facts/project.py): plain data, picklable."""
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return [_span_of(positions, node) for node in nodes]


def active_rules(settings: Settings, path: str) -> tuple[type[Rule], ...]:
    from initlint.suppress import per_file_ignored

    ignored = settings.ignore + per_file_ignored(settings, path)
    return select_rules(settings.selectors, ignored)


def check_source(path: str, text: str, settings: Settings) -> FileResult:
    """The static analysis of one file's text."""
    rules = active_rules(settings, path)
    codes = {r.code for r in rules}
    parsed = parse_source(path, text)
    if isinstance(parsed, Diagnostic):
        return FileResult(path, (parsed,) if "IL001" in codes else ())
    facts = build_facts(parsed, path, settings)
    findings: list[Finding] = []
    for rule_class in rules:
        if rule_class.emitted_by_pipeline:
            continue
        findings.extend(rule_class().check(facts))
    diagnostics, suppressions = apply_suppressions(
        to_diagnostics(path, parsed, findings), parsed, text, settings, path
    )
    exports = collect_exports(facts, lambda nodes: resolve_spans(parsed, nodes))
    return FileResult(path, tuple(diagnostics), exports=exports, suppressions=suppressions)
