"""Verdicts: the worker's measurements -> confirmed / refuted, per probe (RULES.md "Confirmation").

A rule names its probe in its `confirmation` declaration (rule.Confirm); the
worker runs the probe of that name and this module reads its measurement.
Pure Python on numbers, so each criterion is testable without torch.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any, Optional

from initlint.diagnostics import Confirmation

# Rows that differ by less than this (relative to the weight's scale) are identical:
# a constant layer fed by a constant next layer stays equal to ~6e-8 after 20 steps.
SYMMETRY_TOLERANCE = 1e-6


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _on_guesses(c: Confirmation, m: dict[str, Any]) -> Confirmation:
    """A verdict says what it rests on: the outputs the script's loss takes, guessed constructor
    arguments or a guessed input shape; a refutation on guesses stays unverified.

    Sizes decide some verdicts (an unscaled `randn` weight at width 16 is 9x, at
    512 it is 300x), so only the project's own sizes may silence a finding.
    """
    if m.get("judged_on") and c.status != "unverified":
        c = Confirmation(c.status, f"{c.detail}, through {m['judged_on']}", c.evidence)
    shape = m.get("inputs_guessed")
    if shape and c.status != "unverified":
        given = f"a guessed input shape {shape['shape']} ({shape['dtype']}; the script's data is not in the file)"
        if c.status == "confirmed":
            c = Confirmation("confirmed", f"{c.detail} (on {given})", c.evidence)
        else:
            return Confirmation("unverified", f"{c.detail}, but on {given}; the real input shape would settle "
                                f"it: set inputs under [tool.initlint.confirm.modules.{shape['target']}]",
                                c.evidence)
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


def zero_gradients(m: dict[str, Any], threshold: Optional[float]) -> Confirmation:
    """IL101/IL102/IL103: every judged parameter gets exactly zero gradient on both passes. With several
    operations on the flagged line, each is judged on its own upstream parameters: one whose gradients
    are all zero confirms (the finding is about one of them), and only all of them moving refutes."""
    if m.get("groups"):
        verdicts = [zero_gradients(dict(m, groups=None, params=g), threshold) for g in m["groups"]]
        chosen = next((v for v in verdicts if v.status == "confirmed"), None) or next(
            (v for v in verdicts if v.status == "unverified"), None)
        if chosen is not None:
            return chosen  # otherwise every operation's parameters move: refuted on all of them together
    params: list[str] = m["params"]
    if not params:
        if m.get("judged_on"):
            return Confirmation("unverified", f"no trainable parameter upstream of the finding feeds {m['judged_on']}, "
                                "so the training gives them no gradient whatever their init", {})
        return Confirmation("unverified", "no trainable parameter lies upstream of the finding", {})
    p1, p2 = m["pass1"], m["pass2"]
    evidence = {"parameters": params, "judged": m["how"], "pass1_grad_norm": p1, "pass2_grad_norm": p2,
                "inputs": m.get("inputs")}
    if m.get("judged_on"):
        evidence["outputs"] = m["judged_on"]
    moving1 = [n for n in params if p1[n] != 0.0]
    moving2 = [n for n in params if p2[n] != 0.0]
    # An output counts only if the judged parameters lie upstream of it: one they do not reach says nothing.
    still = next((k for k, a in enumerate(m.get("each_output") or []) if set(params) & set(a.get("upstream", params))
                  and not any(a["pass1"].values()) and not any(a["pass2"].values())), None)
    if (moving1 or moving2) and still is not None:
        # Only what the model also returns (embeddings, features) moves them: whether a loss takes it decides.
        n = max(moving1 or moving2, key=lambda k: max(p1[k], p2[k]))
        return Confirmation("unverified", f"{_names(params)} got exactly zero gradient through the model's "
                            f"{_ordinal(still)} output alone, but {n} gets gradient through the other outputs it "
                            "returns: whether the loss takes them decides", evidence)
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


def _apart(diff: float, scale: float) -> bool:
    """A difference beyond rounding, for weights whose largest value is `scale`."""
    return bool(diff > SYMMETRY_TOLERANCE * max(1.0, scale))


def _parted(unit: dict[str, Any]) -> bool:
    """A judged weight's units differ after the step by more than rounding."""
    return _apart(unit["max_diff"], unit["scale"])


