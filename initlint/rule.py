"""The Rule base class, its examples, and the registry of shipped rules.

A rule is one class in one module under `initlint.rules` (the top-level
`rules/` folder of the repository). It declares its code, name, severity,
message template, documentation (ruff's headings) and VALID / INVALID
examples, and implements `check(facts)`, which only reads the shared
`FileFacts` and yields `Finding`s. The engine turns findings into
`Diagnostic`s (positions are resolved once per file, only when needed).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Optional, Union

from initlint.diagnostics import Applicability, Diagnostic, Fix, Related, Severity, Span, Subject
from initlint.options import Option as Option  # rules import Option from here
from initlint.options import OptionValue

if TYPE_CHECKING:
    import libcst as cst

    from initlint.config import Settings
    from initlint.facts import FileFacts

# ruff's headings, plus whether a fix is offered (and how safe it is) and what
# `--confirm` does with the finding: required so that no rule leaves them out.
DOC_HEADINGS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix", "## Confirmation")
CODE_PATTERN = re.compile(r"^IL\d{3}$")
NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DOCS_URL = "https://github.com/initlint/initlint/blob/main/docs/rules.md#{code_lower}-{name}"


@dataclass(frozen=True)
class Valid:
    """Source on which no rule may report anything."""

    source: str
    filename: str = "example.py"


@dataclass(frozen=True)
class Invalid:
    """Source on which exactly the findings `at` are expected.

    `at` lists (line, column) pairs of this rule's code, 1-based; `also` lists
    (code, line, column) triples of other rules that fire on the same source
    (one mistake can break several rules).
    """

    source: str
    at: Sequence[tuple[int, int]]
    also: Sequence[tuple[str, int, int]] = ()
    filename: str = "example.py"


# A related location is either a node of the same file or an already
# resolved place (another file, found by the project index).
# (libcst is named as a string: the pipeline's own findings, IL001-IL003, are built from
# their rules before the parser is ever imported.)
RelatedNode = tuple["cst.CSTNode", str]
RelatedRef = Union[RelatedNode, Related]


@dataclass(frozen=True)
class Confirm:
    """How `--confirm` checks a rule's finding: the worker's probe (PROBES in
    initlint/confirm/probes.py) and the parameters sent with it, the rule's option that holds the
    verdict's threshold, whether to build the outermost model that uses the flagged class (the
    verdict depends on what follows the flagged layer), the severity a confirmed or refuted
    finding takes, and what `--plot` draws as per-layer bars."""

    probe: str
    params: Mapping[str, Any] = field(default_factory=dict)
    threshold: Optional[str] = None
    outward: bool = False
    # Build the model at the finding's first related location (a loss finding's activation).
    at_related: bool = False
    severity_when_confirmed: Optional[Severity] = None
    severity_when_refuted: Optional[Severity] = None
    plot: Optional[tuple[str, str, str]] = None  # (evidence key, axis label, bar colour)
    # Measure a Keras model on the backend the file targets, not on torch: the verdict depends on
    # the loss the backend computes (TensorFlow's Keras recovers logits from a sigmoid/softmax output).
    file_backend: bool = False


@dataclass
class Finding:
    """What a rule reports, before positions are resolved."""

    rule: type[Rule]
    severity: Severity
    message: str
    node: cst.CSTNode
    related: list[RelatedRef] = field(default_factory=list)
    fix: Optional[Any] = None  # a FixSpec (node-based) or a resolved Fix
    subject: Optional[Subject] = None

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def name(self) -> str:
        return self.rule.name


@dataclass(frozen=True)
class FixSpec:
    """A fix described on nodes: replace each node's text with new text."""

    message: str
    replacements: tuple[tuple[cst.CSTNode, str], ...]
    applicability: Applicability = "unsafe"


