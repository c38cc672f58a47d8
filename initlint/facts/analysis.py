"""What to run: the module body, every model class, every function nobody called,
and the methods nobody called of plain classes (TF1 graph builders).

Each root gets its own step budget so one huge class cannot starve the rest.
"""

from __future__ import annotations

import os
import re
from typing import Optional

import libcst as cst

from initlint.config import Settings
from initlint.exports import argument_target
from initlint.facts.context import EVENT_LISTS, CallContext
from initlint.facts.events import FileFacts, Root, RootRef
from initlint.facts.interpret import BudgetExhausted, Interpreter
from initlint.facts.modules import package_of
from initlint.facts.values import LIVE, UNKNOWN, Builtin, ClassInfo, Const, Ext, Func, Obj, Tensor, Value, fresh_uid
from initlint.frameworks.registry import imported_instance
from initlint.frameworks.tables import WEIGHT_LAYERS, last

# Parameters of a training function that hold "the model".
MODEL_PARAM_NAMES = {"model", "net", "network", "classifier", "regressor", "module", "scorer", "ranker"}
# Networks by their role in a GAN, an autoencoder or an actor-critic agent.
MODEL_ROLE_NAMES = {"generator", "discriminator", "encoder", "decoder", "actor", "critic", "policy"}
# Parameters of a model's constructor that hold its configuration object.
CONFIG_PARAM_NAMES = {"cfg", "config", "conf", "configs", "hparams", "hp", "args", "opt", "opts", "params", "settings"}
# Methods (besides forward) that compute a loss on the model's own output.
TRAINING_METHOD = re.compile(r"(step|loss|train|fit)", re.IGNORECASE)


def analyse(facts: FileFacts, module: cst.Module, package: Optional[str], path: Optional[str] = None) -> None:
    interp = Interpreter(module, facts, package, path, facts.settings.project_root)
    try:
        script = CallContext(root_kind="script", root_name="")
        _run(facts, interp, lambda: interp.exec_body(module, interp.globals, script), "the module level")
        for name, value in list(interp.globals.vars.items()) + list(interp.ext_attrs.items()):
            if isinstance(value, Obj) and (value.cls is None or _reinitialised(interp, value)):
                # A model built at module level (`net = nn.Sequential(...)`, a Keras model), or an
                # instance of a model class whose weights the script set (`nn.init.zeros_(net.fc.weight)`,
                # `net.apply(init_fn)`): run it once, as built.
                _run(facts, interp, lambda name=name, value=value: _run_script_model(facts, interp, name, value), f"model `{name}`")
        bound = {id(value) for value in list(interp.globals.vars.values()) + list(interp.ext_attrs.values())}
        # A model's own sub-modules are run with it, not as models of their own.
        held = {sub.uid for obj in [*interp.script_models, *(v for v in interp.globals.vars.values() if isinstance(v, Obj))]
                for sub in obj.iter_modules()[1:]}
        for obj in interp.script_models:
            if id(obj) not in bound and obj.uid not in held and _reinitialised(interp, obj):
                # Built and re-initialised inside a function the script calls (`def main(): net = MLP();
                # net.apply(init)`), where no module-level name holds it: run it as built, under its class's name.
                name = obj.cls.name if obj.cls is not None else obj.kind
                _run(facts, interp, lambda obj=obj, name=name: _run_script_model(facts, interp, name, obj), f"a `{name}` of the script")
        model_classes = [c for c in interp.classes.values() if c.framework is not None]
        for info in model_classes:
            _run(facts, interp, lambda info=info: _run_class(facts, interp, info), f"class `{info.name}`")
        for func_name, value in list(interp.globals.vars.items()):
            if isinstance(value, Func) and isinstance(value.node, cst.FunctionDef) and id(value.node) not in interp.called:
                _run(facts, interp, lambda value=value: _run_function(interp, value, model_classes), f"function `{func_name}`")
        for info in list(interp.classes.values()):
            if info.framework is None and _is_plain(info):
                _run_plain_class(facts, interp, info, model_classes)
        _run_built_models(facts, interp)
    finally:
        facts.foreign = interp.imports.foreign if interp.imports is not None else []
        facts.foreign_entries = list(interp.imports.entries.values()) if interp.imports is not None else []
        interp.release()