def feeds_parted(unit: dict[str, Any]) -> bool:
    """Identical units whose next layer's weights on them parted in the step (equal at init): they get
    different gradients at the next one. Weights apart from the start already acted in this step."""
    feeds: Optional[dict[str, Any]] = unit.get("feeds")
    if not feeds or _parted(unit):
        return False
    return _apart(feeds["max_diff"], feeds["scale"]) and not _apart(feeds["max_diff_at_init"], feeds["scale"])


def _ordinal(k: int) -> str:
    return ("first", "second", "third", "fourth")[k] if k < 4 else f"#{k + 1}"


def nothing_learned(units: list[dict[str, Any]]) -> bool:
    """No judged weight moved in the step while one of them is a nonzero constant: on the probe batch
    every ReLU after it was dead (a zero weight that gets no gradient stays symmetric for good)."""
    return bool(units) and all(u["moved"] == 0.0 for u in units) and any(u["scale"] > 0.0 for u in units)


def symmetry(m: dict[str, Any], threshold: Optional[float]) -> Confirmation:
    """IL201: the layer's units are still identical after one step."""
    units = m["units"]
    after = "two SGD steps" if m.get("steps") == 2 else "one SGD step"
    if not units and m.get("unused"):
        return Confirmation("unverified", f"the forward pass does not use {_names(m['unused'])}, so one step "
                            "cannot show whether its units separate in training", {"unused": m["unused"]})
    if not units:
        return Confirmation("unverified", "no weight with two or more units to compare (" + m["how"] + ")", {})
    evidence = {"judged": m["how"], "units": units, "inputs": m.get("inputs")}
    if m.get("judged_on"):
        evidence["outputs"] = m["judged_on"]
    differ = [u for u in units if _parted(u)]
    same = [u for u in units if u not in differ]
    # Each output alone, on the judged weights it reaches (one they do not reach says nothing).
    each = [[u for u in a["units"] if u["param"] in a["upstream"]] for a in m.get("each_output") or []]
    still = next((k for k, alone in enumerate(each) if alone and not any(_parted(u) for u in alone)), None)
    if differ and still is not None:
        return Confirmation("unverified", f"through the model's {_ordinal(still)} output alone the units of "
                            f"{_names([u['param'] for u in each[still]])} stay identical; only the other outputs it "
                            "returns separate them: whether the loss takes them decides", evidence)
    if differ and same and all(u.get("output_layer") for u in differ):
        # The hidden layer is still symmetric; only the output layer's per-hidden-unit weights moved
        # apart (what feeds the units, such as random biases, differs). One step cannot tell whether
        # that drift ever separates the hidden units, so this neither confirms nor refutes.
        u = max(differ, key=lambda d: d["max_diff"])
        kept = ", ".join(f"{s['param']} ({s['axis']})" for s in same)
        return Confirmation(
            "unverified",
            f"after {after} the units of {kept} are still identical, but the {u['axis']} of {u['param']} "
            f"(one per hidden unit) differ by {_fmt(u['max_diff'])}: one step does not settle whether the "
            "hidden units separate",
            evidence,
        )
    if differ and same:
        # A later layer's rows may part while its columns (one per unit of the earlier layer) stay
        # equal, which keeps the earlier layer symmetric for good: one step does not settle it.
        u = max(differ, key=lambda d: d["max_diff"])
        kept = ", ".join(f"{s['param']} ({s['axis']})" for s in same)
        return Confirmation(
            "unverified",
            f"after {after} the units of {kept} are still identical, but the {u['axis']} of {u['param']} "
            f"differ by {_fmt(u['max_diff'])}: one step does not settle whether the identical units ever separate",
            evidence,
        )
    if differ:
        u = max(differ, key=lambda d: d["max_diff"])
        return _on_guesses(Confirmation(
            "refuted",
            f"after {after} the {u['axis']} of {u['param']} differ (max difference {_fmt(u['max_diff'])}): "
            "something downstream breaks the symmetry",
            evidence,
        ), m)
    fed = [u for u in units if feeds_parted(u)]
    if fed:
        # The next layer's weights on these units already differ: they get different gradients at the next step.
        u = fed[0]
        return Confirmation("unverified", f"after {after} the units of {u['param']} are still identical, but "
                            f"the weights of {u['feeds']['param']} on them differ by {_fmt(u['feeds']['max_diff'])}: "
                            "they may part at a later step", evidence)
    if nothing_learned(units):  # identical units say nothing
        return Confirmation("unverified", f"no judged weight moved in the SGD step ({_names([u['param'] for u in units])} "
                            "got no gradient on the probe inputs), so the step cannot show whether the units separate",
                            evidence)
    parts = ", ".join(f"{u['param']} ({u['units']} {u['axis']})" for u in units)
    return _on_guesses(Confirmation(
        "confirmed",
        f"after {after} every unit of {parts} is still identical (max difference "
        f"{_fmt(max(u['max_diff'] for u in units))})",
        evidence,
    ), m)


