"""Assemble a buildable module from a flagged file without running the file.

The confirmation stage never executes the user's script. From the syntax
tree it keeps only what building one model needs: the flagged class (or the
module-level statements that build a model bound to a name), the top-level
definitions those reach (helper classes and functions, constants, the
imports they use), transitively, and nothing else: training loops, `fit`,
data loading and `if __name__ == "__main__":` blocks are left out. Dropped
statements become blank lines, so line numbers in the assembled source are
the file's own (tracebacks and the per-line checks rely on it).

The file's statements and what each binds and needs are read by filemodel.py,
and how to call a class's constructor is found by constructors.py. All of it is
pure Python (ast): it runs in the main process and never imports torch.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from initlint.confirm.constructors import (
    GUESSED,
    call_from_signature,
    call_text,
    ctor_from_literal_call,
    ctor_from_signature,
    literal_call_in_project,
    literal_method_call,
    project_init_recipe,
    reinitialized_in_project,
)
from initlint.confirm.filemodel import TF1_GRAPH_NAMES, FileModel, Stmt, Unbuildable, bound_names, load_names
from initlint.confirm.imports import LEGACY_KERAS
from initlint.confirm.inputs import forward_def, input_hints
from initlint.confirm.recipe import Recipe, find_recipe, is_main_guard, model_variable, reinitialized_elsewhere
from initlint.confirm.slices import (
    BUILD_METHODS,
    Hole,
    block_slice,
    call_site_inputs,
    factory_at,
    factory_call,
    fit_inputs,
    graph_call_in_function,
    graph_calls,
    graph_downstream,
    graph_function_call,
    no_holes,
    render_block,
)
from initlint.confirm.trained import Selector, trained_outputs
from initlint.diagnostics import Diagnostic

LOW_LEVEL_TF = "low-level TensorFlow code: TensorFlow graphs are not built by the confirmation stage"


@dataclass(frozen=True)
class Target:
    """What to build: a class (`kind="class"`), a module-level binding (`kind="script"`)
    or what a factory function returns (`kind="factory"`)."""

    kind: str
    name: str
    line: int = 0  # a "block" target: the flagged line; a "script" one: where its live binding starts
    finding_line: int = 0  # the flagged line (a class target: whether it lies in a method other files run)


@dataclass
class Assembly:
    """Everything the worker needs to build one target."""

    path: str
    source: str
    target: Target
    framework: str  # "torch" | "keras"
    ctor: Optional[str] = None  # constructor call expression (class targets)
    ctor_origin: str = ""
    inputs: Optional[list[Any]] = None  # from configuration
    input_hints: dict[str, dict[str, Any]] = field(default_factory=dict)
    forward_args: Optional[list[str]] = None  # None: no `forward` in the class body
    # The backend a Keras file targets ("tensorflow" for tf.keras and, by Keras' own default, plain
    # keras): the loss-pairing checks run there; "tensorflow" for TF graphs.
    backend: str = "torch"
    tf_ops: bool = False  # a Keras model class written with tf ops: every check runs on TensorFlow
    recipe: Optional[dict[str, Any]] = None  # statements replayed on the built model (recipe.py)
    recipe_origin: str = ""
    graph_inputs: list[str] = field(default_factory=list)  # a synthesized TF1 call's own placeholders (tf_feeds)
    # The parts of a several-output model's result that the script's loss takes, and that loss's line.
    trained_output: Optional[tuple[list[Selector], int]] = None

    def guessed_arguments(self) -> Optional[dict[str, str]]:
        """The class (or factory) and arguments when the constructor arguments are guesses, not the project's own."""
        if self.target.kind not in ("class", "factory") or not self.ctor_origin.startswith(GUESSED):
            return None
        rest = self.ctor_origin[len(GUESSED):]
        return {"class": self.target.name, "arguments": rest[rest.find("(") + 1 : rest.rfind(")")]}


