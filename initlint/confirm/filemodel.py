"""A flagged file as the confirmation stage reads it: its top-level statements, the names each one
binds and needs, so that an assembly keeps exactly the definitions a model depends on.

Pure Python (ast + symtable): it runs in the main process and never imports torch.
"""

from __future__ import annotations

import ast
import symtable
from functools import cached_property
from typing import Optional

from initlint.confirm.recipe import is_main_guard, script_blocks


class Unbuildable(Exception):
    """The module cannot be assembled; the message is the reason shown to the user."""


# A top-level statement of the file.
Stmt = ast.stmt


def stmt_start(node: Stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno] + [d.lineno for d in decorators])


def bound_names(node: Stmt) -> set[str]:
    """Names a top-level statement binds (for dependency lookup)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Import):
        return {(a.asname or a.name.split(".")[0]) for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {(a.asname or a.name) for a in node.names if a.name != "*"}
    names: set[str] = set()
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Name):
                    names.add(sub.id)
    elif isinstance(node, (ast.If, ast.Try)) and not is_main_guard(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                names |= bound_names(child)
            elif isinstance(child, ast.ExceptHandler):
                for s in child.body:
                    names |= bound_names(s)
    return names


def load_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def def_globals(table: symtable.SymbolTable) -> set[str]:
    out = {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        out |= def_globals(child)
    return out


def self_aliases(body: list[Stmt]) -> set[str]:
    """Top-level names bound to the module itself (`d2l = sys.modules[__name__]`)."""
    return {
        t.id
        for node in body
        if isinstance(node, ast.Assign) and ast.unparse(node.value).replace(" ", "") == "sys.modules[__name__]"
        for t in node.targets
        if isinstance(t, ast.Name)
    }


class FileModel:
    """The top-level statements of one file with their bindings and free names."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        try:
            self.tree = ast.parse(text, filename=path)
            top = symtable.symtable(text, path, "exec")
        except (SyntaxError, ValueError) as exc:
            raise Unbuildable(f"the file does not parse: {exc}") from None
        self.tree.body = hoist_graph_blocks(self.tree.body)
        self.body: list[Stmt] = list(self.tree.body)
        tables = {(c.get_name(), c.get_lineno()): c for c in top.get_children()}
        self.uses: list[set[str]] = []
        for node in self.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                table = tables.get((node.name, node.lineno))
                names = def_globals(table) if table is not None else load_names(node)
                for extra in getattr(node, "decorator_list", []):
                    names |= load_names(extra)
                if isinstance(node, ast.ClassDef):
                    for base in list(node.bases) + [k.value for k in node.keywords]:
                        names |= load_names(base)
                else:
                    for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
                        names |= load_names(default)
                self.uses.append(names)
            else:
                self.uses.append(load_names(node))
        aliases = self_aliases(self.body)
        if aliases:
            # `d2l = sys.modules[__name__]` (d2l's library files): `d2l.Classifier` uses `Classifier`.
            for node, names in zip(self.body, self.uses):
                names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in aliases}
        self.binders: dict[str, list[int]] = {}
        self.configures: dict[str, list[int]] = {}  # name -> statements that configure it in place
        for i, node in enumerate(self.body):
            for name in bound_names(node):
                self.binders.setdefault(name, []).append(i)
            configured = configured_name(node)
            if configured is not None:
                self.configures.setdefault(configured, []).append(i)

    @cached_property
    def script_constants(self) -> dict[str, ast.Assign]:
        """The literal constants the script's main block sets (`noise_dim = 10` under
        `if __name__ == "__main__":`, or in the `main()` it calls), by name: each bound once there,
        by that assignment, and nowhere at the top level. The model's code may read them as
        globals, and its instantiation may pass them."""
        stores: dict[str, int] = {}
        literal: dict[str, ast.Assign] = {}
        for block in script_blocks(self.tree)[1:]:
            for stmt in block:
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                        stores[node.id] = stores.get(node.id, 0) + 1
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                    try:
                        ast.literal_eval(stmt.value)
                    except (ValueError, TypeError, RecursionError):
                        continue
                    literal[stmt.targets[0].id] = stmt
        return {name: stmt for name, stmt in literal.items() if stores.get(name) == 1 and name not in self.binders}

    def class_def(self, name: str) -> Optional[ast.ClassDef]:
        for node in self.body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                return node
        return None

    def top_index_at(self, line: int) -> Optional[int]:
        for i, node in enumerate(self.body):
            end = getattr(node, "end_lineno", node.lineno) or node.lineno
            if stmt_start(node) <= line <= end:
                return i
        return None

    def closure(self, roots: list[int], extra_names: set[str] = frozenset()) -> list[int]:  # type: ignore[assignment]
        """Indices of `roots` plus every top-level binding they need, in file order."""
        keep: set[int] = set()
        todo = list(roots)
        pending_names = set(extra_names)
        while todo or pending_names:
            if todo:
                i = todo.pop()
                if i in keep:
                    continue
                keep.add(i)
                pending_names |= self.uses[i]
                for name in bound_names(self.body[i]):  # `parser = ...` brings its `add_argument` calls
                    todo.extend(self.configures.get(name, []))
            names, pending_names = pending_names, set()
            for name in names:
                for j in self.binders.get(name, []):
                    if j not in keep and not is_side_effect(self.body[j]):
                        todo.append(j)
        # `from __future__` imports must stay first and are harmless.
        for i, node in enumerate(self.body):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                keep.add(i)
        return sorted(keep)

    def render(self, indices: list[int], extra: str = "") -> str:
        """The kept statements at their own lines; everything else blank."""
        lines = self.text.splitlines()
        out = [""] * len(lines)
        for i in indices:
            node = self.body[i]
            start = stmt_start(node)
            end = getattr(node, "end_lineno", node.lineno) or node.lineno
            segment = lines[start - 1 : end]
            indent = node.col_offset
            if indent and start == node.lineno:
                # Shares its first line with a dropped statement (`a; b`), or was hoisted out of the
                # main block: keep only this one, dedented with the lines of its own block.
                segment = [lines[start - 1][indent:]] + [t[indent:] if not t[:indent].strip() else t for t in segment[1:]]
            for k, text in enumerate(segment):
                slot = start - 1 + k
                out[slot] = text if not out[slot] else out[slot] + "; " + text.lstrip()
        text = "\n".join(out) + "\n"
        return text + extra


