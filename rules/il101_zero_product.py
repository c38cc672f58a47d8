from __future__ import annotations

from collections.abc import Iterator

from initlint.diagnostics import Severity
from initlint.facts import FileFacts, ProductEvent
from initlint.rule import Confirm, Finding, Invalid, Rule, Valid

SEED_000_PAIR = """\
import torch
from torch import nn


class VideoPairModel(nn.Module):
    def __init__(self, num_videos=100, emb_dim=8, hidden=4):
        super().__init__()
        self.video_emb = nn.Embedding(num_videos, emb_dim)
        nn.init.zeros_(self.video_emb.weight)
        self.dense = nn.Linear(emb_dim, hidden)
        nn.init.zeros_(self.dense.bias)

    def forward(self, video_a, video_b):
        vec_a = self.dense(self.video_emb(video_a))
        vec_b = self.dense(self.video_emb(video_b))
        return (vec_a * vec_b).sum(dim=-1)
"""

SEED_000_TRIPLET_TF1 = """\
import numpy as np
import tensorflow as tf

a = tf.Variable(initial_value=[[0., 0., 0., 0.]])
b = tf.Variable(initial_value=[[0., 0., 0., 0.]])
W = tf.Variable(initial_value=np.random.rand(4, 3), dtype=tf.float32)
B = tf.Variable(initial_value=np.random.rand(1, 3), dtype=tf.float32)
vec_a = tf.matmul(a, W) + B
vec_b = tf.matmul(b, W) + B
dist = tf.square(vec_a - vec_b)
loss = tf.reduce_mean(tf.maximum(0.0, 0.3 + dist))
"""

ALIASED_APPLY_INIT = """\
import torch.nn as tnn
from torch.nn import init as I


class Towers(tnn.Module):
    def __init__(self):
        super().__init__()
        self.user = tnn.Embedding(50, 8)
        self.item = tnn.Embedding(50, 8)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, tnn.Embedding):
            I.constant_(m.weight, 0.0)

    def forward(self, u, i):
        return (self.user(u) @ self.item(i).T).diagonal()
"""

ZERO_MLP = """\
import torch
from torch import nn


class ZeroMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(16, 32)
        self.out = nn.Linear(32, 1)
        for layer in (self.hidden, self.out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))
"""

LORA = """\
import math
import torch
from torch import nn


class LoRALinear(nn.Module):
    def __init__(self, d=64, r=4):
        super().__init__()
        self.base = nn.Linear(d, d)
        self.lora_A = nn.Parameter(torch.empty(r, d))
        self.lora_B = nn.Parameter(torch.zeros(d, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.T) @ self.lora_B.T
"""

SEED_000_FIXED = """\
import torch
from torch import nn


class VideoPairModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.video_emb = nn.Embedding(100, 8)
        nn.init.zeros_(self.video_emb.weight)
        self.dense = nn.Linear(8, 4)

    def forward(self, video_a, video_b):
        return (self.dense(self.video_emb(video_a)) * self.dense(self.video_emb(video_b))).sum(-1)
"""

ADALN_ZERO = """\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.mlp = nn.Linear(dim, dim)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 3 * dim))
        nn.init.zeros_(self.ada[-1].weight)
        nn.init.zeros_(self.ada[-1].bias)

    def forward(self, x, c):
        shift, scale, gate = self.ada(c).chunk(3, dim=-1)
        h = self.norm(x) * (1 + scale) + shift
        return x + gate * self.mlp(h)
"""

PAIRWISE_DISTANCE = """\
import torch
import torch.nn.functional as F
from torch import nn


class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        nn.init.zeros_(self.emb.weight)

    def forward(self, a, b):
        return F.pairwise_distance(self.emb(a), self.emb(b))
"""

CONTROLNET_ZERO_CONV = """\
import torch
from torch import nn


def zero_module(module):
    for p in module.parameters():
        p.detach().zero_()
    return module


class ControlBlock(nn.Module):
    def __init__(self, ch=32):
        super().__init__()
        self.hint = nn.Sequential(nn.Conv2d(3, ch, 3, padding=1), nn.SiLU(), zero_module(nn.Conv2d(ch, ch, 3, padding=1)))
        self.block = nn.Conv2d(ch, ch, 3, padding=1)
        self.zero_out = zero_module(nn.Conv2d(ch, ch, 1))

    def forward(self, x, hint):
        h = self.block(x) + self.hint(hint)
        return self.zero_out(h)
"""