def _reinitialised(interp: Interpreter, obj: Obj) -> bool:
    """A torch model instance some of whose parameters the module-level code initialised."""
    return obj.cls is not None and obj.cls.framework == "torch" and any(p.uid in interp.script_inits for _, p in obj.all_params())


def _run(facts: FileFacts, interp: Interpreter, action: object, root: str) -> None:
    """Run one root with a fresh step budget; a root that fails leaves no events behind.

    Running out of budget keeps what was recorded (every value the root did not
    reach stays unknown) and names `root` in `facts.partial_roots`, so the user is told. An unexpected error in the interpreter on unusual code
    discards the root's events, so a half-run root can never report a finding
    that its unreached half would have cancelled (a later re-initialisation).
    """
    interp.steps = 0
    marks = {name: len(getattr(facts, name)) for name in EVENT_LISTS}
    try:
        action()  # type: ignore[operator]
    except (BudgetExhausted, RecursionError):
        facts.budget_exhausted = True
        facts.partial_roots.append(root)
    except Exception as exc:
        if os.environ.get("INITLINT_TRACEBACK"):
            raise
        for name, mark in marks.items():
            del getattr(facts, name)[mark:]
        facts.analysis_errors.append(f"{type(exc).__name__}: {exc}")


def _run_script_model(facts: FileFacts, interp: Interpreter, name: str, obj: Obj) -> None:
    kind = "keras-script" if obj.kind.startswith("keras.") else "script"
    ctx = CallContext(root=obj, root_kind=kind, root_name=name)
    root = Root(RootRef(kind, name, obj), obj)
    facts.roots.append(root)
    if _is_model(obj):
        root.output = interp.call_object(obj, [Tensor(state=LIVE)], {}, obj.site, ctx)


def _run_built_models(facts: FileFacts, interp: Interpreter) -> None:
    """Keras models built inside a function or method (`def build_model(units): m = Sequential(); ...`,
    `self.model = Sequential(); self.model.add(...)`): each compiled, returned or Sequential one,
    run once like a module-level model. Their layers are what the function built for unknown
    arguments."""
    done = {id(root.where.root) for root in facts.roots}
    models = [event.model for event in facts.keras_compiles] + interp.built_models
    for obj in models:
        if id(obj) in done or obj.cls is not None or not obj.kind.startswith("keras."):
            continue
        done.add(id(obj))
        _run(facts, interp, lambda obj=obj: _run_script_model(facts, interp, obj.name or "model", obj), f"model `{obj.name or 'model'}`")


def _forward_args(interp: Interpreter, func: Func, ctx: CallContext) -> tuple[list[Value], dict[str, Value]]:
    """Abstract inputs for a forward/call: a live tensor per required argument."""
    node = func.node
    args: list[Value] = []
    kwargs: dict[str, Value] = {}
    params = list(node.params.posonly_params) + list(node.params.params)
    for param in params[1:]:
        if param.default is None:
            args.append(Tensor(state=LIVE))
        else:
            kwargs[param.name.value] = interp.eval(param.default, interp.globals, ctx)
    return args, kwargs


