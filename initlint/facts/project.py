"""Model outputs meet losses: within a file, and across the files of a run.

A loss is judged by the activation its prediction went through last (the
model's output activation, `Tensor.squash`). `loss_pairings(facts)` lists
every (output activation, loss) pair of one file: PyTorch / TF loss calls,
Keras losses called eagerly, and `model.compile(loss=...)` on a Keras model
whose output activation is known. The IL3 loss rules derive from
`LossPairingRule` (initlint/loss_rule.py) and only say which pairs they flag.

Across files: each file exports a small, plain-data summary
(`ProjectExports`, in initlint/exports.py): the output activation of each
model class it defines, and the losses it computes on instances of
imported classes (`Tensor.ext_output`). After every file is checked, the run
joins them (initlint/link.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import libcst as cst

from initlint.diagnostics import Related, Span
from initlint.exports import ModelArgument, OutputExport, PendingLoss
from initlint.exports import ProjectExports as ProjectExports  # re-exported by initlint.facts
from initlint.facts.values import SCALED_SIGMOID

if TYPE_CHECKING:
    from initlint.facts.events import FileFacts, RootRef

# Loss kinds some IL3 rule cares about; other losses are not exported.
PAIRED_LOSSES = frozenset({"mse", "bce", "bce_logits", "ce", "keras_bce", "keras_cce"})
# Output activations some IL3 rule cares about.
PAIRED_SQUASHES = frozenset({"sigmoid", "hardsigmoid", "softmax", SCALED_SIGMOID})


@dataclass
class LossPairing:
    """One loss computed on an output that went through `squash` last."""

    squash: str  # "sigmoid", "hardsigmoid", "softmax"
    loss: str  # Loss.kind
    from_logits: Optional[bool]
    framework: str  # of the loss: "torch" | "keras" | "tf"
    compiled: bool  # a Keras `model.compile(loss=...)` (Keras computes it from cached logits)
    caches_logits: bool  # the squash is a Keras layer's activation or Keras 2's backend.sigmoid: its output caches the logits
    loss_text: str  # the loss as written, for messages
    act_text: str  # the activation as written, for messages
    # Same-file pairs only (None across files):
    node: Optional[cst.CSTNode] = None  # where to report: the loss call, else its constructor / compile
    squash_node: Optional[cst.CSTNode] = None
    loss_ctor: Optional[cst.CSTNode] = None  # the loss object's constructor (for fixes)
    where: Optional[RootRef] = None
    # Cross-file pairs only:
    related: Optional[Related] = None


# ---------------------------------------------------------------------------- one file
def loss_pairings(facts: FileFacts) -> Iterator[LossPairing]:
    """Every (output activation, loss) pair of the file, each distinct pair once."""
    from initlint.frameworks.keras import model_output

    seen: set[tuple[int, ...]] = set()
    for event in facts.losses:
        squash = event.prediction.squash
        if squash is None or squash.kind not in PAIRED_SQUASHES or event.loss.kind not in PAIRED_LOSSES:
            continue
        if facts.metric_only(event.node):
            continue  # a metric (`mse(x, g(z)).item()` in a log line): no gradient goes through it
        ctor = event.loss.node if event.loss.node is not event.node else None
        # Each loss call on each output is a location; one call (a trainer's `self.loss_fn(out, y)`)
        # is one per loss chosen for it (`loss_fn = F.binary_cross_entropy`, twice in a script).
        key = (id(event.node), id(ctor), id(squash.node))
        if key in seen:
            continue
        seen.add(key)
        layer_item = next((c for c in reversed(event.prediction.chain) if c.node is squash.node), None)
        yield LossPairing(
            squash=squash.kind,
            loss=event.loss.kind,
            from_logits=event.loss.from_logits,
            framework=event.loss.framework,
            compiled=False,
            caches_logits=squash.caches_logits or (
                layer_item is not None and layer_item.layer is not None and layer_item.layer.kind.startswith("keras.")),
            loss_text=facts.code(event.node, 50),
            act_text=facts.code(squash.node, 50),
            node=event.node,
            squash_node=squash.node,
            loss_ctor=ctor,
            where=event.where,
        )
    for compile_event in facts.keras_compiles:
        output = model_output(compile_event.model)
        value = compile_event.loss
        if output is None or output[0] not in PAIRED_SQUASHES:
            continue
        kind, from_logits = compiled_loss(value)
        if kind not in PAIRED_LOSSES:
            continue
        compiled_key = (id(compile_event.node), id(output[1]))
        if compiled_key in seen:
            continue
        seen.add(compiled_key)
        yield LossPairing(
            squash=output[0],
            loss=kind,
            from_logits=from_logits,
            framework="keras",
            compiled=True,
            caches_logits=True,
            loss_text=facts.code(compile_event.node, 50),
            act_text=facts.code(output[1], 50),
            node=compile_event.node,
            squash_node=output[1],
            where=compile_event.where,
        )


def compiled_loss(value: Any) -> tuple[Optional[str], Optional[bool]]:
    """(Loss.kind, from_logits) of a `model.compile(loss=...)` argument: a loss object,
    a Keras loss name or a Keras loss function; (None, None) when not known."""
    from initlint.facts.values import Const, Ext, Loss
    from initlint.frameworks.tables import KERAS_LOSSES, framework_of, last

    if isinstance(value, Loss):
        return value.kind, value.from_logits
    if isinstance(value, Const) and isinstance(value.value, str):
        return KERAS_LOSSES.get(value.value), None
    if isinstance(value, Ext) and framework_of(value.qualname) in ("keras", "tf"):
        return KERAS_LOSSES.get(last(value.qualname)), None
    return None, None


# ---------------------------------------------------------------------------- exports
def collect_exports(facts: FileFacts, resolve: Callable[[list[cst.CSTNode]], list[Span]]) -> Optional[ProjectExports]:
    """What other files may link to, and what this file needs from them.

    `resolve` turns nodes into spans (engine.Positions.spans); it is called
    once, and only when there is something to export.
    """
    from initlint.facts.values import Tensor

    outputs: list[tuple[str, str, str, cst.CSTNode]] = []
    for root in facts.roots:
        if root.where.kind != "class" or not isinstance(root.output, Tensor):
            continue
        squash = root.output.squash
        if squash is not None and squash.kind in PAIRED_SQUASHES and all(o[0] != root.where.name for o in outputs):
            outputs.append((root.where.name, squash.kind, facts.code(squash.node, 50), squash.node))
    pending: list[tuple[str, Any, str, cst.CSTNode]] = []
    seen: set[tuple[str, int]] = set()
    for event in facts.losses:
        target = event.prediction.ext_output
        if target is None or event.prediction.squash is not None or event.loss.kind not in PAIRED_LOSSES:
            continue
        if facts.metric_only(event.node):
            continue
        ctor = event.loss.node if event.loss.node is not event.node else event.node
        if (target, id(ctor)) in seen:
            continue
        seen.add((target, id(ctor)))
        pending.append((target, event.loss, facts.code(event.node, 50), event.node))
    arguments = facts.model_arguments
    if not outputs and not pending and not arguments:
        return None
    spans = resolve([o[3] for o in outputs] + [p[3] for p in pending] + [a.node for a in arguments])
    return ProjectExports(
        outputs={name: OutputExport(kind, text, span) for (name, kind, text, _), span in zip(outputs, spans)},
        pending=tuple(
            PendingLoss(target, loss.kind, loss.from_logits, loss.framework, text, span)
            for (target, loss, text, _), span in zip(pending, spans[len(outputs):])
        ),
        arguments=tuple(
            ModelArgument(a.target, a.position, a.keyword, a.model, a.local, span)
            for a, span in zip(arguments, spans[len(outputs) + len(pending):])
        ),
    )
