"""Import bindings and qualified names.

The interpreter binds every imported name to an `Ext(qualname)` value in the
scope where the import is written (module or function), so shadowing by a
later assignment or parameter is handled by ordinary scoping. This module
turns import statements into bindings and gives each framework path one
canonical spelling, so that `tf.keras.layers.Dense`, `keras.layers.Dense`
and `tensorflow.python.keras.layers.Dense` are one name to the rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Optional

import libcst as cst

# Longest prefix first; each maps a spelling to the canonical one. Attribute chains
# off an imported module (`tf.compat.v1.keras`) go through here too, so canonical
# spellings map to themselves. `compat.v2` is the TF2 API itself; `compat.v1` stays
# `tf.compat.v1.X`: TF1's objects differ from TF2's in their defaults
# (`random_normal_initializer`'s stddev), and the analysis strips the prefix where
# the meaning is the same (frameworks.registry.call_ext).
_CANONICAL_PREFIXES = (
    ("tensorflow.compat.v1.keras.", "keras."),
    ("tensorflow.compat.v2.keras.", "keras."),
    ("tf.compat.v1.keras.", "keras."),
    ("tf.compat.v2.keras.", "keras."),
    ("tensorflow.compat.v1.", "tf.compat.v1."),
    ("tensorflow.compat.v2.", "tf."),
    ("tf.compat.v2.", "tf."),
    ("tensorflow.python.keras.", "keras."),
    ("tensorflow.keras.", "keras."),
    ("tf.keras.", "keras."),
    ("tf_keras.", "keras."),
    ("keras.src.", "keras."),
    ("keras.api.", "keras."),
    ("tensorflow.", "tf."),
    ("torch.nn.modules.", "torch.nn."),
    ("numpy.", "np."),
)
_CANONICAL_EXACT = {
    "tensorflow": "tf", "numpy": "np", "tensorflow.keras": "keras", "tf_keras": "keras", "tf.keras": "keras",
    "tensorflow.compat.v1": "tf.compat.v1", "tensorflow.compat.v2": "tf", "tf.compat.v2": "tf",
    "tensorflow.compat.v1.keras": "keras", "tensorflow.compat.v2.keras": "keras",
    "tf.compat.v1.keras": "keras", "tf.compat.v2.keras": "keras",
}
TF1_PREFIX = "tf.compat.v1."

# Sub-module paths that re-export the same objects (torch.nn.modules.linear.Linear is torch.nn.Linear).
_TORCH_SUBMODULES = (
    "linear", "conv", "activation", "batchnorm", "normalization", "sparse", "rnn", "container",
    "dropout", "pooling", "loss", "module", "flatten", "padding", "transformer", "instancenorm",
)


@lru_cache(maxsize=8192)
def canonical(qualname: str) -> str:
    """One spelling per framework object (cached: every attribute of an imported module asks)."""
    if qualname in _CANONICAL_EXACT:
        return _CANONICAL_EXACT[qualname]
    for prefix, replacement in _CANONICAL_PREFIXES:
        if qualname.startswith(prefix):
            qualname = replacement + qualname[len(prefix):]
            break
    if qualname.startswith("torch.nn."):
        parts = qualname.split(".")
        if len(parts) >= 4 and parts[2] in _TORCH_SUBMODULES and parts[3][:1].isupper():
            qualname = "torch.nn." + ".".join(parts[3:])
    if qualname.startswith("keras."):
        parts = qualname.split(".")
        # keras.src.layers.core.dense.Dense -> keras.layers.Dense (same for initializers, losses, ...)
        if len(parts) > 3 and parts[1] in ("layers", "initializers", "losses", "activations", "models") and parts[-1][:1].isupper():
            qualname = f"keras.{parts[1]}.{parts[-1]}"
        if qualname.startswith("keras.models.Sequential") or qualname == "keras.models.Model":
            qualname = "keras." + qualname.split(".")[-1]
    return qualname


def strip_tf1(qualname: str) -> tuple[str, bool]:
    """`tf.compat.v1.X` -> (`tf.X`, True): the same meaning as `tf.X`, with TF1's defaults."""
    if qualname.startswith(TF1_PREFIX):
        return "tf." + qualname[len(TF1_PREFIX):], True
    if qualname == TF1_PREFIX[:-1]:
        return "tf", True
    return qualname, False


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def import_module_name(node: cst.ImportFrom, package: Optional[str]) -> Optional[str]:
    """The module an ImportFrom reads, relative imports resolved against `package`."""
    module = dotted_name(node.module) if node.module is not None else ""
    dots = len(node.relative)
    if dots == 0:
        return module
    # A relative import: resolve against the file's package when known, else keep it
    # relative-looking so it never matches a framework name.
    if package is None:
        return "." * dots + (module or "")
    base = package.split(".")
    if dots > 1:
        base = base[: len(base) - (dots - 1)] if len(base) >= dots - 1 else []
    return ".".join([p for p in base if p] + ([module] if module else []))


