"""Where another project file builds a model class of the checked file, and with which literal arguments.

`model = Net(784, 128, 8, False)` in train.py, with `from model import Net`: the analysis of
model.py runs the class root of `Net` with those values instead of unknown ones, as if model.py
had built it itself (analysis._init_args). Only what the call sites say for sure is used:

- an argument is known when it is a literal (a number, a string, True/False/None, a tuple or list
  of literals) or a name bound once, at module level, to such a literal in the calling file
  (`HIDDEN = 128`); any other argument is unknown;
- tests are not call sites (`tests/`, `test_*.py`): they build models small or odd on purpose;
- a parameter is given only when every call site gives it the same known value. When the sites
  disagree (or one omits it, or passes `*args` / `**kwargs`), a required parameter stays unknown
  and a defaulted one keeps its default, exactly as without call sites.

Finding the call sites must stay cheap, since every model class of every file asks: a per-process
index of the project's `.py` files (their bytes and the words of their import statements, bounded
like the imported modules in facts/modules.py) is built on first use; a class looks only at files
whose imports name its module's stem and whose text calls the class (`Net(`) or imports it under
another name, and only those are parsed, with `ast` (the checked file keeps its one libcst parse).

The files looked at are the result's dependencies (FileResult.depends, by digest), and the class
names looked up are recorded (FileResult.lookups): a run that re-reads any file whose text names one
of them re-analyses the record (runner.py), so a new or edited call site is seen by a warm run.
A long-running process (the language server) calls `revalidate()` before each check.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from bisect import bisect_left
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

import libcst as cst

from initlint.facts.modules import MAX_IMPORTED_BYTES, digest, package_of, resolve_module
from initlint.facts.values import Const, Seq, Value

# Bounds of the project index: files, folders walked and bytes kept (a vendored tree or a home folder
# is not read whole; the walk is sorted, so what is kept does not change from run to run).
MAX_INDEX_FILES = 5000
MAX_INDEX_DIRS = 5000
MAX_INDEX_BYTES = 96 * 1024 * 1024
# Call sites in more files than this are not read for one class (a base block built everywhere).
MAX_CALLER_FILES = 32
# Folders that hold no project code; and tests, whose models are built small or odd on purpose
# (`VisionTransformer(img_size=16, depth=1, embed_dim=8)`): not how the project uses a class.
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "build", "dist", "site-packages", "venv", "env", "wheels",
                       "test", "tests"})
# What marks a project's root folder, when no configuration names it.
ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
MAX_ROOT_LEVELS = 8

_FROM_IMPORT = re.compile(rb"from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)")
_IMPORT = re.compile(rb"import[ \t]+([^\n]*)")
_WORD = re.compile(rb"\w+")

# A call site that says nothing for sure about any parameter (`Net(*sizes)`, `Net(**cfg)`).
_WILDCARD = object()
_UNSET = object()  # a parameter a call site leaves to its default


@dataclass
class _File:
    path: str
    key: tuple[int, int]  # (mtime_ns, size): a revalidated index re-reads a file only when it changed
    data: bytes
    tokens: frozenset[bytes]  # the words of its import statements
    digest: str = ""
    tree: Any = None  # its ast.Module once parsed; False: it does not parse
    constants: Optional[dict[str, Any]] = None

    def hexdigest(self) -> str:
        if not self.digest:
            self.digest = digest(self.data)
        return self.digest


def _import_tokens(data: bytes) -> frozenset[bytes]:
    words: set[bytes] = set()
    for match in _FROM_IMPORT.finditer(data):
        words.update(match.group(1).split(b"."))
        words.update(_WORD.findall(match.group(2)))
    for match in _IMPORT.finditer(data):
        words.update(_WORD.findall(match.group(1)))
    return frozenset(words)


class ProjectIndex:
    """The `.py` files under one root folder, read once (and again only when `stale` and changed)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.files: dict[str, _File] = {}
        self.by_token: dict[bytes, list[_File]] = {}  # a word of import statements -> the files using it
        self.stale = True
        # (checked file, class, signature) -> (agreed values, dependencies): a class asks several times.
        self.memo: dict[tuple[str, str, tuple[Any, ...]], tuple[dict[str, Any], list[tuple[str, str]]]] = {}

    def refresh(self) -> None:
        if not self.stale:
            return
        self.stale = False
        self.memo.clear()
        old, self.files = self.files, {}
        dirs = 0
        kept = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirs += 1
            if dirs > MAX_INDEX_DIRS:
                break
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if not name.endswith(".py") or len(self.files) >= MAX_INDEX_FILES or kept >= MAX_INDEX_BYTES:
                    continue
                if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
                    continue
                path = os.path.join(dirpath, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                key = (info.st_mtime_ns, info.st_size)
                if info.st_size > MAX_IMPORTED_BYTES:
                    continue
                found = old.get(path)
                if found is None or found.key != key:
                    try:
                        with open(path, "rb") as handle:
                            data = handle.read(MAX_IMPORTED_BYTES + 1)
                    except OSError:
                        continue
                    if len(data) > MAX_IMPORTED_BYTES:
                        continue
                    found = _File(path, key, data, _import_tokens(data))
                self.files[path] = found
                kept += len(found.data)
        self.by_token = {}
        for found in self.files.values():
            for token in found.tokens:
                self.by_token.setdefault(token, []).append(found)

    def callers(self, checked: str, name: str) -> list[_File]:
        """Files other than `checked` whose imports name its module and whose text calls the class
        (`Net(`, `model.Net(`) or imports it under another name (`from mlist import Deep as D`)."""
        word = name.encode()
        near = [f for f in self.by_token.get(_module_stem(checked).encode(), ()) if word in f.data and f.path != checked]
        if not near:
            return []
        call = re.compile(re.escape(word) + rb"(?:\s*\(|\s+as\s)")
        return [f for f in near if any(_word_starts(f.data, m.start()) for m in call.finditer(f.data))]


_INDEXES: OrderedDict[str, ProjectIndex] = OrderedDict()
_INDEXES_MAX = 4
_ROOTS: dict[str, str] = {}


def revalidate() -> None:
    """The project may have changed since the last check (a long-running process): the next lookup
    re-walks the folders and re-reads the files whose stat changed."""
    for index in _INDEXES.values():
        index.stale = True
    _ROOTS.clear()


def _index(root: str) -> ProjectIndex:
    index = _INDEXES.get(root)
    if index is None:
        index = _INDEXES[root] = ProjectIndex(root)
        if len(_INDEXES) > _INDEXES_MAX:
            _INDEXES.popitem(last=False)
    _INDEXES.move_to_end(root)
    index.refresh()
    return index


def scan_root(checked: str, configured: Optional[str]) -> str:
    """The folder whose files may build the checked file's classes: the configuration's folder, else
    the nearest folder above the file that holds a pyproject.toml, setup.py, setup.cfg or .git (within
    MAX_ROOT_LEVELS), else the folder above the file's outermost package (where `import pkg.model` works).
    It depends on the file alone, not on the paths a run was given, so cached results agree."""
    if configured:
        return os.path.abspath(configured)
    directory = os.path.dirname(checked)
    cached = _ROOTS.get(directory)
    if cached is not None:
        return cached
    found: Optional[str] = None
    probe = directory
    for _ in range(MAX_ROOT_LEVELS):
        if any(os.path.exists(os.path.join(probe, marker)) for marker in ROOT_MARKERS):
            found = probe
            break
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if found is None:
        found = directory
        while os.path.isfile(os.path.join(found, "__init__.py")) and os.path.dirname(found) != found:
            found = os.path.dirname(found)
    _ROOTS[directory] = found
    return found


def _module_stem(path: str) -> str:
    base = os.path.splitext(os.path.basename(path))[0]
    return os.path.basename(os.path.dirname(path)) if base == "__init__" else base


# ---------------------------------------------------------------------------- the constructor's signature
@dataclass(frozen=True)
class Signature:
    """The parameters of `__init__` after `self`, as call sites bind them."""

    positional: tuple[str, ...]
    keyword_only: tuple[str, ...]
    required: frozenset[str]
    star_args: bool
    star_kwargs: bool

    @classmethod
    def of(cls, node: cst.FunctionDef) -> Signature:
        params = node.params
        positional = [p for p in [*params.posonly_params, *params.params]][1:]
        return cls(
            tuple(p.name.value for p in positional),
            tuple(p.name.value for p in params.kwonly_params),
            frozenset(p.name.value for p in [*positional, *params.kwonly_params] if p.default is None),
            isinstance(params.star_arg, cst.Param),
            params.star_kwarg is not None,
        )

    def key(self) -> tuple[Any, ...]:
        return (self.positional, self.keyword_only, tuple(sorted(self.required)), self.star_args, self.star_kwargs)


def _bind(sig: Signature, call: ast.Call, constants: dict[str, Any]) -> Optional[dict[str, Any]]:
    """What one call gives each parameter: its known value, UNKNOWN_ARG, or _UNSET (the default);
    None when the call would fail (a missing required argument, an unexpected one); _WILDCARD
    values when it passes `*x` or `**x`."""
    names = sig.positional + sig.keyword_only
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return dict.fromkeys(names, _WILDCARD)
    bound: dict[str, Any] = dict.fromkeys(names, _UNSET)
    if len(call.args) > len(sig.positional) and not sig.star_args:
        return None
    for name, arg in zip(sig.positional, call.args):
        bound[name] = _literal(arg, constants)
    for keyword in call.keywords:
        assert keyword.arg is not None
        if keyword.arg in sig.positional[: len(call.args)]:
            return None  # given twice: a TypeError, not a construction
        if keyword.arg in bound:
            bound[keyword.arg] = _literal(keyword.value, constants)
        elif not sig.star_kwargs:
            return None  # an unexpected keyword: a TypeError too
    if any(bound[name] is _UNSET for name in sig.required):
        return None
    return bound


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN_ARG = _Unknown()


def _literal(node: ast.expr, constants: dict[str, Any]) -> Any:
    """The value of a literal argument (as a hashable Python value: lists become ("list", items)),
    else UNKNOWN_ARG."""
    if isinstance(node, ast.Constant):
        value = node.value
        return value if value is None or type(value) in (bool, int, float, str) else UNKNOWN_ARG
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant):
        number = node.operand.value
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return -number if isinstance(node.op, ast.USub) else number
        return UNKNOWN_ARG
    if isinstance(node, (ast.Tuple, ast.List)):
        items = tuple(_literal(e, constants) for e in node.elts)
        if any(item is UNKNOWN_ARG for item in items):
            return UNKNOWN_ARG
        return ("tuple" if isinstance(node, ast.Tuple) else "list", items)
    if isinstance(node, ast.Name):
        return constants.get(node.id, UNKNOWN_ARG)
    return UNKNOWN_ARG


