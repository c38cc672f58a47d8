"""Models whose sizes and layer kinds come from a constructor argument: a configuration object,
a dict factory keyed by it, or the file's own construction of the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Run, findings, write

CONFIG_STACK = '''import torch.nn as nn
from dataclasses import dataclass


@dataclass
class Config:
    d_in: int = 8
    hidden: int = 16
    act: str = "sigmoid"


ACTS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


class Net(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        act = ACTS[cfg.act]
        self.body = nn.Sequential(
            nn.Linear(cfg.d_in, cfg.hidden), act(),
            nn.Linear(cfg.hidden, cfg.hidden), act(),
            nn.Linear(cfg.hidden, cfg.hidden), act(),
            nn.Linear(cfg.hidden, cfg.hidden), act(),
            nn.Linear(cfg.hidden, 1),
        )

    def forward(self, x):
        return self.body(x)
'''

POSITIONAL = '''import torch.nn as nn

ACTS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


class Net(nn.Module):
    def __init__(self, d, act):
        super().__init__()
        a = ACTS[act]
        self.body = nn.Sequential(nn.Linear(d, d), a(), nn.Linear(d, d), a(), nn.Linear(d, d), a(), nn.Linear(d, d), a())

    def forward(self, x):
        return self.body(x)


if __name__ == "__main__":
    net = Net(8, "{act}")
'''


def test_a_config_dataclass_gives_the_activation_its_kind(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "net.py", CONFIG_STACK)
    assert [f[1:] for f in findings(initlint("--no-cache", "net.py").stdout)] == [("IL302", 20, 46)]


def test_an_unannotated_cfg_reads_the_files_only_dataclass(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "net.py", CONFIG_STACK.replace("cfg: Config", "cfg"))
    assert [f[1] for f in findings(initlint("--no-cache", "net.py").stdout)] == ["IL302"]


def test_a_config_default_that_does_not_saturate_is_clean(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "net.py", CONFIG_STACK.replace('act: str = "sigmoid"', 'act: str = "relu"'))
    assert initlint("--no-cache", "net.py").returncode == 0


def test_a_field_without_a_default_stays_unknown(initlint: Run, tmp_path: Path) -> None:
    # Either activation may be chosen: nothing is claimed.
    write(tmp_path, "net.py", CONFIG_STACK.replace('act: str = "sigmoid"', "act: str"))
    assert initlint("--no-cache", "net.py").returncode == 0


def test_the_files_own_construction_gives_the_arguments(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "net.py", POSITIONAL.replace("{act}", "sigmoid"))
    assert [f[1:] for f in findings(initlint("--no-cache", "net.py").stdout)] == [("IL302", 10, 52)]
    write(tmp_path, "net.py", POSITIONAL.replace("{act}", "relu"))
    assert initlint("--no-cache", "net.py").returncode == 0


TRAINER = '''import torch
import torch.nn as nn


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))


class Trainer:
    def __init__(self, model, lr=1e-3):
        self.model = model
        self.criterion = nn.BCELoss()
        self.opt = torch.optim.Adam(model.parameters(), lr=lr)

    def train_step(self, x, y):
        loss = self.criterion(self.model(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
'''

AGENT = '''import torch
import torch.nn as nn


class QNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))


class Agent:
    def __init__(self, q_function):
        self._q = q_function
        self._loss = nn.MSELoss()

    def learn(self, x, target):
        loss = self._loss(self._q(x), target)
        loss.backward()


agent = Agent(QNet())
'''


def test_a_trainer_given_the_model_computes_its_loss_on_that_model(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "train.py", TRAINER)
    assert [f[1:] for f in findings(initlint("--no-cache", "train.py").stdout)] == [("IL303", 21, 16)]


def test_an_agent_built_with_a_network_keeps_it(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "agent.py", AGENT)
    assert [f[1:] for f in findings(initlint("--no-cache", "agent.py").stdout)] == [("IL301", 20, 16)]
    # Built with an unknown network, the agent's loss says nothing.
    write(tmp_path, "agent.py", AGENT.replace("Agent(QNet())", "Agent(make_network())"))
    assert initlint("--no-cache", "agent.py").returncode == 0


ARGPARSE = '''import argparse
import torch.nn as nn

ACTS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


class Net(nn.Module):
    def __init__(self, args):
        super().__init__()
        a = ACTS[args.act]
        d = args.hidden
        self.body = nn.Sequential(nn.Linear(d, d), a(), nn.Linear(d, d), a(), nn.Linear(d, d), a(), nn.Linear(d, d), a())

    def forward(self, x):
        return self.body(x)


def main():
    parser = argparse.ArgumentParser(description="train")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--act", default="sigmoid")
    args = parser.parse_args()
    model = Net(args)


if __name__ == "__main__":
    main()
'''


def test_argparse_defaults_configure_the_model(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "train.py", ARGPARSE)
    assert [f[1:] for f in findings(initlint("--no-cache", "train.py").stdout)] == [("IL302", 12, 52)]


def test_an_option_without_a_default_or_changed_after_parsing_is_not_assumed(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "train.py", ARGPARSE.replace('"--act", default="sigmoid"', '"--act", required=True'))
    assert initlint("--no-cache", "train.py").returncode == 0
    write(tmp_path, "train.py", ARGPARSE.replace("    model = Net(args)", '    args.act = "relu"\n    model = Net(args)'))
    assert initlint("--no-cache", "train.py").returncode == 0


FRAGMENT = '''model = tf.keras.Sequential()
model.add(tf.keras.layers.Input(shape=(8,)))
model.add(tf.keras.layers.Dense(64, activation="sigmoid"))
model.add(tf.keras.layers.Dense(64, activation="sigmoid"))
model.add(tf.keras.layers.Dense(64, activation="sigmoid"))
model.add(tf.keras.layers.Dense(64, activation="sigmoid"))
model.add(tf.keras.layers.Dense(1))
'''


def test_a_fragment_that_uses_the_conventional_alias_without_importing_it(initlint: Run, tmp_path: Path) -> None:
    # A tutorial's later part (or a notebook's exported cell): `tf` was imported in an earlier one.
    write(tmp_path, "part2.py", FRAGMENT)
    assert [f[:3] for f in findings(initlint("--no-cache", ".").stdout)] == [("part2.py", "IL302", 3)]


@pytest.mark.parametrize("binding", ["import mylib as tf\n", "from helpers import *\n", "def tf():\n    pass\n"])
def test_an_alias_the_file_binds_to_something_else_is_not_assumed(initlint: Run, tmp_path: Path, binding: str) -> None:
    write(tmp_path, "part2.py", binding + FRAGMENT)
    assert initlint("--no-cache", ".").returncode == 0


TF1_PENALTY = '''import tensorflow as tf

W1 = tf.Variable(tf.random_normal([784, 500], stddev=1))
W2 = tf.Variable(tf.random_normal([500, 10], stddev=1))
x = tf.placeholder(tf.float32, (None, 784))
y = tf.matmul(tf.nn.relu(tf.matmul(x, W1)), W2)
regularizer = tf.contrib.layers.l2_regularizer(0.02)
loss = tf.reduce_mean(tf.square(y)) + regularizer(W1) + regularizer(W2)
'''


def test_a_weight_penalty_reads_the_weight_and_leaves_its_init_known(initlint: Run, tmp_path: Path) -> None:
    # An L2 regularizer applied to the weights only reads them; an unknown function might have set them.
    write(tmp_path, "net.py", TF1_PENALTY)
    assert [f[:3] for f in findings(initlint("--no-cache", ".").stdout)] == [("net.py", "IL401", 3), ("net.py", "IL401", 4)]
    write(tmp_path, "net.py", TF1_PENALTY.replace("tf.contrib.layers.l2_regularizer(0.02)", "make_penalty()"))
    assert initlint("--no-cache", ".").returncode == 0