# Calls that only configure the object they are made on: an argument parser the model's code reads
# (`opt = parser.parse_args()`) needs its `add_argument` calls for the defaults to be there.
CONFIGURING_METHODS = frozenset({"add_argument", "add_argument_group", "add_mutually_exclusive_group", "set_defaults"})


# Attributes that only TF1 graph code calls (`tf.placeholder`, `tf.Session`).
TF1_GRAPH_NAMES = frozenset({"placeholder", "Session", "InteractiveSession", "get_variable", "variable_scope"})


# Context managers that only name or place a TF1 graph's ops (not `variable_scope`, whose reuse matters).
_NAMING_CONTEXTS = frozenset({"name_scope", "device"})


def hoist_graph_blocks(body: list[Stmt]) -> list[Stmt]:
    """The module's statements, with a `__main__` block that builds a TF1 graph, and a `with
    tf.name_scope(...)` block, in place of their bodies: such a script (`if __name__ == "__main__":
    x = tf.placeholder(...); weights = {...}; ...`, `with tf.name_scope("Model"): pred = net(x)`) is
    sliced as if written at the top level, where the graph statements that use a flagged variable
    are found. The blocks' other statements are the slice's to skip, as at the top level."""
    out: list[Stmt] = []
    for node in body:
        if isinstance(node, (ast.If, ast.With)) and (_graph_main(node) or _naming_block(node)):
            out.extend(hoist_graph_blocks(node.body))
        else:
            out.append(node)
    return out


def _graph_main(node: Stmt) -> bool:
    return isinstance(node, ast.If) and is_main_guard(node) and not node.orelse and any(
        isinstance(n, ast.Attribute) and n.attr in TF1_GRAPH_NAMES for n in ast.walk(node))


def _naming_block(node: Stmt) -> bool:
    """`with tf.name_scope("Model"):` or `with tf.device("/cpu:0"):` (not `torch.device`)."""
    return isinstance(node, ast.With) and all(
        isinstance(item.context_expr, ast.Call) and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr in _NAMING_CONTEXTS and item.optional_vars is None
        and not (isinstance(item.context_expr.func.value, ast.Name) and item.context_expr.func.value.id == "torch")
        for item in node.items)


def configured_name(node: Stmt) -> Optional[str]:
    """`parser.add_argument(...)` or `group = parser.add_argument_group(...)` -> "parser"; a
    command-line flag's definition (`flags.DEFINE_integer("hidden", 300, ...)`, also spelled
    `tf.app.flags.DEFINE_integer`) -> the name it is reached from, whose `FLAGS` reads it."""
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return None
    if call.func.attr in CONFIGURING_METHODS and isinstance(call.func.value, ast.Name):
        return call.func.value.id
    if call.func.attr.startswith("DEFINE_"):
        root = call.func.value
        while isinstance(root, ast.Attribute):
            root = root.value
        return root.id if isinstance(root, ast.Name) else None
    return None


def is_side_effect(node: Stmt) -> bool:
    """Statements that never enter an assembly through a dependency."""
    return isinstance(node, (ast.Expr, ast.For, ast.While, ast.With, ast.AsyncFor, ast.AsyncWith)) or is_main_guard(node)