def _constants_for(found: _File, tree: ast.Module, call: ast.Call) -> dict[str, Any]:
    """The module constants a call may name (the whole file is walked for them only when one of its
    arguments names a module-level literal assignment)."""
    if found.constants is None:
        top = {stmt.targets[0].id for stmt in tree.body if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
               and isinstance(stmt.targets[0], ast.Name)}
        named = {n.id for arg in [*call.args, *(k.value for k in call.keywords)] for n in ast.walk(arg) if isinstance(n, ast.Name)}
        if not top & named:
            return {}
        found.constants = _module_constants(tree)
    return found.constants


def _module_constants(tree: ast.Module) -> dict[str, Any]:
    """Names bound exactly once in the whole file, by a module-level `NAME = <literal>`."""
    counts: dict[str, int] = {}
    unsafe: set[str] = set()

    def bind(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bind(node.id)
        elif isinstance(node, ast.arg):
            bind(node.arg)
        elif isinstance(node, ast.alias):
            bind((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler)):
            if node.name:
                bind(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            unsafe.update(node.names)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bind(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bind(node.rest)
    out: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            if counts.get(name) == 1 and name not in unsafe:
                value = _literal(stmt.value, {})
                if value is not UNKNOWN_ARG:
                    out[name] = value
    return out


# ---------------------------------------------------------------------------- a caller's calls
def _parse(found: _File) -> Optional[ast.Module]:
    if found.tree is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes and the like are the file's own business
                # Decoded as initlint reads a file (an undecodable one is IL002, not code to read).
                found.tree = ast.parse(found.data.decode("utf-8-sig"), filename=found.path)
        except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeError):
            found.tree = False
    return found.tree or None


def _import_from_module(node: ast.ImportFrom, package: Optional[str]) -> Optional[str]:
    if not node.level:
        return node.module
    if package is None:
        return None
    base = package.split(".")
    if node.level > 1:
        if len(base) < node.level - 1:
            return None
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])]) or None


