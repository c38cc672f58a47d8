"""Example inputs for a built torch model: per layer, the input shapes it accepts (`Linear(32, 8)`
takes `[2, 32]`, `Conv2d(3, ...)` takes `[2, 3, H, W]`), and the materialization of lazy
layers (`nn.LazyLinear`, `nn.LazyConv2d`), whose weights exist only after a first forward pass.
Runs in the confirmation worker, which has imported torch."""

from __future__ import annotations

from typing import Any, Optional

import torch


def first_leaf(module: Any) -> Any:
    if isinstance(module, torch.nn.Module) and spec_for(module, "call"):
        return module
    children = list(module.children()) if isinstance(module, torch.nn.Module) else []
    if not children:
        if isinstance(module, torch.nn.Module):
            for p in module.parameters(recurse=False):
                if p.dim() >= 2:
                    return p
        return module
    for child in children:
        leaf = first_leaf(child)
        if leaf is not None and (not isinstance(leaf, torch.nn.Module) or spec_for(leaf, "call")):
            return leaf
    for p in module.parameters(recurse=False):
        if p.dim() >= 2:
            return p
    return first_leaf(children[0])


def resolve_path(obj: Any, path: str) -> Any:
    transposed = path.endswith(".T")
    if transposed:
        path = path[:-2]
    cur = obj
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            cur = cur[int(part[1:-1])]
        else:
            cur = getattr(cur, part)
    return cur, transposed


Spec = list[tuple[list[int], str, int]]  # candidates: (shape, "float" | "int", high)


def spec_for(layer: Any, role: str, transposed: bool = False) -> Spec:
    nn = torch.nn
    if isinstance(layer, torch.Tensor):
        if role == "index" and layer.dim() >= 1:
            return [([8], "int", int(layer.shape[0])), ([2, 8], "int", int(layer.shape[0]))]
        if layer.dim() < 2:
            return []
        dim = layer.shape[-1] if (transposed or role == "linear") else layer.shape[0]
        return [([2, int(dim)], "float", 0)]
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        n = layer.num_embeddings
        return [([2, 8], "int", n), ([2], "int", n)]
    if isinstance(layer, nn.Linear):
        return [([2, layer.in_features], "float", 0), ([2, 8, layer.in_features], "float", 0)]
    if isinstance(layer, nn.Bilinear):
        return [([2, layer.in1_features], "float", 0)]
    if isinstance(layer, (nn.Conv1d, nn.ConvTranspose1d)):
        return [([2, layer.in_channels, 16], "float", 0)]
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        # ImageNet-sized nets (AlexNet, VGG, NiN) size their classifier for 224 x 224 inputs.
        return [([2, layer.in_channels, side, side], "float", 0) for side in (16, 28, 32, 64, 96, 224)]
    if isinstance(layer, (nn.Conv3d, nn.ConvTranspose3d)):
        return [([2, layer.in_channels, 8, 8, 8], "float", 0)]
    if isinstance(layer, nn.BatchNorm1d):
        return [([2, layer.num_features], "float", 0), ([2, layer.num_features, 8], "float", 0)]
    if isinstance(layer, nn.BatchNorm2d):
        return [([2, layer.num_features, 16, 16], "float", 0)]
    if isinstance(layer, nn.LayerNorm):
        shape = list(layer.normalized_shape)
        return [([2, 8] + shape, "float", 0), ([2] + shape, "float", 0)]
    if isinstance(layer, nn.RNNBase):
        if layer.batch_first:
            return [([2, 5, layer.input_size], "float", 0)]
        return [([5, 2, layer.input_size], "float", 0)]
    if isinstance(layer, nn.MultiheadAttention):
        return [([2, 5, layer.embed_dim] if layer.batch_first else [5, 2, layer.embed_dim], "float", 0)]
    return []


def make_tensor(spec: tuple[list[int], str, int], gen: torch.Generator, device: str) -> torch.Tensor:
    shape, kind, high = spec
    if kind == "int":
        return torch.randint(0, max(1, min(high, 1000)), tuple(shape), generator=gen).to(device)
    return torch.randn(tuple(shape), generator=gen).to(device)


def config_spec(item: Any) -> tuple[list[int], str, int]:
    if isinstance(item, dict):
        dtype = str(item.get("dtype", "float32"))
        kind = "int" if ("int" in dtype or dtype == "long") else "float"
        return (list(item["shape"]), kind, int(item.get("high", 2)))
    return (list(item), "float", 0)


# Inputs tried for a model whose first layer is lazy: its input width is unknown until it runs.
# (images: MNIST-like 1 x 28 x 28, then RGB; vectors: a few widths)
LAZY_CANDIDATES: dict[str, list[list[int]]] = {
    "linear": [[2, 16], [2, 784], [2, 1, 28, 28], [2, 3, 32, 32]],
    "conv1d": [[2, 1, 64], [2, 3, 64]],
    "conv2d": [[2, 1, 28, 28], [2, 3, 32, 32], [2, 1, 96, 96], [2, 3, 224, 224]],
    "conv3d": [[2, 1, 8, 16, 16], [2, 3, 8, 16, 16]],
}


def _lazy_kind(module: torch.nn.Module) -> Optional[str]:
    for sub in module.modules():
        if isinstance(sub, torch.nn.modules.lazy.LazyModuleMixin) and sub.has_uninitialized_params():
            name = type(sub).__name__.lower()
            for kind in ("conv1d", "conv2d", "conv3d", "linear"):
                if kind in name:
                    return kind
            return "linear"
    return None


def materialize_lazy(model: Any, gen: torch.Generator, device: str) -> Optional[list[int]]:
    """Run one forward pass without gradients so that lazy layers create their weights (as the
    script's own first batch would); the input shape that worked, or None when the model has
    no lazy layer. Raises ValueError naming the shapes tried when none works."""
    if not isinstance(model, torch.nn.Module):
        return None
    kind = _lazy_kind(model)
    if kind is None:
        return None
    tried = []
    for shape in LAZY_CANDIDATES[kind]:
        try:
            with torch.no_grad():
                model(torch.randn(tuple(shape), generator=gen).to(device))
        except Exception:  # noqa: BLE001 - the user's forward rejects this shape: try the next
            tried.append(str(shape))
            continue
        if _lazy_kind(model) is None:
            return shape
    raise ValueError(f"its lazy layers could not be initialised by a forward pass on {', '.join(tried)}")
