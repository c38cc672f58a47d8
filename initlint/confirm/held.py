"""The model a built object stands for (runs in the worker).

A script or class often builds its model one step removed: an RL agent holds its network
(`self.model = Sequential()`), a plain class's method returns it (`def build_model(self)`), a
configuration lists Keras layers (`{"model": [Dense(32), Dense(1)]}`).
"""

from __future__ import annotations

from typing import Any, Optional

import torch


def held_model(obj: Any, keras_mod: Any, path: str, lines: set[int]) -> Any:
    """`obj`, or the one model a plain object holds (`agent.model`, `self.net = Sequential()`):
    an RL agent or a wrapper class builds its network in its constructor; or the model its method
    holding the flagged lines returns when called with no arguments (`def build_model(self)`)."""
    kinds: tuple[type, ...] = (torch.nn.Module,) + ((keras_mod.Model,) if keras_mod is not None else ())
    layers = layer_list(obj, keras_mod) if keras_mod is not None else None
    if layers is not None:
        return keras_mod.Sequential(layers)
    if isinstance(obj, kinds) or not hasattr(obj, "__dict__"):
        return obj
    held = {k: v for k, v in vars(obj).items() if isinstance(v, kinds)}
    if len(held) == 1:
        return next(iter(held.values()))
    named = [held[k] for k in ("model", "net", "network") if k in held]
    if len(named) == 1:
        return named[0]
    if not held:
        for name, member in vars(type(obj)).items():
            func = getattr(member, "__func__", member)  # a staticmethod's or classmethod's function
            code = getattr(func, "__code__", None)
            bound = 0 if isinstance(member, staticmethod) else 1  # self or cls
            if code is None or code.co_filename != path or code.co_argcount - len(func.__defaults__ or ()) > bound:
                continue
            span = range(code.co_firstlineno, max((ln for _, _, ln in code.co_lines() if ln), default=0) + 1)
            if lines & set(span):
                built = getattr(obj, name)()
                if isinstance(built, kinds):
                    return built
    return obj


def layer_list(obj: Any, keras_mod: Any) -> Optional[list[Any]]:
    """The Keras layers a configuration lists for a model that runs them in order (`[Dense(32),
    Dropout(0.2), Dense(1)]`, or the one such list of a dict `{"model": [...], "loss": ...}`)."""
    if isinstance(obj, dict):
        lists = [v for v in obj.values() if layer_list(v, keras_mod) is not None]
        return list(lists[0]) if len(lists) == 1 else None
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(v, keras_mod.layers.Layer) for v in obj):
        return list(obj)
    return None
