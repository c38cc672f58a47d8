"""An abstract interpreter over one module's CST: the single walk behind every fact.

It runs the file's code on abstract values (values.py): module-level
statements, each model class built with its defaults and run on abstract
inputs, and each top-level function with unknown arguments. Statements and
calls are run here; expressions are evaluated in expressions.py, Python's own
objects follow python.py, tensors tensors.py, and imported framework names get
their meaning from initlint.frameworks (registry.py dispatches). What the rules
need is recorded as events into `FileFacts` (events.py).

Precision first: whatever the interpreter cannot decide becomes `Unknown`,
and rules stay quiet on unknown values. Work is bounded by a step budget,
a call-depth limit and a loop-unrolling cap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import libcst as cst

from initlint.facts import expressions, modules, names, python
from initlint.facts.context import CallContext, Env, Guard, Recorder
from initlint.facts.names import canonical, carries_itself, import_bindings, import_module_name, names_in, star_module
from initlint.facts.values import (
    UNKNOWN,
    BoundMethod,
    Builtin,
    ClassInfo,
    Const,
    Ext,
    Func,
    Initializer,
    Loss,
    Mapping,
    Obj,
    Param,
    Partial,
    Property,
    Seq,
    SuperRef,
    Tensor,
    Unknown,
    Value,
    fresh_uid,
)
from initlint.frameworks import argparse_values, keras, layers, losses, registry

MAX_STEPS = 400_000
MAX_DEPTH = 10


class BudgetExhausted(Exception):
    """Raised when a file's step budget is spent; the root in progress is abandoned."""