def vanishing(m: dict[str, Any], threshold: Optional[float]) -> Confirmation:
    """IL302: first/last per-layer weight-gradient norm below the threshold (median over seeds)."""
    layers: list[str] = m["layers"]
    if len(layers) < 2:
        return Confirmation("unverified", "fewer than two weight layers were used by the forward pass", {})
    ratios = []
    for norms in m["norms"]:
        ratios.append(norms[0] / norms[-1] if norms[-1] > 0 else (1.0 if norms[0] > 0 else 0.0))
    ratio = statistics.median(ratios)
    median_norms = [statistics.median(col) for col in zip(*m["norms"])]
    assert threshold is not None, "the vanishing probe needs a threshold option"
    evidence = {"layers": layers, "grad_norms": median_norms, "ratio_first_last": ratio,
                "ratios_per_seed": ratios, "threshold": threshold, "inputs": m.get("inputs"),
                "measure": "weight-gradient norm"}
    summary = (f"weight-gradient norm first/last = {_fmt(median_norms[0])}/{_fmt(median_norms[-1])}, "
               f"ratio {_fmt(ratio)} (median over {len(ratios)} seeds) over {len(layers)} layers")
    if ratio < threshold:
        return _on_guesses(Confirmation("confirmed", f"{summary}, below {_fmt(threshold)}", evidence), m)
    return _on_guesses(Confirmation("refuted", f"{summary}, not below {_fmt(threshold)}", evidence), m)


