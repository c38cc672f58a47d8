"""Every rule's VALID and INVALID examples, run through the real engine.

An INVALID example must produce exactly the expected (code, line, column)
findings; a VALID one must produce nothing from any rule, which catches
false positives that cross rules.
"""

from __future__ import annotations

from typing import Union

import pytest

from initlint.config import Settings
from initlint.engine import check_source
from initlint.rule import Invalid, Rule, Valid, iter_examples

EXAMPLES = list(iter_examples())


@pytest.mark.parametrize(("rule", "example"), [(r, e) for r, _, e in EXAMPLES], ids=[i for _, i, _ in EXAMPLES])
def test_rule_example(rule: type[Rule], example: Union[Valid, Invalid]) -> None:
    result = check_source(example.filename, example.source, Settings())
    found = sorted((d.code, d.line, d.column) for d in result.diagnostics)
    if isinstance(example, Invalid):
        expected = sorted([(rule.code, line, col) for line, col in example.at] + list(example.also))
        assert found == expected
    else:
        assert found == []


def test_every_rule_has_examples() -> None:
    from initlint.rule import all_rules

    for rule in all_rules():
        if rule.emitted_by_pipeline:
            continue
        assert rule.VALID, f"{rule.code} has no VALID example"
        assert rule.INVALID, f"{rule.code} has no INVALID example"
