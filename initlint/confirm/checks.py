"""Verdicts: the worker's measurements -> confirmed / refuted, per rule (RULES.md "Confirmation").

Pure Python on numbers, so each criterion is testable without torch.
"""

from __future__ import annotations

import statistics
from typing import Any, Callable

from initlint.config import Settings
from initlint.diagnostics import Confirmation

CHECKED_CODES = frozenset({"IL101", "IL102", "IL103", "IL201", "IL302", "IL401"})
# Rows that differ by less than this (relative to the weight's scale) are identical:
# a constant layer fed by a constant next layer stays equal to ~6e-8 after 20 steps.
SYMMETRY_TOLERANCE = 1e-6


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _on_guesses(c: Confirmation, m: dict[str, Any]) -> Confirmation:
    """A verdict on guessed constructor arguments says so; a refutation on guesses stays unverified.

    Sizes decide some verdicts (an unscaled `randn` weight at width 16 is 9x, at
    512 it is 300x), so only the project's own sizes may silence a finding.
    """
    guess = m.get("guessed")
    if not guess or c.status == "unverified":
        return c
    args = f"guessed constructor arguments ({guess['arguments']})"
    if c.status == "confirmed":
        return Confirmation("confirmed", f"{c.detail} (with {args})", c.evidence)
    return Confirmation(
        "unverified",
        f"{c.detail}, but with {args}; the real sizes would settle it: set them under "
        f"[tool.initlint.confirm.modules.{guess['class']}] args = [...]",
        c.evidence,
    )


def zero_gradients(m: dict[str, Any], settings: Settings) -> Confirmation:
    """IL101/IL102/IL103: every judged parameter gets exactly zero gradient on both passes."""
    params: list[str] = m["params"]
    if not params:
        return Confirmation("unverified", "no trainable parameter lies upstream of the finding", {})
    p1, p2 = m["pass1"], m["pass2"]
    evidence = {"parameters": params, "judged": m["how"], "pass1_grad_norm": p1, "pass2_grad_norm": p2,
                "inputs": m.get("inputs")}
    moving1 = [n for n in params if p1[n] != 0.0]
    moving2 = [n for n in params if p2[n] != 0.0]
    if not moving1 and not moving2:
        return _on_guesses(Confirmation(
            "confirmed",
            f"{_names(params)} got exactly zero gradient on both passes (before and after one SGD step)",
            evidence,
        ), m)
    if moving1:
        n = max(moving1, key=lambda k: p1[k])
        detail = f"gradients flow: {n} got gradient norm {_fmt(p1[n])} on the first pass"
    else:
        n = max(moving2, key=lambda k: p2[k])
        detail = (f"gradients flow after one step: {n} got gradient norm {_fmt(p2[n])} on the second pass "
                  "(zero on the first)")
    return _on_guesses(Confirmation("refuted", detail, evidence), m)


def symmetry(m: dict[str, Any], settings: Settings) -> Confirmation:
    """IL201: the layer's units are still identical after one step."""
    units = m["units"]
    if not units:
        return Confirmation("unverified", "no weight with two or more units to compare (" + m["how"] + ")", {})
    evidence = {"judged": m["how"], "units": units, "inputs": m.get("inputs")}
    differ = [u for u in units if u["max_diff"] > SYMMETRY_TOLERANCE * max(1.0, u["scale"])]
    same = [u for u in units if u not in differ]
    if differ and same and all(u.get("output_layer") for u in differ):
        # The hidden layer is still symmetric; only the output layer's per-hidden-unit weights moved
        # apart (what feeds the units, such as random biases, differs). One step cannot tell whether
        # that drift ever separates the hidden units, so this neither confirms nor refutes.
        u = max(differ, key=lambda d: d["max_diff"])
        kept = ", ".join(f"{s['param']} ({s['axis']})" for s in same)
        return Confirmation(
            "unverified",
            f"after one SGD step the units of {kept} are still identical, but the {u['axis']} of {u['param']} "
            f"(one per hidden unit) differ by {_fmt(u['max_diff'])}: one step does not settle whether the "
            "hidden units separate",
            evidence,
        )
    if differ:
        u = max(differ, key=lambda d: d["max_diff"])
        return _on_guesses(Confirmation(
            "refuted",
            f"after one SGD step the {u['axis']} of {u['param']} differ (max difference {_fmt(u['max_diff'])}): "
            "something downstream breaks the symmetry",
            evidence,
        ), m)
    parts = ", ".join(f"{u['param']} ({u['units']} {u['axis']})" for u in units)
    return _on_guesses(Confirmation(
        "confirmed",
        f"after one SGD step every unit of {parts} is still identical (max difference "
        f"{_fmt(max(u['max_diff'] for u in units))})",
        evidence,
    ), m)


def vanishing(m: dict[str, Any], settings: Settings) -> Confirmation:
    """IL302: first/last per-layer weight-gradient norm below the threshold (median over seeds)."""
    layers: list[str] = m["layers"]
    if len(layers) < 2:
        return Confirmation("unverified", "fewer than two weight layers were used by the forward pass", {})
    ratios = []
    for norms in m["norms"]:
        ratios.append(norms[0] / norms[-1] if norms[-1] > 0 else (1.0 if norms[0] > 0 else 0.0))
    ratio = statistics.median(ratios)
    median_norms = [statistics.median(col) for col in zip(*m["norms"])]
    threshold = settings.thresholds.vanishing_ratio
    evidence = {"layers": layers, "grad_norms": median_norms, "ratio_first_last": ratio,
                "ratios_per_seed": ratios, "threshold": threshold, "inputs": m.get("inputs"),
                "measure": "weight-gradient norm"}
    summary = (f"weight-gradient norm first/last = {_fmt(median_norms[0])}/{_fmt(median_norms[-1])}, "
               f"ratio {_fmt(ratio)} (median over {len(ratios)} seeds) over {len(layers)} layers")
    if ratio < threshold:
        return _on_guesses(Confirmation("confirmed", f"{summary}, below {_fmt(threshold)}", evidence), m)
    return _on_guesses(Confirmation("refuted", f"{summary}, not below {_fmt(threshold)}", evidence), m)


def scale(m: dict[str, Any], settings: Settings) -> Confirmation:
    """IL401: layer-output RMS grows or shrinks by more than the ratio from first to last layer."""
    layers: list[str] = m["layers"]
    rms: list[float] = m["rms"]
    if len(layers) < 2:
        return Confirmation("unverified", "fewer than two weight layers were used by the forward pass", {})
    limit = settings.thresholds.scale_ratio
    first, last = rms[0], rms[-1]
    ratio = last / first if first > 0 else float("inf")
    evidence = {"layers": layers, "output_rms": rms, "ratio_last_first": ratio, "threshold": limit,
                "inputs": m.get("inputs"), "measure": "layer-output RMS"}
    summary = f"layer-output RMS {_fmt(first)} -> {_fmt(last)} over {len(layers)} layers ({_fmt(ratio)}x)"
    if ratio > limit or ratio < 1.0 / limit:
        return _on_guesses(Confirmation("confirmed", summary, evidence), m)
    return _on_guesses(Confirmation("refuted", f"{summary}, within {_fmt(limit)}x", evidence), m)


VERDICTS: dict[str, Callable[[dict[str, Any], Settings], Confirmation]] = {
    "IL101": zero_gradients,
    "IL102": zero_gradients,
    "IL103": zero_gradients,
    "IL201": symmetry,
    "IL302": vanishing,
    "IL401": scale,
}
