"""`tf.layers` for TF1 graph code on a TensorFlow whose Keras is Keras 3.

TensorFlow 2.16+ ships Keras 3, and `tf.compat.v1.layers.dense` then raises "`dense` is not
available with Keras 3". TF1 scripts (`tf.layers.dense(x, 10, tf.nn.relu)`) would not build at
all. These stand-ins make the variables TF1's layers made, with TF1's defaults (a glorot-uniform
kernel through `get_variable`, zero bias, BN's gamma 1 and beta 0), so the graph measured is the
graph the script describes. Imported by keras_tf.py inside the worker only.
"""

from __future__ import annotations

import types
from typing import Any, Optional


def _pair(v: Any) -> list[int]:
    return [int(v), int(v)] if isinstance(v, int) else [int(x) for x in v]


class Layers(types.ModuleType):
    """`tf.layers` whose missing functions are TF1's own definitions, in graph ops."""

    def __init__(self, tf: Any) -> None:
        super().__init__("tensorflow.layers")
        self._tf = tf
        self._v1 = tf.compat.v1

    def __getattr__(self, item: str) -> Any:
        return getattr(self._v1.layers, item)

    def _kernel(self, shape: list[int], dtype: Any, init: Any, trainable: bool) -> Any:
        return self._v1.get_variable("kernel", shape, dtype=dtype, trainable=trainable,
                                     initializer=init or self._v1.glorot_uniform_initializer())

    def _finish(self, y: Any, units: int, use_bias: bool, init: Any, activation: Any, trainable: bool) -> Any:
        if use_bias:
            bias = self._v1.get_variable("bias", [units], dtype=y.dtype, trainable=trainable,
                                         initializer=init or self._v1.zeros_initializer())
            y = self._tf.nn.bias_add(y, bias)
        return activation(y) if activation is not None else y

    def dense(self, inputs: Any, units: int, activation: Any = None, use_bias: bool = True,
              kernel_initializer: Any = None, bias_initializer: Any = None, trainable: bool = True,
              name: Optional[str] = None, reuse: Any = None, **_regularizers: Any) -> Any:
        tf = self._tf
        x = tf.convert_to_tensor(inputs)
        with self._v1.variable_scope(name, default_name="dense", reuse=reuse):
            kernel = self._kernel([int(x.shape[-1]), int(units)], x.dtype, kernel_initializer, trainable)
            y = tf.matmul(x, kernel) if x.shape.rank == 2 else tf.tensordot(x, kernel, [[x.shape.rank - 1], [0]])
            return self._finish(y, int(units), use_bias, bias_initializer, activation, trainable)

    def conv2d(self, inputs: Any, filters: int, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
               activation: Any = None, use_bias: bool = True, kernel_initializer: Any = None,
               bias_initializer: Any = None, trainable: bool = True, name: Optional[str] = None,
               reuse: Any = None, **_rest: Any) -> Any:
        tf = self._tf
        x = tf.convert_to_tensor(inputs)
        with self._v1.variable_scope(name, default_name="conv2d", reuse=reuse):
            kernel = self._kernel(_pair(kernel_size) + [int(x.shape[-1]), int(filters)], x.dtype,
                                  kernel_initializer, trainable)
            y = tf.nn.conv2d(x, kernel, strides=[1] + _pair(strides) + [1], padding=padding.upper())
            return self._finish(y, int(filters), use_bias, bias_initializer, activation, trainable)

    def max_pooling2d(self, inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                      name: Optional[str] = None, **_rest: Any) -> Any:
        return self._tf.nn.max_pool2d(inputs, _pair(pool_size), _pair(strides), padding.upper(), name=name)

    def average_pooling2d(self, inputs: Any, pool_size: Any, strides: Any, padding: str = "valid",
                          name: Optional[str] = None, **_rest: Any) -> Any:
        return self._tf.nn.avg_pool2d(inputs, _pair(pool_size), _pair(strides), padding.upper(), name=name)

    def dropout(self, inputs: Any, rate: float = 0.5, noise_shape: Any = None, seed: Any = None,
                training: Any = False, name: Optional[str] = None) -> Any:
        tf = self._tf
        if training is False:
            return tf.identity(inputs)
        if training is True:
            return tf.nn.dropout(inputs, rate=rate, noise_shape=noise_shape, seed=seed)
        return self._v1.cond(training, lambda: tf.nn.dropout(inputs, rate=rate, noise_shape=noise_shape, seed=seed),
                             lambda: tf.identity(inputs))

    def batch_normalization(self, inputs: Any, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                            center: bool = True, scale: bool = True, training: Any = False,
                            trainable: bool = True, name: Optional[str] = None, reuse: Any = None,
                            **_rest: Any) -> Any:
        # Batch statistics when training, the (initial) moving ones otherwise; the moving averages
        # never update here: the confirmation measures one step from initialization.
        tf, v1 = self._tf, self._v1
        x = tf.convert_to_tensor(inputs)
        rank = x.shape.rank
        ax = axis % rank
        width = int(x.shape[ax])
        with v1.variable_scope(name, default_name="batch_normalization", reuse=reuse):
            gamma = v1.get_variable("gamma", [width], dtype=x.dtype, trainable=trainable and scale,
                                    initializer=v1.ones_initializer())
            beta = v1.get_variable("beta", [width], dtype=x.dtype, trainable=trainable and center,
                                   initializer=v1.zeros_initializer())
            mean0 = v1.get_variable("moving_mean", [width], dtype=x.dtype, trainable=False,
                                    initializer=v1.zeros_initializer())
            var0 = v1.get_variable("moving_variance", [width], dtype=x.dtype, trainable=False,
                                   initializer=v1.ones_initializer())
            shape = [1] * rank
            shape[ax] = width

            def batch() -> Any:
                m, v = tf.nn.moments(x, [i for i in range(rank) if i != ax], keepdims=True)
                return tf.nn.batch_normalization(x, m, v, tf.reshape(beta, shape), tf.reshape(gamma, shape), epsilon)

            def moving() -> Any:
                return tf.nn.batch_normalization(x, tf.reshape(mean0, shape), tf.reshape(var0, shape),
                                                 tf.reshape(beta, shape), tf.reshape(gamma, shape), epsilon)

            if training is True or training is False:
                return batch() if training else moving()
            return v1.cond(training, batch, moving)


class V1(types.ModuleType):
    """`tf.compat.v1` with `layers` replaced by `Layers`."""

    def __init__(self, tf: Any) -> None:
        super().__init__("tensorflow")
        self._v1 = tf.compat.v1
        self.layers = Layers(tf)

    def __getattr__(self, item: str) -> Any:
        return getattr(self._v1, item)