def _call_on(node: ast.AST, name: str) -> Optional[str]:
    """`name.method(...)` -> method."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == name
    ):
        return node.func.attr
    return None


def _fresh_binding(node: Stmt, name: str) -> bool:
    """`model = Sequential(...)`: a new object for the name (`model = model.to(device)` goes on)."""
    return isinstance(node, (ast.Assign, ast.AnnAssign)) and name in bound_names(node) and \
        node.value is not None and name not in load_names(node.value)


def live_binding(fm: FileModel, name: str, line: int) -> int:
    """Where the binding of `name` that `line` sees starts: the last fresh one at or before it (a
    script that builds a second `model` later is not judged on it); 0 when there is none."""
    starts = [n.lineno for n in fm.body if _fresh_binding(n, name) and n.lineno <= line]
    return starts[-1] if starts else 0


def _script_statements(fm: FileModel, name: str, line: int = 0) -> list[int]:
    """Top-level statements that bind `name` or build it (`name.add(...)`, loops of those); with
    `line`, only those of the binding that starts there, up to the next fresh binding."""
    out = _statements_on(fm, name)
    if line:
        fresh = [i for i in out if _fresh_binding(fm.body[i], name)]
        start = next((i for i in fresh if fm.body[i].lineno == line), None)
        if start is not None:
            end = next((i for i in fresh if i > start), len(fm.body))
            out = [i for i in out if start <= i < end]
    return out


def _statements_on(fm: FileModel, name: str) -> list[int]:
    out: list[int] = []
    for i, node in enumerate(fm.body):
        if is_main_guard(node):
            continue
        if name in bound_names(node) and isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) or isinstance(node, ast.Expr) and _call_on(node.value, name) in BUILD_METHODS:
            out.append(i)
        elif isinstance(node, (ast.For, ast.While)):
            calls = [c for c in ast.walk(node) if _call_on(c, name) is not None]
            if calls and all(_call_on(c, name) in BUILD_METHODS for c in calls):
                out.append(i)
    return out


def _replayable(recipe: Optional[Recipe]) -> None:
    """Unbuildable when the script changes the built model in a way the recipe does not replay: the
    model measured would not be the script's, and a refutation on it could be wrong."""
    if recipe is not None and recipe.ambiguous:
        raise Unbuildable(recipe.ambiguous)
    if recipe is not None and recipe.unreplayed:
        raise Unbuildable(f"the script changes `{recipe.var}` after building it in a way the confirmation does "
                          f"not replay ({recipe.unreplayed})")


def _decorated(fn: ast.FunctionDef, name: str) -> bool:
    return any(isinstance(d, ast.Name) and d.id == name for d in fn.decorator_list)


def _builder_method(fm: FileModel, cls: str, line: int) -> Optional[ast.FunctionDef]:
    """The static or class method holding `line` of a plain class (no base: not itself a model),
    which builds and returns the model (`LeNet.build(width, height, depth, classes)`)."""
    node = fm.class_def(cls)
    if node is None or any(not (isinstance(b, ast.Name) and b.id == "object") for b in node.bases):
        return None
    for item in node.body:
        if isinstance(item, ast.FunctionDef) and item.lineno <= line <= (item.end_lineno or item.lineno) and \
                (_static(item) or _decorated(item, "classmethod")):
            return item
    return None


def _static(method: ast.FunctionDef) -> bool:
    """A static method, or one without parameters (`def build():`), which only the class can call."""
    args = method.args
    return _decorated(method, "staticmethod") or not (args.posonlyargs or args.args or args.vararg)


def _enclosing_class(fm: FileModel, line: int) -> Optional[str]:
    i = fm.top_index_at(line)
    node = fm.body[i] if i is not None else None
    return node.name if isinstance(node, ast.ClassDef) else None


def _class_initialized_by(fm: FileModel, line: int) -> Optional[str]:
    """The class whose construction recipe calls the top-level function on `line` (`net.apply(init)`),
    or holds `line` itself (`nn.init.zeros_(layer.weight)` in the script's `main()`)."""
    index = fm.top_index_at(line)
    node = fm.body[index] if index is not None else None
    if not isinstance(node, (ast.FunctionDef, ast.If)):
        return None
    # The script's statement holding `line` (a multi-line call's unparsed text has fewer lines).
    holding = {s.lineno for s in ast.walk(node) if isinstance(s, ast.stmt) and s.lineno <= line <= (s.end_lineno or s.lineno)}
    for other in fm.body:
        if isinstance(other, ast.ClassDef):
            recipe = find_recipe(fm.tree, other.name)
            if recipe is None:
                continue
            if isinstance(node, ast.FunctionDef) and node.name in recipe.names or holding & set(recipe.lines):
                return other.name
    return None