def scale(m: dict[str, Any], threshold: Optional[float]) -> Confirmation:
    """IL401: layer-output RMS grows or shrinks by more than the ratio from first to last layer, or
    the first layer alone grows what it reads (the model's input) beyond it."""
    layers: list[str] = m["layers"]
    rms: list[float] = m["rms"]
    assert threshold is not None, "the scale probe needs a threshold option"
    limit = threshold
    # The first layer's own gain: its output RMS over the model input's (torch), or over what it
    # reads (TF graphs). N(0, 1) weights on 784 inputs take RMS 1 to ~28; Kaiming's gain is ~1.4.
    start = m.get("input_rms")
    gain0 = (rms[0] / start if start else (m.get("gains") or {}).get(layers[0])) if layers and rms else None
    grows = f"its first layer alone scales what it reads by {_fmt(gain0)}x" if gain0 is not None else ""
    if len(layers) < 2:
        if gain0 is not None and gain0 > limit and "orientation_gains" in m:
            # A weight the script applies by hand, measured on unit-variance rows of its fan-in.
            return _on_guesses(Confirmation("confirmed", f"`{layers[0]}` scales the RMS of unit-variance inputs "
                                            f"by {_fmt(gain0)}x, beyond {_fmt(limit)}x",
                                            {"layers": layers, "first_layer_gain": gain0, "threshold": limit,
                                             "orientation_gains": m["orientation_gains"],
                                             "inputs": m.get("inputs")}), m)
        if gain0 is not None and gain0 > limit:
            return _on_guesses(Confirmation("confirmed", f"the only weight layer used scales what it reads by "
                                            f"{_fmt(gain0)}x, beyond {_fmt(limit)}x",
                                            {"layers": layers, "output_rms": rms, "first_layer_gain": gain0,
                                             "threshold": limit, "inputs": m.get("inputs")}), m)
        return Confirmation("unverified", "fewer than two weight layers were used by the forward pass", {})
    first, last = rms[0], rms[-1]
    ratio = last / first if first > 0 else float("inf")
    evidence = {"layers": layers, "output_rms": rms, "ratio_last_first": ratio, "threshold": limit,
                "inputs": m.get("inputs"), "measure": "layer-output RMS"}
    summary = f"layer-output RMS {_fmt(first)} -> {_fmt(last)} over {len(layers)} layers ({_fmt(ratio)}x)"
    # Across a sigmoid or tanh the last layer reads values in (-1, 1) whatever the first one gave:
    # a shrink there is the bound's, not the init's (a two-moons net at N(0, 1) measures 0.1x).
    if ratio > limit or ratio < 1.0 / limit and not m.get("bounded"):
        return _on_guesses(Confirmation("confirmed", summary, evidence), m)
    if gain0 is not None:
        evidence["first_layer_gain"] = gain0
    if gain0 is not None and gain0 > limit:
        # Later layers of the same init keep the size the first one reached (RMS ~28, then within
        # 10x of that). Only growth: a small first-layer gain is DCGAN's N(0, 0.02) before a
        # BatchNorm, which trains.
        return _on_guesses(Confirmation("confirmed", f"{summary}, but {grows}, beyond {_fmt(limit)}x", evidence), m)
    # A flagged weight's own gain (before its bias): behind a bounding activation it still shows the
    # weight's scale; elsewhere a later layer that grows what it reads (an N(0, 1) [300, 10] output
    # weight: ~17x) is what the first layer's gain is for the first. A flagged weight that shrinks
    # what it reads tenfold is too small whatever its bias adds (std 0.001 Linear layers measure
    # 0.016x each, while their default biases keep every output's RMS near 0.04).
    gains = {k: g for k, g in (m.get("gains") or {}).items() if g > limit or g < 1.0 / limit}
    if gains:
        name, gain = max(gains.items(), key=lambda kv: abs(math.log(kv[1])) if kv[1] > 0 else math.inf)
        evidence["layer_gain"] = m["gains"]
        held = ", held by a sigmoid or tanh between the layers," if m.get("bounded") else ","
        return _on_guesses(Confirmation(
            "confirmed", f"{summary}{held} but {name} itself scales "
            f"the RMS of what it reads by {_fmt(gain)}x ({f'beyond {_fmt(limit)}x' if gain > 1 else f'below 1/{_fmt(limit)}'})", evidence), m)
    # Flagged weights that each shrink what they read, together beyond the ratio: a run of too-small
    # layers (two at 0.19x each carry 0.036 of the signal, which their biases hide from first-to-last).
    shrinking = {k: g for k, g in (m.get("gains") or {}).items() if 0 < g < 1}
    if len(shrinking) > 1 and math.prod(shrinking.values()) < 1.0 / limit:
        evidence["layer_gain"] = m["gains"]
        return _on_guesses(Confirmation(
            "confirmed", f"{summary}, but {', '.join(shrinking)} together scale the RMS of what they read by "
            f"{_fmt(math.prod(shrinking.values()))}x (below 1/{_fmt(limit)})", evidence), m)
    if m.get("bounded"):
        # A sigmoid or tanh between the layers caps each layer's input, so an unscaled init shows as
        # saturation rather than growth: staying within the ratio proves nothing.
        return Confirmation("unverified", f"{summary}, but a sigmoid or tanh between the layers bounds their "
                            "inputs, so the RMS cannot show an unscaled init", evidence)
    refuted = _on_guesses(Confirmation("refuted", f"{summary}, within {_fmt(limit)}x", evidence), m)
    if refuted.status == "refuted" and gain0 is not None and gain0 > math.sqrt(limit):
        # Growing its input several times over is no healthy init either, and two probe samples
        # measure one layer's gain only roughly: no refutation on it.
        return Confirmation("unverified", f"{summary}, within {_fmt(limit)}x, but {grows}", evidence)
    grown = {k: g for k, g in (m.get("gains") or {}).items() if g > math.sqrt(limit)}
    if refuted.status == "refuted" and grown:
        # The same for a flagged later layer (a fan-in-scaled init keeps each layer's gain near 1).
        name, gain = max(grown.items(), key=lambda kv: kv[1])
        evidence["layer_gain"] = m["gains"]
        return Confirmation("unverified", f"{summary}, within {_fmt(limit)}x, but {name} itself scales the RMS "
                            f"of what it reads by {_fmt(gain)}x", evidence)
    return refuted