def _run_class(facts: FileFacts, interp: Interpreter, info: ClassInfo) -> None:
    where_ctx = CallContext(root_kind="class", root_name=info.name)
    obj = Obj(kind=f"user:{info.name}", site=info.node.name, cls=info)
    where_ctx.root = obj
    init = info.lookup("__init__")
    if isinstance(init, Func):
        args, kwargs = _init_args(interp, info, init)
        interp.call_function(init, [obj] + args, kwargs, info.node.name, CallContext(root=obj, root_kind="class", root_name=info.name, in_init=True))
    root = Root(RootRef("class", info.name, obj), obj)
    facts.roots.append(root)
    forward = info.lookup("forward") or info.lookup("call")
    build = info.lookup("build") if info.framework == "keras" else None
    if isinstance(build, Func) and isinstance(build.node, cst.FunctionDef):
        obj.config["built"] = Const(True)  # Keras creates the weights before the first call
        interp.call_function(build, [obj, UNKNOWN], {}, build.node, where_ctx)
    if isinstance(forward, Func) and isinstance(forward.node, cst.FunctionDef):
        interp.steps = 0
        args, kwargs = _forward_args(interp, forward, where_ctx)
        root.output = interp.call_function(forward, [obj] + args, kwargs, forward.node, where_ctx)
        signature = forward.node.params
        if not any("train" in p.name.value for p in [*signature.params, *signature.kwonly_params]):
            # `call(self, x, training=False)`: fit() runs the training branch, this root ran the
            # other one, so only a call() without such a flag tells what the loss receives.
            info.output = root.output
    elif forward is None:
        # No forward in this file (inherited from an imported base): a `Sequential` the
        # constructor built runs its layers in order whoever calls it, so run each once.
        for _, child in list(obj.children):
            if child.kind in ("torch.nn.Sequential", "keras.Sequential"):
                interp.steps = 0
                interp.call_object(child, [Tensor(state=LIVE)], {}, child.site, where_ctx)
    _run_recipes(facts, interp, info)
    for name, method in info.methods.items():
        if method is forward or name.startswith("__") or not TRAINING_METHOD.search(name):
            continue
        if not isinstance(method.node, cst.FunctionDef):
            continue
        interp.steps = 0
        fresh = _instantiate_quietly(interp, info)
        ctx = CallContext(root=fresh, root_kind="class", root_name=info.name)
        params = list(method.node.params.params)[1:]
        interp.call_function(method, [fresh] + [UNKNOWN] * len(params), {}, method.node, ctx)


def _run_recipes(facts: FileFacts, interp: Interpreter, info: ClassInfo) -> None:
    """The class as other project files build it and then set its weights (`eta = MLP(1, d)`, then
    `eta.init_zeros()` in a script that imports it; callsites.init_recipes): a fresh instance, the
    method run on it, then the instance as a model of the script's. A method its own constructor
    already runs is not replayed."""
    # Only a weight-setting method the file's own code never ran is looked for (timm's `_init_weights`,
    # which `self.apply` runs, is not): a lookup reads the project's files once per process.
    uncalled = [name for name, m in info.methods.items() if isinstance(m.node, cst.FunctionDef) and id(m.node) not in interp.called]
    if not uncalled:
        return
    from initlint.facts import callsites  # the project's files are read only for a class that may need them

    methods = frozenset(name for name in uncalled if callsites.INIT_METHOD.search(name))
    checked = _checked_path(interp, info) if methods else None
    if checked is None:
        return
    recipes, depends, looked = callsites.init_recipes(checked, facts.settings.project_root, info.name, methods)
    _looked_up(facts, info, depends, looked)
    for recipe in recipes:
        method = info.methods[recipe.method]

        def replay(method: Func = method, values: tuple[object, ...] = recipe.args) -> None:
            obj = _instantiate_quietly(interp, info)
            args = [UNKNOWN if v is callsites.UNKNOWN_ARG else callsites.to_value(v) for v in values]
            ctx = CallContext(root_kind="script", root_name=info.name)
            interp.call_function(method, [obj, *args], {}, method.node, ctx)
            _run_script_model(facts, interp, info.name, obj)

        _run(facts, interp, replay, f"class `{info.name}` after `{recipe.method}()`")


def _is_plain(info: ClassInfo) -> bool:
    """A class of this file that derives from nothing imported (`class Net:`, `class Net(object)`)."""
    return all(isinstance(b, Builtin) and b.name == "object" or isinstance(b, ClassInfo) and _is_plain(b) for b in info.bases)


