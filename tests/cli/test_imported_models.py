"""A model class defined in one project file, built and initialised in another: the importing file's
analysis reads the class's definition, and reports at its own init line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Run, findings, write

BLOCK = '''import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8, bias=False)
        self.out = nn.Linear(8, 1, bias=False)

    def forward(self, x):
        return self.out(self.fc(x))
'''

TRAIN = '''import torch.nn as nn
{import_line}

net = Block()
nn.init.zeros_(net.fc.weight)
nn.init.{second}(net.out.weight)
'''

CONFIG = '''from dataclasses import dataclass


@dataclass
class Config:
    d: int = 8
    act: str = "sigmoid"
'''

CONFIGURED_NET = '''import torch.nn as nn
from config import Config

ACTS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


class Net(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        a = ACTS[cfg.act]
        self.body = nn.Sequential(nn.Linear(cfg.d, cfg.d), a(), nn.Linear(cfg.d, cfg.d), a(), nn.Linear(cfg.d, cfg.d), a(), nn.Linear(cfg.d, cfg.d), a())

    def forward(self, x):
        return self.body(x)
'''


def test_zero_init_of_an_imported_class_is_reported_at_the_init_line(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", BLOCK)
    write(tmp_path, "train.py", TRAIN.format(import_line="from model import Block", second="zeros_"))
    proc = initlint("--no-cache", "--format", "json", ".")
    found = sorted((d["path"], d["code"], d["line"]) for d in json.loads(proc.stdout))
    assert found == [("train.py", "IL101", 5), ("train.py", "IL201", 5)]
    il101 = next(d for d in json.loads(proc.stdout) if d["code"] == "IL101")
    assert "line 5" in il101["message"]
    # The product that makes the zero weight dead is a related place in model.py.
    assert any(r["path"].endswith("model.py") and r["line"] == 11 for r in il101["related"])


def test_a_package_star_import_is_followed(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "pkg/__init__.py", "")
    write(tmp_path, "pkg/layers.py", BLOCK)
    write(tmp_path, "pkg/train.py", TRAIN.format(import_line="from .layers import *", second="zeros_"))
    assert [f[:3] for f in findings(initlint("--no-cache", ".").stdout)] == [("pkg/train.py", "IL101", 5), ("pkg/train.py", "IL201", 5)]


def test_one_zero_factor_of_an_imported_class_stays_silent(initlint: Run, tmp_path: Path) -> None:
    # The output layer keeps a random init: the zeroed hidden layer still gets a gradient (LoRA-like).
    write(tmp_path, "model.py", BLOCK)
    write(tmp_path, "train.py", TRAIN.format(import_line="from model import Block", second="xavier_uniform_").replace("nn.init.zeros_(net.fc.weight)\n", ""))
    assert initlint("--no-cache", ".").returncode == 0


def test_an_import_that_is_not_a_project_file_stays_opaque(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "train.py", TRAIN.format(import_line="from somelib import Block", second="zeros_"))
    assert initlint("--no-cache", ".").returncode == 0


def test_an_edited_imported_module_is_analysed_again(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", BLOCK)
    write(tmp_path, "train.py", TRAIN.format(import_line="from model import Block", second="zeros_"))
    assert initlint("train.py").returncode == 1
    # train.py is unchanged, its cached result is not: without the product, the zeros kill nothing.
    write(tmp_path, "model.py", BLOCK.replace("return self.out(self.fc(x))", "return self.fc(x)"))
    assert initlint("train.py").returncode == 0


def test_an_imported_config_dataclass_configures_the_model(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "config.py", CONFIG)
    write(tmp_path, "model.py", CONFIGURED_NET)
    assert [f[:2] for f in findings(initlint("--no-cache", ".").stdout)] == [("model.py", "IL302")]
    write(tmp_path, "config.py", CONFIG.replace('"sigmoid"', '"relu"'))
    assert initlint("--no-cache", ".").returncode == 0


BIG_MODEL = """import torch.nn as nn

WIDTH = 8