# The first layer's gradient with the extra activation, as a fraction of without it, below
# which a doubly squashed output is confirmed (measured on prototypes: 0.021-0.23).
ACTIVATED_RATIO = 0.5
# With two classes a softmax's Jacobian at init halves the gradient (about 1/C in general), so the
# ratio sits at 0.5 whether or not the pair hurts; a two-class softmax before cross-entropy still
# floors the loss at 0.313 and its gradient vanishes once it saturates (3e-9 against 1 at z = 20).
TWO_CLASS_RATIO = 0.75
# A saturated wrong sample whose dL/dz is below this fraction of the logits loss's does not learn.
SATURATED_FRACTION = 1e-3
# Activation RMS or gradient norm changing more than this over a plain stack is drift.
DRIFT = 10.0


def loss_pairing(m: dict[str, Any], threshold: Optional[float]) -> Confirmation:
    """IL301/IL303/IL304: the activation's output reaches the loss at run time, and the gradient
    it leaves is shrunk (IL304) or vanishes at a saturated wrong sample (IL301, IL303)."""
    if m.get("activation") is None:
        return Confirmation("unverified", f"no sigmoid or softmax ran on lines {m['lines'][0]}-{m['lines'][1]} "
                            "in the forward pass", {"inputs": m.get("inputs")})
    evidence = {k: v for k, v in m.items() if k != "lines"}
    if "outputs" in m:
        return Confirmation("unverified", f"the model returns {m['outputs']} tensors, the {m['activation']} on line "
                            f"{m['lines'][0]} reaches none of them, and the script does not show which one "
                            "the loss receives", evidence)
    if not m["on_path"]:
        return _on_guesses(Confirmation("refuted", f"the {m['activation']} on line {m['lines'][0]} does not "
                                        "reach the model's output at run time", evidence), m)
    if "ratio" in m:
        ratio = m["ratio"]
        if ratio is None:
            return Confirmation("unverified", f"{m['layer']} gets no gradient even on the logits", evidence)
        evidence["threshold"] = ACTIVATED_RATIO
        if m.get("recovered") and m.get("model_output") is False:
            # Measured on the model's output; the script's loss gets it through an op (`tf.reshape`),
            # which drops the logits Keras would take back.
            return Confirmation("unverified", f"Keras on TensorFlow takes the logits behind the {m['activation']} "
                                "from the model's own output, but the loss on this line receives it through "
                                "another operation, which may drop them", evidence)
        if m.get("recovered"):
            # A Keras loss on TensorFlow: exact whatever the sizes, so no guessed shape can change it.
            return Confirmation("refuted", f"Keras on TensorFlow computes this loss from the logits behind the "
                                f"{m['activation']} even with from_logits=True (it warns): the loss and {m['layer']}'s "
                                f"gradient equal the logits loss's (gradient ratio {_fmt(ratio)}); on the jax or "
                                "torch backend they would not", evidence)
        summary = (f"{m['layer']} gradient norm with the {m['activation']} {_fmt(m['grad_with'])} against "
                   f"{_fmt(m['grad_without'])} on the logits (ratio {_fmt(ratio)}); the loss cannot go below "
                   f"{_fmt(m['loss_floor'])}")
        bound = TWO_CLASS_RATIO if m["activation"] == "softmax" and m.get("classes") == 2 else ACTIVATED_RATIO
        evidence["threshold"] = bound
        if ratio < bound:
            return Confirmation("confirmed", summary, evidence)
        return Confirmation("refuted", f"{summary}: not below {_fmt(bound)}", evidence)
    summary = (f"the sigmoid output reaches the {m['loss'].upper()} loss; at a saturated wrong sample "
               f"(logit {_fmt(m['saturated_logit'])}, label 0) dL/dz is {'nan' if m['dz'] is None else _fmt(m['dz'])} against "
               f"{_fmt(m['dz_logits'])} with " + ("sigmoid_cross_entropy_with_logits on TensorFlow"
                                                  if m.get("backend") == "tensorflow" else "BCEWithLogitsLoss"))
    if m["dz"] is None:
        # A hand-written log-loss on TensorFlow: log(1 - sigmoid(20)) is log(0), inf, and its gradient nan.
        return _on_guesses(Confirmation("confirmed", summary + f" (the loss is {m.get('loss_at_saturation')}: "
                                        "the log of an exactly 0 probability)", evidence), m)
    if m["dz"] < SATURATED_FRACTION * m["dz_logits"]:
        return _on_guesses(Confirmation("confirmed", summary, evidence), m)
    return _on_guesses(Confirmation("refuted", summary, evidence), m)


