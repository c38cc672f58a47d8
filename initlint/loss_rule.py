"""The base of the IL3 loss rules: each judges a loss by the output activation it receives.

The pairs come from the analysis (facts/project.py: `loss_pairings` within a
file); initlint/link.py hands the same rules the pairs joined across files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Optional

from initlint.facts.project import LossPairing, loss_pairings
from initlint.rule import Finding, Rule

if TYPE_CHECKING:
    from initlint.facts import FileFacts


class LossPairingRule(Rule):
    """Base of the rules that judge a loss by the output activation it receives."""

    def applies(self, pairing: LossPairing) -> bool:
        raise NotImplementedError

    def fix(self, pairing: LossPairing, facts: FileFacts) -> Optional[Any]:
        """A FixSpec for a same-file pair, when the fix is safe and obvious."""
        return None

    def related_message(self, pairing: LossPairing) -> str:
        return f"the output goes through `{pairing.act_text}` here"

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        for pairing in loss_pairings(facts):
            if pairing.node is None or not self.applies(pairing):
                continue
            related = [(pairing.squash_node, self.related_message(pairing))] if pairing.squash_node is not None else []
            yield self.report(
                pairing.node,
                related=related,
                fix=self.fix(pairing, facts),
                loss=pairing.loss_text,
                act=pairing.act_text,
            )
