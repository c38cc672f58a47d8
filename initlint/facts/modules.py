"""Project modules a file imports from: where they are, and their definitions.

`from model import Block` in train.py, with model.py in the project: the
analysis of train.py reads model.py's class definitions (never its module-level
code), so that `net = Block(); nn.init.zeros_(net.fc.weight)` is judged on
Block's real structure. Events then carry nodes of model.py; engine.localize
places each finding in the importing file (at its local cause, the init call) with the
other file's node as a related location, and drops what only model.py's own
analysis should report.

Resolution follows Python's search for a script (`module_files`); the cross-file
link of the loss rules (link.py) uses the same.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Protocol

import libcst as cst

try:  # hashlib's bundled BLAKE2b, without loading OpenSSL (as cache.py does)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

from initlint.cst_parser import parse_guarded
from initlint.diagnostics import Span
from initlint.facts.context import EVENT_LISTS, CallContext, Env
from initlint.facts.names import import_module_name
from initlint.facts.outline import Outline, Part, compacted, outline
from initlint.facts.values import ClassInfo, Const, Ext, Func, Obj, Tensor, Value
from initlint.frameworks.tables import KERAS_LOSSES, TORCH_LOSSES
from initlint.positions import Positions

# Larger files are not read for their definitions (generated code, vendored libraries).
MAX_IMPORTED_BYTES = 400_000
# How deep imports are followed from the checked file (train.py -> model.py -> layers.py).
MAX_IMPORT_DEPTH = 2
MAX_IMPORTED_MODULES = 16
# The root name of the definitions pass: its imports are followed too (depth permitting).
DEFINITIONS = "<definitions>"


# The names of imported helpers a script may get its model from (`discriminator_init`, `build_model`,
# `get_net`): running every helper a script calls would run its config and registry code too (timm's
# `generate_default_cfgs` in every model file).
BUILDER_NAME = re.compile(r"model|net|init|build|make|create|get|load|generator|discriminator|encoder|decoder"
                          r"|classifier|critic|actor|policy|backbone|mlp|cnn|rnn|lstm|gan|vae", re.IGNORECASE)
# The frameworks (by the first part of a canonical name) whose aliases a star import re-exports.
FRAMEWORK_ROOTS = frozenset({"torch", "tf", "keras", "np", "torchvision"})


def is_literal(node: cst.BaseExpression) -> bool:
    """A constant expression (`HIDDEN = 256`, `SIZES = (784, 128)`): safe to evaluate out of its file's order."""
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.Name)):
        return not isinstance(node, cst.Name) or node.value in ("True", "False", "None")
    if isinstance(node, cst.UnaryOperation):
        return is_literal(node.expression)
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(isinstance(e, cst.Element) and is_literal(e.value) for e in node.elements)
    return False


def builds_loss(node: cst.BaseExpression) -> bool:
    """A loss object built with no argument that could run code (`adversarial_loss = nn.BCELoss()`,
    `bce = keras.losses.BinaryCrossentropy(from_logits=False)`): a helper of the module calls it."""
    if not isinstance(node, cst.Call) or not all(is_literal(a.value) for a in node.args):
        return False
    func = node.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return name[:1].isupper() and (name in TORCH_LOSSES or name in KERAS_LOSSES)


def module_files(qualname: str, importer: str, root: Optional[str]) -> list[str]:
    """Candidate files for the module part of `pkg.mod.Class`, in Python's search order
    (the importing file's directory, its parents, then the project root)."""
    module = qualname.rsplit(".", 1)[0] if "." in qualname else ""
    return package_files(module, importer, root)


def package_files(module: str, importer: str, root: Optional[str]) -> list[str]:
    """Candidate files of the module `pkg.mod` itself."""
    if not module or module.startswith("."):
        return []
    rel = module.replace(".", os.sep)
    bases: list[str] = []
    directory = os.path.dirname(os.path.abspath(importer))
    stop = os.path.abspath(root) if root else None
    while True:
        bases.append(directory)
        parent = os.path.dirname(directory)
        if directory == stop or parent == directory:
            break
        directory = parent
    if stop and stop not in bases:
        bases.append(stop)
    return [os.path.join(base, rel + suffix) for base in bases for suffix in (".py", os.sep + "__init__.py")]


