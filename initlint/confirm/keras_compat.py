"""Older Keras code on Keras 3, in the confirmation worker: the arguments Keras 1 and 2 scripts
write that Keras 3 refuses, accepted where the meaning is the same (or does not matter to a
measurement), so that the model builds instead of staying unverified over its spelling."""

from __future__ import annotations

from typing import Any


def accept_old_keras_arguments(keras: Any) -> None:
    """Install the shims once per process."""
    _accept_keras2_optimizer_arguments(keras)
    _accept_keras1_model_arguments(keras)
    _accept_keras0_dense_arguments(keras)
    _accept_keras2_pooling_defaults(keras)
    _accept_keras2_sequential_rebuild(keras)


def _accept_keras2_optimizer_arguments(keras: Any) -> None:
    """Keras 2 scripts write `Adam(lr=0.01, decay=1e-6)`, which Keras 3 refuses. The measurements
    never step the script's optimizer, so `lr` becomes `learning_rate` and `decay` is dropped,
    rather than the model staying unbuilt over its `compile` line."""
    base = keras.optimizers.Optimizer
    if getattr(base.__init__, "_initlint_keras2", False):
        return
    original = base.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if "lr" in kwargs:
            kwargs["learning_rate"] = kwargs.pop("lr")
        kwargs.pop("decay", None)
        original(self, *args, **kwargs)

    init._initlint_keras2 = True  # type: ignore[attr-defined]
    base.__init__ = init


def _renamed(kwargs: dict[str, Any]) -> dict[str, Any]:
    for old, new in (("input", "inputs"), ("output", "outputs")):
        if old in kwargs and new not in kwargs:
            kwargs[new] = kwargs.pop(old)
    return kwargs


def _accept_keras1_model_arguments(keras: Any) -> None:
    """Keras 1's `Model(input=x, output=y)` is Keras 2 and 3's `Model(inputs=x, outputs=y)`.
    `Model.__new__` picks the functional class from the keywords, and that class's `__init__`
    receives them again, so both see the new names."""
    from keras.src.models.functional import Functional  # type: ignore[import-untyped]

    if getattr(Functional.__init__, "_initlint_keras1", False):
        return
    new, init = keras.Model.__new__, Functional.__init__

    def model_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
        return new(cls, *args, **_renamed(kwargs))

    def functional_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **_renamed(kwargs))

    functional_init._initlint_keras1 = True  # type: ignore[attr-defined]
    keras.Model.__new__ = model_new
    Functional.__init__ = functional_init


def _accept_keras0_dense_arguments(keras: Any) -> None:
    """Keras 0.x wrote `Dense(input_dim, output_dim)` (Keras 2 and 3 read the second number as an
    activation) and Keras 1 `Dense(output_dim=..., init=...)`: both become `Dense(units, ...)` with
    the input width as `input_shape`, and `init` as the kernel initializer."""
    dense = keras.layers.Dense
    if getattr(dense.__init__, "_initlint_keras0", False):
        return
    original = dense.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) >= 2 and all(isinstance(a, int) and not isinstance(a, bool) for a in args[:2]):
            kwargs.setdefault("input_shape", (args[0],))
            args = (args[1],) + tuple(args[2:])
        if "output_dim" in kwargs and not args and "units" not in kwargs:
            kwargs["units"] = kwargs.pop("output_dim")
        if "init" in kwargs and "kernel_initializer" not in kwargs:
            kwargs["kernel_initializer"] = kwargs.pop("init")
        original(self, *args, **kwargs)

    init._initlint_keras0 = True  # type: ignore[attr-defined]
    dense.__init__ = init


def _accept_keras2_pooling_defaults(keras: Any) -> None:
    """Keras 2's pooling layers default to a window of 2 (`AveragePooling2D()` in LeNet code); Keras
    3's require `pool_size`. A pooling layer built without one gets Keras 2's default."""
    for dims in (1, 2, 3):
        for kind in ("Average", "Max"):
            layer = getattr(keras.layers, f"{kind}Pooling{dims}D", None)
            if layer is None or getattr(layer.__init__, "_initlint_keras2", False):
                continue
            original = layer.__init__

            def init(self: Any, *args: Any, _original: Any = original, _dims: int = dims, **kwargs: Any) -> None:
                if not args and "pool_size" not in kwargs:
                    kwargs["pool_size"] = 2 if _dims == 1 else (2,) * _dims
                _original(self, *args, **kwargs)

            init._initlint_keras2 = True  # type: ignore[attr-defined]
            layer.__init__ = init


def _accept_keras2_sequential_rebuild(keras: Any) -> None:
    """Keras 2 let a Sequential whose first layer names its `input_shape` be built again with a batch
    size (`net.build(input_shape=(1, 28, 28, 1))`); Keras 3 refuses ("has already been configured to
    use input shape"). The model is built already: the second build is dropped."""
    sequential = keras.Sequential
    if getattr(sequential.build, "_initlint_keras2", False):
        return
    original = sequential.build

    def build(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            original(self, *args, **kwargs)
        except ValueError as exc:
            if "already been configured" not in str(exc):
                raise

    build._initlint_keras2 = True  # type: ignore[attr-defined]
    sequential.build = build