def _run_plain_class(facts: FileFacts, interp: Interpreter, info: ClassInfo, model_classes: list[ClassInfo]) -> None:
    """The methods nobody called of a plain class (a TF1 graph builder `class Net: def build(self, x)`),
    each like a function nobody called, on one instance built with the constructor's defaults."""
    methods = [
        (name, method) for name, method in info.methods.items()
        if isinstance(method.node, cst.FunctionDef) and id(method.node) not in interp.called
        and (name == "__call__" or not name.startswith("__"))
    ]
    if not methods and "__init__" not in info.methods:
        return  # a constructor alone may still build a model (`self.model = Sequential()`)
    instance: list[Obj] = []

    def construct() -> None:
        obj = Obj(kind=f"user:{info.name}", site=info.node.name, cls=info)
        init = info.lookup("__init__")
        if isinstance(init, Func) and isinstance(init.node, cst.FunctionDef):
            ctx = CallContext(root_kind="script", root_name=f"{info.name}.__init__", in_init=True)
            # A trainer or agent given the model (`Trainer(model)`, `def __init__(self, net: QNet)`)
            # keeps it (`self.model = model`): its methods compute the loss on that model's output.
            known = interp.script_args.get(info.name)
            if known is not None:
                args, kwargs = list(known[0]), dict(known[1])
            else:
                args, kwargs = [], {}
                single_model = model_classes[0] if len(model_classes) == 1 else None
                for position, param in enumerate(list(init.node.params.params)[1:]):
                    model = _model_argument(interp, param, single_model) if param.default is None else None
                    if model is None and param.default is None and _names_a_model(param):
                        # Given by another file (`NFQAgent(NFQNetwork(), opt)` in train.py): a loss on its
                        # output is linked to the model that file hands it (link.py).
                        model = imported_instance(argument_target(info.name, position, param.name.value), info.node.name)
                    if model is not None:
                        kwargs[param.name.value] = model
            interp.call_function(init, [obj] + args, kwargs, info.node.name, ctx)
        instance.append(obj)

    _run(facts, interp, construct, f"class `{info.name}`")
    if not instance:
        return
    for name, method in methods:
        if id(method.node) not in interp.called:  # not run by a method before it
            bound = Func(node=method.node, closure=method.closure, bound_self=None if method.is_static else instance[0], owner_class=info, is_static=method.is_static)
            _run(facts, interp, lambda bound=bound, name=name: _run_function(interp, bound, model_classes, f"{info.name}.{name}"), f"method `{info.name}.{name}`")


def _instantiate_quietly(interp: Interpreter, info: ClassInfo) -> Obj:
    obj = Obj(kind=f"user:{info.name}", site=info.node.name, cls=info)
    init = info.lookup("__init__")
    if isinstance(init, Func):
        args, kwargs = _init_args(interp, info, init)
        interp.call_function(init, [obj] + args, kwargs, info.node.name, CallContext(root=obj, root_kind="class", root_name=info.name, in_init=True))
    return obj


def _init_args(interp: Interpreter, info: ClassInfo, init: Func) -> tuple[list[Value], dict[str, Value]]:
    """What a model class is built with when it runs as a root: the arguments of the file's own
    construction of it with known values (`model = Net(Config())`), else, for each required
    parameter that holds a configuration (`cfg: Config`, or `cfg` with one config class in the
    file), that class built with its defaults. Any other required parameter stays unknown."""
    if info.name in interp.script_args:
        known_args, known_kwargs = interp.script_args[info.name]
        return list(known_args), dict(known_kwargs)
    node = init.node
    if not isinstance(node, cst.FunctionDef):
        return [], {}
    kwargs: dict[str, Value] = {}
    agreed = _project_arguments(interp, info, node)
    if agreed:
        from initlint.facts.callsites import to_value

        kwargs = {name: to_value(value) for name, value in agreed.items()}
    for param in list(node.params.params)[1:] + list(node.params.kwonly_params):
        if param.default is not None or param.name.value in kwargs:
            continue
        cls = _config_class(interp, param)
        if cls is not None:
            kwargs[param.name.value] = interp.instantiate(cls, [], {}, info.node.name, CallContext(root_kind="script", root_name=cls.name))
    return [], kwargs