def _bound_target(fm: FileModel, index: int) -> Optional[str]:
    node = fm.body[index]
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.Expr):
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
            return call.func.value.id
    if isinstance(node, (ast.For, ast.While)):
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Name):
                if sub.func.attr in BUILD_METHODS:
                    return sub.func.value.id
    return None


def _users_of(fm: FileModel, cls: str) -> tuple[Optional[str], Optional[str]]:
    """The class or module-level model that uses `cls` (class first)."""
    for i, node in enumerate(fm.body):
        if isinstance(node, ast.ClassDef) and node.name != cls and cls in fm.uses[i]:
            return ("class", node.name)
    for i, node in enumerate(fm.body):
        if is_main_guard(node) or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if cls in load_names(node):
            name = _bound_target(fm, i)
            if name is not None and _script_statements(fm, name):
                return ("script", name)
    return (None, None)


def _sequential_over(fm: FileModel, index: int, name: str) -> Optional[str]:
    """The module-level `Sequential` a layer bound at `index` goes into (`sigmoid = nn.Sigmoid()`, then
    `model = nn.Sequential(linear, sigmoid)`): a lone activation is not the model; the model is."""
    for j in range(index + 1, len(fm.body)):
        later = fm.body[j]
        if isinstance(later, ast.Assign) and isinstance(later.value, ast.Call) and name in load_names(later.value):
            func = later.value.func
            if (func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else "") == "Sequential":
                return _bound_target(fm, j)
    return None


def _keras_model_over(fm: FileModel, index: int) -> Optional[str]:
    """The Keras functional model (`m = Model(inp, out)`) built over a layer application
    (`h = Dense(8)(x)`) at `index`, or over a layer built there and applied later (`out_layer =
    Dense(784, activation='sigmoid')`, then `y = out_layer(h)`): neither a symbolic tensor nor a
    lone layer is the model; the model that uses it is."""
    node = fm.body[index]
    if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
        return None
    built = node.value.func
    if (built.attr if isinstance(built, ast.Attribute) else built.id if isinstance(built, ast.Name) else "") in ("Model", "Sequential"):
        return None
    for j in range(index + 1, len(fm.body)):
        later = fm.body[j]
        if not (isinstance(later, ast.Assign) and isinstance(later.value, ast.Call)):
            continue
        func = later.value.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if called == "Model" and index in fm.closure([j]):
            return _bound_target(fm, j)
    return None


def resolve_target(fm: FileModel, diag: Diagnostic, outward: bool = False) -> Target:
    """The model to build for one finding: its subject, else what encloses its line."""
    subject = diag.subject
    if subject is not None and subject.kind == "class" and fm.class_def(subject.name) is not None:
        target = Target("class", subject.name)
    elif subject is not None and subject.kind in ("keras-script", "script") and _script_statements(fm, subject.name):
        target = Target("script", subject.name, live_binding(fm, subject.name, diag.line))
    else:
        cls = _enclosing_class(fm, diag.line) or _class_initialized_by(fm, diag.line)
        factory = factory_at(fm.tree, diag.line) if cls is None else None
        if cls is not None:
            builder = _builder_method(fm, cls, diag.line)
            target = Target("class", cls, builder.lineno if builder is not None else 0)
        elif factory is not None:
            target = Target("factory", factory.name)
        else:
            index = fm.top_index_at(diag.line)
            name = _bound_target(fm, index) if index is not None else None
            if name is not None:
                assert index is not None
                built = _keras_model_over(fm, index) or _sequential_over(fm, index, name) or name
                target = Target("script", built, live_binding(fm, built, diag.line))
            else:
                try:
                    found = block_slice(fm.tree, diag.line)
                except Hole as exc:
                    raise Unbuildable(str(exc)) from None
                if found is None:
                    raise Unbuildable(f"no model class or model variable encloses line {diag.line}")
                target = Target("block", found.var, diag.line)
    target = dataclasses.replace(target, finding_line=diag.line)
    # A verdict that depends on what follows the flagged layer (rule.Confirm.outward) is
    # judged on the outermost model that uses the flagged class.
    if outward and target.kind == "class":
        seen = {target.name}
        while True:
            kind, name = _users_of(fm, target.name)
            if kind is None or name is None or name in seen:
                break
            seen.add(name)
            target = Target(kind, name)
            if kind == "script":
                break
    return target


