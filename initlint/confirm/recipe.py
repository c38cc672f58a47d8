"""The construction recipe: what a script does to a model right after building it.

`net = MLP(); net.apply(init_weights)` zero-fills the model outside its
class, so a confirmation that builds `MLP()` alone measures a different
model. This module finds, after `v = Cls(...)` in the script (the top level,
then the `if __name__ == "__main__":` body and the `main()` it calls), the
statements that re-initialize `v`: `v.apply(fn)`, `v.reset_parameters()`,
in-place initializers on its attributes (`nn.init.zeros_(v.fc.weight)`,
`v.fc.weight.data.fill_(0)`), assignments to them, the same under
`with torch.no_grad():` or in a loop over `v.modules()`, and calls of the
file's own init helpers that take `v` (`init_weights(v)`). The worker replays
them on the built model before measuring (`replay`).

Pure Python (ast): the finding runs in the main process, the replay in the
worker; neither imports torch here.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any, Optional

Stmt = ast.stmt

# Methods of the model that re-initialize it.
INIT_METHODS = frozenset({"apply", "reset_parameters", "init_weights", "_init_weights", "initialize",
                          "init_params", "initialize_weights", "weights_init", "reset"})
# Methods that leave the weights alone: the recipe goes on past them.
NEUTRAL_METHODS = frozenset({"to", "cuda", "cpu", "train", "eval", "float", "double", "half", "requires_grad_"})
# Weights that come from somewhere else: the built model is not what trains.
FROM_FILE = frozenset({"load_state_dict", "load_weights", "from_pretrained", "load_checkpoint"})
# Calls after which the script trains or uses the model: the recipe ends there.
STOP_CALLS = frozenset({"backward", "step", "fit", "fit_generator", "train_on_batch", "minimize", "run",
                        "zero_grad", "train_model", "train", "evaluate", "predict", "save"})
# Calls that only look at the model.
LOOK_CALLS = frozenset({"print", "summary", "len", "type", "repr", "str", "count_parameters"})


@dataclass
class Recipe:
    """The statements that re-initialize `var`, with their lines and the top-level names they need."""

    var: str
    statements: list[tuple[int, str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    from_file: Optional[str] = None  # why the weights come from a file
    unreplayed: Optional[str] = None  # a later statement that changes the model in a way not replayed
    # The model is built more than once and re-initialized differently after each (`baseline = MLP();
    # baseline.apply(init)` then `net = MLP()`): which instance trains is not known.
    ambiguous: Optional[str] = None
    origin: Optional[str] = None  # statements another file runs on the model, not this one's

    @property
    def lines(self) -> list[int]:
        return [line for line, _ in self.statements]

    def first_change(self) -> str:
        """`line N: statement` of the recipe's first statement, or why the weights come from a file."""
        if self.statements:
            line, src = self.statements[0]
            return f"line {line}: {src.splitlines()[0][:80]}"
        return self.from_file or ""

    def describe(self) -> str:
        shown = "; ".join(src.splitlines()[0] for _, src in self.statements[:3])
        more = f" and {len(self.statements) - 3} more" if len(self.statements) > 3 else ""
        if self.origin is not None:
            return f"{self.origin}: {shown.replace(self.var + '.', '')}{more}"
        where = ", ".join(str(n) for n in self.lines)
        return f"the construction recipe on line{'s' if len(self.lines) > 1 else ''} {where} ({shown}{more})"

    def job(self) -> dict[str, Any]:
        return {"var": self.var, "statements": [list(s) for s in self.statements]}


def is_main_guard(node: Stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left] + list(node.test.comparators)
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)