def unrelated_helper(x):
    return [x for _ in range(3)]


class Unrelated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return unrelated_helper(self.fc(x))


def make_layer():
    return nn.Linear(WIDTH, WIDTH, bias=False)


# The class the scripts import, far down the file.
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = make_layer()
        self.out = nn.Linear(WIDTH, 1, bias=False)

    def forward(self, x):
        return self.out(self.fc(x))


class Later(Block):
    pass
"""


def test_the_definitions_an_importer_reads_are_placed_on_their_own_lines(initlint: Run, tmp_path: Path) -> None:
    # Each importer reads only the class it uses and what that class uses (a helper, a constant,
    # its base class); a finding's related place is still the imported file's own line.
    write(tmp_path, "model.py", BIG_MODEL)
    write(tmp_path, "a_train.py", TRAIN.format(import_line="from model import Block", second="zeros_"))
    write(tmp_path, "b_train.py", TRAIN.format(import_line="from model import Later as Block", second="zeros_"))
    proc = initlint("--no-cache", "--jobs", "1", "--format", "json", "a_train.py", "b_train.py")
    reported = json.loads(proc.stdout)
    assert sorted((d["path"], d["code"], d["line"]) for d in reported) == [
        ("a_train.py", "IL101", 5), ("a_train.py", "IL201", 5), ("b_train.py", "IL101", 5), ("b_train.py", "IL201", 5)]
    product = BIG_MODEL.splitlines().index("        return self.out(self.fc(x))") + 1
    for d in reported:
        if d["code"] == "IL101":
            assert [(r["path"], r["line"], r["column"]) for r in d["related"] if r["path"].endswith("model.py")] == [
                ("model.py", product, 16)], d


DISCRIMINATOR = """import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1), nn.Sigmoid())

    def forward(self, x):
        return self.main(x)
"""

BUILDERS = """import torch
import torch.nn as nn
from torchvision import datasets, transforms

from discriminator import Discriminator


def weights_init(m):
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.5)


def discriminator_init(device):
    net = Discriminator().to(device)
    net.apply(weights_init)
    return net


def loader_init():
    return datasets.MNIST("data", transform=transforms.ToTensor())
"""

GAN_TRAIN = """import torch
import torch.nn as nn

from utils import discriminator_init, loader_init


def main():
    device = torch.device("cpu")
    loader = loader_init()
    netD = discriminator_init(device)
    criterion = nn.BCELoss()
    for real, _ in loader:
        out = netD(real.view(-1, 784)).view(-1)
        loss = criterion(out, torch.ones(out.shape[0]))
        loss.backward()


if __name__ == "__main__":
    main()