def _imports_tensorflow(fm: FileModel, indices: list[int], block: Sequence[ast.stmt] = ()) -> tuple[bool, bool]:
    """(uses tensorflow, uses only tf.keras) for the kept statements."""
    tf_aliases = set()
    for node in fm.body:
        if isinstance(node, ast.Import):
            for a in node.names:
                keras_alias = a.asname and a.name.startswith(("tensorflow.keras", LEGACY_KERAS))  # `import tensorflow.keras as keras`
                if (a.name == "tensorflow" or a.name.startswith("tensorflow.")) and not keras_alias:
                    tf_aliases.add(a.asname or a.name.split(".")[0])
    uses_tf = False
    only_keras = True
    for sub in _kept_code(fm, indices, block):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in tf_aliases:
            uses_tf = True
            if sub.attr != "keras":
                only_keras = False
    return uses_tf, only_keras


def _kept_code(fm: FileModel, indices: list[int], block: Sequence[ast.stmt] = ()) -> Iterator[ast.AST]:
    """Every node of the kept statements but their imports, and of the main block's statements kept."""
    for i in indices:
        if not isinstance(fm.body[i], (ast.Import, ast.ImportFrom)):
            yield from ast.walk(fm.body[i])
    for stmt in block:
        yield from ast.walk(stmt)


def _framework(fm: FileModel, indices: list[int], block: Sequence[ast.stmt] = ()) -> str:
    uses_tf, only_keras = _imports_tensorflow(fm, indices, block)
    if uses_tf and not only_keras:
        return "tf"
    text = "\n".join(ast.unparse(fm.body[i]) for i in indices if isinstance(fm.body[i], (ast.Import, ast.ImportFrom)))
    if uses_tf or "keras" in text:
        return "keras"
    return "torch"


def _uses_keras(fm: FileModel, indices: list[int], block: Sequence[ast.stmt] = ()) -> bool:
    """Do the kept statements build with Keras (`tf.keras.Sequential`, a `Dense` imported from
    tensorflow.keras), even when they also call tf ops (`activation=tf.nn.softmax`)?"""
    names = {"keras"} | {
        a.asname or a.name
        for node in fm.body
        if isinstance(node, ast.ImportFrom) and "keras" in (node.module or "")
        for a in node.names
    }
    keras = False
    for sub in _kept_code(fm, indices, block):
        if isinstance(sub, ast.Attribute) and sub.attr in TF1_GRAPH_NAMES:
            return False  # Keras layers inside a TF1 graph: the graph is what gets built
        keras = keras or isinstance(sub, ast.Attribute) and sub.attr == "keras" or isinstance(sub, ast.Name) and sub.id in names
    return keras


def keras_backend(fm: FileModel) -> str:
    """The Keras backend the file targets: the KERAS_BACKEND it sets, else TensorFlow (Keras' default)."""
    for node in ast.walk(fm.tree):
        if isinstance(node, (ast.Assign, ast.Call)):
            consts = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            if "KERAS_BACKEND" in consts:
                for value in consts:
                    if value in ("torch", "jax", "tensorflow", "numpy", "openvino"):
                        return value
    return "tensorflow"


