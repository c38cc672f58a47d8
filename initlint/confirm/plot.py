"""`--plot DIR`: a per-layer bar chart for each confirmed vanishing (IL302) or scale (IL401) finding.

Drawn from the evidence the confirmation stage recorded, so it needs no
torch; matplotlib is an optional extra and is imported only here.
"""

from __future__ import annotations

import os
import re
from typing import Sequence

from initlint.diagnostics import Diagnostic

PLOTTED = {"IL302": ("grad_norms", "weight-gradient norm"), "IL401": ("output_rms", "layer-output RMS")}


class PlotUnavailable(Exception):
    """matplotlib is not installed."""


def _file_name(d: Diagnostic) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", d.path.lstrip("./")).strip("_")
    return f"{stem}_{d.line}_{d.code}.png"


def write_plots(diagnostics: Sequence[Diagnostic], directory: str) -> list[str]:
    """Write one PNG per confirmed IL302/IL401 finding; the paths written."""
    wanted = [
        d for d in diagnostics
        if d.code in PLOTTED and d.confirmation is not None and d.confirmation.status == "confirmed"
        and PLOTTED[d.code][0] in d.confirmation.evidence
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
    for d in wanted:
        assert d.confirmation is not None
        key, label = PLOTTED[d.code]
        values = [float(v) for v in d.confirmation.evidence[key]]
        layers = [str(n) for n in d.confirmation.evidence.get("layers", range(len(values)))]
        fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * len(values) + 2), 3.5))
        ax.bar(range(len(values)), values, color="#c0392b" if d.code == "IL302" else "#2c7fb8")
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