class Rule:
    """Base class of every rule. Subclasses set the class attributes below."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    message: ClassVar[str]
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()
    # Rules the pipeline emits itself (IL001, IL002) have no check.
    emitted_by_pipeline: ClassVar[bool] = False
    # Flat `[tool.initlint]` keys this rule reads (options.py), and how `--confirm` checks it.
    options: ClassVar[tuple[Option, ...]] = ()
    confirmation: ClassVar[Optional[Confirm]] = None

    @classmethod
    def option(cls, settings: Settings, name: str) -> OptionValue:
        """The configured value of one of this rule's options, else its default."""
        declared = next((o for o in cls.options if o.name == name), None)
        if declared is None:
            raise KeyError(f"{cls.code} declares no option {name!r}")
        return settings.options.get(name, declared.default)

    @classmethod
    def option_values(cls, settings: Settings) -> dict[str, OptionValue]:
        return {o.name: cls.option(settings, o.name) for o in cls.options}

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        body = doc.split("## What it does", 1)[-1].strip()
        return " ".join(body.split("\n\n", 1)[0].split())

    @classmethod
    def one_line(cls) -> str:
        """The summary's first sentence, for tables."""
        summary = cls.summary()
        head, dot, _ = summary.partition(". ")
        return head + "." if dot else summary

    @classmethod
    def documentation(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def docs_url(cls) -> str:
        return DOCS_URL.format(code_lower=cls.code.lower(), name=cls.name)

    def check(self, facts: FileFacts) -> Iterable[Finding]:
        return ()

    def report(
        self,
        node: cst.CSTNode,
        *,
        related: Iterable[RelatedRef] = (),
        fix: Optional[Any] = None,
        subject: Optional[Subject] = None,
        severity: Optional[Severity] = None,
        **fmt: Any,
    ) -> Finding:
        return Finding(
            rule=type(self),
            severity=severity if severity is not None else self.severity,
            message=self.message.format(**fmt),
            node=node,
            related=list(related),
            fix=fix,
            subject=subject,
        )


    @classmethod
    def diagnostic(
        cls,
        path: str,
        span: Span,
        message: str,
        *,
        severity: Optional[Severity] = None,
        related: Sequence[Related] = (),
        fix: Optional[Fix] = None,
        subject: Optional[Subject] = None,
    ) -> Diagnostic:
        """This rule's finding at a resolved place: the one place where a rule's code, name and
        severity go into a Diagnostic (the engine's findings, the cross-file links, IL001-IL003)."""
        return Diagnostic(
            path=path,
            span=span,
            code=cls.code,
            name=cls.name,
            severity=severity if severity is not None else cls.severity,
            message=message,
            related=tuple(related),
            fix=fix,
            subject=subject,
        )


def pipeline_diagnostic(code: str, path: str, span: Span, message: str) -> Diagnostic:
    """A finding of a rule the pipeline emits itself (IL001 from the parser, IL002 from reading,
    IL003 from the suppression comments), built from that rule's definition. Only its module is
    imported: an unreadable file on a warm run must not load every rule and the parser."""
    return _pipeline_rule(code).diagnostic(path, span, message)


@cache
def _pipeline_rule(code: str) -> type[Rule]:
    from initlint.codes import rule_modules

    name = next(m for m in rule_modules() if m[:5].upper() == code)
    module = importlib.import_module(f"initlint.rules.{name}")
    rule = next(
        v for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, Rule) and v is not Rule and v.__module__ == module.__name__
    )
    assert rule.emitted_by_pipeline, code
    return rule


def _validate(rule: type[Rule], module_name: str) -> None:
    where = f"{module_name}.{rule.__name__}"
    if not CODE_PATTERN.match(rule.code):
        raise ImportError(f"{where}: code {rule.code!r} is not of the form IL123")
    if not NAME_PATTERN.match(rule.name):
        raise ImportError(f"{where}: name {rule.name!r} is not kebab-case")
    expected_module = f"{rule.code.lower()}_{rule.name.replace('-', '_')}"
    if module_name.rsplit(".", 1)[-1] != expected_module:
        raise ImportError(f"{where}: module should be named {expected_module}.py")
    expected_class = "".join(part.capitalize() for part in rule.name.split("-"))
    if rule.__name__ != expected_class:
        raise ImportError(f"{where}: class should be named {expected_class}")
    for option in rule.options:
        if not isinstance(option.default, option.type) or isinstance(option.default, bool):
            raise ImportError(f"{where}: option {option.name} has a default that is not {option.type.__name__}")
    confirm = rule.confirmation
    if confirm is not None and confirm.threshold is not None and confirm.threshold not in {o.name for o in rule.options}:
        raise ImportError(f"{where}: the confirmation's threshold {confirm.threshold!r} is not one of its options")
    doc = rule.__doc__ or ""
    missing = [h for h in DOC_HEADINGS if h not in doc]
    if missing:
        raise ImportError(f"{where}: docstring lacks {', '.join(missing)}")


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    """Every shipped rule, sorted by code; validated once at first use."""
    from initlint.codes import rule_modules  # `rules/`, shipped as initlint.rules

    found: dict[str, type[Rule]] = {}
    for name in rule_modules():
        module = importlib.import_module(f"initlint.rules.{name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
                _validate(value, module.__name__)
                if value.code in found:
                    raise ImportError(f"duplicate rule code {value.code}")
                found[value.code] = value
    return tuple(found[code] for code in sorted(found))


def rule_by_code(code: str) -> Optional[type[Rule]]:
    for rule in all_rules():
        if rule.code == code.upper() or rule.name == code.lower():
            return rule
    return None


def active_rules(settings: Settings, path: str) -> tuple[type[Rule], ...]:
    """The rules that run on `path` (selection.is_selected), in code order."""
    from initlint.selection import is_selected

    return tuple(r for r in all_rules() if is_selected(r.code, settings, path))


def iter_examples() -> Iterator[tuple[type[Rule], str, Union[Valid, Invalid]]]:
    """(rule, id, example) for every example of every rule; ids like IL101-INVALID-2."""
    for rule in all_rules():
        for i, valid in enumerate(rule.VALID, 1):
            yield rule, f"{rule.code}-VALID-{i}", valid
        for i, invalid in enumerate(rule.INVALID, 1):
            yield rule, f"{rule.code}-INVALID-{i}", invalid