class Interpreter:
    def __init__(self, module: cst.Module, facts: Recorder, package: Optional[str] = None, path: Optional[str] = None, root: Optional[str] = None) -> None:
        self.module = module
        self.implicit_imports = names.ImplicitImports(module)
        # The project modules the file imports from, read on first use (facts/modules.py); None: no file.
        self.imports = modules.ProjectImports(path, root) if path is not None else None
        self.script_inits: set[int] = set()  # uids of parameters the module-level code re-initialised
        self.facts = facts
        self.package = package
        self.steps = 0
        self.globals = Env()
        self.classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, Func] = {}
        self.called: set[int] = set()  # ids of FunctionDef nodes run at least once with real args
        self.ext_attrs: dict[str, Obj] = {}
        # Keras models returned by builder functions nobody called, and Sequentials built outside a
        # model class (`self.model = Sequential()` in an agent's __init__): _run_built_models.
        self.built_models: list[Obj] = []
        self.active_calls: list[int] = []
        self.current_env: Optional[Env] = None
        self.loop_kinds: dict[int, bool] = {}
        # Scopes captured by functions: a function stored in the scope it captures is a
        # reference cycle, which `release` breaks once the file's facts are recorded.
        self.closures: list[Env] = []
        self.guards: dict[int, Guard] = {}  # by id of the block's node
        self.class_infos: list[ClassInfo] = []  # a class's methods point back at it: another cycle
        self.tf_generations: set[int] = set()  # 1 / 2: TF1-only / TF2-only names used from `tf` so far
        self.known_instances: set[int] = set()  # uids of model instances the script built with known arguments
        self.script_models: list[Obj] = []  # torch model instances the script's own run built
        # The arguments of the first such construction of each model class (`Net(Config())`, `Net(8, 16)`):
        # the class root is built with them instead of unknown values (analysis.py).
        self.script_args: dict[str, tuple[list[Value], dict[str, Value]]] = {}
        self.literals: dict[int, Value] = {}  # the value of each number and string node evaluated so far
        self.framework_stars: list[str] = []  # `from keras.layers import *`: the framework modules star-imported

    def release(self) -> None:
        """Break the function <-> scope cycles, so the file's tree is freed by reference
        counting as soon as the caller drops it, instead of waiting for (and costing) a
        run of the cycle collector over every node."""
        for env in self.closures:
            env.vars.clear()
        for info in self.class_infos:
            info.methods.clear()
            info.class_attrs.clear()
            info.node = None  # type: ignore[assignment]
        self.closures.clear()
        self.class_infos.clear()
        self.guards.clear()

    def guard(self, block: cst.CSTNode) -> Guard:
        """The one `Guard` of a block that may or may not run (a function's blocks run many times)."""
        found = self.guards.get(id(block))
        if found is None:
            found = self.guards[id(block)] = Guard(block)
        return found

    # ------------------------------------------------------------------ budget
    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExhausted

    # ------------------------------------------------------------------ blocks
    def exec_body(self, body: Any, env: Env, ctx: CallContext) -> bool:
        """Run a statement block; True when it certainly returned."""
        if type(body) is cst.SimpleStatementSuite:
            # `for _ in range(8): h = layer(h)`: small statements after the colon, one line.
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise BudgetExhausted
            return self.exec_small(body.body, env, ctx)
        if type(body) is cst.IndentedBlock:
            stmts: Sequence[Any] = body.body
        elif isinstance(body, cst.Module):
            stmts = body.body
        else:
            stmts = body
        for stmt in stmts:
            if self.exec_stmt(stmt, env, ctx):
                return True
        return False

    def exec_stmt(self, stmt: Any, env: Env, ctx: CallContext) -> bool:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExhausted
        kind = type(stmt)
        if kind is cst.SimpleStatementLine:
            return self.exec_small(stmt.body, env, ctx)
        # A one-line body (`if cond: x = f(x)`) holds small statements directly.
        handler = _STMT.get(kind) or _SMALL.get(kind)
        return bool(handler(self, stmt, env, ctx)) if handler is not None else False

    def exec_small(self, smalls: Sequence[Any], env: Env, ctx: CallContext) -> bool:
        """The small statements of one line (`a = f(x); b = g(a)`); True when one returned."""
        for small in smalls:
            handler = _SMALL.get(type(small))
            if handler is not None and handler(self, small, env, ctx):
                return True
        return False

    def exec_function_def(self, stmt: cst.FunctionDef, env: Env, ctx: CallContext) -> bool:
        env.vars[stmt.name.value] = self.make_function(stmt, env, ctx)
        return False

    def exec_class_def(self, stmt: cst.ClassDef, env: Env, ctx: CallContext) -> bool:
        env.vars[stmt.name.value] = self.make_class(stmt, env, ctx)
        return False

    def exec_while(self, stmt: cst.While, env: Env, ctx: CallContext) -> bool:
        self.exec_body(stmt.body, env, ctx.replaced(conditional=True, branches=ctx.branches + 1, guard=self.guard(stmt.body),
                                                    entered=fresh_uid()))
        return False

    def exec_with(self, stmt: cst.With, env: Env, ctx: CallContext) -> bool:
        inner = ctx
        for item in stmt.items:
            value = self.eval(item.item, env, ctx)
            no_grad = python.is_no_grad(value, item.item)
            if no_grad:
                inner = inner.replaced(no_grad=True)
            if item.asname is not None:
                self.assign(item.asname.name, UNKNOWN if no_grad else value, env, ctx)
        return self.exec_body(stmt.body, env, inner)

    def exec_try(self, stmt: Any, env: Env, ctx: CallContext) -> bool:
        returned = self.exec_body(stmt.body, env, ctx)
        for handler in stmt.handlers:
            self.exec_body(handler.body, env.copy(), ctx.replaced(conditional=True, branches=ctx.branches + 1, returns=[],
                                                                  guard=self.guard(handler.body), entered=fresh_uid()))
        if stmt.orelse is not None:
            self.exec_body(stmt.orelse.body, env, ctx)
        if stmt.finalbody is not None:
            self.exec_body(stmt.finalbody.body, env, ctx)
        return returned

    # Small statements: each returns True when it certainly ends the block.
    def exec_expr(self, small: cst.Expr, env: Env, ctx: CallContext) -> bool:
        if type(small.value) not in (cst.SimpleString, cst.ConcatenatedString):  # a docstring does nothing
            self.eval(small.value, env, ctx)
        return False

    def exec_assign(self, small: cst.Assign, env: Env, ctx: CallContext) -> bool:
        value = self.eval(small.value, env, ctx)
        if type(value) is Ext and type(small.value) is cst.Name:  # `loss_fn = bce`: a loss chosen here
            value = losses.named_at(value, small.value)
        for target in small.targets:
            self.assign(target.target, value, env, ctx)
        return False

    def exec_ann_assign(self, small: cst.AnnAssign, env: Env, ctx: CallContext) -> bool:
        if small.value is not None:
            self.assign(small.target, self.eval(small.value, env, ctx), env, ctx)
        return False

    def exec_aug_assign(self, small: cst.AugAssign, env: Env, ctx: CallContext) -> bool:
        left = self.eval(small.target, env, ctx)
        right = self.eval(small.value, env, ctx)
        op = type(small.operator).__name__.replace("Assign", "")
        self.assign(small.target, python.binary(self, op, left, right, small, ctx), env, ctx)
        return False

    def exec_return(self, small: cst.Return, env: Env, ctx: CallContext) -> bool:
        ctx.returns.append(self.eval(small.value, env, ctx) if small.value is not None else Const(None))
        return not ctx.conditional

    def exec_import(self, small: Any, env: Env, ctx: CallContext) -> bool:
        for local, qual in import_bindings(small, self.package):
            env.vars[local] = Ext(qual)
        if isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar) and env is self.globals:
            module = canonical(import_module_name(small, self.package) or "")
            if module.split(".")[0] in ("torch", "keras", "tf"):
                self.framework_stars.append(module)
        if isinstance(small, cst.ImportFrom) and self.imports is not None and (
                env is self.globals or ctx.root_name == modules.DEFINITIONS or not self.imports.running_imported()):
            # At module level, in an imported module's definitions, or in this file's own functions
            # (`def main(): from model import Net`); not inside imported code running here.
            self.imports.note(self, small, env)
        return False

    def exec_raise(self, small: cst.Raise, env: Env, ctx: CallContext) -> bool:
        return not ctx.conditional

    def exec_if(self, stmt: cst.If, env: Env, ctx: CallContext) -> bool:
        test = self.truth(self.eval(stmt.test, env, ctx))
        if _is_main_guard(stmt.test):
            test = None  # scripts' main blocks may or may not run; analyse them as a branch
        orelse = stmt.orelse
        if test is True:
            return self.exec_body(stmt.body, env, ctx)
        if test is False:
            if type(orelse) is cst.If:
                return self.exec_if(orelse, env, ctx)
            if type(orelse) is cst.Else:
                return self.exec_body(orelse.body, env, ctx)
            return False
        # Unknown condition: run both branches on copies and join what they bind.
        branch_ctx = ctx.replaced(conditional=True, branches=ctx.branches + 1, returns=[], guard=self.guard(stmt.body),
                                  entered=fresh_uid())
        then_env = env.copy()
        self.exec_body(stmt.body, then_env, branch_ctx)
        else_env = env.copy()
        if type(orelse) is cst.If:
            self.exec_if(orelse, else_env, branch_ctx.replaced(guard=self.guard(orelse), entered=fresh_uid()))
        elif type(orelse) is cst.Else:
            self.exec_body(orelse.body, else_env, branch_ctx.replaced(guard=self.guard(orelse.body), entered=fresh_uid()))
        ctx.returns.extend(branch_ctx.returns)
        for name in set(then_env.vars) | set(else_env.vars):
            a, b = then_env.vars.get(name), else_env.vars.get(name)
            env.vars[name] = b if a is None else a if b is None else python.join(a, b)  # type: ignore[assignment]
        return False

    def exec_for(self, stmt: cst.For, env: Env, ctx: CallContext) -> bool:
        iterable = self.eval(stmt.iter, env, ctx)
        items = self.iterate(iterable)
        if items is None:
            body_ctx = ctx.replaced(conditional=True, branches=ctx.branches + 1, guard=self.guard(stmt.body), entered=fresh_uid())
            self.assign(stmt.target, UNKNOWN, env, body_ctx)
            self.exec_body(stmt.body, env, body_ctx)
            return False
        if len(items) > 2 and not self.loop_builds(stmt):
            items = items[:2]  # a training loop: two turns show everything one turn changes
        for item in items[:expressions.MAX_UNROLL]:
            self.assign(stmt.target, item, env, ctx)
            if self.exec_body(stmt.body, env, ctx):
                return True
        if stmt.orelse is not None:
            self.exec_body(stmt.orelse.body, env, ctx)
        return False

    def loop_builds(self, stmt: cst.For) -> bool:
        """Does each turn of this loop matter?

        It does when the body uses the loop variable, builds a list or model
        (`append`, `+=`, `add_module`), or carries a value from turn to turn
        (`x = Dense(32)(x)`, a functional model built in a loop). A training
        loop does none of these, and two turns show all it changes.
        """
        key = id(stmt)
        if key not in self.loop_kinds:
            targets = {n.value for n in names_in(stmt.target)}
            builds = False
            stack: list[Any] = [stmt.body]
            while stack and not builds:
                node = stack.pop()
                if type(node) is cst.Name and node.value in targets or type(node) is cst.AugAssign or type(node) is cst.Attribute and node.attr.value in _BUILDING_METHODS or type(node) is cst.Assign and carries_itself(node):
                    builds = True
                stack.extend(node.children)
            self.loop_kinds[key] = builds
        return self.loop_kinds[key]

    # ------------------------------------------------------------------ binding
    def assign(self, target: Any, value: Value, env: Env, ctx: CallContext) -> None:
        if type(target) is cst.Name:
            env.vars[target.value] = value
            if isinstance(value, Param) and not value.name:
                value.name = target.value
            elif isinstance(value, Mapping):
                # `weights = {'h1': tf.Variable(...)}`: name the parameters `weights['h1']`.
                for key, item in value.items.items():
                    if isinstance(item, Param) and not item.name:
                        item.name = f"{target.value}[{key!r}]"
        elif type(target) in (cst.Tuple, cst.List):
            elements = target.elements
            items = self.iterate(value)
            for i, element in enumerate(elements):
                if type(element) is cst.StarredElement:
                    self.assign(element.value, UNKNOWN, env, ctx)
                    continue
                item = items[i] if items is not None and i < len(items) else python.unpack_item(value, i)
                self.assign(element.value, item, env, ctx)
        elif type(target) is cst.Attribute:
            owner = self.eval(target.value, env, ctx)
            if isinstance(owner, argparse_values.Namespace):  # `args.hidden = 32` after parsing
                name = target.attr.value
                owner.values[name] = python.join(owner.attribute(name), value) if ctx.conditional else value
            python.set_attribute(self, owner, target.attr.value, value, target, ctx)
        elif isinstance(target, cst.Subscript):
            owner = self.eval(target.value, env, ctx)
            if isinstance(owner, Mapping) and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
                key = self.eval(target.slice[0].slice.value, env, ctx)
                if isinstance(key, Const):
                    owner.items[key.value] = value
                    return
                owner.complete = False
            saved, self.current_env = self.current_env, env
            try:
                python.subscript_assign(self, owner, value, target, ctx)
            finally:
                self.current_env = saved

    # ------------------------------------------------------------------ definitions
    def make_function(self, node: Any, env: Env, ctx: CallContext) -> Value:
        func = Func(node=node, closure=env)
        self.closures.append(env)
        if type(node) is cst.FunctionDef:
            for dec in node.decorators:
                name = dec.decorator
                text = name.value if isinstance(name, cst.Name) else getattr(getattr(name, "attr", None), "value", "")
                if text == "staticmethod":
                    func.is_static = True
                elif text == "property":
                    return replace_property(func)
        return func

    def make_class(self, node: cst.ClassDef, env: Env, ctx: CallContext) -> ClassInfo:
        bases = [self.eval(arg.value, env, ctx) for arg in node.bases if not arg.keyword]
        info = ClassInfo(name=node.name.value, node=node, bases=bases)
        self.class_infos.append(info)
        info.framework = registry.class_framework(info)
        class_env = Env(env)
        for stmt in node.body.body:
            if type(stmt) is cst.FunctionDef:
                func = self.make_function(stmt, env, ctx)
                if isinstance(func, Func):
                    func.owner_class = info
                    info.methods[stmt.name.value] = func
                else:
                    info.class_attrs[stmt.name.value] = func
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and getattr(small, "value", None) is not None:
                        value = self.eval(small.value, class_env, ctx)
                        targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                        for t in targets:
                            if isinstance(t, cst.Name):
                                info.class_attrs[t.value] = value
                                class_env.vars[t.value] = value
        if env is self.globals:
            self.classes[info.name] = info
        return info

    # ------------------------------------------------------------------ calls
    def call(self, callee: Value, args: list[Value], kwargs: dict[str, Value], node: Any, env: Env, ctx: CallContext) -> Value:
        self.tick()
        if isinstance(callee, Func):
            if ctx.self_obj is None and args and isinstance(args[0], Tensor) and args[0].chain and callee.bound_self is None:
                return self.call_network(callee, args, kwargs, node, ctx)
            return self.call_function(callee, args, kwargs, node, ctx)
        if isinstance(callee, ClassInfo):
            return self.instantiate(callee, args, kwargs, node, ctx)
        if isinstance(callee, Ext):
            if self.imports is not None and id(callee) in self.imports.pending:
                imported = self.imports.resolve(self, callee, env, ctx)
                if imported is not None:
                    return self.instantiate(imported, args, kwargs, node, ctx)
            if self.imports is not None and id(callee) in self.imports.helpers:
                followed = self.imports.call_helper(self, callee, args, kwargs, node, ctx)
                if followed is not None:  # `weights_init(self.net)`, `netD = discriminator_init(device)`
                    return followed
            site = None if isinstance(node, cst.Call) and node.func is callee.site else callee.site
            return registry.call_ext(self, callee.qualname, args, kwargs, node, ctx, site)
        if isinstance(callee, BoundMethod):
            return registry.call_method(self, callee.target, callee.name, args, kwargs, node, ctx)
        if isinstance(callee, Obj):
            if ctx.self_obj is None and args and _is_torch_model(callee):
                x = args[0]
                if isinstance(x, Tensor) and x.chain:
                    # `D(G(z))` in a script: two models, each its own stack (inside a
                    # model's forward, sub-models compose into one).
                    args = [x.replaced(chain=())] + args[1:]
                if callee.uid in self.known_instances and ctx.root_kind == "script":
                    self.facts.configured_classes.add(callee.cls.name)  # type: ignore[union-attr]
            return self.call_object(callee, args, kwargs, node, ctx)
        if isinstance(callee, Partial):
            return self.call(callee.func, callee.args + args, {**callee.kwargs, **kwargs}, node, env, ctx)
        if isinstance(callee, Loss):
            return losses.apply_loss(self, callee, args, kwargs, node, ctx)
        if isinstance(callee, Builtin):
            return self.call_builtin(callee.name, args, kwargs, node, ctx)
        if isinstance(callee, Initializer):
            return keras.initializer_output(callee, args, kwargs, node)
        python.taint_arguments(args, kwargs, node)
        return UNKNOWN

    def call_network(self, func: Func, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
        """A function on a tensor that already went through layers, outside any model.

        When the function applies two or more weights that existed before the call and it
        was not given (a TF1 GAN's `discriminator(generator(z))` over module-level
        variables), it is a network of its own, applied: its stack starts at its input, as
        for two torch models composed in a script (`call`). A helper given its weights, or
        one building new layers on each call (a Keras block builder), stays one stack with
        what feeds it."""
        x = args[0]
        assert isinstance(x, Tensor)
        first = len(self.facts.layer_calls)
        built_before = fresh_uid()
        result = self.call_function(func, args, kwargs, node, ctx)
        calls = self.facts.layer_calls[first:]
        given = args[1:] + list(kwargs.values())
        if any(isinstance(v, (Param, Obj, Seq, Mapping)) for v in given):
            return result
        if len({id(call.weight) for call in calls}) < 2 or any(call.weight.uid > built_before for call in calls):
            return result
        n = len(x.chain)

        def apart(t: Tensor) -> Tensor:
            if len(t.chain) >= n and all(a is b for a, b in zip(t.chain, x.chain)):
                return t.replaced(chain=t.chain[n:])
            return t

        for call in calls:
            call.input = apart(call.input)
        return apart(result) if isinstance(result, Tensor) else result

    def call_builtin(self, name: str, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
        if name == "__noop__":
            return Const(None)
        if name == "__construct_into__" and len(args) >= 2 and isinstance(args[0], Obj) and isinstance(args[1], Const):
            built = registry.construct_into(self, args[0], str(args[1].value), args[2:], kwargs, node, ctx)
            self.run_reset_parameters(built, node, ctx)
            return built
        if name == "__apply_base__" and args and isinstance(args[0], Obj):
            return layers.apply_layer(self, args[0], args[1:], kwargs, node, ctx)
        if name == "super":
            return SuperRef(ctx.self_obj, ctx.cls)
        return python.call_builtin(self, name, args, kwargs, node, ctx)

    def call_object(self, obj: Obj, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
        if obj.cls is not None:
            build = obj.cls.lookup("build") if obj.cls.framework == "keras" else None
            if isinstance(build, Func) and not obj.config.get("built"):
                # Keras builds a layer's weights on its first call.
                obj.config["built"] = Const(True)
                self.call_function(build, [obj, UNKNOWN], {}, node, ctx)
            method = obj.cls.lookup("forward") or obj.cls.lookup("call") or obj.cls.lookup("__call__")
            if isinstance(method, Func):
                inner = ctx.replaced(anchor=ctx.anchor or obj.site)
                return self.call_function(method, [obj] + args, kwargs, node, inner)
            if obj.kind and not obj.kind.startswith("user:"):
                return layers.apply_layer(self, obj, args, kwargs, node, ctx)
            return UNKNOWN
        return layers.apply_layer(self, obj, args, kwargs, node, ctx)

    def instantiate(self, info: ClassInfo, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
        if self.imports is not None and self.imports.defs:
            self.imports.ran(info.node)
        base_kind = registry.framework_base_kind(info)
        obj = Obj(kind=base_kind or f"user:{info.name}", site=node, cls=info)
        if ctx.root_kind == "script" and ctx.root_name == "" and info.framework == "torch":
            self.script_models.append(obj)  # built by the script, in its main() too: analysis.py may run it
        if ctx.root_kind == "script" and info.framework == "torch" and not any(
            isinstance(v, Unknown) for v in [*args, *kwargs.values()]
        ):
            self.known_instances.add(obj.uid)
            self.script_args.setdefault(info.name, (list(args), dict(kwargs)))
        elif ctx.root_kind == "script" and info.framework is None and any(isinstance(v, Obj) and _is_torch_model(v) for v in [*args, *kwargs.values()]):
            self.script_args.setdefault(info.name, (list(args), dict(kwargs)))  # `Agent(QNet())`
        if not args and not kwargs:
            obj.config["default_args"] = Const(True)  # built as the class root is (analysis.py)
        qualname = self.imported_qualname(info) if info.framework is None else None
        if qualname is not None:
            # `NFQAgent(NFQNetwork(), opt)` for an agent class read from its file: that file computes
            # the loss on the network it is given, and the cross-file link joins them.
            registry.note_model_arguments(self, qualname, args, kwargs, node)
        init = info.lookup("__init__")
        if isinstance(init, Func):
            self.call_function(init, [obj] + args, kwargs, node, ctx.replaced(in_init=True, anchor=None))
        elif base_kind:
            registry.construct_into(self, obj, base_kind, args, kwargs, node, ctx)
            self.run_reset_parameters(obj, node, ctx)
        return obj

    def run_reset_parameters(self, obj: Obj, node: Any, ctx: CallContext) -> None:
        """`class ZeroLinear(nn.Linear)` overriding `reset_parameters`: the base constructor calls it."""
        if obj.cls is None:
            return
        method = obj.cls.lookup("reset_parameters")
        if isinstance(method, Func):
            self.call_function(method, [obj], {}, node, ctx)

    def call_function(self, func: Func, args: list[Value], kwargs: dict[str, Value], node: Any, ctx: CallContext) -> Value:
        fnode = func.node
        top = func.owner_class.node if func.owner_class is not None else fnode
        if self.imports is not None and self.imports.defs:
            self.imports.ran(top)
        if ctx.depth >= MAX_DEPTH or id(fnode) in self.active_calls:
            python.taint_arguments(args, kwargs, node)
            return UNKNOWN
        if func.bound_self is not None:
            args = [func.bound_self] + args
        env = Env(func.closure)
        self.bind_params(fnode.params, args, kwargs, env, ctx)
        owner = func.owner_class
        is_method = owner is not None and not func.is_static
        inner = CallContext(
            root=ctx.root,
            root_kind=ctx.root_kind,
            root_name=ctx.root_name,
            conditional=False,
            no_grad=ctx.no_grad or _is_no_grad_function(fnode),
            anchor=ctx.anchor,
            depth=ctx.depth + 1,
            returns=[],
            self_obj=args[0] if is_method and args else None,
            cls=owner if is_method else None,
            in_init=ctx.in_init,
        )
        imported = self.imports is not None and bool(self.imports.defs) and self.imports.enter(top, node, func.owner_class is None)
        self.active_calls.append(id(fnode))
        try:
            if type(fnode) is cst.Lambda:
                return self.eval(fnode.body, env, inner)
            self.called.add(id(fnode))
            self.exec_body(fnode.body, env, inner)
        finally:
            self.active_calls.pop()
            if imported:
                self.imports.leave()  # type: ignore[union-attr]
        if not inner.returns:
            return Const(None)
        result = inner.returns[0]
        for other in inner.returns[1:]:
            result = python.join(result, other)
        return result

    def bind_params(self, params: cst.Parameters, args: list[Value], kwargs: dict[str, Value], env: Env, ctx: CallContext) -> None:
        positional = list(params.posonly_params) + list(params.params)
        kwargs = dict(kwargs)
        star_kwargs = kwargs.pop("**", None)
        for i, param in enumerate(positional):
            name = param.name.value
            if i < len(args):
                env.vars[name] = args[i]
            elif name in kwargs:
                env.vars[name] = kwargs.pop(name)
            elif star_kwargs is not None:
                env.vars[name] = UNKNOWN
            elif param.default is not None:
                env.vars[name] = self.eval(param.default, env.parent or self.globals, ctx)
            else:
                env.vars[name] = UNKNOWN
        if type(params.star_arg) is cst.Param:
            extra = args[len(positional):]
            env.vars[params.star_arg.name.value] = Seq(list(extra), is_tuple=True, complete=not any(isinstance(a, Unknown) for a in extra))
        for param in params.kwonly_params:
            name = param.name.value
            if name in kwargs:
                env.vars[name] = kwargs.pop(name)
            elif param.default is not None and star_kwargs is None:
                env.vars[name] = self.eval(param.default, env.parent or self.globals, ctx)
            else:
                env.vars[name] = UNKNOWN
        if params.star_kwarg is not None:
            env.vars[params.star_kwarg.name.value] = Mapping(dict(kwargs), complete=star_kwargs is None)

    # ------------------------------------------------------------------ expressions
    def eval(self, node: Any, env: Env, ctx: CallContext) -> Value:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise BudgetExhausted
        kind = type(node)
        if kind is cst.Name:
            # Half of all evaluations: a variable found in scope, looked up here without two calls.
            name = node.value
            scope: Optional[Env] = env
            while scope is not None:
                found = scope.vars.get(name)
                if found is not None:
                    return found
                scope = scope.parent
            return self.eval_name(node, env, ctx)
        if kind in _LITERALS:  # the same immutable Const each time: parsing the token costs more
            literal = self.literals.get(id(node))
            if literal is None:
                literal = self.literals[id(node)] = _EVAL[kind](self, node, env, ctx)
            return literal
        handler = _EVAL.get(kind)
        return handler(self, node, env, ctx) if handler is not None else UNKNOWN

    def eval_name(self, node: cst.Name, env: Env, ctx: CallContext) -> Value:
        name = node.value
        found = env.lookup(name)
        if found is not None:
            return found
        if name in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[name])
        if self.imports is not None and self.imports.stars and name[:1].isupper():
            starred = self.imports.resolve_star(self, name, env, ctx)
            if starred is not None:
                return starred
        if self.imports is not None and self.imports.stars and not python.is_builtin(name):
            alias = self.imports.star_imported_name(self, name, env)
            if alias is not None:
                return alias
        if self.framework_stars and name[:1].isupper() and not python.is_builtin(name):
            # A class from a star-imported framework module (`Dense` after `from keras.layers import *`).
            return Ext(f"{star_module(self.framework_stars, name)}.{name}")
        implicit = self.implicit_imports.get(name)  # `tf` in a notebook's exported cell that never imports it
        return Ext(implicit) if implicit is not None else python.builtin(name)

    def eval_attribute(self, node: cst.Attribute, env: Env, ctx: CallContext) -> Value:
        owner = self.eval(node.value, env, ctx)
        return registry.get_attribute(self, owner, node.attr.value, node, ctx)

    def eval_call(self, node: cst.Call, env: Env, ctx: CallContext) -> Value:
        func_node = node.func
        if type(func_node) is cst.Call and type(func_node.func) is cst.Name and func_node.func.value == "super":
            callee: Value = SuperRef(ctx.self_obj, ctx.cls)
        elif type(func_node) is cst.Attribute and type(func_node.value) is cst.Call and type(func_node.value.func) is cst.Name and func_node.value.func.value == "super":
            callee = registry.super_method(self, ctx, func_node.attr.value)
        else:
            callee = self.eval(func_node, env, ctx)
        args: list[Value] = []
        kwargs: dict[str, Value] = {}
        for arg in node.args:
            value = self.eval(arg.value, env, ctx)
            if arg.star == "*":
                items = self.iterate(value)
                if items is None:
                    args.append(UNKNOWN)
                    kwargs["**"] = UNKNOWN  # unknown arity: later parameters are unknown too
                else:
                    args.extend(items)
            elif arg.star == "**":
                if isinstance(value, Mapping) and value.complete:
                    kwargs.update({str(k): v for k, v in value.items.items()})
                else:
                    kwargs["**"] = UNKNOWN
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        saved, self.current_env = self.current_env, env
        try:
            return self.call(callee, args, kwargs, node, env, ctx)
        finally:
            self.current_env = saved

    def rebind(self, expr: Any, value: Value) -> None:
        """An in-place op on a tensor held in a local variable (`nn.init.zeros_(w)`)."""
        env = self.current_env
        if isinstance(expr, cst.Name) and env is not None and expr.value in env.vars:
            env.vars[expr.value] = value

    def imported_function(self, ext: Ext) -> Optional[Func]:
        """The project function an imported name stands for, applied to this file's modules."""
        return self.imports.resolve_function(self, ext) if self.imports is not None else None

    def imported_qualname(self, info: Any) -> Optional[str]:
        """The qualified name of an imported project class this file read ("nfq.networks.NFQNetwork")."""
        return self.imports.qualnames.get(id(info)) if self.imports is not None and info is not None else None

    def iterate(self, value: Value) -> Optional[list[Value]]:
        """The elements of an iterable the interpreter knows completely, else None."""
        return python.iterate(self, value)

    def truth(self, value: Value) -> Optional[bool]:
        if isinstance(value, Const):
            try:
                return bool(value.value)
            except Exception:  # noqa: BLE001 - a user object's __bool__ cannot be known
                return None
        if isinstance(value, (Obj, Func, ClassInfo, Param, Ext)):
            return True
        if isinstance(value, Seq) and value.complete:
            return bool(value.items)
        return None


_BUILDING_METHODS = {"append", "extend", "add", "add_module", "insert", "register_buffer", "register_parameter", "update", "setattr"}


def replace_property(func: Func) -> Value:
    return Property(func)


def _is_main_guard(test: Any) -> bool:
    return (
        type(test) is cst.Comparison
        and type(test.left) is cst.Name
        and test.left.value == "__name__"
    )


def _is_no_grad_function(fnode: Any) -> bool:
    if type(fnode) is not cst.FunctionDef:
        return False
    for dec in fnode.decorators:
        expr = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        if isinstance(expr, cst.Attribute) and expr.attr.value in ("no_grad", "inference_mode"):
            return True
        if isinstance(expr, cst.Name) and expr.value in ("no_grad", "inference_mode"):
            return True
    return False


_STMT: dict[type, Callable[[Interpreter, Any, Env, CallContext], bool]] = {
    cst.FunctionDef: Interpreter.exec_function_def,
    cst.ClassDef: Interpreter.exec_class_def,
    cst.If: Interpreter.exec_if,
    cst.For: Interpreter.exec_for,
    cst.While: Interpreter.exec_while,
    cst.With: Interpreter.exec_with,
    cst.Try: Interpreter.exec_try,
    cst.TryStar: Interpreter.exec_try,
}
_SMALL: dict[type, Callable[[Interpreter, Any, Env, CallContext], bool]] = {
    cst.Expr: Interpreter.exec_expr,
    cst.Assign: Interpreter.exec_assign,
    cst.AnnAssign: Interpreter.exec_ann_assign,
    cst.AugAssign: Interpreter.exec_aug_assign,
    cst.Return: Interpreter.exec_return,
    cst.Import: Interpreter.exec_import,
    cst.ImportFrom: Interpreter.exec_import,
    cst.Raise: Interpreter.exec_raise,
}
_LITERALS = frozenset({cst.Integer, cst.Float, cst.SimpleString})
_EVAL: dict[type, Callable[[Interpreter, Any, Env, CallContext], Value]] = {
    cst.Name: Interpreter.eval_name,
    cst.Attribute: Interpreter.eval_attribute,
    cst.Call: Interpreter.eval_call,
    cst.Integer: expressions.eval_number,
    cst.Float: expressions.eval_number,
    cst.SimpleString: expressions.eval_string,
    cst.ConcatenatedString: expressions.eval_concat,
    cst.FormattedString: expressions.eval_fstring,
    cst.List: expressions.eval_sequence,
    cst.Tuple: expressions.eval_sequence,
    cst.Set: expressions.eval_sequence,
    cst.Dict: expressions.eval_dict,
    cst.BinaryOperation: expressions.eval_binary,
    cst.UnaryOperation: expressions.eval_unary,
    cst.BooleanOperation: expressions.eval_boolean,
    cst.Comparison: expressions.eval_comparison,
    cst.Subscript: expressions.eval_subscript,
    cst.IfExp: expressions.eval_ifexp,
    cst.Lambda: expressions.eval_lambda,
    cst.ListComp: expressions.eval_comprehension,
    cst.GeneratorExp: expressions.eval_comprehension,
    cst.SetComp: expressions.eval_comprehension,
    cst.DictComp: expressions.eval_comprehension,
    cst.NamedExpr: expressions.eval_named_expr,
    cst.Await: lambda i, n, e, c: i.eval(n.expression, e, c),
}


def _is_torch_model(obj: Obj) -> bool:
    """A whole torch model (a user module or a `Sequential`), as opposed to a single layer."""
    if obj.cls is not None:
        return bool(obj.cls.framework == "torch")
    return obj.kind == "torch.nn.Sequential"
