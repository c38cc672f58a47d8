"""`--plot DIR`: a per-layer bar chart for each confirmed finding whose rule declares a plot
(rule.Confirm.plot: IL302's gradient norms, IL401's layer-output RMS).

Drawn from the evidence the confirmation stage recorded, so it needs no
torch; matplotlib is an optional extra and is imported only here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Optional

from initlint.diagnostics import Diagnostic
from initlint.rule import rule_by_code


class PlotUnavailable(Exception):
    """matplotlib is not installed."""


def _file_name(d: Diagnostic) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", d.path.lstrip("./")).strip("_")
    return f"{stem}_{d.line}_{d.code}.png"


def _plot(d: Diagnostic) -> Optional[tuple[str, str, str]]:
    """(evidence key, axis label, bar colour) of the rule's declared plot."""
    rule = rule_by_code(d.code)
    return rule.confirmation.plot if rule is not None and rule.confirmation is not None else None


def write_plots(diagnostics: Sequence[Diagnostic], directory: str) -> list[str]:
    """Write one PNG per confirmed finding whose rule declares a plot; the paths written."""
    wanted = [
        (d, plot) for d in diagnostics
        if d.confirmation is not None and d.confirmation.status == "confirmed"
        and (plot := _plot(d)) is not None and plot[0] in d.confirmation.evidence
    ]
    if not wanted:
        return []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable("--plot needs matplotlib (pip install 'initlint[plot]')") from None
    os.makedirs(directory, exist_ok=True)
    written = []
    for d, (key, label, colour) in wanted:
        assert d.confirmation is not None
        values = [float(v) for v in d.confirmation.evidence[key]]
        layers = [str(n) for n in d.confirmation.evidence.get("layers", range(len(values)))]
        fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * len(values) + 2), 3.5))
        ax.bar(range(len(values)), values, color=colour)
        ax.set_yscale("log")
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels(layers, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(label)
        ax.set_title(f"{d.path}:{d.line} {d.code} {d.name}", fontsize=9)
        fig.tight_layout()
        out = os.path.join(directory, _file_name(d))
        fig.savefig(out, dpi=100)
        plt.close(fig)
        written.append(out)
    return written
