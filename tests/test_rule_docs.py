"""Each rule's documentation says what the code does: whether it offers a fix, what `--confirm` does."""

from __future__ import annotations

import re

import pytest

from initlint.config import Settings
from initlint.diagnostics import Severity
from initlint.engine import check_source
from initlint.options import declared_options
from initlint.rule import DOC_HEADINGS, Invalid, Rule, _validate, all_rules

NO_FIX = "No automatic fix"
NO_CHECK = "`--confirm` has no check for this rule"


def section(rule: type[Rule], heading: str) -> str:
    doc = rule.documentation()
    body = doc.split(f"## {heading}\n", 1)[1]
    return body.split("\n## ", 1)[0].strip()


def fix_applicabilities(rule: type[Rule]) -> set[str]:
    """The applicabilities of the fixes the real engine offers on the rule's own INVALID examples."""
    found = set()
    for example in rule.INVALID:
        assert isinstance(example, Invalid)
        result = check_source(example.filename, example.source, Settings())
        found |= {d.fix.applicability for d in result.diagnostics if d.code == rule.code and d.fix is not None}
    return set(found)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_fix_section_matches_whether_the_rule_offers_a_fix(rule: type[Rule]) -> None:
    text = section(rule, "Fix")
    offered = fix_applicabilities(rule)
    if offered:
        assert not text.startswith(NO_FIX), text
        # A rewrite is only worth offering with its safety stated: the doc names, in bold, exactly
        # the applicabilities the engine gives its examples' fixes.
        assert set(re.findall(r"\*\*(safe|unsafe)\*\*", text)) == offered, (offered, text)
    else:
        assert text.startswith(NO_FIX), text


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_confirmation_section_matches_the_checks_the_stage_has(rule: type[Rule]) -> None:
    text = section(rule, "Confirmation")
    assert (NO_CHECK in text) == (rule.confirmation is None), text


def test_docs_cite_no_unshipped_notes() -> None:
    for rule in all_rules():
        assert not re.search(r"RULES\.md|\bseeds? \d{3}", rule.documentation(), re.IGNORECASE), rule.code


@pytest.mark.parametrize("heading", ["## Fix", "## Confirmation"])
def test_registry_rejects_a_rule_whose_doc_lacks_a_required_section(heading: str) -> None:
    assert heading in DOC_HEADINGS
    doc = "\n\n".join(f"{h}\ntext" for h in DOC_HEADINGS if h != heading)
    broken = type("ExampleRule", (Rule,), {"__doc__": doc, "code": "IL999", "name": "example-rule",
                                           "severity": Severity.INFO, "message": "x"})
    with pytest.raises(ImportError, match=re.escape(heading)):
        _validate(broken, "initlint.rules.il999_example_rule")


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_options_read_from_the_rule_text_are_the_options_the_rule_declares(rule: type[Rule]) -> None:
    """Settings are read without importing any rule, from the rule files' text (options.py):
    what that reading finds must be exactly the class's `options`."""
    read = tuple(option for code, option in declared_options().values() if code == rule.code)
    assert read == tuple(rule.options), "options must be a literal tuple of Option(name, int | float, default, doc)"


def test_a_rule_option_can_be_set_in_the_configuration() -> None:
    """The reading covers the rules that have options (an empty reading would agree with nothing)."""
    with_options = [rule for rule in all_rules() if rule.options]
    assert with_options
    assert {option.name for rule in with_options for option in rule.options} == set(declared_options())