"""


def test_a_model_an_imported_builder_returns_is_judged_with_the_scripts_loss(initlint: Run, tmp_path: Path) -> None:
    # `netD = discriminator_init(device)` hands the builder no model: the model it returns is the one
    # the script's BCELoss trains. utils.py imports the class, so its own analysis of the builder
    # builds nothing: the constant init the builder applies is train.py's to report, at the call.
    write(tmp_path, "discriminator.py", DISCRIMINATOR)
    write(tmp_path, "utils.py", BUILDERS)
    write(tmp_path, "train.py", GAN_TRAIN)
    proc = initlint("--no-cache", "--format", "json", ".")
    reported = json.loads(proc.stdout)
    assert sorted((d["path"], d["code"], d["line"]) for d in reported) == [("train.py", "IL201", 10), ("train.py", "IL303", 14)]
    related = {d["code"]: [(r["path"], r["line"]) for r in d["related"]] for d in reported}
    assert related == {"IL201": [("utils.py", 10)], "IL303": [("discriminator.py", 7)]}


def test_a_builder_whose_own_file_defines_the_model_keeps_its_findings_there(initlint: Run, tmp_path: Path) -> None:
    # utils.py's analysis of the builder builds the model itself: the init is reported there, once.
    write(tmp_path, "utils.py", BUILDERS.replace("from discriminator import Discriminator\n", DISCRIMINATOR.split("\n", 1)[1]))
    write(tmp_path, "train.py", GAN_TRAIN)
    found = sorted((d["path"], d["code"]) for d in json.loads(initlint("--no-cache", "--format", "json", ".").stdout))
    assert found == [("train.py", "IL303"), ("utils.py", "IL201")]


def test_a_builder_its_own_module_runs_keeps_its_findings_there(initlint: Run, tmp_path: Path) -> None:
    # utils.py imports the class but calls the builder in its own __main__ block: its analysis builds
    # the model there, so the constant init is reported once, in utils.py.
    write(tmp_path, "discriminator.py", DISCRIMINATOR)
    write(tmp_path, "utils.py", BUILDERS + '\n\nif __name__ == "__main__":\n    print(discriminator_init("cpu"))\n')
    write(tmp_path, "train.py", GAN_TRAIN)
    found = sorted((d["path"], d["code"]) for d in json.loads(initlint("--no-cache", "--format", "json", ".").stdout))
    assert found == [("train.py", "IL303"), ("utils.py", "IL201")]


def test_an_imported_helper_that_builds_no_model_changes_nothing(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "discriminator.py", DISCRIMINATOR)
    write(tmp_path, "utils.py", BUILDERS.replace("    return net\n", "    return None\n"))
    write(tmp_path, "train.py", GAN_TRAIN)
    assert initlint("--no-cache", ".").returncode == 0


def test_an_imported_module_too_deep_for_libcst_is_skipped_not_fatal(initlint: Run, tmp_path: Path) -> None:
    # 3,000 nested parentheses crash libcst's native parser (it overflows the C stack); the
    # imported module is read with the checked files' own guarded parse, so the importer is
    # still checked (it learns nothing of Block) and the deep file gets its IL001.
    write(tmp_path, "model.py", BLOCK + "\nDEEP = " + "(" * 3000 + "1" + ")" * 3000 + "\n")
    write(tmp_path, "train.py", TRAIN.format(import_line="from model import Block", second="zeros_"))
    proc = initlint("--no-cache", "--format", "json", ".")
    found = sorted((d["path"], d["code"]) for d in json.loads(proc.stdout))
    assert found == [("model.py", "IL001")], proc.stderr
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


DEEP_PLAIN = '''import torch.nn as nn


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        layers = []
        for _ in range(7):
            layers += [nn.Linear(32, 32), nn.LeakyReLU(0.2)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
'''


def test_an_imported_class_s_own_deep_stack_is_reported_once_in_its_file(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "models.py", DEEP_PLAIN)
    write(tmp_path, "train.py", "import torch.nn as nn\nfrom models import Critic\n\ncritic = Critic()\nnn.init.xavier_uniform_(critic.model[0].weight)\n")
    found = [f[:3] for f in findings(initlint("--no-cache", ".").stdout)]
    assert found == [("models.py", "IL402", 9)]


INIT_HELPERS = '''def init_weights(m):
    m.weight.data.fill_(0.0)
    m.bias.data.fill_(0.0)


def init_random(m):
    m.weight.data.normal_(0.0, 0.1)
'''

ACTOR = '''import torch.nn as nn
from .nn_utils import {helper}


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.network = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.network.apply({helper})
        self.head = nn.Linear(64, 2)

    def forward(self, x):
        return self.head(self.network(x))
'''


def test_an_imported_init_function_applied_to_the_file_s_modules_is_followed(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "agent/__init__.py", "")
    write(tmp_path, "agent/nn_utils.py", INIT_HELPERS)
    write(tmp_path, "agent/actor.py", ACTOR.format(helper="init_weights"))
    found = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert [(d["path"], d["code"], d["line"]) for d in found] == [
        ("agent/actor.py", "IL102", 8), ("agent/actor.py", "IL101", 8), ("agent/actor.py", "IL102", 8),
        ("agent/actor.py", "IL201", 9)]  # the helper's zero weights, at the call applying it (as in one file)
    assert "zeroed at line 2 of nn_utils.py" in found[0]["message"]
    write(tmp_path, "agent/actor.py", ACTOR.format(helper="init_random"))
    assert initlint("--no-cache", ".").returncode == 0


def test_an_imported_class_built_in_the_script_s_main_function_is_read(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "model.py", BLOCK)
    write(tmp_path, "train.py", "import torch.nn as nn\nfrom model import Block\n\n\ndef main():\n    net = Block()\n"
                                "    nn.init.zeros_(net.fc.weight)\n    nn.init.zeros_(net.out.weight)\n\n\n"
                                "if __name__ == \"__main__\":\n    main()\n")
    found = sorted((d["path"], d["code"], d["line"]) for d in json.loads(initlint("--no-cache", "--format", "json", ".").stdout))
    assert found == [("train.py", "IL101", 7), ("train.py", "IL201", 7)]


INIT_HELPERS_CONSTANT = '''import torch.nn as nn


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.5)


def init_unit_normal(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 1.0)


def make_head():
    head = nn.Linear(64, 64)
    nn.init.constant_(head.weight, 0.5)
    return head
'''

SCRIPT_APPLYING = '''import torch.nn as nn
from utils import {helper}

net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
net.apply({helper})
'''


def test_an_imported_init_function_s_own_finding_is_reported_where_this_file_applies_it(initlint: Run, tmp_path: Path) -> None:
    # The helper's file never runs it on a model, so only the file applying it can report what it does.
    write(tmp_path, "utils.py", INIT_HELPERS_CONSTANT)
    write(tmp_path, "train.py", SCRIPT_APPLYING.format(helper="init_weights"))
    found = [d for d in json.loads(initlint("--no-cache", "--format", "json", ".").stdout) if d["path"] == "train.py"]
    assert [(d["path"], d["code"], d["line"], d["column"]) for d in found] == [("train.py", "IL201", 5, 1)]
    assert found[0]["related"][0]["path"].endswith("utils.py") and found[0]["related"][0]["line"] == 6
    write(tmp_path, "train.py", SCRIPT_APPLYING.format(helper="init_unit_normal"))
    found = [d for d in json.loads(initlint("--no-cache", "--format", "json", ".").stdout) if d["path"] == "train.py"]
    assert [(d["path"], d["code"], d["line"]) for d in found] == [("train.py", "IL401", 5)]
    assert "fan-in 784" in found[0]["message"]


def test_a_model_an_imported_function_builds_is_its_own_file_s_finding(initlint: Run, tmp_path: Path) -> None:
    write(tmp_path, "utils.py", INIT_HELPERS_CONSTANT)
    write(tmp_path, "train.py", "from utils import make_head\n\nhead = make_head()\n")
    found = [f[:3] for f in findings(initlint("--no-cache", ".").stdout)]
    assert found == [("utils.py", "IL201", 16)]


AUTOENCODER = '''import torch.nn as nn


class AE(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n, 4), nn.ReLU(), nn.Linear(4, n), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)
'''

TRAIN_HELPER = '''import torch.nn as nn


def train(model, batches):
    criterion = nn.BCELoss()
    for x in batches:
        criterion(model(x), x).backward()
'''

PIPELINE = '''import torch


def build_embeddings(batches):
    from emb.ae import AE
    from emb.train import train
    model = AE(n=8)
    train(model, batches)
'''


def test_classes_and_helpers_imported_inside_a_function_are_read(initlint: Run, tmp_path: Path) -> None:
    # Only the pipeline sees the sigmoid model meet the BCELoss: the finding is at its call of the
    # helper, with the loss and the sigmoid as related locations in their files.
    write(tmp_path, "emb/__init__.py", "")
    write(tmp_path, "emb/ae.py", AUTOENCODER)
    write(tmp_path, "emb/train.py", TRAIN_HELPER)
    write(tmp_path, "pipeline.py", PIPELINE)
    found = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert [(d["path"], d["code"], d["line"]) for d in found] == [("pipeline.py", "IL303", 8)]
    assert [(r["path"], r["line"]) for r in found[0]["related"]] == [("emb/ae.py", 7), ("emb/train.py", 7)]


def test_a_loss_on_an_imported_model_s_joined_scores_is_linked(initlint: Run, tmp_path: Path) -> None:
    # The discriminator's real and fake scores joined into one batch are still its sigmoid output.
    write(tmp_path, "model.py", "import torch.nn as nn\n\n\nclass D(nn.Module):\n    def __init__(self):\n"
                                "        super().__init__()\n        self.net = nn.Sequential(nn.Linear(784, 1), nn.Sigmoid())\n\n"
                                "    def forward(self, x):\n        return self.net(x)\n")
    write(tmp_path, "train.py", "import torch\nimport torch.nn as nn\nfrom model import D\n\nd = D()\ncriterion = nn.BCELoss()\n"
                                "for real, fake in loader:\n    scores = torch.cat((d(real), d(fake)), 0)\n"
                                "    loss = criterion(scores, torch.ones(16, 1))\n")
    found = sorted((d["path"], d["code"], d["line"]) for d in json.loads(initlint("--no-cache", "--format", "json", ".").stdout))
    assert found == [("train.py", "IL303", 9)]


SIGMOID_MODEL = '''import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x))
'''

RUNNER = '''class Runner:
    def __init__(self, model, loss_fn):
        self.model = model
        self.loss_fn = loss_fn

    def train(self, x, y):
        return self.loss_fn(self.model(x), y)
'''


@pytest.mark.parametrize("imported, chosen", [("import torch.nn.functional as F", "F.binary_cross_entropy"),
                                               ("from torch.nn.functional import binary_cross_entropy as bce", "bce")])
def test_a_loss_function_handed_to_an_imported_trainer_is_reported_where_it_is_chosen(
    initlint: Run, tmp_path: Path, imported: str, chosen: str
) -> None:
    # The loss is computed in the trainer's file, but this script picks it: the finding is on that line.
    write(tmp_path, "runner.py", RUNNER)
    write(tmp_path, "train.py", SIGMOID_MODEL + f"\n\n{imported}\nfrom runner import Runner\n\n"
                                f"model = Net()\nloss_fn = {chosen}\nrunner = Runner(model, loss_fn)\n"
                                "runner.train(torch.randn(4, 2), torch.ones(4, 1))\n")
    found = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert [(d["path"], d["code"], d["line"], d["column"]) for d in found] == [("train.py", "IL303", 18, 11)]
    assert found[0]["message"].startswith(f"`{chosen}` takes a sigmoid output")
    assert [(r["path"], r["line"]) for r in found[0]["related"]] == [("runner.py", 7), ("train.py", 11)]


def test_an_imported_loss_helper_given_a_sigmoid_output_is_followed(initlint: Run, tmp_path: Path) -> None:
    # A GAN's `from utils import D_loss`: the BCELoss inside the helper takes the discriminator's
    # sigmoid output; the finding is this file's, at the call (the helper alone is not wrong).
    write(tmp_path, "model.py", SIGMOID_MODEL)
    write(tmp_path, "utils.py", "import torch.nn as nn\n\n\ndef D_loss(real, fake):\n"
                                "    return nn.BCELoss()(real, real.new_ones(real.shape)) + nn.BCELoss()(fake, fake.new_zeros(fake.shape))\n")
    write(tmp_path, "train.py", "import torch\nfrom model import Net\nfrom utils import D_loss\n\nd = Net()\n"
                                "loss = D_loss(d(torch.randn(4, 2)), d(torch.randn(4, 2)))\n")
    found = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert [(d["path"], d["code"], d["line"]) for d in found] == [("train.py", "IL303", 6)]
    assert [(r["path"], r["line"]) for r in found[0]["related"]] == [("model.py", 11), ("utils.py", 5)]


def test_an_imported_helper_s_module_level_loss_object_is_seen(initlint: Run, tmp_path: Path) -> None:
    # The helper module builds its criterion once, at its top (`adversarial_loss = nn.BCELoss()`).
    write(tmp_path, "model.py", SIGMOID_MODEL)
    write(tmp_path, "utils.py", "import torch\nimport torch.nn as nn\n\nadversarial_loss = nn.BCELoss()\n\n\n"
                                "def D_loss(real, fake):\n    return adversarial_loss(real, torch.ones_like(real)) + "
                                "adversarial_loss(fake, torch.zeros_like(fake))\n")
    write(tmp_path, "train.py", "import torch\nfrom model import Net\nfrom utils import D_loss\n\nd = Net()\n"
                                "loss = D_loss(d(torch.randn(4, 2)), d(torch.randn(4, 2)))\n")
    found = json.loads(initlint("--no-cache", "--format", "json", ".").stdout)
    assert [(d["path"], d["code"], d["line"], d["column"]) for d in found] == [("train.py", "IL303", 6, 8)]
    assert [(r["path"], r["line"]) for r in found[0]["related"]] == [("model.py", 11), ("utils.py", 8)]


def test_an_imported_helper_that_only_logs_a_loss_stays_silent(initlint: Run, tmp_path: Path) -> None:
    # `bce_metric` returns a number for a log line: judged in its own file, it is a metric.
    write(tmp_path, "metrics.py", "import torch.nn.functional as F\n\n\ndef bce_metric(p, y):\n"
                                  "    value = F.binary_cross_entropy(p, y)\n    return value.item()\n")
    write(tmp_path, "train.py", "import torch\nimport torch.nn as nn\nfrom metrics import bce_metric\n\n"
                                "model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())\nx, y = torch.randn(4, 2), torch.ones(4, 1)\n"
                                "for step in range(10):\n    loss = nn.BCEWithLogitsLoss()(model[0](x), y)\n    loss.backward()\n"
                                "    print(bce_metric(model(x), y))\n")
    assert json.loads(initlint("--no-cache", "--format", "json", "train.py").stdout) == []


def test_a_plain_holder_of_a_network_handed_to_an_imported_helper_is_followed(initlint: Run, tmp_path: Path) -> None:
    # An RL agent (no nn.Module) holds the network that the helper initializes; a config object would not.
    write(tmp_path, "utils.py", "import torch.nn as nn\n\n\ndef init_weights(m):\n    if isinstance(m, nn.Linear):\n"
                                "        nn.init.constant_(m.weight, 0.5)\n\n\ndef setup(agent):\n"
                                "    agent.net.apply(init_weights)\n    return agent\n")
    write(tmp_path, "train.py", "import torch\nimport torch.nn as nn\nfrom utils import setup\n\n\nclass Agent:\n"
                                "    def __init__(self):\n        self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))\n\n"
                                "    def act(self, x):\n        return self.net(x)\n\n\nagent = setup(Agent())\n"
                                "y = agent.act(torch.randn(2, 784))\n")
    found = json.loads(initlint("--no-cache", "--format", "json", "train.py").stdout)
    assert [(d["path"], d["code"], d["line"]) for d in found] == [("train.py", "IL201", 14)]


def test_a_project_helper_named_as_a_framework_loss_is_read(initlint: Run, tmp_path: Path) -> None:
    # `mylosses.binary_cross_entropy` is the project's own function (a squared error), not torch's.
    write(tmp_path, "mylosses.py", "import torch.nn.functional as F\n\n\ndef binary_cross_entropy(p, y):\n"
                                   "    return F.mse_loss(p, y)\n")
    write(tmp_path, "train.py", SIGMOID_MODEL + "\n\nfrom mylosses import binary_cross_entropy\n\nmodel = Net()\n"
                                "criterion = binary_cross_entropy\nloss = criterion(model(torch.randn(4, 2)), torch.ones(4, 1))\n")
    found = json.loads(initlint("--no-cache", "--format", "json", "train.py").stdout)
    assert [(d["path"], d["code"]) for d in found] == [("train.py", "IL301")], found