def script_blocks(tree: ast.Module) -> list[list[Stmt]]:
    """The script's statement blocks in run order: the top level, the `__main__` body, the `main()` it calls."""
    blocks: list[list[Stmt]] = [[s for s in tree.body if not is_main_guard(s)]]
    funcs = {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for node in tree.body:
        if not is_main_guard(node):
            continue
        assert isinstance(node, ast.If)
        blocks.append(list(node.body))
        for stmt in node.body:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in funcs:
                fn = funcs[call.func.id]
                if not fn.args.args and call.func.id == "main":
                    blocks.append(list(fn.body))
    return blocks


def _root(node: ast.AST) -> Optional[str]:
    """`v.fc[0].weight.data` -> "v"; `v.state_dict()["fc.weight"][:]` -> "v" (its tensors are the
    model's own: the IBM PyTorch course sets weights through them)."""
    while isinstance(node, (ast.Attribute, ast.Subscript)) or _state_dict_call(node):
        node = node.func.value if isinstance(node, ast.Call) else node.value  # type: ignore[attr-defined]
    return node.id if isinstance(node, ast.Name) else None


def _state_dict_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "state_dict"


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _calls(node: ast.AST) -> list[ast.Call]:
    return [c for c in ast.walk(node) if isinstance(c, ast.Call)]


def constructs(value: Optional[ast.expr], cls: str) -> bool:
    """`Cls(...)`, `mod.Cls(...)`, or either followed by `.to(device)`-style calls."""
    while isinstance(value, ast.Call):
        func = value.func
        if (isinstance(func, ast.Name) and func.id == cls) or (isinstance(func, ast.Attribute) and func.attr == cls):
            return True
        if isinstance(func, ast.Attribute) and func.attr in NEUTRAL_METHODS:
            value = func.value
            continue
        return False
    return False


def _loads_file(node: ast.AST) -> Optional[str]:
    for c in _calls(node):
        name = _call_name(c)
        if name in FROM_FILE or (name == "load" and isinstance(c.func, ast.Attribute)):
            return name
    return None


class _Finder:
    def __init__(self, tree: ast.Module, var: str) -> None:
        self.var = var
        self.funcs = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
        self.helpers: set[str] = set()
        self.unreplayed: Optional[str] = None

    def _init_helper(self, name: str) -> bool:
        """A function of the file that initializes weights and does nothing a recipe must not."""
        fn = self.funcs.get(name)
        if fn is None:
            return False
        names = {_call_name(c) for c in _calls(fn)}
        if names & STOP_CALLS or _loads_file(fn):
            return False
        return any(n.endswith("_") and not n.startswith("__") or n in INIT_METHODS for n in names)

    def _over_model(self, it: ast.expr) -> bool:
        """`v.modules()`, `v.children()`, `(v.fc1, v.fc2)`: what a loop over the model's parts iterates."""
        if isinstance(it, (ast.Tuple, ast.List)):
            return bool(it.elts) and all(_root(e) == self.var for e in it.elts)
        return _root(it.func if isinstance(it, ast.Call) else it) == self.var

    def _changes_model(self, stmt: Stmt) -> bool:
        """A block that names the model and calls an in-place or init method, with no training in it."""
        names = {_call_name(c) for c in _calls(stmt)}
        mentions = self.var in {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}
        return mentions and not names & STOP_CALLS and any(
            n.endswith("_") and not n.startswith("__") or n in INIT_METHODS for n in names)

    def mutation(self, stmt: Stmt) -> Optional[bool]:
        """True: re-initializes `var`; False: leaves it alone; None: the recipe ends here."""
        v = self.var
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            name = _call_name(call)
            func = call.func
            if isinstance(func, ast.Attribute) and _root(func.value) == v:
                if name in INIT_METHODS or (name.endswith("_") and not name.startswith("__")
                                            and name not in NEUTRAL_METHODS):
                    return True
                return False if name in NEUTRAL_METHODS else None
            args = list(call.args) + [k.value for k in call.keywords]
            if name in LOOK_CALLS:
                return False
            if args and _root(args[0]) == v and name.endswith("_") and not name.startswith("__"):
                return True  # nn.init.zeros_(v.fc.weight)
            if isinstance(func, ast.Name) and any(_root(a) == v for a in args) and self._init_helper(func.id):
                self.helpers.add(func.id)
                return True
            return None if name in STOP_CALLS or any(_root(a) == v for a in args) else False
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == v for t in targets):
                value = stmt.value
                # `v = v.to(device)` keeps the model; any other rebinding ends the recipe.
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and \
                        value.func.attr in NEUTRAL_METHODS and _root(value.func.value) == v:
                    return False
                return None
            if any(_root(t) == v and not isinstance(t, ast.Name) for t in targets):
                return True
            return None if any(_call_name(c) in STOP_CALLS for c in _calls(stmt)) else False
        if isinstance(stmt, ast.With):
            inner = [self.mutation(s) for s in stmt.body]
            if inner and all(r is True for r in inner):
                return True
            return None if v in {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} else False
        if isinstance(stmt, ast.If) and (self._changes_model(stmt) or any(
                self.mutation(s) is True for s in [*stmt.body, *stmt.orelse])):
            # `if args.init == "xavier": v.apply(init)`: which branch runs is the script's choice.
            self.unreplayed = f"line {stmt.lineno}: {ast.unparse(stmt).splitlines()[0][:80]}"
            return None
        if isinstance(stmt, ast.For) and self._over_model(stmt.iter):
            if any(_call_name(c) in STOP_CALLS for c in _calls(stmt)):
                return None
            return True  # for m in v.modules(): ... / for layer in (v.fc1, v.fc2): ...
        if isinstance(stmt, (ast.For, ast.While, ast.AsyncFor, ast.Try)):
            if self._changes_model(stmt):
                self.unreplayed = f"line {stmt.lineno}: {ast.unparse(stmt).splitlines()[0][:80]}"
            return None
        if isinstance(stmt, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Pass)):
            return False
        return None if any(_call_name(c) in STOP_CALLS for c in _calls(stmt)) else False