def package_of(path: str) -> Optional[str]:
    """The dotted package a file belongs to (for relative imports), from __init__.py files."""
    directory = os.path.dirname(os.path.abspath(path))
    parts: list[str] = []
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.append(os.path.basename(directory))
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return ".".join(reversed(parts)) or None


@dataclass(eq=False)
class ForeignModule:
    """A project file whose definitions the analysis of another file reads.

    With an outline (outline.py), only the statements asked for are parsed, in parts, as
    analyses ask; without one, the whole module is one part."""

    path: str
    text: str
    digest: str  # of its bytes: a cached result of the importer depends on it
    outline: Optional[Outline]
    parts: list[Part] = field(default_factory=list)
    # The top-level classes and functions an analysis ran (instantiated, called), by id: a finding's
    # node of this module lies in one of them, so only their positions are ever resolved.
    used: dict[int, cst.CSTNode] = field(default_factory=dict)
    _part_of: dict[int, Part] = field(default_factory=dict)  # id of a top-level statement -> its part
    _header: list[cst.CSTNode] = field(default_factory=list)  # the outline's imports and constants

    @property
    def whole(self) -> Optional[cst.Module]:
        """The module's whole tree, when it was parsed whole (what its own check may reuse)."""
        return self.parts[0].module if self.outline is None and self.parts else None

    def add_part(self, module: cst.Module, text: str, lines: Optional[list[int]]) -> Part:
        """A parse of `text`: the whole module (`lines` None) or the compacted lines `lines` of it."""
        positions = Positions(module)
        positions.use_source(text)
        part = Part(module, positions, lines)
        for stmt in module.body:
            self._part_of[id(stmt)] = part
            if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
                part.definitions[stmt.name.value] = stmt
        self.parts.append(part)
        return part

    def statements(self, wanted: Optional[str]) -> Optional[list[cst.CSTNode]]:
        """The top-level statements the definitions pass runs for `wanted` (a name of the module;
        None: all of them), parsed now if they were not: the imports and constants, then what
        `wanted` needs, in file order. None when the module does not parse."""
        if self.outline is None:
            return list(self.parts[0].module.body) if self.parts else self._parse_whole()
        names = self.outline.closure(wanted)
        parsed = {name for part in self.parts for name in part.definitions}
        missing = names - parsed
        if missing or not self.parts:
            ranges = [self.outline.definitions[name] for name in missing]
            if not self.parts:
                ranges += self.outline.header
            text, lines = compacted(self.text, ranges)
            module = parse_guarded(text)
            if not isinstance(module, cst.Module):
                return self._parse_whole()  # (CPython read the statements apart; libcst did not)
            self.add_part(module, text, lines)
            if len(self.parts) == 1:
                self._header = [s for s in module.body if not isinstance(s, (cst.ClassDef, cst.FunctionDef))]
        chosen = [part.definitions[name] for part in self.parts for name in part.definitions if name in names]
        return self._header + sorted(chosen, key=lambda stmt: self.outline.definitions[stmt.name.value][0])  # type: ignore

    def _parse_whole(self) -> Optional[list[cst.CSTNode]]:
        self.outline = None
        self.parts.clear()
        module = parse_guarded(self.text)
        if not isinstance(module, cst.Module):
            return None
        return list(self.add_part(module, self.text, None).module.body)

    def definitions(self) -> dict[int, cst.CSTNode]:
        """The module's top-level classes and functions parsed so far, by id."""
        return {id(stmt): stmt for part in self.parts for stmt in part.definitions.values()}

    def span(self, node: cst.CSTNode) -> Optional[Span]:
        """The node's span in this module, if it lies in a definition an analysis ran."""
        for top in self.used.values():
            found = self.span_in(top, node)
            if found is not None:
                return found
        return None

    def span_in(self, top: cst.CSTNode, node: cst.CSTNode) -> Optional[Span]:
        """The node's span in this module, if it lies within `top`, one of its top-level statements."""
        part = self._part_of.get(id(top))
        return part.span_in(top, node) if part is not None else None

    def module_holding(self, node: cst.CSTNode) -> Optional[cst.Module]:
        """The parsed part (a module) that holds `node`, if it lies in a definition an analysis ran."""
        for top in self.used.values():
            part = self._part_of.get(id(top))
            if part is not None and part.span_in(top, node) is not None:
                return part.module
        return None


