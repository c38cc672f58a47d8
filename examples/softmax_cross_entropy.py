"""Buggy: softmax before CrossEntropyLoss (IL304).

CrossEntropyLoss applies log-softmax itself; given probabilities, it works on
a squashed range, the loss flattens and gradients shrink.
"""
import torch
from torch import nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(64, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.out(F.relu(self.hidden(x))), dim=-1)


model = Net()
criterion = nn.CrossEntropyLoss()
x, y = torch.randn(8, 64), torch.randint(0, 10, (8,))
loss = criterion(model(x), y)
loss.backward()