def _stored(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def model_variable(tree: ast.Module, cls: str, prefer_line: Optional[int] = None) -> Optional[str]:
    """The script's name for the model built by `v = Cls(...)` (the binding on `prefer_line` first)."""
    names = [(stmt.lineno, stmt.targets[0].id) for block in script_blocks(tree) for stmt in block
             if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
             and constructs(stmt.value, cls)]
    return next((n for ln, n in names if ln == prefer_line), names[0][1] if names else None)


def find_recipe(tree: ast.Module, cls: str, prefer_line: Optional[int] = None, var: Optional[str] = None,
                top_level: bool = False) -> Optional[Recipe]:
    """The recipe that follows `v = Cls(...)` in the script (the binding on `prefer_line` first),
    or, given `var`, the one that follows the top-level binding of `var`."""
    bindings: list[tuple[list[Stmt], int, str]] = []
    for block in script_blocks(tree)[:1] if top_level else script_blocks(tree):
        for k, stmt in enumerate(block):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
                    and (stmt.targets[0].id == var if var is not None else constructs(stmt.value, cls)):
                bindings.append((block, k, stmt.targets[0].id))
    if not bindings:
        return None
    recipes = [_recipe_after(tree, block, k, name) for block, k, name in bindings]
    seen = next((i for i, b in enumerate(bindings) if b[0][b[1]].lineno == prefer_line), None)
    chosen = seen if seen is not None else 0
    recipe = recipes[chosen]
    # The finding sees one binding (the one on `prefer_line`): that one is judged. Otherwise, with
    # several bindings re-initialized differently, no one of them stands for the others.
    if seen is None and len({(r.from_file is None, tuple(src for _, src in r.statements)) if r else None
                             for r in recipes}) > 1:
        lines = ", ".join(str(block[k].lineno) for block, k, _ in bindings)
        found = recipe or Recipe(bindings[chosen][2])
        found.ambiguous = (f"`{var or cls}` is built on lines {lines} and re-initialized differently after each: "
                           "which one trains is not known")
        return found
    return recipe


def reinitialized_elsewhere(tree: ast.Module, cls: str) -> Optional[str]:
    """Where the file re-initializes an instance of `cls` outside the script blocks a recipe is
    replayed from: after `v = Cls(...)` in a function (a builder, `train()`), or on the instance
    itself (`Cls().apply(init)`, `Cls().load_state_dict(...)`). The line and statement, or None."""
    in_script = {id(stmt) for block in script_blocks(tree) for stmt in block}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and constructs(node.func.value, cls) \
                and (node.func.attr in INIT_METHODS or node.func.attr in FROM_FILE):
            return f"line {node.lineno}: {ast.unparse(node)[:80]}"
        for block in _blocks(node):
            for k, stmt in enumerate(block):
                if id(stmt) in in_script or not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                                               and isinstance(stmt.targets[0], ast.Name) and constructs(stmt.value, cls)):
                    continue
                found = _recipe_after(tree, block, k, stmt.targets[0].id)
                if found is not None and (found.statements or found.from_file):
                    return found.first_change()
    return None


def _blocks(node: ast.AST) -> list[list[Stmt]]:
    """The statement lists a node holds (a function's body, an `if`'s branches, a loop's body)."""
    return [value for name in ("body", "orelse", "finalbody") if isinstance(value := getattr(node, name, None), list)
            and value and isinstance(value[0], ast.stmt) and not isinstance(node, ast.Module)]


def _recipe_after(tree: ast.Module, block: list[Stmt], k: int, var: str) -> Optional[Recipe]:
    """The recipe of the binding `block[k]` of `var`."""
    finder = _Finder(tree, var)
    recipe = Recipe(var)
    for stmt in block[k + 1:]:
        loaded = _loads_file(stmt)
        if loaded is not None and var in {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)}:
            recipe.from_file = f"line {stmt.lineno}: {ast.unparse(stmt).splitlines()[0][:80]}"
            return recipe
        verdict = finder.mutation(stmt)
        if verdict is None:
            recipe.unreplayed = finder.unreplayed
            break
        if verdict:
            recipe.statements.append((stmt.lineno, ast.unparse(stmt)))
            used = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            recipe.names |= used - _stored(stmt) - {var}
    recipe.names |= finder.helpers
    return recipe if recipe.statements or recipe.from_file or recipe.unreplayed else None


def replay(obj: Any, recipe: Optional[dict[str, Any]], namespace: dict[str, Any], path: str) -> Any:
    """Run the recipe's statements on the built model, at their own lines of the file."""
    if not recipe:
        return obj
    var = recipe["var"]
    namespace[var] = obj
    for line, source in recipe["statements"]:
        tree = ast.parse(source)
        ast.increment_lineno(tree, int(line) - 1)
        exec(compile(tree, path, "exec"), namespace)
    return namespace[var]
