"""How to call a flagged class's constructor without running the script: a literal instantiation
in the file or elsewhere in the project, a config object's defaults, or small values guessed
from the parameter names (a verdict on guesses says so, and a refutation on them never silences
a finding). Pure Python (ast): it runs in the main process."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from typing import Any, Optional

from initlint.confirm.filemodel import FileModel, Unbuildable, is_side_effect, load_names, stmt_start
from initlint.confirm.recipe import Recipe, find_recipe, reinitialized_elsewhere
from initlint.confirm.slices import literal_arguments
from initlint.facts import callsites
from initlint.facts.modules import package_files

PROJECT_SCAN_LIMIT = 300
# The origin of constructor arguments the project does not give (see `ctor_from_signature`).
GUESSED = "small values inferred from parameter names"
SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", "build", "dist",
                       "site-packages", ".tox", ".nox"})


def ctor_from_literal_call(fm: FileModel, cls: str, cls_index: int) -> Optional[tuple[str, set[str], str, int]]:
    """A literal instantiation of `cls` in this file: (expression, names it needs, origin, line)."""
    for node in ast.walk(fm.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name != cls or (not node.args and not node.keywords):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue
        inside_cls = stmt_start(fm.body[cls_index]) <= node.lineno <= (fm.body[cls_index].end_lineno or 0)
        if inside_cls:
            continue
        names = load_names(node) - {cls}
        if isinstance(func, ast.Attribute):
            continue
        ok = True
        for n in names:
            binders = fm.binders.get(n, [])
            if not binders:
                ok = ok and n in fm.script_constants  # `DCGAN(noise_dim)` after `noise_dim = 10` in the main block
            elif any(is_side_effect(fm.body[j]) for j in binders) or any(
                isinstance(fm.body[j], (ast.For, ast.While, ast.With)) for j in binders
            ):
                ok = False
        if ok:
            return ast.unparse(node), names, f"the instantiation on line {node.lineno}", node.lineno
    return None


def literal_method_call(tree: ast.Module, cls: str, method: str) -> Optional[tuple[list[Any], dict[str, Any]]]:
    """The arguments of a call `cls.method(<literals>)` in the file (`LeNet.build(28, 28, 1, 10)`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == cls:
            literal = literal_arguments(node)
            if literal is not None:
                return literal
    return None


def literal_call_in_project(project_root: str, path: str, cls: str) -> Optional[tuple[str, str]]:
    """A call `cls(<literals>)` in another file of the project."""
    for rel, tree in _importers(project_root, path, cls):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == cls:
                literal = literal_arguments(node)
                if literal is None:
                    continue
                args, kwargs = literal
                return call_text(cls, args, kwargs), f"the instantiation at {rel}:{node.lineno}"
    return None


def reinitialized_in_project(project_root: str, path: str, cls: str) -> Optional[str]:
    """Where another file of the project re-initializes or loads an instance of `cls`
    (`net = Net(); net.apply(init)`, `net.load_state_dict(...)`), as `file:line: statement`."""
    for rel, tree in _importers(project_root, path, cls):
        recipe = find_recipe(tree, cls)
        if recipe is not None and (recipe.statements or recipe.from_file):
            return f"{rel}, {recipe.first_change()}"
        found = reinitialized_elsewhere(tree, cls)
        if found is not None:
            return f"{rel}, {found}"
    return None


def project_init_recipe(fm: FileModel, cls_node: ast.ClassDef, line: int, project_root: str) -> Optional[Recipe]:
    """What other project files run on an instance of the class right after building it, for a
    finding on `line`: the weight-setting method that holds the line (`eta = MLP(1, d)`, then
    `eta.init_zeros()`; facts/callsites.init_recipes), replayed, since the static stage found the
    finding by running it. When such methods exist but none holds the line, or an argument is not a
    literal, which model trains is not known: a recipe that leaves the finding unverified. None when
    no other file runs one."""
    methods = {n.name: n for n in cls_node.body if isinstance(n, ast.FunctionDef)}
    recipes, _, _ = callsites.init_recipes(os.path.abspath(fm.path), project_root, cls_node.name, frozenset(methods))
    if not recipes:
        return None
    for recipe in recipes:
        method = methods[recipe.method]
        if not method.lineno <= line <= (method.end_lineno or method.lineno):
            continue
        where = f"({os.path.relpath(recipe.path, project_root)}, line {recipe.line})"
        if any(v is callsites.UNKNOWN_ARG for v in recipe.args):
            return Recipe("__model__", ambiguous=f"another file runs `{recipe.method}(...)` on it {where} with arguments "
                                                 "that are not literals; the confirmation does not replay it")
        args = ", ".join(repr(callsites.to_python(v)) for v in recipe.args)
        return Recipe("__model__", [(line, f"__model__.{recipe.method}({args})")], origin=f"what another file runs on it {where}")
    first = recipes[0]
    return Recipe("__model__", ambiguous=f"`{cls_node.name}` is re-initialized where the confirmation does not replay it "
                                         f"for this line (another file runs `{first.method}()` on it "
                                         f"({os.path.relpath(first.path, project_root)}, line {first.line}))")


def _importers(project_root: str, path: str, cls: str) -> Iterator[tuple[str, ast.Module]]:
    """The other files of the project that import `cls` from `path`'s module and call it, parsed."""
    scanned = 0
    here = os.path.abspath(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    for dirpath, dirnames, filenames in os.walk(project_root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            full = os.path.join(dirpath, fn)
            if os.path.abspath(full) == here:
                continue
            scanned += 1
            if scanned > PROJECT_SCAN_LIMIT:
                return None
            try:
                with open(full, encoding="utf-8") as fh:
                    text = fh.read()
            except (OSError, UnicodeDecodeError):
                continue
            if cls + "(" not in text:
                continue
            try:
                tree = ast.parse(text)
            except SyntaxError:
                continue
            if not _imports_class_from(tree, cls, stem, full, project_root, here):
                continue
            yield os.path.relpath(full, project_root), tree


def _imports_class_from(tree: ast.Module, cls: str, stem: str, importer: str, root: str, here: str) -> bool:
    """`from <...>.stem import cls` that resolves to the file at `here` (a sibling example's own
    `model.py` is another class of the same name)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == stem:
            if any(a.name == cls and a.asname is None for a in node.names) and \
                    here in _import_targets(node, importer, root):
                return True
    return False


def _import_targets(node: ast.ImportFrom, importer: str, root: str) -> set[str]:
    """The files `from <module> import ...` may read, as Python would look them up for a script or a package."""
    module = node.module or ""
    if node.level:
        base = os.path.dirname(os.path.abspath(importer))
        for _ in range(node.level - 1):
            base = os.path.dirname(base)
        rel = os.path.join(base, *module.split(".")) if module else base
        return {os.path.abspath(rel + ".py"), os.path.abspath(os.path.join(rel, "__init__.py"))}
    return {os.path.abspath(p) for p in package_files(module, importer, root)}


def call_text(cls: str, args: list[Any], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{cls}({', '.join(parts)})"


_SMALL_INTS = (
    ({"layer", "layers", "depth", "block", "blocks", "stack"}, 2),
    ({"head", "heads"}, 2),
    ({"kernel"}, 3),
    ({"stride", "group", "groups", "dilation"}, 1),
    ({"padding"}, 1),
    ({"gpu", "gpus", "worker", "workers"}, 1),  # DCGAN's `Discriminator(ngpu)`
)
_SIZE_TOKENS = {"dim", "size", "feature", "features", "channel", "channels", "hidden", "width", "height", "unit",
                "units", "emb", "embd", "embed", "vocab", "num", "class", "classes", "token", "tokens",
                "len", "length", "in", "out", "input", "output", "hid", "inp", "d", "n", "model", "ids", "nz", "ngf", "ndf", "nc"}
_FLOAT_WORDS = {"dropout": 0.0, "drop": 0.0, "p": 0.0, "eps": 1e-5, "epsilon": 1e-5, "momentum": 0.1}


def _tokens(name: str) -> set[str]:
    """`n_hid` -> {n, hid}; `nhid` -> {nhid, hid}: a leading `n` abbreviates "number of"."""
    out = set()
    for tok in name.split("_"):
        out.add(tok)
        if len(tok) > 2 and tok[0] == "n" and tok[1:] in _SIZE_TOKENS | {"layers", "layer", "head", "heads", "gpu", "gpus"}:
            out.add(tok[1:])
        for suffix in ("dim", "size"):  # `zdim`, `hsize`: a one- or two-letter name of the sized thing
            if tok.endswith(suffix) and 0 < len(tok) - len(suffix) <= 2:
                out.add(suffix)
    return out


def infer_value(arg: ast.arg, channels_last: bool = False) -> tuple[bool, Any]:
    name = arg.arg.lower()
    tokens = _tokens(name)
    if "shape" in tokens and not tokens & {"out", "output"}:  # `input_shape`: an image, in the framework's layout
        return True, (32, 32, 3) if channels_last else (3, 32, 32)
    ann = ast.unparse(arg.annotation) if arg.annotation is not None else ""
    if ann == "bool" or tokens & {"use", "is", "with"} and name.startswith(("use_", "is_", "with_")):
        return True, "bias" in name
    if name == "bias":
        return True, True
    for word, value in _FLOAT_WORDS.items():
        if word in tokens:
            return True, value
    if ann == "float":
        return True, 1.0
    for words, value in _SMALL_INTS:
        if tokens & words:
            return True, value
    if ann == "int" or tokens & _SIZE_TOKENS:
        return True, 16
    return False, None


def keyed_config(init: ast.FunctionDef, name: str) -> Optional[dict[str, Any]]:
    """`def __init__(self, params)` reading `params['ndf']`, `params.get('nc', 3)`: a dict of those keys,
    each valued as a parameter of that name would be (`ndf` -> 16), or None when a key is not a
    string, has no such value, or `params` is read no other way than by key."""
    keys: dict[str, Any] = {}
    for node in ast.walk(init):
        key: Optional[ast.expr] = None
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
            key = node.slice
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and isinstance(node.func.value, ast.Name) and node.func.value.id == name and node.args):
            key = node.args[0]
        else:
            continue
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        ok, value = infer_value(ast.arg(arg=key.value))
        if not ok:
            return None
        keys[key.value] = value
    return keys or None


# What a parameter whose `.shape` the constructor reads is given: a data array (`def __init__(self,
# input): self.input_shape = (input.shape[-1], 1)`), guessed as two rows of 16 features.
SHAPED_ARGUMENT = "__import__('numpy').zeros((2, 16), 'float32')"


def reads_shape(init: ast.FunctionDef, name: str) -> bool:
    """Does `__init__` read `name.shape`?"""
    return any(isinstance(node, ast.Attribute) and node.attr == "shape" and isinstance(node.value, ast.Name)
               and node.value.id == name for node in ast.walk(init))


def config_object(fm: FileModel, arg: ast.arg) -> Optional[tuple[str, set[str], str]]:
    """`config: GPTConfig` -> a literal instantiation of GPTConfig in the file, else `GPTConfig()`
    when it is a dataclass whose fields all have defaults: (expression, names it needs, origin)."""
    ann = arg.annotation
    name: Optional[str] = None
    if isinstance(ann, ast.Name):
        name = ann.id
    elif isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        name = ann.value  # a string annotation: `config: "GPTConfig"`
    node = fm.class_def(name) if name is not None else None
    if node is None or name is None:
        return None
    index = fm.body.index(node)
    found = ctor_from_literal_call(fm, name, index)
    if found is not None:
        expr, names, where, _ = found
        return expr, names | {name}, f"{where} for `{arg.arg}`"
    decorated = any("dataclass" in ast.unparse(d) for d in node.decorator_list)
    fields = [s for s in node.body if isinstance(s, ast.AnnAssign)]
    if decorated and all(f.value is not None for f in fields):
        return f"{name}()", {name}, f"the defaults of {name} for `{arg.arg}`"
    return None


def ctor_from_signature(fm: FileModel, cls_node: ast.ClassDef) -> tuple[str, str, set[str]]:
    """(constructor call, origin, names the call needs) from `__init__`'s parameters."""
    init = next(
        (n for n in cls_node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None
    )
    if init is None:
        return f"{cls_node.name}()", "no constructor arguments (inherited __init__)", set()
    return call_from_signature(fm, init, cls_node.name, cls_node.name)


def call_from_signature(fm: FileModel, fn: ast.FunctionDef, callee: str, owner: str,
                        bound: bool = True) -> tuple[str, str, set[str]]:
    """(call of `callee`, origin, names the call needs) from the parameters of `fn`, `__init__`
    or a builder method (`bound`: its first parameter is self or cls); `owner` names the
    [tool.initlint.confirm.modules] table that would set them."""
    args = fn.args
    positional = args.posonlyargs + args.args
    required = positional[int(bound) : len(positional) - len(args.defaults)] if positional else []
    kw_required = [a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is None]
    if not required and not kw_required:
        return f"{callee}()", "the constructor defaults" if fn.name == "__init__" else "its defaults", set()
    values: dict[str, Any] = {}
    objects: dict[str, str] = {}
    origins: list[str] = []
    shaped: list[str] = []  # parameters given a guessed data array
    names: set[str] = set()
    for a in required + kw_required:
        config = config_object(fm, a)
        if config is not None:
            objects[a.arg], needs, where = config
            names |= needs
            origins.append(where)
            continue
        if reads_shape(fn, a.arg):
            objects[a.arg] = SHAPED_ARGUMENT
            shaped.append(f"{a.arg}: an array of shape (2, 16), its .shape being read")
            continue
        ok, value = infer_value(a, channels_last="keras" in fm.text or "tensorflow" in fm.text)
        if not ok:
            keyed = keyed_config(fn, a.arg)
            ok, value = (True, keyed) if keyed is not None else (False, None)
        if not ok:
            raise Unbuildable(
                f"cannot choose a value for `{a.arg}` of {callee if fn.name != '__init__' else owner + '.__init__'}; "
                f"set it under [tool.initlint.confirm.modules.{owner}] kwargs"
            )
        values[a.arg] = value
    parts = [f"{k}={v!r}" for k, v in values.items()] + [f"{k}={v}" for k, v in objects.items()]
    call = f"{callee}({', '.join(parts)})"
    if not values and not shaped:
        return call, ", ".join(origins), names
    inferred = ", ".join([f"{k}={v!r}" for k, v in values.items()] + shaped)
    return call, f"{GUESSED} ({inferred})" + "".join(f", {o}" for o in origins), names