def _project_arguments(interp: Interpreter, info: ClassInfo, init: cst.FunctionDef) -> dict[str, object]:
    """The literal arguments every other project file that builds this class of the checked file
    agrees on (`Net(784, 128, 8, False)` in train.py), noted as the result's dependencies."""
    facts = interp.facts
    params = init.params
    if len([*params.posonly_params, *params.params]) <= 1 and not params.kwonly_params:
        return {}  # nothing but `self` to give
    checked = _checked_path(interp, info)
    if checked is None or not isinstance(facts, FileFacts):
        return {}
    from initlint.facts import callsites

    agreed, depends, looked = callsites.agreed_arguments(checked, facts.settings.project_root, info.name, init)
    _looked_up(facts, info, depends, looked)
    return agreed


def _looked_up(facts: FileFacts, info: ClassInfo, depends: list[tuple[str, str]], looked: bool) -> None:
    """A call-site lookup's trace in the result: the class name (a new or edited file that names it
    re-analyses the record) and the files read (its dependencies, by digest)."""
    if looked:
        facts.lookups.setdefault(info.name, None)
        facts.callers.update(depends)


def _checked_path(interp: Interpreter, info: ClassInfo) -> Optional[str]:
    """The checked file's path, for finding where other project files build its class `info` (None: an
    imported class, or no file)."""
    facts = interp.facts
    if not isinstance(facts, FileFacts) or interp.classes.get(info.name) is not info:
        return None
    root = facts.settings.project_root
    checked = interp.imports.checked if interp.imports is not None else None
    if checked is None and root and not os.path.isabs(facts.path) and os.path.isfile(os.path.join(root, facts.path)):
        # The language server names a file relative to its configuration's folder, which need not be the
        # server's working directory: the other files are found from that folder.
        checked = os.path.join(root, facts.path)
    return checked


def _config_class(interp: Interpreter, param: cst.Param) -> Optional[ClassInfo]:
    """The configuration class a constructor parameter holds, when it can be built from its defaults
    alone: named by the annotation, or the only dataclass or `*Config` class the file defines or imports."""
    annotation = param.annotation.annotation if param.annotation is not None else None
    # The file's classes and those it imports from project modules (`from config import Config`).
    known = {name: v for name, v in interp.globals.vars.items() if isinstance(v, ClassInfo)}
    if isinstance(annotation, cst.Name):
        found = known.get(annotation.value)
        named = interp.globals.vars.get(annotation.value)
        if found is None and isinstance(named, Ext) and interp.imports is not None and annotation.value.endswith(("Config", "Cfg")):
            found = interp.imports.resolve(interp, named, interp.globals, None)  # `cfg: Config` imported from a project file
        candidates = [found] if found is not None else []
    elif annotation is None and param.name.value in CONFIG_PARAM_NAMES:
        candidates = list({id(c): c for c in known.values() if _is_config(c)}.values())
    else:
        candidates = []
    if len(candidates) != 1 or not _is_config(candidates[0]) or not _buildable(candidates[0]):
        return None
    return candidates[0]


def _is_config(info: ClassInfo) -> bool:
    if info.framework is not None:
        return False
    for dec in info.node.decorators:
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        name = target.attr.value if isinstance(target, cst.Attribute) else getattr(target, "value", "")
        if name == "dataclass":
            return True
    return info.name.endswith(("Config", "Cfg"))


def _buildable(info: ClassInfo) -> bool:
    """Built with no arguments without a TypeError: every constructor parameter and dataclass field has a default."""
    init = info.lookup("__init__")
    if isinstance(init, Func) and isinstance(init.node, cst.FunctionDef):
        params = init.node.params
        return all(p.default is not None for p in [*list(params.params)[1:], *params.kwonly_params])
    for stmt in info.node.body.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.AnnAssign) and small.value is None:
                    return False  # a dataclass field without a default
    return True


