"""Buggy: a two-tower similarity model whose towers both start at zero (IL101).

The logit is the product of the two tower outputs. Every factor is zero at
initialization, so the gradient of each tower is the other tower's output:
zero. Loss never moves and AUC stays at 0.5.
"""
import torch
from torch import nn


class TwoTower(nn.Module):
    def __init__(self, n_items: int = 1000, dim: int = 16) -> None:
        super().__init__()
        self.item_emb = nn.Embedding(n_items, dim)
        self.proj = nn.Linear(dim, dim)
        nn.init.zeros_(self.item_emb.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        vec_a = self.proj(self.item_emb(a))
        vec_b = self.proj(self.item_emb(b))
        return (vec_a * vec_b).sum(-1)