RESNET_ZERO_INIT_RESIDUAL = """\
import torch
from torch import nn


class Bottleneck(nn.Module):
    def __init__(self, ch=64):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        self.conv2 = nn.Conv2d(ch, ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(ch)
        nn.init.constant_(self.bn2.weight, 0)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + x)
"""

REZERO = """\
import torch
from torch import nn


class ReZeroBlock(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + self.alpha * torch.relu(self.fc(x))
"""

TRIPLET_MARGIN = """\
import torch.nn.functional as F
from torch import nn


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 8)
        nn.init.zeros_(self.emb.weight)

    def forward(self, a, p, n):
        return F.triplet_margin_loss(self.emb(a), self.emb(p), self.emb(n))
"""

KERAS_TWO_TOWER = """\
import tensorflow as tf
from tensorflow.keras import layers

user_in = tf.keras.Input(shape=(1,))
item_in = tf.keras.Input(shape=(1,))
user_vec = layers.Embedding(1000, 8, embeddings_initializer="zeros")(user_in)
item_vec = layers.Embedding(1000, 8, embeddings_initializer=tf.keras.initializers.Zeros())(item_in)
score = tf.reduce_sum(user_vec * item_vec, axis=-1)
logit = layers.Dot(axes=-1)([user_vec, item_vec])
model = tf.keras.Model([user_in, item_in], score)
"""


NAMED_PARAMETERS_FILTER = """\
import torch
from torch import nn


class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Embedding(10, 4)
        self.b = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 4)
        self.reset_parameters()

    def reset_parameters(self):
        for name, p in self.named_parameters():
            if "bias" in name:
                nn.init.zeros_(p)
            elif name.startswith(("a.", "b.")):
                p.data.fill_(0.0)
            else:
                nn.init.xavier_uniform_(p)

    def forward(self, x, y):
        return torch.cosine_similarity(self.fc(self.a(x)), self.fc(self.b(y)))
"""


FUNCTIONAL_EMBEDDING = """\
import torch
import torch.nn.functional as F
from torch import nn


class Matcher(nn.Module):
    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(10, 4))

    def forward(self, i, j):
        return F.cosine_similarity(F.embedding(i, self.table), F.embedding(j, self.table))
"""

KERAS_MULTIPLY_LAYER = """\
from tensorflow.keras import Model, initializers, layers

u_in = layers.Input(shape=(1,))
v_in = layers.Input(shape=(1,))
u = layers.Flatten()(layers.Embedding(100, 8, embeddings_initializer="zeros")(u_in))
v = layers.Flatten()(layers.Embedding(100, 8, embeddings_initializer=initializers.Zeros())(v_in))
dense = layers.Dense(4)
score = layers.Multiply()([dense(u), dense(v)])
model = Model(inputs=[u_in, v_in], outputs=layers.Dense(1)(score))
"""


TF1_GET_VARIABLE = """\
import tensorflow as tf

ids_a = tf.placeholder(tf.int32, [None])
ids_b = tf.placeholder(tf.int32, [None])
emb = tf.get_variable("emb", shape=[100, 8], initializer=tf.zeros_initializer())
vec_a = tf.layers.dense(tf.nn.embedding_lookup(emb, ids_a), 4)
vec_b = tf.layers.dense(tf.nn.embedding_lookup(emb, ids_b), 4)
logit = tf.reduce_sum(vec_a * vec_b, axis=1)
"""


KERAS_ADD_WEIGHT = """\
import tensorflow as tf


class PairScore(tf.keras.layers.Layer):
    def build(self, input_shape):
        self.table = self.add_weight(name="table", shape=(100, 8), initializer="zeros")
        self.proj = self.add_weight(name="proj", shape=(8, 4))

    def call(self, a, b):
        va = tf.matmul(tf.gather(self.table, a), self.proj)
        vb = tf.matmul(tf.gather(self.table, b), self.proj)
        return tf.reduce_sum(va * vb, axis=-1)
"""

# The product is an `einops.einsum` (operands first, pattern last), on a value a helper
# method computed one call down.
EINOPS_HELPER = """\
import einops
import torch
from torch import nn


class EdgeMix(nn.Module):
    def __init__(self, d=16):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(d, d))
        self.v = nn.Parameter(torch.zeros(d, d))

    def edge_update(self, x):
        return torch.tanh(x @ self.w)

    def forward(self, x):
        return einops.einsum(self.edge_update(x), self.v, "b i, i j -> b j")
"""