def _run_function(interp: Interpreter, func: Func, model_classes: list[ClassInfo], label: str = "") -> None:
    """A function nobody called in the file (a training loop, a loss helper), or a method
    bound to an instance (its `self` is given)."""
    node = func.node
    single_model = model_classes[0] if len(model_classes) == 1 else None
    args: list[Value] = []
    params = list(node.params.posonly_params) + list(node.params.params)
    for param in params[1:] if func.bound_self is not None else params:
        model = _model_argument(interp, param, single_model)
        if model is not None:
            args.append(model)
        elif param.default is not None:
            args.append(interp.eval(param.default, interp.globals, CallContext()))
        else:
            args.append(UNKNOWN)
    name = label or node.name.value
    built_before = fresh_uid()
    result = interp.call_function(func, args, {}, node, CallContext(root_kind="script", root_name=name))
    if isinstance(result, Obj) and result.cls is None and result.kind.startswith("torch.nn.") and _is_model(result):
        # A torch builder nobody called (`def make_head(d): return nn.Sequential(...)`): the model it
        # returns, like one built at module level. A stack it cannot know (a loop over an
        # unknown list) leaves the Sequential incomplete, and nothing is claimed about it.
        facts = interp.facts
        if isinstance(facts, FileFacts):
            _run_script_model(facts, interp, name, result)
    elif isinstance(result, Obj) and result.uid > built_before and _reinitialised(interp, result) and isinstance(interp.facts, FileFacts):
        # A builder nobody called that re-initialises an instance of a model class it builds (`net = D();
        # net.apply(weights_init); return net`): that instance, as built, like one of the script's. Not
        # a module it was given (ControlNet's `zero_module(module)` zeroes a sub-module, not a model).
        _run_script_model(interp.facts, interp, name, result)
    elif isinstance(result, Obj):
        interp.built_models.append(result)  # a Keras builder's model (`return model`): _run_built_models


def _model_argument(interp: Interpreter, param: cst.Param, single_model: Optional[ClassInfo]) -> Optional[Obj]:
    """An instance of the file's model class a parameter holds: named by its annotation, or the
    file's only model class for a parameter named like one (`model`, `net`)."""
    annotation = param.annotation.annotation if param.annotation is not None else None
    cls = None
    if isinstance(annotation, cst.Name) and annotation.value in interp.classes:
        cls = interp.classes[annotation.value]
    elif param.name.value in MODEL_PARAM_NAMES and single_model is not None:
        cls = single_model
    if cls is not None and cls.framework is not None:
        return _instantiate_quietly(interp, cls)
    return None


def _names_a_model(param: cst.Param) -> bool:
    """A constructor parameter that holds a network: named like one (`model`, `nfq_net`, `q_network`,
    `generator`) or annotated as a framework module (`net: nn.Module`, `model: keras.Model`)."""
    name = param.name.value.lower()
    annotation = param.annotation.annotation if param.annotation is not None else None
    annotated = isinstance(annotation, (cst.Attribute, cst.Name)) and (
        annotation.attr.value if isinstance(annotation, cst.Attribute) else annotation.value) in ("Module", "Model")
    return annotated or name in MODEL_PARAM_NAMES or name.endswith(("net", "model", "network")) or name in MODEL_ROLE_NAMES


def _is_model(obj: Obj) -> bool:
    """A framework model or a weight layer, worth running on an input as a root of its own."""
    return bool(obj.children) or obj.kind in ("keras.Model", "keras.Functional") or obj.kind.startswith("torch.nn.") and last(obj.kind) in WEIGHT_LAYERS


__all__ = ["analyse", "build_facts"]


def build_facts(module: cst.Module, path: str, settings: Settings) -> FileFacts:
    facts = FileFacts(path=path, module=module, settings=settings)
    exists = os.path.exists(path)
    analyse(facts, module, package_of(path) if exists else None, path if exists else None)
    return facts
