"""Example inputs for a built model: what the first layer each `forward`/`call` argument reaches
says it takes (an Embedding integer indices below its size, a Linear `[2, in_features]`, a
Conv2d `[2, C, 16, 16]`, ...), read from the class's syntax tree. The worker (`_input_specs`)
turns these hints into tensors once the model is built and its layers can be inspected."""

from __future__ import annotations

import ast
from typing import Any, Optional


def forward_def(cls_node: ast.ClassDef, framework: str) -> Optional[ast.FunctionDef]:
    names = ("call",) if framework == "keras" else ("forward",)
    for n in cls_node.body:
        if isinstance(n, ast.FunctionDef) and n.name in names:
            return n
    return None


def _self_path(node: ast.AST, env: dict[str, str]) -> Optional[str]:
    """`self.a.b[0]` -> "a.b[0]"; a local name bound to such a path -> that path."""
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            return node.attr
        base = _self_path(node.value, env)
        if base is not None:
            return f"{base}.{node.attr}" if node.attr != "T" else base + ".T"
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int):
        base = _self_path(node.value, env)
        if base is not None:
            return f"{base}[{node.slice.value}]"
    return None


def _loop_bindings(node: ast.For, env: dict[str, str]) -> None:
    it = node.iter
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "enumerate" and it.args:
        if isinstance(node.target, ast.Tuple) and len(node.target.elts) == 2 and isinstance(node.target.elts[1], ast.Name):
            path = _self_path(it.args[0], env)
            if path is not None:
                env[node.target.elts[1].id] = path + "[0]"
        return
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "zip":
        if isinstance(node.target, ast.Tuple):
            for elt, src in zip(node.target.elts, it.args):
                path = _self_path(src, env)
                if isinstance(elt, ast.Name) and path is not None:
                    env[elt.id] = path + "[0]"
        return
    path = _self_path(it, env)
    if path is not None and isinstance(node.target, ast.Name):
        env[node.target.id] = path + "[0]"


def _carries(node: ast.AST, carried: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in carried for n in ast.walk(node))


_MATMUL_FUNCS = {"matmul", "mm", "linear", "einsum", "bmm"}


def _first_layer(node: ast.AST, carried: set[str], env: dict[str, str]) -> Optional[dict[str, Any]]:
    """Post-order: the innermost layer use whose operand carries the argument."""
    for child in ast.iter_child_nodes(node):
        found = _first_layer(child, carried, env)
        if found is not None:
            return found
    if isinstance(node, ast.Call):
        path = _self_path(node.func, env)
        if path is not None and node.args and _carries(node.args[0], carried):
            return {"path": path, "role": "call"}
        fname = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id if isinstance(node.func, ast.Name) else ""
        if fname in _MATMUL_FUNCS and len(node.args) >= 2 and _carries(node.args[0], carried):
            wpath = _self_path(node.args[1], env)
            if wpath is not None:
                role = "linear" if fname == "linear" else "matmul"
                return {"path": wpath, "role": role}
    if isinstance(node, ast.Subscript) and _carries(node.slice, carried):
        # `self.table[ids]`: the argument indexes a Parameter directly (long indices below its length).
        wpath = _self_path(node.value, env)
        if wpath is not None:
            return {"path": wpath, "role": "index"}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) and _carries(node.left, carried):
        wpath = _self_path(node.right, env)
        if wpath is not None:
            return {"path": wpath, "role": "matmul"}
    return None


def input_hints(fn: ast.FunctionDef) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The required `forward` arguments and, for each, the first layer it reaches."""
    positional = fn.args.posonlyargs + fn.args.args
    n_defaults = len(fn.args.defaults)
    required = [a.arg for a in positional[1 : len(positional) - n_defaults]]
    hints: dict[str, dict[str, Any]] = {}
    for arg in required:
        env: dict[str, str] = {}
        carried = {arg}
        for stmt in _flatten(fn.body):
            if isinstance(stmt, ast.For):
                _loop_bindings(stmt, env)
                continue
            found = _first_layer(stmt, carried, env)
            if found is not None:
                hints[arg] = found
                break
            if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                value = stmt.value
                if value is not None and _carries(value, carried):
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    for t in targets:
                        carried |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
                elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) and value is not None:
                    path = _self_path(value, env)
                    if path is not None:
                        env[stmt.targets[0].id] = path
    return required, hints


def _flatten(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements in source order, entering loops, ifs and withs (loop headers first)."""
    out: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, ast.For):
            out.append(ast.For(target=stmt.target, iter=stmt.iter, body=[], orelse=[], lineno=stmt.lineno, col_offset=0))
            out.extend(_flatten(stmt.body))
        elif isinstance(stmt, (ast.If, ast.While, ast.With)):
            out.extend(_flatten(stmt.body))
        else:
            out.append(stmt)
    return out