class Origin(NamedTuple):
    """Where a project import is written: what `import_bindings` resolves it against."""

    module: str  # `model`, `pkg.layers` (relative imports resolved)
    importer: str  # the file that imports it
    depth: int  # 0: the checked file, 1: a module it imports...


# Parsed project files by (path, digest of their bytes), most recent last: a run imports the same
# model file from many scripts, and checks most of the files it imports (their own parse serves both).
_PARSED: OrderedDict[tuple[str, str], Optional[ForeignModule]] = OrderedDict()
_PARSED_MAX = 32


def digest(data: bytes) -> str:
    """A project file's digest (BLAKE2b-16, hex), as the cache records its dependencies."""
    return blake2b(data, digest_size=16).hexdigest()


def _remember(key: tuple[str, str], found: Optional[ForeignModule]) -> None:
    _PARSED[key] = found
    _PARSED.move_to_end(key)
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)


def load_module(path: str) -> Optional[ForeignModule]:
    """The parsed project file at `path`, or None (missing, too big, undecodable, does not parse)."""
    try:
        if os.stat(path).st_size > MAX_IMPORTED_BYTES:
            return None
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    key = (os.path.abspath(path), digest(data))
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _PARSED[key]
    found: Optional[ForeignModule] = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        found = ForeignModule(path, text, key[1], outline(text))
        if found.outline is None and found.statements(None) is None:
            found = None  # does not parse
    _remember(key, found)
    return found


