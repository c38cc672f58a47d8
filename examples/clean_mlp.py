"""Clean: an MLP classifier trained on logits with CrossEntropyLoss."""
import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, n_in: int = 784, n_hidden: int = 256, n_out: int = 10) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_in, n_hidden),
            nn.ReLU(),
            nn.Linear(n_hidden, n_hidden),
            nn.ReLU(),
            nn.Linear(n_hidden, n_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


model = MLP()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
loss = criterion(model(x), y)
loss.backward()
optimizer.step()