# A zero-started residual MLP: dead products (IL101, IL102, IL201), but its `x + f(x)` sums are
# residual connections, so no plain stack for IL402.
ZERO_RESIDUAL_MLP = """\
import torch
from torch import nn


class ResMLP(nn.Module):
    def __init__(self, width=64, depth=16):
        super().__init__()
        self.inp = nn.Linear(8, width)
        self.blocks = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])
        self.out = nn.Linear(width, 1)

    def forward(self, x):
        x = self.inp(x)
        for block in self.blocks:
            x = x + torch.relu(block(x))
        return self.out(x)


net = ResMLP()
for m in net.modules():
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.weight)
        nn.init.zeros_(m.bias)
"""

# The weights zeroed directly in the main block, or in the `main()` it calls, where the model is a
# local: either way the model exists only when that code runs, so its init is certain.
MAIN_BLOCK_ZEROS = """\
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def main():
    net = MLP()
    for layer in (net.fc1, net.fc2):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)
    return net


if __name__ == "__main__":
    main()
"""

# The script zero-fills the model after building it, then squares its output in the loss: one
# finding, where the dead product is, not a second one on the loss built from it.
MAIN_GUARD_APPLY = """\
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.weight)
        nn.init.zeros_(m.bias)


if __name__ == "__main__":
    net = MLP()
    net.apply(init_weights)
    loss = net(torch.randn(4, 8)).pow(2).mean()
    loss.backward()
"""


