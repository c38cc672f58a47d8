"""Buggy: a sigmoid output fed to BCELoss (IL303).

In float32 the sigmoid saturates to exactly 0 or 1, the log is clamped and
the gradient is lost. BCEWithLogitsLoss on the logits computes the same loss
stably.
"""
import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc(x))


def train_step(model: Classifier, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = nn.BCELoss()(model(x), y)
    loss.backward()
    return loss
