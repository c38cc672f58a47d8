"""The framework vocabulary, one table per family, keyed by a name's last part.

Pure data (imports nothing), so the file pre-filter (discover.py) and the
confirmation stage read the same names the interpreter gives meaning to.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

ZERO_PRESERVING_ACTS = {"relu", "relu6", "gelu", "silu", "tanh", "elu", "selu", "leaky_relu", "mish", "hardswish", "hardtanh", "softsign", "celu", "prelu", "rrelu", "glu"}
# Derivative exactly 0 at 0 in PyTorch: a zero pre-activation kills the gradient (IL102).
DEAD_AT_ZERO_ACTS = {"relu", "relu6", "rrelu"}
SQUASH_ACTS = {"sigmoid", "hardsigmoid", "softmax", "log_softmax"}
ACT_NAMES = {
    "relu": "relu", "relu_": "relu", "relu6": "relu6", "ReLU": "relu", "ReLU6": "relu6",
    "gelu": "gelu", "GELU": "gelu", "silu": "silu", "SiLU": "silu", "swish": "silu",
    "tanh": "tanh", "Tanh": "tanh", "tanh_": "tanh",
    "sigmoid": "sigmoid", "Sigmoid": "sigmoid", "sigmoid_": "sigmoid",
    "hardsigmoid": "hardsigmoid", "Hardsigmoid": "hardsigmoid", "hard_sigmoid": "hardsigmoid",
    "softmax": "softmax", "Softmax": "softmax", "log_softmax": "log_softmax", "LogSoftmax": "log_softmax",
    "elu": "elu", "ELU": "elu", "selu": "selu", "SELU": "selu", "celu": "celu", "CELU": "celu",
    "leaky_relu": "leaky_relu", "LeakyReLU": "leaky_relu", "mish": "mish", "Mish": "mish",
    "hardswish": "hardswish", "Hardswish": "hardswish", "hardtanh": "hardtanh", "Hardtanh": "hardtanh",
    "softplus": "softplus", "Softplus": "softplus", "softsign": "softsign", "Softsign": "softsign",
    "PReLU": "prelu", "prelu": "prelu", "RReLU": "rrelu", "GLU": "glu", "glu": "glu",
    "exponential": "exp", "linear": "identity",
}
NORM_LAYERS = {
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm", "BatchNormalization",
    "LayerNormalization", "GroupNormalization", "UnitNormalization", "LazyBatchNorm1d", "LazyBatchNorm2d",
}
class Affine(NamedTuple):
    """A torch layer `y = x W + b` whose weight is `(out, *inputs)`: its arguments, in order
    (`inputs`, then `output`, then `bias`), and how PyTorch fills it by default. Both
    weight and bias start uniform in ±1/sqrt(inputs[0]) (std 1/sqrt(3 * inputs[0]))."""

    inputs: tuple[str, ...]
    output: str
    default: str


# Adding such a layer is one entry here: it is a weight layer (WEIGHT_LAYERS) by being here.
TORCH_AFFINE = {
    "Linear": Affine(("in_features",), "out_features", "kaiming_uniform"),
    "Bilinear": Affine(("in1_features", "in2_features"), "out_features", "uniform ±1/sqrt(in1_features)"),
}
# Layers that mix their input through a weight (the affine torch layers above are among them).
WEIGHT_LAYERS = set(TORCH_AFFINE) | {
    "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
    "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv1DTranspose", "Conv3DTranspose",
    "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D", "EinsumDense",
}
# `nn.LazyConv2d(out_channels, kernel_size, ...)`: a convolution whose in_channels (and so its
# fan-in) is set by the first input.
LAZY_CONVS = {"LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"}
PASS_LAYERS = {
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Identity", "Flatten", "Unflatten",
    "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "Reshape", "Permute",
    "InputLayer", "ActivityRegularization", "Masking",
}
POOL_LAYERS = {
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxPooling1D",
    "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPooling3D", "Upsample", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "PixelShuffle", "ZeroPad2d", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "ReflectionPad2d",
    "ReplicationPad2d", "ConstantPad2d",
}
# Keras' other spellings of a layer, by the name it is built as (one entry each):
# an alias the analysis did not know would cut a chain of layers in two.
KERAS_ALIASES = {
    "Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Convolution3D": "Conv3D",
    "Convolution2DTranspose": "Conv2DTranspose", "Convolution3DTranspose": "Conv3DTranspose",
    "SeparableConvolution1D": "SeparableConv1D", "SeparableConvolution2D": "SeparableConv2D",
    "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D", "MaxPool3D": "MaxPooling3D",
    "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D", "AvgPool3D": "AveragePooling3D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalMaxPool2D": "GlobalMaxPooling2D", "GlobalMaxPool3D": "GlobalMaxPooling3D",
    "GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalAvgPool3D": "GlobalAveragePooling3D",
}
# Wrappers that return the model they are given, with the same parameters: calling the
# wrapper runs the model (`nn.DataParallel(model)`, `torch.compile(model)`).
TORCH_MODEL_WRAPPERS = {
    "torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.DistributedDataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel", "torch.distributed.fsdp.FullyShardedDataParallel",
    "torch.compile", "torch.jit.script",
}
# Launcher objects whose method returns the models (and optimizers) it was given, in order:
# Lightning's `fabric.setup(model, opt)`, Accelerate's `accelerator.prepare(model, opt, loader)`.
LAUNCHER_SETUP = {"Fabric": ("setup", "setup_module"), "LightningLite": ("setup",), "Accelerator": ("prepare", "prepare_model")}
CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}
EMBEDDINGS = {"Embedding", "EmbeddingBag"}
RNN_LAYERS = {"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "SimpleRNN"}
# Canonical loss kinds. "_probs" losses expect probabilities, the others logits or raw values.
TORCH_LOSSES = {
    "MSELoss": "mse", "mse_loss": "mse", "L1Loss": "l1", "l1_loss": "l1", "SmoothL1Loss": "l1",
    "smooth_l1_loss": "l1", "HuberLoss": "l1", "huber_loss": "l1",
    "BCELoss": "bce", "binary_cross_entropy": "bce",
    "BCEWithLogitsLoss": "bce_logits", "binary_cross_entropy_with_logits": "bce_logits",
    "CrossEntropyLoss": "ce", "cross_entropy": "ce", "NLLLoss": "nll", "nll_loss": "nll",
    "KLDivLoss": "kl", "kl_div": "kl", "TripletMarginLoss": "triplet", "triplet_margin_loss": "triplet",
}
KERAS_LOSSES = {
    "mse": "mse", "mean_squared_error": "mse", "MeanSquaredError": "mse", "MSE": "mse",
    "mae": "l1", "mean_absolute_error": "l1", "MeanAbsoluteError": "l1", "huber": "l1", "Huber": "l1",
    "binary_crossentropy": "keras_bce", "BinaryCrossentropy": "keras_bce", "binary_focal_crossentropy": "keras_bce",
    "categorical_crossentropy": "keras_cce", "CategoricalCrossentropy": "keras_cce",
    "sparse_categorical_crossentropy": "keras_cce", "SparseCategoricalCrossentropy": "keras_cce",
}
TF_LOSSES = {
    "sigmoid_cross_entropy_with_logits": "bce_logits", "sigmoid_cross_entropy": "bce_logits",
    "softmax_cross_entropy_with_logits": "ce", "softmax_cross_entropy_with_logits_v2": "ce",
    "sparse_softmax_cross_entropy_with_logits": "ce", "softmax_cross_entropy": "ce",
    "sparse_softmax_cross_entropy": "ce", "mean_squared_error": "mse", "log_loss": "bce",
}
# Loss functions (not classes) by name: one handed around under its imported name (`loss_fn = bce`).
LOSS_FUNCTIONS = frozenset(n for t in (TORCH_LOSSES, KERAS_LOSSES, TF_LOSSES) for n in t if n[:1].islower())
INIT_FUNCTIONS = {
    "zeros_", "ones_", "constant_", "normal_", "uniform_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "trunc_normal_", "orthogonal_", "eye_", "dirac_", "sparse_", "lecun_normal_", "variance_scaling_",
    "trunc_normal_tf_",
}
WELL_SCALED_INITS = {"xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "lecun_normal_", "variance_scaling_", "sparse_", "dirac_", "eye_"}
KERAS_INITIALIZERS = {
    "zeros": ("zero", None), "Zeros": ("zero", None), "zeros_initializer": ("zero", None),
    "ones": ("const", 1.0), "Ones": ("const", 1.0), "ones_initializer": ("const", 1.0),
    "glorot_uniform": ("random", "xavier"), "GlorotUniform": ("random", "xavier"), "glorot_normal": ("random", "xavier"),
    "GlorotNormal": ("random", "xavier"), "he_normal": ("random", "kaiming"), "HeNormal": ("random", "kaiming"),
    "he_uniform": ("random", "kaiming"), "HeUniform": ("random", "kaiming"), "lecun_normal": ("random", "lecun"),
    "LecunNormal": ("random", "lecun"), "lecun_uniform": ("random", "lecun"), "LecunUniform": ("random", "lecun"),
    "orthogonal": ("random", "orthogonal"), "Orthogonal": ("random", "orthogonal"), "orthogonal_initializer": ("random", "orthogonal"),
    "glorot_uniform_initializer": ("random", "xavier"), "glorot_normal_initializer": ("random", "xavier"),
    "variance_scaling_initializer": ("random", "variance_scaling"), "VarianceScaling": ("random", "variance_scaling"),
    "uniform": ("random", "uniform_small"),
}


# Frameworks with a `Module` or `Layer` base class of their own: such a base is not torch's or
# Keras', and a class deriving from it is left alone until the framework is registered.
OTHER_FRAMEWORKS = frozenset({"flax", "jax", "haiku", "hk", "equinox", "eqx", "mlx", "paddle", "mindspore", "oneflow", "sonnet", "snt", "trax"})


def last(qual: str) -> str:
    return qual.rsplit(".", 1)[-1]


def framework_of(qual: str) -> str:
    return qual.split(".", 1)[0]


BASE_GROUPS = {
    "_ConvNd": {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"},
    "_BatchNorm": {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"},
    "_NormBase": {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"},
    "_InstanceNorm": {"InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"},
    "RNNBase": {"RNN", "LSTM", "GRU"},
    "Module": None,  # everything
    "Layer": None,
}
# The families a rule reads: the file pre-filter (discover.MODEL_CODE) keeps every file
# that names one of these, so a new table entry is never skipped before parsing.
PREFILTER_FAMILIES: tuple[Collection[str], ...] = (
    ACT_NAMES, NORM_LAYERS, WEIGHT_LAYERS, KERAS_ALIASES, EMBEDDINGS, RNN_LAYERS, CONTAINERS, TORCH_LOSSES, KERAS_LOSSES,
    TF_LOSSES, INIT_FUNCTIONS, KERAS_INITIALIZERS,
)
PREFILTER_NAMES = frozenset(name for family in PREFILTER_FAMILIES for name in family)


# torchvision datasets: the `split=` values of evaluation data, and the datasets whose second
# positional argument is `train` (the MNIST and CIFAR families) or `split` (SVHN's).
HELD_OUT_SPLITS = ("test", "val", "valid", "validation", "eval")
DATASETS_TRAIN_SECOND = ("MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100", "USPS")
DATASETS_SPLIT_SECOND = ("SVHN", "STL10", "EMNIST", "CelebA", "Flowers102", "Food101", "DTD", "GTSRB")
