"""Imports the model may not need: a missing module named by a top-level import of the user's file
becomes a stand-in that raises ModuleNotFoundError only when the code uses it. Runs in the worker.

A class keeps the file's imports that any of its methods reads (`pd.read_csv` in a data method),
so the model would not build for want of a module its construction and forward pass never touch.
An import inside `try:` (an optional dependency with a fallback) keeps failing as written: the
fallback decides what the model is.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Callable
from typing import Any

# Keras 2 submodules that Keras 3 dropped, and the module that exports their names now
# (`from keras.layers.core import Dense`, `from keras.initializers.initializers_v1 import RandomNormal`).
KERAS2_MODULES = {
    **{f"keras.layers.{m}": "keras.layers" for m in (
        "core", "convolutional", "recurrent", "normalization", "pooling", "embeddings", "advanced_activations",
        "merge", "wrappers", "noise", "local")},
    "keras.initializers.initializers_v1": "keras.initializers",
    "keras.initializers.initializers_v2": "keras.initializers",
    "keras.optimizers.legacy": "keras.optimizers",
}


# TensorFlow's own copy of Keras 2 (`from tensorflow.python.keras.layers import Dense`), read as Keras 3.
LEGACY_KERAS = "tensorflow.python.keras"


class Missing(types.ModuleType):
    """A module that is not installed: any use says which one."""

    def __init__(self, name: str, error: str) -> None:
        super().__init__(name)
        self._error = error

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ModuleNotFoundError(self._error)

    def __getattr__(self, item: str) -> Any:
        if item.startswith("__") and item.endswith("__"):
            raise AttributeError(item)
        raise ModuleNotFoundError(self._error)

    __call__ = _fail
    __iter__ = _fail
    __getitem__ = _fail
    __mro_entries__ = _fail


def top_level_import_lines(source: str) -> set[int]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.lineno for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))}


def optional_imports(path: str, source: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """An `__import__` over `real` under which a top-level import of `path` that finds no module
    gives a Missing stand-in."""
    lines = top_level_import_lines(source)

    def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:  # noqa: A002 - __import__'s own signature
        if name.startswith(LEGACY_KERAS) and fromlist and sys._getframe(1).f_code.co_filename == path:
            name = "keras" + name[len(LEGACY_KERAS):]  # TF's private Keras 2 copy: its models are no Keras 3 models
        try:
            return real(name, globals, locals, fromlist, level)
        except ModuleNotFoundError as exc:
            caller = sys._getframe(1)
            if caller.f_code.co_filename != path or caller.f_lineno not in lines or level:
                raise
            if name in KERAS2_MODULES and fromlist:
                return real(KERAS2_MODULES[name], globals, locals, fromlist, level)
            missing = Missing(name if fromlist else name.split(".")[0], str(exc))
            for item in fromlist or ():  # `from x import y` binds y now; using it raises
                setattr(missing, item, Missing(f"{name}.{item}", str(exc)))
            return missing

    return _import