def _calls_of(found: _File, tree: ast.Module, checked: str, name: str, root: str) -> list[ast.Call]:
    """The calls in a caller of the class `name` defined in `checked`, through the imports that name it.
    Only the statements on the lines where the text imports the module's stem, then on those where it
    calls one of the names bound to the class or module, are walked (`_on_lines`): a big caller's tree
    is not walked whole for every class it might build."""
    package = package_of(found.path)
    stem = _module_stem(checked)
    classes: set[str] = set()  # local names of the class (`Net`, `from model import Net as M`)
    modules: set[str] = set()  # dotted local names of its module (`model`, `pkg.model`, `m`)

    def is_checked(module: Optional[str]) -> bool:
        if not module:
            return False
        path = resolve_module(module, found.path, root)
        return path is not None and os.path.abspath(path) == checked

    data = found.data if b"\r" not in found.data else found.data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # lines as ast counts them
    stem_word = re.compile(rb"(?<!\w)" + re.escape(stem.encode()) + rb"(?!\w)")
    import_lines = {_line(data, m.start()) for pattern in (_FROM_IMPORT, _IMPORT)
                    for m in pattern.finditer(data) if stem_word.search(m.group(0))}
    for node in _on_lines(tree, import_lines, (ast.Import, ast.ImportFrom)):
        # Only imports that name the module's stem can import it: no other is resolved.
        if isinstance(node, ast.ImportFrom):
            module = _import_from_module(node, package)
            for alias in node.names:
                if alias.name == name and module is not None and module.rsplit(".", 1)[-1] == stem and is_checked(module):
                    classes.add(alias.asname or alias.name)
                elif alias.name == stem and is_checked(f"{module}.{alias.name}" if module else None):
                    modules.add(alias.asname or alias.name)  # `from pkg import model`
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.rsplit(".", 1)[-1] == stem and is_checked(alias.name):
                    modules.add(alias.asname or alias.name)
    if not classes and not modules:
        return []
    callees = sorted(classes | ({name} if modules else set()))
    call_lines: set[int] = set()
    for callee in callees:
        pattern = re.compile(re.escape(callee.encode()) + rb"\s*\(")
        call_lines.update(_line(data, m.start()) for m in pattern.finditer(data) if _word_starts(data, m.start()))
    out = []
    for node in _on_lines(tree, call_lines, (ast.Call,)):
        assert isinstance(node, ast.Call)
        func = node.func
        if isinstance(func, ast.Name) and func.id in classes or isinstance(func, ast.Attribute) and func.attr == name and _dotted(func.value) in modules:
            out.append(node)
    return out