def assemble(fm: FileModel, target: Target, settings_modules: dict[str, dict[str, Any]], project_root: str,
             weights_matter: bool = True) -> Assembly:
    """The assembled source and build recipe for `target`, or Unbuildable. `weights_matter`: False when
    only the model's structure is judged, so weights the script loads or re-initializes elsewhere
    leave it buildable."""
    block_statements: list[Stmt] = []
    appended = ""  # a call the confirmation adds after the file's own lines (their numbers stay)
    graph_inputs: list[str] = []  # its placeholders, one per parameter of the graph function
    recipe_var: Optional[str] = None  # the script's name for the built model, whose call sites give inputs
    graph: Optional[list[int]] = None  # a TF1 function's graph: the statements that call it
    if target.kind == "class":
        roots = [i for i, n in enumerate(fm.body) if isinstance(n, ast.ClassDef) and n.name == target.name]
        if not roots:
            raise Unbuildable(f"class {target.name} is not defined at the top level of {fm.path}")
        cls_node = fm.body[roots[0]]
        assert isinstance(cls_node, ast.ClassDef)
        config = settings_modules.get(target.name, {})
        extra_names: set[str] = set()
        literal_line: Optional[int] = None
        builder = next((n for n in cls_node.body if isinstance(n, ast.FunctionDef) and n.lineno == target.line), None)
        if "args" in config or "kwargs" in config:
            ctor = call_text(target.name, list(config.get("args", [])), dict(config.get("kwargs", {})))
            origin = "[tool.initlint.confirm] modules"
        elif builder is not None:
            # `LeNet.build(width, height, depth, classes)`: the model is what the method returns.
            callee = f"{target.name}.{builder.name}"
            literal = literal_method_call(fm.tree, target.name, builder.name)
            if literal is not None:
                ctor, origin = call_text(callee, *literal), "a literal call in the file"
            else:
                ctor, origin, needs = call_from_signature(fm, builder, callee, target.name,
                                                          bound=not _static(builder))
                extra_names |= needs
        else:
            found = ctor_from_literal_call(fm, target.name, roots[0])
            if found is not None:
                ctor, extra_names, origin, literal_line = found
            else:
                elsewhere = literal_call_in_project(project_root, fm.path, target.name)
                if elsewhere is not None:
                    ctor, origin = elsewhere
                else:
                    ctor, origin, needs = ctor_from_signature(fm, cls_node)
                    extra_names |= needs
        recipe = find_recipe(fm.tree, target.name, literal_line) or (
            project_init_recipe(fm, cls_node, target.finding_line, project_root) if weights_matter else None)
        if recipe is not None and recipe.from_file:
            if weights_matter:
                raise Unbuildable(
                    f"the weights come from a file ({recipe.from_file}), not from {target.name}'s construction")
            recipe = dataclasses.replace(recipe, from_file=None)  # its statements before the load still shape the model
        _replayable(recipe)
        reinit = reinitialized_elsewhere(fm.tree, target.name) or reinitialized_in_project(project_root, fm.path, target.name)
        if reinit is not None and weights_matter:
            # The instance that trains may be that one: the class alone is not what is measured.
            raise Unbuildable(f"`{target.name}` is re-initialized where the confirmation does not replay it ({reinit})")
        recipe_var = model_variable(fm.tree, target.name, literal_line)
        if recipe is not None:
            extra_names |= recipe.names
        indices = fm.closure(roots, extra_names)
        # Constants the main block sets that the class or its instantiation reads (`noise_dim = 10`).
        used = extra_names.union(*(fm.uses[i] for i in indices))
        block_statements = [stmt for name, stmt in sorted(fm.script_constants.items()) if name in used]
        forward_of: Optional[ast.ClassDef] = cls_node
    elif target.kind == "factory":
        roots = [i for i, n in enumerate(fm.body) if isinstance(n, ast.FunctionDef) and n.name == target.name]
        fn = fm.body[roots[0]] if roots else None
        assert isinstance(fn, ast.FunctionDef)
        config = settings_modules.get(target.name, {})
        guess_needs: set[str] = set()  # names guessed arguments need (a config object)
        graph = graph_calls(fm, target.name) if _framework(fm, fm.closure(roots)) == "tf" else None
        if graph == []:
            inner = graph_call_in_function(fm, target.name)
            if inner is not None:
                block_statements = [inner[0]]
                graph = sorted(set(inner[1]) | set(roots))
                origin = f"its call on line {inner[0].lineno}, built on the script's own tensors"
            else:
                # Nobody calls it in this file (a homework skeleton's `def twolayer(X, Y)`, which
                # train.py calls): called on placeholders of its own, shaped by its layers.
                synthesized = graph_function_call(fn)
                if synthesized is None:
                    raise Unbuildable(LOW_LEVEL_TF + f" (no top-level assignment calls {target.name})")
                appended, graph_inputs = synthesized
                graph = fm.closure(roots)
                origin = f"a call on placeholders shaped by its own layers ({', '.join(graph_inputs)}); nothing in the file calls it"
            indices, ctor, forward_of, recipe = graph, None, None, None
        elif graph:  # a TF1 function builds layers where the script calls it: the graph is built there
            indices, ctor, origin, forward_of, recipe = graph, None, "the module-level statements that call it", None, None
        elif "args" in config or "kwargs" in config:
            ctor = call_text(target.name, list(config.get("args", [])), dict(config.get("kwargs", {})))
            origin, literal_line = "[tool.initlint.confirm] modules", None
        else:
            call = factory_call(fm.tree, fn)
            if call is not None:
                ctor, origin, literal_line = call
            else:  # as for a class: guessed from the parameter names, which a verdict then says
                ctor, origin, guess_needs = call_from_signature(fm, fn, target.name, target.name, bound=False)
                literal_line = None
        if not graph:
            recipe = find_recipe(fm.tree, target.name, literal_line)
            if recipe is not None and recipe.from_file:
                raise Unbuildable(f"the weights come from a file ({recipe.from_file}), not from {target.name}()")
            _replayable(recipe)
            indices = fm.closure(roots, (recipe.names if recipe is not None else set()) | guess_needs)
            forward_of = None
    elif target.kind == "block":
        try:
            sliced = block_slice(fm.tree, target.line)
        except Hole as exc:
            raise Unbuildable(str(exc)) from None
        if sliced is None:
            raise Unbuildable(f"no statement of the script builds `{target.name}`")
        indices = fm.closure([], sliced.needs)
        block_statements = sliced.statements
        config = settings_modules.get(target.name, {})
        lines = ", ".join(str(s.lineno) for s in sliced.statements)
        ctor, origin, forward_of, recipe = None, f"the script's statements on lines {lines}", None, None
    else:
        statements = _script_statements(fm, target.name, target.line)
        if not statements:
            raise Unbuildable(f"no module-level statement builds `{target.name}`")
        config = settings_modules.get(target.name, {})
        ctor, origin, forward_of = None, "the module-level statements that build it", None
        recipe = find_recipe(fm.tree, target.name, target.line or None, var=target.name, top_level=True)
        if recipe is not None and recipe.from_file:
            raise Unbuildable(f"the weights come from a file ({recipe.from_file})")
        _replayable(recipe)
        if recipe is not None:
            kept = {fm.body[i].lineno for i in statements}
            recipe.statements = [(ln, src) for ln, src in recipe.statements if ln not in kept]
            recipe = recipe if recipe.statements else None
        indices = fm.closure(statements, recipe.names if recipe is not None else set())
        # What builds the name after this binding builds another model (`net = ...` again).
        later = {i for i in _statements_on(fm, target.name) if i > statements[-1]}
        indices = [i for i in indices if i not in later]
        if _framework(fm, indices) == "tf":  # the graph's layers are where the script uses its variables
            indices = graph_downstream(fm, indices)
    if target.kind in ("block", "script") or graph:
        try:
            no_holes([fm.body[i] for i in indices])
        except Hole as exc:
            raise Unbuildable(str(exc)) from None
    framework = _framework(fm, indices, block_statements)
    backend, tf_ops = "torch", False
    if framework == "tf" and (target.kind == "class" or _uses_keras(fm, indices, block_statements)):
        framework, backend, tf_ops = "keras", "tensorflow", True  # a Keras model written with tf ops runs only on TensorFlow
    elif framework == "tf":
        backend = "tensorflow"
    elif framework == "keras":
        backend = keras_backend(fm)
    forward = forward_def(forward_of, framework) if forward_of is not None else None
    args, hints = input_hints(forward) if forward is not None else ([], {})
    inputs = config.get("inputs")
    if inputs is None and recipe_var is not None and not origin.startswith(GUESSED):
        inputs = call_site_inputs(fm.tree, recipe_var)
    if inputs is None and target.kind == "script" and framework == "keras":
        inputs = fit_inputs(fm.tree, target.name)
    return Assembly(
        path=fm.path,
        source=render_block(fm.text, fm.render(indices), block_statements) + appended,
        target=target,
        framework=framework,
        ctor=ctor,
        ctor_origin=origin,
        inputs=list(inputs) if inputs is not None else None,
        input_hints=hints,
        forward_args=args if forward is not None else None,
        backend=backend,
        tf_ops=tf_ops,
        recipe=recipe.job() if recipe is not None else None,
        recipe_origin=recipe.describe() if recipe is not None else "",
        graph_inputs=graph_inputs,
        trained_output=trained_outputs(fm.tree, recipe_var or (target.name if target.kind == "script" else None)),
    )
