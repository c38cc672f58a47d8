"""Loss objects and loss calls: what the prediction is, and which framework's
argument order applies.
"""

from __future__ import annotations

from typing import Any, Optional

from initlint.facts.context import CallContext, Machine
from initlint.facts.tensors import as_tensor
from initlint.facts.values import LIVE, UNKNOWN, Const, Ext, Loss, Tensor, Value
from initlint.frameworks.tables import KERAS_LOSSES, LOSS_FUNCTIONS, TF_LOSSES, TORCH_LOSSES, framework_of, last

# Losses whose value does not depend on the order of their two arguments.
SYMMETRIC_LOSSES = {"mse", "l1"}


def named_at(ext: Ext, node: Any) -> Ext:
    """An imported loss function where its bare name is written (`loss_fn = bce` after `from
    torch.nn.functional import binary_cross_entropy as bce`): a call elsewhere (another file's
    trainer) is reported where the script chose it, as for `loss_fn = F.binary_cross_entropy`."""
    if ext.site is None and last(ext.qualname) in LOSS_FUNCTIONS and framework_of(ext.qualname) in ("torch", "keras", "tf"):
        # A framework's own loss only: a project helper of the same name is an import to resolve.
        return Ext(ext.qualname, site=node)
    return ext


def make_loss(qual: str, args: list[Value], kwargs: dict[str, Value], node: Any) -> Optional[Loss]:
    name = last(qual)
    fw = framework_of(qual)
    kind = None
    if fw == "torch":
        kind = TORCH_LOSSES.get(name)
    elif fw == "keras":
        kind = KERAS_LOSSES.get(name)
    elif fw == "tf":
        kind = TF_LOSSES.get(name) or KERAS_LOSSES.get(name)
    if kind is None:
        return None
    from_logits = kwargs.get("from_logits")
    return Loss(kind=kind, node=node, from_logits=bool(from_logits.value) if isinstance(from_logits, Const) else None, framework=fw)


def apply_loss(interp: Machine, loss: Loss, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
    prediction = args[0] if args else kwargs.get("input", kwargs.get("logits", kwargs.get("y_pred", kwargs.get("predictions", UNKNOWN))))
    target = args[1] if len(args) > 1 else kwargs.get("target", kwargs.get("labels", kwargs.get("y_true", UNKNOWN)))
    if loss.kind in ("bce_logits", "ce") and "logits" in kwargs:
        prediction = kwargs["logits"]
    if (framework_of_loss(loss) == "keras" or loss.framework in ("keras", "tf")) and len(args) >= 2 and "y_pred" not in kwargs:
        # Keras and TF losses take (y_true, y_pred) / (labels, logits).
        prediction, target = args[1], args[0]
    elif loss.framework in ("keras", "tf") and len(args) == 1:
        # `tf.losses.mean_squared_error(y, predictions=p)`: the one positional is the labels.
        prediction = kwargs.get("y_pred", kwargs.get("predictions", kwargs.get("logits", UNKNOWN)))
        target = args[0]
    elif loss.framework == "torch" and loss.kind in SYMMETRIC_LOSSES and len(args) >= 2 and not kwargs:
        # `F.mse_loss(target, model(x))`: the loss is symmetric, so the prediction is whichever
        # argument the trained parameters reach (when only the second does).
        first, second = as_tensor(args[0]), as_tensor(args[1])
        if first is not None and second is not None and not first.params and second.params:
            prediction, target = args[1], args[0]
    t = as_tensor(prediction) or Tensor()
    if not ctx.no_grad:
        interp.facts.loss(loss, node, t, as_tensor(target) or Tensor(), ctx)
    return Tensor(state=LIVE if t.state == LIVE else t.state, params=t.params)


def framework_of_loss(loss: Loss) -> str:
    return "keras" if loss.kind.startswith("keras_") else "other"