def _word_starts(data: bytes, offset: int) -> bool:
    """A match at `offset` begins a word (what `\\b` says, checked by hand: a pattern that starts
    with a literal is searched much faster)."""
    return offset == 0 or not (data[offset - 1 : offset].isalnum() or data[offset - 1] == 0x5F)


def _line(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _on_lines(tree: ast.AST, lines: set[int], kinds: tuple[type, ...]) -> list[ast.AST]:
    """The nodes of `kinds` that start on one of `lines`, found by descending only into the nodes
    whose lines hold one of them."""
    if not lines:
        return []
    ordered = sorted(lines)
    out: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            start = getattr(child, "lineno", None)
            if start is not None:
                end = getattr(child, "end_lineno", None) or start
                at = bisect_left(ordered, start)
                if at == len(ordered) or ordered[at] > end:
                    continue  # none of the lines is inside it
                if isinstance(child, kinds) and start in lines:
                    out.append(child)
            stack.append(child)
    return out


def _dotted(node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner is not None else None
    return None


# ---------------------------------------------------------------------------- the lookup
def agreed_arguments(checked: str, configured_root: Optional[str], name: str,
                     init: cst.FunctionDef) -> tuple[dict[str, Any], list[tuple[str, str]], bool]:
    """The values every project call site of the class `name` (defined in `checked`) agrees on, by
    parameter (Python values; tuples/lists as ("tuple"|"list", items)); the files read, as (absolute
    path, digest) dependencies; and whether a lookup ran at all (False: no parameters, not a .py file)."""
    sig = Signature.of(init)
    if not (sig.positional or sig.keyword_only) or not checked.endswith(".py"):
        return {}, [], False
    checked = os.path.abspath(checked)
    index = _index(scan_root(checked, configured_root))
    memo_key = (checked, name, sig.key())
    done = index.memo.get(memo_key)
    if done is not None:
        return dict(done[0]), list(done[1]), True
    callers = index.callers(checked, name)[:MAX_CALLER_FILES + 1]
    depends = [(os.path.abspath(f.path), f.hexdigest()) for f in callers]
    agreed: dict[str, Any] = {}
    if len(callers) <= MAX_CALLER_FILES:
        agreed = _agree(callers, checked, name, sig, index.root)
    index.memo[memo_key] = (agreed, depends)
    return dict(agreed), list(depends), True


# Methods a call site runs on the instance it has just built that set its weights (`eta = MLP(1, d)`,
# then `eta.init_zeros()`): the class's own analysis replays them (analysis._run_recipes).
INIT_METHOD = re.compile(r"init|reset|weight|zero|constant|normal|uniform", re.IGNORECASE)


class InitCall(NamedTuple):
    """A weight-setting method a call site runs on the instance it has just built."""

    method: str
    args: tuple[Any, ...]  # literal values, else UNKNOWN_ARG
    path: str  # the calling file
    line: int


def init_recipes(checked: str, configured_root: Optional[str], name: str,
                 methods: frozenset[str]) -> tuple[list[InitCall], list[tuple[str, str]], bool]:
    """The weight-setting methods of the class `name` (among `methods`, its own) that project call sites
    run on an instance right after building it, each method and arguments once, where first seen;
    the files read, as dependencies; whether a lookup ran."""
    wanted = frozenset(m for m in methods if INIT_METHOD.search(m) and not m.startswith("__"))
    if not wanted or not checked.endswith(".py"):
        return [], [], False
    checked = os.path.abspath(checked)
    index = _index(scan_root(checked, configured_root))
    memo_key = (checked, name, ("recipes", tuple(sorted(wanted))))
    done = index.memo.get(memo_key)
    if done is not None:
        return list(done[0]["recipes"]), list(done[1]), True
    callers = index.callers(checked, name)[:MAX_CALLER_FILES + 1]
    depends = [(os.path.abspath(f.path), f.hexdigest()) for f in callers]
    recipes: dict[tuple[str, tuple[Any, ...]], InitCall] = {}
    if len(callers) <= MAX_CALLER_FILES:
        for found in sorted(callers, key=lambda f: (len(f.data), f.path)):
            tree = _parse(found)
            calls = _calls_of(found, tree, checked, name, index.root) if tree is not None else []
            for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
                for line, (method, args) in _methods_run_on(found, tree, call, wanted):  # type: ignore[arg-type]
                    recipes.setdefault((method, args), InitCall(method, args, found.path, line))
    index.memo[memo_key] = ({"recipes": tuple(recipes.values())}, depends)
    return list(recipes.values()), list(depends), True


def _methods_run_on(found: _File, tree: ast.Module, call: ast.Call, wanted: frozenset[str]) -> list[tuple[int, tuple[str, tuple[Any, ...]]]]:
    """The `wanted` methods called, as statements, on the name a call site binds the instance to
    (`eta = MLP(...)`): the statements after it in its own block, up to one that binds the name
    again (an assignment, a loop or `with` target, an import, a definition); each with its line."""
    for block in _blocks_holding(tree, call.lineno):
        at = next((k for k, stmt in enumerate(block) if isinstance(stmt, ast.Assign) and stmt.value is call), None)
        if at is None:
            continue
        assign = block[at]
        assert isinstance(assign, ast.Assign)
        if len(assign.targets) != 1 or not isinstance(assign.targets[0], ast.Name):
            return []
        var = assign.targets[0].id
        out: list[tuple[int, tuple[str, tuple[Any, ...]]]] = []
        for stmt in block[at + 1:]:
            value = stmt.value if isinstance(stmt, ast.Expr) else None
            if (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and isinstance(value.func.value, ast.Name)
                    and value.func.value.id == var and value.func.attr in wanted and not value.keywords
                    and not any(isinstance(a, ast.Starred) for a in value.args)):
                out.append((stmt.lineno, (value.func.attr, tuple(_literal(a, {}) for a in value.args))))
            if var in _bound_by(stmt):
                break
        return out
    return []


def _blocks_holding(tree: ast.AST, line: int) -> list[list[ast.stmt]]:
    """The statement lists (a module's or function's body, a branch, a loop body) with a statement
    starting on or spanning `line`, innermost last."""
    out: list[list[ast.stmt]] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                for stmt in block:
                    if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
                        out.append(block)
                        stack.append(stmt)
        for handler in getattr(node, "handlers", []) or []:
            stack.append(handler)
    return out[::-1]


def _bound_by(stmt: ast.stmt) -> set[str]:
    """The names a statement binds in its scope (not inside a function or class it defines)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    names: set[str] = set()
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        elif isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return names


def _agree(callers: list[_File], checked: str, name: str, sig: Signature, root: str) -> dict[str, Any]:
    """The known values all call sites give alike. The smallest callers are parsed first, and the
    rest are not once no parameter can still be agreed on (`Net(**init_dict)` in a test)."""
    agreed: Optional[dict[str, Any]] = None  # None: no call site yet
    for found in sorted(callers, key=lambda f: (len(f.data), f.path)):
        tree = _parse(found)
        if tree is None:
            continue  # a caller that does not parse says nothing
        for call in _calls_of(found, tree, checked, name, root):
            bound = _bind(sig, call, _constants_for(found, tree, call))
            if bound is None:
                continue  # a call that would raise TypeError builds nothing
            known = {param: value for param, value in bound.items() if _is_known(value)}
            if agreed is None:
                agreed = known
            else:
                agreed = {param: value for param, value in agreed.items()
                          if param in known and _key(known[param]) == _key(value)}
        if agreed is not None and not agreed:
            break
    return agreed or {}


def _is_known(value: Any) -> bool:
    return value is not _UNSET and value is not _WILDCARD and value is not UNKNOWN_ARG


def to_value(value: Any) -> Value:
    """An agreed argument as the interpreter's value (a fresh one each time: sequences are mutable)."""
    if isinstance(value, tuple):
        return Seq([to_value(v) for v in value[1]], is_tuple=value[0] == "tuple")
    return Const(value)


def to_python(value: Any) -> Any:
    """An agreed argument as a Python value (tuples and lists as themselves)."""
    if isinstance(value, tuple):
        items = [to_python(v) for v in value[1]]
        return tuple(items) if value[0] == "tuple" else items
    return value


def _key(value: Any) -> Any:
    """Equal values, equal keys, across types too (`1`, `1.0` and `True` are different arguments)."""
    if value is _UNSET or value is _WILDCARD or value is UNKNOWN_ARG:
        return id(value)
    if isinstance(value, tuple):
        return (value[0], tuple(_key(v) for v in value[1]))
    return (type(value).__name__, value)


__all__ = ["UNKNOWN_ARG", "agreed_arguments", "revalidate", "scan_root", "to_value"]