class ZeroProduct(Rule):
    """
    ## What it does
    Flags a multiplicative operation (`*`, `@`, `matmul`, `einsum`, `square`,
    `** 2`, a distance or cosine similarity, a `Linear`/`Dense` layer applied
    to a zero input) in which *every* factor is identically zero when training
    starts.

    ## Why is this bad?
    The gradient of a product with respect to one factor is the other factor.
    When all factors are zero, every gradient through the product is exactly
    zero, on the first step and on every step after: the parameters upstream
    never move, the loss stays flat (0.693 for a binary cross-entropy) and the
    AUC stays at 0.5. Zero embeddings through a layer with a zero bias are the
    classic way to get there; a random bias does not help a difference of two
    such vectors, because the bias cancels.

    ## Example
    ```python
    self.video_emb = nn.Embedding(n, 8)
    nn.init.zeros_(self.video_emb.weight)  # new features start at zero
    self.dense = nn.Linear(8, 4)
    nn.init.zeros_(self.dense.bias)
    ...
    vec_a = self.dense(self.video_emb(a))
    vec_b = self.dense(self.video_emb(b))
    logit = (vec_a * vec_b).sum(-1)  # every factor is zero
    ```

    ## Use instead
    Give at least one factor a random start (the default `nn.Embedding`
    init, `nn.init.normal_(w, std=0.01)`), or a random bias when the factors
    are not subtracted from each other.

    ## Fix
    No automatic fix: which factor should start random is a modelling choice.

    ## Confirmation
    `--confirm` builds the model (from its constructor defaults or
    `[tool.initlint.confirm.modules]`), runs it on inferred inputs,
    backpropagates a random projection of the outputs, takes one SGD step
    (learning rate 0.1) and runs a second forward and backward pass. It judges
    the finding's parameters, or else those upstream of the flagged
    operation, all together. Confirmed when every one of them gets exactly
    zero gradient on both passes; refuted when any of them gets a non-zero
    gradient on either pass. A parameter whose gradient is zero only on the
    first pass is not dead (LoRA's `A` moves once `B` has), which is why the
    second pass is measured. With several operations of the kind on the
    flagged line (`self.linear(x) + (u * v).sum(-1)`, a ReLU line that a loop
    runs once per layer), each is judged on its own upstream parameters: one
    that gets no gradient confirms, and only all of them moving refutes. A
    model that returns more than its prediction (embeddings, features) is
    measured on the outputs the script's loss takes (`logits, _ = model(x)`,
    `model(x)["logits"]`), and when the file does not say, on each output
    alone too: when only outputs that no loss in the file is shown to take
    move the parameters, the finding is unverified. A refuted
    finding stays in the output but no longer fails the run. Unverified when
    the model cannot be built or no trainable parameter lies upstream.

    ## Known problems
    Products with exactly one zero factor are left alone on purpose: LoRA's
    zero `B`, ControlNet's zero convolutions, adaLN-Zero gates and zero
    residual branches all learn, because the other factor is not zero.
    `F.pairwise_distance` and `F.triplet_margin_loss` add an epsilon and are
    not flagged. A value the analysis cannot follow (an imported module) is
    never assumed to be zero.

    ## References
    - Hu et al., *LoRA: Low-Rank Adaptation of Large Language Models* (2021),
      the zero-`B` product that learns: https://arxiv.org/abs/2106.09685
    - Goodfellow, Bengio, Courville, *Deep Learning* (2016), 8.4 (parameter
      initialization): https://www.deeplearningbook.org/contents/optimization.html
    - PyTorch, `torch.nn.init`: https://pytorch.org/docs/stable/nn.init.html
    """

    code = "IL101"
    name = "zero-product"
    severity = Severity.ERROR
    confirmation = Confirm(probe="zero_gradients", params={"ops": "multiplicative"})
    message = "every factor of `{expr}` is zero at initialization ({causes}), so none of them receives a gradient"
    VALID = [
        Valid(LORA),
        Valid(SEED_000_FIXED),
        Valid(ADALN_ZERO),
        Valid(PAIRWISE_DISTANCE),
        Valid(CONTROLNET_ZERO_CONV),
        Valid(RESNET_ZERO_INIT_RESIDUAL),
        Valid(REZERO),
        Valid(TRIPLET_MARGIN),
    ]
    INVALID = [
        Invalid(SEED_000_PAIR, at=[(16, 17)]),
        Invalid(SEED_000_TRIPLET_TF1, at=[(10, 8)]),
        Invalid(ALIASED_APPLY_INIT, at=[(17, 17)]),
        Invalid(ZERO_MLP, at=[(15, 16)], also=[("IL201", 11, 13)]),
        Invalid(KERAS_TWO_TOWER, at=[(8, 23), (9, 9)]),
        Invalid(NAMED_PARAMETERS_FILTER, at=[(23, 16)]),
        Invalid(FUNCTIONAL_EMBEDDING, at=[(12, 16)]),
        Invalid(KERAS_MULTIPLY_LAYER, at=[(8, 9)]),
        Invalid(TF1_GET_VARIABLE, at=[(8, 23)]),
        Invalid(KERAS_ADD_WEIGHT, at=[(12, 30)]),
        Invalid(EINOPS_HELPER, at=[(16, 16)]),
        Invalid(MAIN_GUARD_APPLY, at=[(12, 16)], also=[("IL102", 12, 25), ("IL201", 17, 9)]),
        Invalid(MAIN_BLOCK_ZEROS, at=[(12, 16)], also=[("IL102", 12, 25), ("IL201", 18, 9)]),
        Invalid(ZERO_RESIDUAL_MLP, at=[(15, 32), (16, 16)], also=[("IL102", 15, 21), ("IL201", 22, 9)]),
        Invalid(MAIN_BLOCK_ZEROS.replace("def main():\n", "if __name__ == \"__main__\":\n").replace(
            "    return net\n\n\nif __name__ == \"__main__\":\n    main()\n", ""), at=[(12, 16)],
            also=[("IL102", 12, 25), ("IL201", 18, 9)]),
    ]

    def check(self, facts: FileFacts) -> Iterator[Finding]:
        seen: set[int] = set()
        candidates = []
        for event in facts.products:
            if id(event.node) in seen or not event.factors:
                continue
            if not all(f.is_zero for f in event.factors):
                continue
            params = frozenset().union(*(f.params for f in event.factors))
            if not params:
                continue  # nothing trainable upstream: nothing to starve
            if any(p.uid in facts.direct_gradient_params for p in params):
                continue  # a loss term moves a factor's weights directly: the product revives after a step
            seen.add(id(event.node))
            sites = frozenset(id(node) for f in event.factors for node, _ in f.zero_sites)
            candidates.append((event, params, sites))
        # A square of a dead tensor (`net(x).pow(2)` in the loss) is downstream of the product
        # that made it dead: when that product is reported for the same zero inits, once is enough.
        mixing = frozenset().union(*(c for e, _, c in candidates if not _squares(e)))
        for event, params, sites in candidates:
            if _squares(event) and sites and sites <= mixing:
                continue
            names, related = facts.zero_causes(event.factors, event.where)
            causes = ", ".join(names[:4]) + (" …" if len(names) > 4 else "")
            yield self.report(
                event.node,
                related=related,
                subject=facts.subject(event.where, params),
                expr=facts.code(event.node),
                causes=causes if names else "its inputs start at zero",
            )


def _squares(event: ProductEvent) -> bool:
    """`x.pow(2)`, `x ** 2`, `x * x`, `square(x)`: one tensor times itself."""
    return event.op in ("square", "pow") or len({id(f) for f in event.factors}) == 1