def checked_parse(path: str, text: str, parse: Callable[[str], Any]) -> Any:
    """A checked file's parse (`parse(text)`), or the one an importer of this process made of the same
    bytes (a model file that scripts import is mostly read for them before it is checked)."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_IMPORTED_BYTES:
        return parse(text)
    key = (os.path.abspath(path), digest(data))
    known = _PARSED.get(key)
    if known is not None and known.whole is not None:
        _PARSED.move_to_end(key)
        return known.whole
    return parse(text)


def resolve_module(module: str, importer: str, root: Optional[str]) -> Optional[str]:
    """The project file that `import module` from `importer` reads, if any."""
    return next((c for c in package_files(module, importer, root) if os.path.isfile(c)), None)


def place(node: cst.CSTNode, foreign: Sequence[ForeignModule]) -> Optional[tuple[ForeignModule, Span]]:
    """The imported module a node belongs to, and its span there; None for a node of the checked file."""
    for fm in foreign:
        span = fm.span(node)
        if span is not None:
            return fm, span
    return None


class _Definer(Protocol):
    globals: Env
    package: Optional[str]
    facts: Any

    def make_class(self, node: cst.ClassDef, env: Env, ctx: CallContext) -> Any: ...
    def make_function(self, node: Any, env: Env, ctx: CallContext) -> Any: ...
    def call_function(self, func: Func, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value: ...
    def exec_import(self, small: Any, env: Env, ctx: CallContext) -> bool: ...
    def exec_assign(self, small: cst.Assign, env: Env, ctx: CallContext) -> bool: ...


def run_definitions(interp: _Definer, fm: ForeignModule, env: Env, statements: Sequence[cst.CSTNode]) -> None:
    """The imports, classes, functions, literal constants and loss objects among `statements`
    (top-level statements of an imported module), into `env`."""
    ctx = CallContext(root_kind="script", root_name=DEFINITIONS)
    for stmt in statements:
        if isinstance(stmt, cst.ClassDef):
            env.vars[stmt.name.value] = interp.make_class(stmt, env, ctx)
        elif isinstance(stmt, cst.FunctionDef):
            env.vars[stmt.name.value] = interp.make_function(stmt, env, ctx)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    interp.exec_import(small, env, ctx)
                elif isinstance(small, cst.Assign) and is_literal(small.value):
                    interp.exec_assign(small, env, ctx)
                elif isinstance(small, cst.Assign) and builds_loss(small.value):
                    interp.exec_assign(small, env, ctx)
                    fm.used.setdefault(id(stmt), stmt)  # a finding on the loss is placed there


def hands_over_model(args: list[Value], kwargs: dict[str, Value]) -> bool:
    """Whether a call of an imported helper is this file's to follow: it hands over one of this
    file's modules (`weights_init(net)`), or a model output that went through a sigmoid or softmax
    last, which the loss rules judge (`D_loss(D(real), ones)`)."""
    values = (*args, *kwargs.values())
    return any(_is_model(a) or isinstance(a, Tensor) and a.squash is not None for a in values)


def _is_model(value: Value) -> bool:
    """A framework module or layer (`nn.Linear`, a user `nn.Module`, a Keras model), or a plain object
    that may hold one (an RL agent's `self.net`); not a config object: timm hands its `ByoModelCfg`
    dataclass to `build_model_with_cfg`, and following that built every registered variant's model
    once more."""
    if not isinstance(value, Obj):
        return False
    if value.cls is None or value.cls.framework is not None:
        return True
    return not _config_class(value.cls.node)


def _config_class(node: cst.ClassDef) -> bool:
    """A dataclass, a named tuple or a class named as settings (`ModelConfig`, `TrainArgs`)."""
    def last_name(expr: cst.BaseExpression) -> str:
        expr = expr.func if isinstance(expr, cst.Call) else expr
        return expr.attr.value if isinstance(expr, cst.Attribute) else expr.value if isinstance(expr, cst.Name) else ""

    if any(last_name(d.decorator) == "dataclass" for d in node.decorators):
        return True
    if any(last_name(b.value) in ("NamedTuple", "TypedDict", "dict") for b in node.bases):
        return True
    return node.name.value.endswith(("Cfg", "Config", "Configuration", "Args", "Options", "Params", "Settings"))


class ProjectImports:
    """The project modules one file's analysis imports from, each read only when the analysis first
    uses one of its classes, and at most once (its parse at most once per process: load_module)."""

    def __init__(self, checked: str, root: Optional[str]) -> None:
        self.checked = checked
        self.root = root
        self.importer = checked  # the file whose imports are noted (an imported one while its definitions run)
        self.depth = 0  # of `importer`: 0 the checked file, 1 a module it imports...
        self.foreign: list[ForeignModule] = []  # the modules read
        self.envs: dict[str, Optional[Env]] = {}  # their definitions, by path (None: unreadable)
        self._modules: dict[str, ForeignModule] = {}  # by path
        self._ran: dict[str, set[int]] = {}  # by path: ids of the statements run into its scope
        self._running: set[str] = set()  # the modules whose definitions are running now
        self._not_builders: set[tuple[int, tuple[Any, ...]]] = set()  # (helper id, arguments) that returned no model here
        # Imports not read yet, by id of the name's `Ext` / of the scope of a star import.
        self.pending: dict[int, tuple[Ext, Env, str, str, Origin]] = {}
        # Imported lowercase names (`init_weights`): read only when applied to this file's modules.
        self.helpers: dict[int, tuple[Ext, Env, str, str, Origin]] = {}
        self.stars: dict[int, list[Origin]] = {}
        self.defs: dict[int, ForeignModule] = {}  # id of a read module's top-level class or function -> module
        # Project functions this file's code called (`model.apply(init_weights)`, `init_weights(net)`), and
        # those they called in turn, by id: (the function, the call in this file that ran it). A finding
        # inside one of them is this file's (engine.localize): the other file never runs it on these modules.
        self.entries: dict[int, tuple[cst.CSTNode, cst.CSTNode]] = {}
        # The qualified names of the classes the checked file imports and read ("nfq.networks.NFQNetwork"),
        # by id: what the cross-file link calls them (initlint/link.py).
        self.qualnames: dict[int, str] = {}
        self._inside = 0  # depth of imported code running now
        self._entry: Optional[cst.CSTNode] = None  # the call in this file that the running imported function came from

    def note(self, interp: _Definer, small: cst.ImportFrom, env: Env) -> None:
        """`from model import Block` / `from .layers import *`: noted, read on first use."""
        module = import_module_name(small, interp.package)
        if not module or module.split(".")[0] in ("torch", "tf", "keras", "np", "jax", "flax"):
            return
        origin = Origin(module, self.importer, self.depth)
        if isinstance(small.names, cst.ImportStar):
            self.stars.setdefault(id(env), []).append(origin)
            return
        for alias in small.names:
            local = alias.evaluated_alias or alias.evaluated_name
            bound = env.vars.get(local)
            if isinstance(bound, Ext):
                # Classes (`Block`, `Config`) are read where used; a helper (`get_logger()`) needs no
                # structure unless it is applied to a module (`resolve_function`).
                table = self.pending if alias.evaluated_name[:1].isupper() else self.helpers
                table[id(bound)] = (bound, env, local, alias.evaluated_name, origin)

    @staticmethod
    def _may_read(interp: _Definer, imported_in: Env, used_in: Env, ctx: Optional[CallContext]) -> bool:
        """Whether a use reads a project module: a call the checked file's module-level code makes
        (`net = Block()`, under `if __name__ == "__main__":` too, and in the functions it calls, as a
        script's `main(args)`; not in a class or function analysed on its own), or one inside an
        imported module's definitions. A library module's own classes and functions using imported
        ones are the other files' to analyse."""
        if imported_in is not interp.globals:
            return True
        return ctx is None or ctx.root_kind == "script" and ctx.root_name == ""

    def resolve(self, interp: _Definer, ext: Ext, used_in: Env, ctx: Optional[CallContext]) -> Optional[ClassInfo]:
        """The project class an imported name stands for, read now (None: not a project class,
        or not read from here; ctx None: always read)."""
        entry = self.pending.get(id(ext))
        if entry is None or entry[0] is not ext or not self._may_read(interp, entry[1], used_in, ctx):
            return None
        del self.pending[id(ext)]
        value = self._read(interp, entry, ClassInfo)
        if isinstance(value, ClassInfo):
            return value
        if isinstance(self._definition(interp, entry), Func):  # a capitalized function (`D_loss`): a helper
            self.helpers[id(ext)] = entry
        return None

    def resolve_function(self, interp: _Definer, ext: Ext) -> Optional[Func]:
        """The project function an imported name stands for, when it is applied to this file's
        modules (`net.apply(init_weights)` with `from .nn import init_weights`): what it does to
        them is this file's to see, wherever the call is (unlike `resolve`). None otherwise."""
        entry = self.helpers.pop(id(ext), None)
        if entry is None or entry[0] is not ext:
            return None
        value = self._read(interp, entry, Func)
        return value if isinstance(value, Func) else None

    def _read(self, interp: _Definer, entry: tuple[Ext, Env, str, str, Origin], kind: type) -> Optional[Value]:
        """The definition an import entry names, when it is a `kind`; bound in the importing scope
        in place of the opaque name, so later uses (the class roots) see it."""
        ext, env, local, name, origin = entry
        value = self._definition(interp, entry)
        if value is None or not isinstance(value, kind):
            return None
        if env.vars.get(local) is ext:
            env.vars[local] = value
        if origin.depth == 0:
            self.qualnames.setdefault(id(value), f"{origin.module}.{name}")
        return value

    def _definition(self, interp: _Definer, entry: tuple[Ext, Env, str, str, Origin]) -> Optional[Value]:
        """What an import entry names in its module, read on first use."""
        defs = self.definitions(interp, entry[4], entry[3])
        return defs.vars.get(entry[3]) if defs is not None else None

    def resolve_star(self, interp: _Definer, name: str, env: Env, ctx: CallContext) -> Optional[Value]:
        """A name not bound in the file, looked up in the project modules it star-imports."""
        root = env
        while root.parent is not None:
            root = root.parent
        if id(root) not in self.stars or not self._may_read(interp, root, env, ctx):
            return None
        for origin in self.stars.pop(id(root)):
            defs = self.definitions(interp, origin, None)
            for local, value in (defs.vars.items() if defs is not None else ()):
                if isinstance(value, ClassInfo) and not local.startswith("_"):
                    root.vars.setdefault(local, value)  # the file's own definitions win
        return root.vars.get(name)

    def star_imported_name(self, interp: _Definer, name: str, env: Env) -> Optional[Value]:
        """What a star-imported project module gives a name bound nowhere else, as an import:
        a framework alias it imported itself (`nn` after `from dcgan import *`, where dcgan.py
        has `import torch.nn as nn`), or one of its classes as the imported name `dcgan.Net`
        (opaque, as after `from dcgan import Net`: the cross-file link joins its output with a
        loss here). None otherwise. Unlike resolve_star, it may be asked from anywhere in the
        file, since no class of the other module is analysed for it."""
        root = env
        while root.parent is not None:
            root = root.parent
        for origin in self.stars.get(id(root), ()):
            defs = self.definitions(interp, origin, name)
            value = defs.vars.get(name) if defs is not None else None
            if isinstance(value, Ext) and value.qualname.split(".")[0] in FRAMEWORK_ROOTS:
                return value
            if isinstance(value, ClassInfo) and not name.startswith("_"):
                return Ext(f"{origin.module}.{name}")
        return None

    def definitions(self, interp: _Definer, origin: Origin, wanted: Optional[str]) -> Optional[Env]:
        """The imports, constants and loss objects of a project module, and its definition `wanted`
        with those it uses (None: all of them), run in a scope of their own (its module-level code is
        that file's to analyse), within the MAX_ budgets. Asked for another name later, the same scope
        gets that definition too."""
        if origin.depth >= MAX_IMPORT_DEPTH:
            return None
        path = resolve_module(origin.module, origin.importer, self.root)
        if path is None or os.path.abspath(path) in (os.path.abspath(origin.importer), os.path.abspath(self.checked)):
            return None
        if path not in self.envs:
            self.envs[path] = None  # unreadable, or past the budget: nothing
            if len(self.envs) > MAX_IMPORTED_MODULES:
                return None
            fm = load_module(path)
            if fm is None:
                return None
            self.foreign.append(fm)
            self._modules[path] = fm
            self.envs[path] = Env()
        env = self.envs[path]
        if env is None or path in self._running:
            return None  # an import cycle gives nothing
        fm = self._modules[path]
        statements = fm.statements(wanted)
        if statements is None:
            self.envs[path] = None  # does not parse
            return None
        ran = self._ran.setdefault(path, set())
        new = [stmt for stmt in statements if id(stmt) not in ran]
        if new:
            ran.update(map(id, new))
            self.defs.update(dict.fromkeys(fm.definitions(), fm))
            saved = (self.importer, self.depth, interp.package)
            self.importer, self.depth, interp.package = path, origin.depth + 1, package_of(path)
            self._running.add(path)
            try:
                run_definitions(interp, fm, env, new)
            finally:
                self.importer, self.depth, interp.package = saved
                self._running.discard(path)
        return env

    def ran(self, node: cst.CSTNode) -> None:
        """A top-level class or function of an imported module ran: its nodes may be in findings."""
        fm = self.defs.get(id(node))
        if fm is not None:
            fm.used.setdefault(id(node), node)

    def call_helper(self, interp: _Definer, ext: Ext, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Optional[Value]:
        """What an imported lowercase helper returns, when this file is the one to follow it: it is
        handed one of this file's models (`weights_init(self.net)`, `D_loss(D(real), ones)`) or it
        builds one (`call_builder`). None: the call stays opaque."""
        if hands_over_model(args, kwargs):
            helper = self.resolve_function(interp, ext)
            return interp.call_function(helper, args, kwargs, node, ctx) if helper is not None else None
        return self.call_builder(interp, ext, args, kwargs, node, ctx)

    def call_builder(self, interp: _Definer, ext: Ext, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Optional[Value]:
        """The model an imported helper returns when this file's script calls it with no model (a
        builder: `netD = discriminator_init(device)`), so that the script's loss on its output is
        judged. What the helper does to the model is this file's to report only when the helper's own
        file cannot see the model (`builds_elsewhere`). None, leaving no trace, when the helper returns
        anything else (`loader = dataloader_init()`). Unlike `resolve_function`, the name stays bound
        to the import."""
        entry = self.helpers.get(id(ext))
        if entry is None or entry[0] is not ext or self.running_imported():
            return None
        if entry[1] is not interp.globals or ctx.root_kind != "script" or ctx.root_name != "":
            return None  # a function or class of this file analysed on its own
        if any(isinstance(a, Func) for a in (*args, *kwargs.values())) or not BUILDER_NAME.search(entry[3]):
            return None  # a decorator (`@register_model`), a callback's registration, or no builder by its name
        helper = self._definition(interp, entry)
        if not isinstance(helper, Func):
            return None
        asked = (id(helper.node), tuple(a.value if isinstance(a, Const) else type(a).__name__ for a in (*args, *kwargs.values())))
        if asked in self._not_builders:
            return None
        facts = interp.facts
        marks = {name: len(getattr(facts, name)) for name in EVENT_LISTS}
        entered = set(self.entries)
        result = interp.call_function(helper, args, kwargs, node, ctx)
        built = isinstance(result, Obj) and (
            result.cls is not None and result.cls.framework is not None or result.kind.startswith(("torch.nn.", "keras.")))
        if not built:
            self._not_builders.add(asked)  # asked again alike (`cfg = make_cfg(...)` per variant), it is not run
            for name, mark in marks.items():
                del getattr(facts, name)[mark:]
        if not built or not self.builds_elsewhere(helper, result):  # type: ignore[arg-type]
            for key in set(self.entries) - entered:
                del self.entries[key]  # that file's analysis runs the helper and builds the model too
        return result if built else None

    def builds_elsewhere(self, helper: Func, model: Obj) -> bool:
        """Whether an imported helper's model is of a class its module imports: that module's own
        analysis of the helper sees the class as an opaque name, and builds nothing."""
        home = self.defs.get(id(helper.node))
        cls = model.cls
        if home is None or cls is None or self.defs.get(id(cls.node)) in (home, None):
            return False
        # Unless the module calls the helper itself (a `__main__` block): its analysis then builds the model.
        name = helper.node.name.value
        calls = re.findall(rf"(?<![\w.]){re.escape(name)}\s*\(", home.text)
        return len(calls) <= len(re.findall(rf"\bdef\s+{re.escape(name)}\s*\(", home.text))

    def enter(self, top: cst.CSTNode, call: Any, function: bool) -> bool:
        """A top-level definition starts to run from `call`; True when it is imported (then `leave`
        follows). `function`: a plain function, not a class's method."""
        if id(top) not in self.defs:
            return False
        if self._inside == 0:
            self._entry = call if function else None  # an imported class's own code is its file's to report
        if self._entry is not None and function:
            self.entries.setdefault(id(top), (top, self._entry))
        self._inside += 1
        return True

    def leave(self) -> None:
        self._inside -= 1

    def running_imported(self) -> bool:
        """Whether imported code is running now (its own imports are relative to its file)."""
        return self._inside > 0