def import_bindings(node: cst.BaseSmallStatement, package: Optional[str] = None) -> Iterator[tuple[str, str]]:
    """(local name, canonical qualified name) for each name an import statement binds."""
    if isinstance(node, cst.Import):
        for alias in node.names:
            full = dotted_name(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield alias.asname.name.value, canonical(full)
            else:
                head = full.split(".")[0]
                yield head, canonical(head)
    elif isinstance(node, cst.ImportFrom):
        module = import_module_name(node, package)
        if module is None or isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = dotted_name(alias.name)
            if name is None:
                continue
            local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
            yield local, canonical(f"{module}.{name}" if module else name)


def names_in(node: cst.CSTNode) -> list[cst.Name]:
    """Every Name node in `node`, in order."""
    if isinstance(node, cst.Name):
        return [node]
    out: list[cst.Name] = []
    for child in node.children:
        out.extend(names_in(child))
    return out


def carries_itself(node: cst.Assign) -> bool:
    """`x = f(x)`: the assigned name is read by its own value."""
    assigned = {n.value for t in node.targets for n in names_in(t.target)}
    return any(n.value in assigned for n in names_in(node.value))


_OPTIMIZERS = frozenset({"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion"})


def star_module(stars: list[str], name: str) -> str:
    """Which star-imported framework module a class name comes from: Keras' models module for its
    model classes, its optimizers module for optimizers, else a layers module (the last one)."""
    for suffix, names in ((".models", ("Model", "Sequential")), (".optimizers", _OPTIMIZERS)):
        if name in names:
            found = [m for m in stars if m.endswith(suffix)]
            if found:
                return found[-1]
    layer_modules = [m for m in stars if m.endswith((".layers", ".nn"))]
    return (layer_modules or stars)[-1]


# The conventional aliases a fragment uses without importing them: a notebook's exported cell or a
# tutorial's later part (`model = tf.keras.Sequential()` where an earlier part imported tensorflow).
CONVENTIONAL_ALIASES = {"tf": "tf", "np": "np", "nn": "torch.nn", "torch": "torch", "keras": "keras"}


class ImplicitImports:
    """What a conventional alias stands for in a module that never binds it (None: any other name,
    or one the module binds somewhere: an import, an assignment, a definition, a parameter)."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._bound: Optional[set[str]] = None  # walked on the first unbound alias only

    def get(self, name: str) -> Optional[str]:
        if name not in CONVENTIONAL_ALIASES:
            return None
        if self._bound is None:
            self._bound = _bound_names(self.module)
        return None if name in self._bound or "*" in self._bound else CONVENTIONAL_ALIASES[name]


def _bound_names(module: cst.Module) -> set[str]:
    """Every name the module binds anywhere ("*" for a star import, which may bind any)."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Import, cst.ImportFrom)):
            if isinstance(node.names, cst.ImportStar):
                found.add("*")
            else:
                found.update((a.evaluated_alias or a.evaluated_name).split(".")[0] for a in node.names)
            continue
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Param)):
            found.add(node.name.value)
        elif isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr)):
            found.update(n.value for n in names_in(node.target))
        elif isinstance(node, cst.AsName):
            found.update(n.value for n in names_in(node.name))
        stack.extend(node.children)
    return found
