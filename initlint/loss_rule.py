"""The base of the IL3 loss rules: each judges a loss by the output activation it receives.

The pairs come from the analysis (facts/project.py: `loss_pairings` within a
file); initlint/link.py hands the same rules the pairs joined across files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Optional

from initlint.facts.modules import place
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
            loss = pairing.loss_text
            if pairing.loss_ctor is not None and _chosen_here(pairing, facts):
                # The finding moves here (engine.localize), not to the activation, and names the loss so.
                related.insert(0, (pairing.loss_ctor, "the loss is chosen here"))
                loss = facts.code(pairing.loss_ctor, 50)
            yield self.report(
                pairing.node,
                related=related,
                fix=self.fix(pairing, facts),
                loss=loss,
                act=pairing.act_text,
            )


def _chosen_here(pairing: LossPairing, facts: FileFacts) -> bool:
    """Whether the loss is computed in an imported module (a trainer's `self.loss_fn(out, y)`)
    but chosen in this file (`loss_fn = F.binary_cross_entropy` handed to that trainer)."""
    return (
        pairing.loss_ctor is not None and pairing.node is not None
        and place(pairing.node, facts.foreign) is not None and place(pairing.loss_ctor, facts.foreign) is None
    )