def depth_drift(m: dict[str, Any], threshold: Optional[float]) -> Confirmation:
    """IL402: advice, never refuted: confirmed when activations or gradients drift through the stack."""
    layers, rms, grads = m["layers"], m["output_rms"], m["grad_norms"]
    if len(layers) < 2:
        return Confirmation("unverified", "fewer than two weight layers were used by the forward pass", {})
    rms_ratio = rms[-1] / rms[0] if rms[0] > 0 else float("inf")
    grad_ratio = grads[0] / grads[-1] if grads[-1] > 0 else float("inf")
    evidence = {"layers": layers, "output_rms": rms, "grad_norms": grads, "rms_last_first": rms_ratio,
                "grad_first_last": grad_ratio, "threshold": DRIFT, "inputs": m.get("inputs")}
    summary = (f"over {len(layers)} layers the layer-output RMS changes {_fmt(rms_ratio)}x and the "
               f"weight-gradient norm first/last is {_fmt(grad_ratio)}")
    drift = any(r > DRIFT or r < 1.0 / DRIFT for r in (rms_ratio, grad_ratio))
    if drift:
        return Confirmation("confirmed", f"{summary}: beyond {_fmt(DRIFT)}x", evidence)
    # Advice about depth: a stack that trains well at init may still drift later, so no refutation.
    return Confirmation("unverified", f"{summary}: within {_fmt(DRIFT)}x at initialization", evidence)


# Raw loss growing by this factor over the replayed steps counts as diverging, like inf or nan.
RAW_GROWTH = 1e3


def _losses(values: list[float]) -> str:
    shown = [_fmt(v) for v in values[:3]] + (["..."] if len(values) > 4 else []) + [_fmt(v) for v in values[3:][-1:]]
    return " -> ".join(shown)


def raw_input(m: dict[str, Any], threshold: Optional[float]) -> Confirmation:
    """IL403: the script's own literal data, replayed raw and standardized from the same initial
    weights: the raw loss overflowing (inf, nan or a 1e3x growth) while the standardized run stays
    finite confirms; a raw run that stays finite and does not grow refutes."""
    if "reason" in m:
        return Confirmation("unverified", m["reason"], {})
    raw, std = m["raw"], m["standardized"]
    opt = m["optimizer"]
    setup = (f"{m['steps']} steps of {opt['class']}({', '.join(f'{k}={v!r}' for k, v in opt['kwargs'].items())})"
             f", batch {m['batch_size']} of {m['samples']} samples, mean squared error")
    evidence = {"raw_loss": raw, "standardized_loss": std, "setup": setup, "data_range": m["range"],
                "features_shape": m["features_shape"], "threshold": RAW_GROWTH, "fed_line": m["fed_line"]}
    summary = f"{setup}: raw loss {_losses(raw)}; standardized {_losses(std)}"
    finite = all(math.isfinite(v) for v in raw)
    grown = max(raw) / raw[0] if finite and raw[0] > 0 else (math.inf if not finite else 1.0)
    std_finite = all(math.isfinite(v) for v in std)
    if grown >= RAW_GROWTH:
        if std_finite:
            return Confirmation("confirmed", summary, evidence)
        return Confirmation("unverified", f"{summary}: standardized data diverges too, so the scale of the data "
                            "is not what breaks the training", evidence)
    if finite and raw[-1] <= raw[0]:
        return Confirmation("refuted", f"{summary}: the raw run stays finite and does not grow", evidence)
    return Confirmation("unverified", f"{summary}: the raw loss grows {_fmt(grown)}x, short of "
                        f"{_fmt(RAW_GROWTH)}x, in {m['steps']} steps", evidence)


# Probe name -> verdict on its measurement, given the value of the rule's threshold option.
VERDICTS: dict[str, Callable[[dict[str, Any], Optional[float]], Confirmation]] = {
    "zero_gradients": zero_gradients,
    "symmetry": symmetry,
    "vanishing": vanishing,
    "scale": scale,
    "loss_pairing": loss_pairing,
    "depth_drift": depth_drift,
    "raw_input": raw_input,
}
