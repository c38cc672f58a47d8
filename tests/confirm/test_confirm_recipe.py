"""`initlint --confirm` on how the script builds its model: construction recipes, factories, script
slices, config objects, call-site inputs, and verdicts that rest on guessed sizes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from initlint.config import ConfirmSettings, Settings
from initlint.confirm import confirm_diagnostics
from initlint.diagnostics import Diagnostic, Severity, Span

MLP = """\
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
        {recipe}
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for step in range(10):
            loss = net(torch.randn(4, 8)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
"""

UNSCALED = """\
    import torch
    from torch import nn


    class Unscaled(nn.Module):
        def __init__(self, d_in, d_hidden):
            super().__init__()
            self.w1 = nn.Parameter(torch.randn(d_in, d_hidden))
            self.w2 = nn.Parameter(torch.randn(d_hidden, d_hidden))

        def forward(self, x):
            return x @ self.w1 @ self.w2
"""


def confirm(tmp_path: Path, text: str, config: str = "") -> dict[tuple[int, str], dict[str, Any]]:
    (tmp_path / "model.py").write_text(textwrap.dedent(text))
    if config:
        (tmp_path / "pyproject.toml").write_text(config)
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json",
                           "model.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    return {(f["line"], f["code"]): f["confirmation"] for f in json.loads(proc.stdout) if "confirmation" in f}


def test_apply_after_construction_is_replayed(tmp_path: Path) -> None:
    got = confirm(tmp_path, MLP.replace("{recipe}", "net.apply(init_weights)"))
    # The class alone has default (random) Linear weights: gradients flow. The script zero-fills it.
    dead = got[(12, "IL101")]
    assert dead["status"] == "confirmed", dead
    assert "line 23" in dead["evidence"]["recipe"] and "net.apply(init_weights)" in dead["evidence"]["recipe"]
    # The input is the script's own `net(torch.randn(4, 8))`, not an inferred [2, 8].
    assert dead["evidence"]["inputs"] == [[4, 8]]
    # The finding inside the init function is judged on the class the recipe initializes.
    sym = got[(17, "IL201")]
    assert sym["status"] == "confirmed", sym
    # fc2 is the output layer: its zero weight is not flagged as symmetric (IL201), so not judged.
    assert {(u["param"], u["axis"]) for u in sym["evidence"]["units"]} == {("fc1.weight", "rows")}


def test_in_place_inits_under_no_grad_are_replayed(tmp_path: Path) -> None:
    recipe = ("with torch.no_grad():\n            nn.init.zeros_(net.fc1.weight)\n"
              "            net.fc1.bias.zero_()\n            net.fc2.weight.data.fill_(0.0)")
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(MLP.replace("{recipe}", recipe).replace("net.apply", "")))
    d = Diagnostic(str(path), Span(12, 16, 12, 50), "IL101", "dead-product", Severity.WARNING, "finding")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True, timeout=60)), str(tmp_path))
    assert done.confirmation is not None
    # Built alone, MLP has random Linear weights and gradients flow; the script zero-fills it.
    assert done.confirmation.status == "confirmed", done.confirmation
    assert "line 23 (with torch.no_grad():" in done.confirmation.evidence["recipe"]


def test_a_loop_over_the_model_s_layers_is_replayed(tmp_path: Path) -> None:
    recipe = "for layer in (net.fc1, net.fc2):\n            nn.init.zeros_(layer.weight)\n            nn.init.zeros_(layer.bias)"
    got = confirm(tmp_path, MLP.replace("{recipe}", recipe))
    # Built alone, MLP has random weights and gradients flow (a refutation of a real bug before).
    assert got[(12, "IL101")]["status"] == "confirmed", got
    assert "line 23 (for layer in (net.fc1, net.fc2):" in got[(12, "IL101")]["evidence"]["recipe"]
    assert got[(24, "IL201")]["status"] == "confirmed", got  # judged on the class the script's loop zeroes


def test_a_change_to_the_model_that_is_not_replayed_leaves_it_unverified(tmp_path: Path) -> None:
    recipe = ("try:\n            nn.init.zeros_(net.fc1.weight)\n            nn.init.zeros_(net.fc1.bias)\n"
              "            nn.init.zeros_(net.fc2.weight)\n        except RuntimeError:\n            pass")
    got = confirm(tmp_path, MLP.replace("{recipe}", recipe))
    statuses = {key: c["status"] for key, c in got.items()}
    assert "refuted" not in statuses.values(), got
    assert "does not replay (line 23: try:" in got[(12, "IL101")]["detail"], got


def test_weights_from_a_checkpoint_leave_the_finding_unverified(tmp_path: Path) -> None:
    recipe = "net.apply(init_weights)\n        net.load_state_dict(torch.load('net.pt'))"
    got = confirm(tmp_path, MLP.replace("{recipe}", recipe))
    conf = got[(12, "IL101")]
    assert conf["status"] == "unverified"
    assert "weights come from a file" in conf["detail"] and "line 24" in conf["detail"]


@pytest.mark.parametrize(("recipe", "lines"), [
    ("net.apply(init_weights)\n        net = MLP()  # start over: this one trains", "22, 24"),
    ("baseline = MLP()\n        baseline.apply(init_weights)", "22, 23"),
], ids=["rebound", "another-instance"])
def test_a_model_built_twice_and_initialized_differently_is_not_judged_on_either(tmp_path: Path, recipe: str, lines: str) -> None:
    # Which instance trains is not known: replaying one's recipe could refute or confirm the wrong one.
    got = confirm(tmp_path, MLP.replace("{recipe}", recipe))
    conf = got[(12, "IL101")]
    assert conf["status"] == "unverified", conf
    assert f"`MLP` is built on lines {lines} and re-initialized differently after each" in conf["detail"], conf


def test_a_conditional_re_initialization_is_not_replayed_nor_ignored(tmp_path: Path) -> None:
    got = confirm(tmp_path, MLP.replace("{recipe}", "if len(__import__('sys').argv) > 1:\n            net.apply(init_weights)"))
    conf = got[(12, "IL101")]
    assert conf["status"] == "unverified" and "does not replay (line 23: if " in conf["detail"], conf


# The class zero-fills its first layer; a builder function re-initializes every instance it makes.
ZERO_CLASS_BUILT_ELSEWHERE = """\
    import torch
    from torch import nn


    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(8, 16)
            self.fc2 = nn.Linear(16, 4)
            nn.init.zeros_(self.fc1.weight)
            nn.init.zeros_(self.fc1.bias)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))


    def build():
        net = MLP()
        net.apply(lambda m: nn.init.xavier_uniform_(m.weight) if isinstance(m, nn.Linear) else None)
        return net
"""


def test_a_re_initialization_in_a_builder_function_leaves_the_class_unverified(tmp_path: Path) -> None:
    # The instance that trains may be the builder's: the class alone would confirm a dead layer that is not.
    got = confirm(tmp_path, ZERO_CLASS_BUILT_ELSEWHERE)
    assert {c["status"] for c in got.values()} == {"unverified"}, got
    assert all("re-initialized where the confirmation does not replay it (line 19: net.apply(" in c["detail"]
               for c in got.values()), got


@pytest.mark.parametrize("recipe", ["net.load_state_dict(torch.load('pretrained.pt'))",
                                    "nn.init.xavier_uniform_(net.fc1.weight)"])
def test_a_re_initialization_in_another_file_leaves_the_class_unverified(tmp_path: Path, recipe: str) -> None:
    (tmp_path / "train.py").write_text(f"import torch\nfrom torch import nn\nfrom model import MLP\n\nnet = MLP()\n{recipe}\n")
    got = confirm(tmp_path, ZERO_CLASS_BUILT_ELSEWHERE.split("\n\n\n    def build")[0] + "\n")
    assert {c["status"] for c in got.values()} == {"unverified"}, got
    assert all("(train.py, line 6" in c["detail"] for c in got.values()), got


INIT_METHOD_CLASS = """\
    import torch


    class MLP(torch.nn.Module):
        def __init__(self, d_in, d_hidden):
            super().__init__()
            self.fc1 = torch.nn.Linear(d_in, d_hidden)
            self.fc2 = torch.nn.Linear(d_hidden, 1, bias=False)

        def init_zeros(self):
            torch.nn.init.zeros_(self.fc1.weight)
            torch.nn.init.zeros_(self.fc1.bias)
            torch.nn.init.zeros_(self.fc2.weight)

        def forward(self, x):
            return self.fc2(torch.sigmoid(self.fc1(x)))
"""


def test_an_init_method_another_file_runs_is_replayed_for_the_finding_inside_it(tmp_path: Path) -> None:
    # model.py never calls init_zeros; driver.py does, right after building an MLP. The static finding
    # in the method is confirmed on the model as the driver makes it (every unit stays identical).
    (tmp_path / "driver.py").write_text("import sys\nfrom model import MLP\n\neta = MLP(1, int(sys.argv[1]))\neta.init_zeros()\n")
    got = confirm(tmp_path, INIT_METHOD_CLASS)
    conf = got[(11, "IL201")]
    assert conf["status"] == "confirmed", conf
    assert conf["evidence"]["recipe"] == "what another file runs on it (driver.py, line 5): init_zeros()", conf


SIGMOID_BCE = """\
    import torch
    from torch import nn


    class Discriminator(nn.Module):
        def __init__(self, ngpu):
            super().__init__()
            self.ngpu = ngpu
            self.main = nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())

        def forward(self, x):
            return self.main(x)


    if __name__ == "__main__":
        net = Discriminator(1)
        criterion = nn.BCELoss()
        loss = criterion(net(torch.randn(4, 8)).view(-1), torch.ones(4))
        loss.backward()
"""


@pytest.mark.parametrize("recipe", ["net.load_state_dict(torch.load('pretrained.pt'))", "net.apply(lambda m: None)"])
def test_a_loss_pairing_is_judged_on_the_structure_whatever_sets_the_weights(tmp_path: Path, recipe: str) -> None:
    # DCGAN's utils.py builds the discriminator, applies its init and returns it: that the weights are
    # set where the confirmation does not replay it does not change where the sigmoid output goes.
    (tmp_path / "utils.py").write_text(f"import torch\nfrom model import Discriminator\n\nnet = Discriminator(1)\n{recipe}\n")
    got = confirm(tmp_path, SIGMOID_BCE)
    conf = got[(18, "IL303")]
    assert conf["status"] == "confirmed", conf


def test_weights_set_through_the_state_dict_are_replayed(tmp_path: Path) -> None:
    # The IBM course's `model.state_dict()['hidden.0.weight'][:] = 1.0`: the state dict's tensors are the
    # model's own, so the recipe sets the built model's weights (it had been measured at its default init).
    recipe = ("net.state_dict()['fc1.weight'][:] = 0.5\n        net.state_dict()['fc1.bias'][:] = 0.0\n"
              "        net.state_dict()['fc2.weight'][:] = 0.5")
    got = confirm(tmp_path, MLP.replace("{recipe}", recipe))
    conf = got[(23, "IL201")]
    assert conf["status"] == "confirmed", conf
    assert "the construction recipe on lines" in conf["evidence"]["recipe"], conf


@pytest.mark.parametrize("call, reason", [
    ("eta.init_zeros()", "re-initialized where the confirmation does not replay it for this line"),
    ("eta.init_zeros(d)", "another file runs `init_zeros()` on it (driver.py, line 5)"),
])
def test_findings_an_init_method_run_elsewhere_may_shape_are_not_judged_without_it(tmp_path: Path, call: str, reason: str) -> None:
    # The zeroed layers make forward's ReLU products dead; those findings came from the model as the
    # driver makes it. Measured on the class as constructed they would be refuted.
    driver = f"from model import MLP\n\nd = 3\neta = MLP(1, 16)\n{call}\n"
    (tmp_path / "driver.py").write_text(driver)
    source = INIT_METHOD_CLASS.replace("def init_zeros(self):", "def init_zeros(self, *scale):").replace(
        "torch.sigmoid", "torch.relu")
    got = confirm(tmp_path, source)
    forward = {k: c for k, c in got.items() if k[0] == 16}
    assert forward and all(c["status"] == "unverified" and reason in c["detail"] for c in forward.values()), got
    inside = got[(11, "IL201")]  # the zeros_ in the method: replayed, unless its argument is not a literal
    assert inside["status"] == ("unverified" if "(d)" in call else "confirmed"), inside


def test_refutation_on_guessed_sizes_stays_unverified(tmp_path: Path) -> None:
    got = confirm(tmp_path, UNSCALED)
    conf = got[(8, "IL401")]
    # At the guessed width 16 two randn layers grow the output ~4.6x, under the 10x threshold.
    assert conf["status"] == "unverified", conf
    assert "guessed constructor arguments (d_in=16, d_hidden=16)" in conf["detail"]
    assert "[tool.initlint.confirm.modules.Unscaled] args = [...]" in conf["detail"]


def test_the_project_sizes_settle_a_guessed_verdict(tmp_path: Path) -> None:
    got = confirm(tmp_path, UNSCALED, "[tool.initlint.confirm.modules.Unscaled]\nargs = [512, 512]\n")
    conf = got[(8, "IL401")]
    assert conf["status"] == "confirmed", conf
    assert "guessed" not in conf["detail"]


FACTORY = """\
    import torch
    from torch import nn


    def make_mlp(width=32):
        net = nn.Sequential(nn.Linear(10, width), nn.ReLU(), nn.Linear(width, 1))
        nn.init.zeros_(net[0].weight)
        for zero in (net[0].bias, net[2].weight):  # nothing feeds the units apart
            nn.init.zeros_(zero)
        return net


    if __name__ == "__main__":
        model = make_mlp({width})
        out = model(torch.randn(3, 10))
"""


@pytest.mark.parametrize("width, origin", [("64", "make_mlp(64) built from the call on line 14"),
                                           ("n", "make_mlp() built from the factory's defaults"),
                                           ("args.width", "make_mlp(width=16) built from small values inferred")])
def test_a_factory_function_is_built_by_calling_it(tmp_path: Path, width: str, origin: str) -> None:
    path = tmp_path / "model.py"
    source = FACTORY.replace("{width}", width)
    if width == "args.width":  # no literal call and no default: guessed, and the verdict says so
        source = source.replace("def make_mlp(width=32):", "def make_mlp(width):")
    path.write_text(textwrap.dedent(source))
    d = Diagnostic(str(path), Span(7, 5, 7, 34), "IL201", "constant-init", Severity.WARNING, "finding")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True, timeout=60)), str(tmp_path))
    assert done.confirmation is not None
    assert done.confirmation.status == "confirmed", done.confirmation
    assert done.confirmation.evidence["model"].startswith(origin.split(" built")[0].split("(")[0])
    assert origin.split(" built from ")[1] in done.confirmation.evidence["model"]
    assert [u["param"] for u in done.confirmation.evidence["units"]] == ["0.weight"]
    assert ("guessed constructor arguments (width=16)" in done.confirmation.detail) == (width == "args.width")


CONSTANT_LINEAR = """\
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 8)
            self.fc2 = nn.Linear(8, 3)
            for layer in (self.fc1, self.fc2):
                nn.init.constant_(layer.weight, 0.5)

        def forward(self, x):
            return self.fc2(self.fc1(x))
"""


def test_il201_hidden_units_fed_apart_by_their_biases_part_a_step_later(tmp_path: Path) -> None:
    # Random biases make fc2's per-hidden-unit columns drift in the first step while fc1's rows stay
    # equal; at the second step fc1's rows get different gradients and part (as they do in training).
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(CONSTANT_LINEAR))
    d = Diagnostic(str(path), Span(11, 13, 11, 48), "IL201", "constant-init", Severity.WARNING, "finding")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True, timeout=60)), str(tmp_path))
    assert done.confirmation is not None
    assert done.confirmation.status == "refuted", done.confirmation
    assert "after two SGD steps" in done.confirmation.detail
    fc1 = next(u for u in done.confirmation.evidence["units"] if u["param"] == "fc1.weight")
    assert fc1["max_diff"] > 1e-4, fc1


SCRIPT = """\
    import pandas as pd
    import torch
    from torch import nn

    WIDTH = 16


    if __name__ == "__main__":
        features = {features}
        model = nn.Sequential(nn.Linear(features.shape[1], WIDTH), nn.ReLU(), nn.Linear(WIDTH, 1))
        print(model)
        with torch.no_grad():
            model[0].weight.fill_(0.25)
            model[2].weight.fill_(0.25)
        model[0].bias.data.zero_()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(100):
            loss = model(features).pow(2).mean()
            loss.backward()
            opt.step()
"""


def test_a_model_built_in_the_main_block_is_confirmed_from_a_slice(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(SCRIPT.replace("{features}", "torch.randn(32, 6)")))
    d = Diagnostic(str(path), Span(13, 13, 13, 40), "IL201", "constant-init", Severity.WARNING, "finding")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True, timeout=60)), str(tmp_path))
    assert done.confirmation is not None
    assert done.confirmation.status == "confirmed", done.confirmation
    assert "lines 9, 10, 12, 15" in done.confirmation.evidence["model"]


def test_a_name_from_data_loading_is_a_hole_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(SCRIPT.replace("{features}", "torch.tensor(pd.read_csv('x.csv').values)")))
    d = Diagnostic(str(path), Span(13, 13, 13, 40), "IL201", "constant-init", Severity.WARNING, "finding")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True, timeout=60)), str(tmp_path))
    assert done.confirmation is not None
    assert done.confirmation.status == "unverified"
    assert "`features` comes from read_csv, line 9" in done.confirmation.detail


CONFIGURED = """\
    from dataclasses import dataclass

    import torch
    from torch import nn


    @dataclass
    class Config:
        n_in: int = 12
        width: int = 24


    class Net(nn.Module):
        def __init__(self, config: Config):
            super().__init__()
            self.fc1 = nn.Linear(config.n_in, config.width)
            self.fc2 = nn.Linear(config.width, 3)
            nn.init.zeros_(self.fc1.weight)
            nn.init.zeros_(self.fc1.bias)
            nn.init.zeros_(self.fc2.weight)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))
"""


def test_a_config_object_comes_from_its_dataclass_defaults(tmp_path: Path) -> None:
    got = confirm(tmp_path, CONFIGURED)
    conf = got[(18, "IL201")]
    assert conf["status"] == "confirmed", conf
    assert conf["evidence"]["model"] == "Net built from the defaults of Config for `config` as Net(config=Config())"
    assert conf["evidence"]["inputs"] == [[2, 12]]
    assert "guessed" not in conf["detail"]


TABLE = """\
    import torch
    from torch import nn


    class Table(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(torch.zeros(100, 8))
            self.proj = nn.Linear(8, 4)

        def forward(self, ids):
            return self.proj(self.table[ids]) * self.table[ids].sum()
"""


def test_an_argument_that_indexes_a_parameter_gets_long_indices(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(TABLE))
    d = Diagnostic(str(path), Span(12, 16, 12, 66), "IL101", "dead-product", Severity.WARNING, "finding")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True, timeout=60)), str(tmp_path))
    assert done.confirmation is not None
    # The bias of proj reaches the table through the product: gradients flow.
    assert done.confirmation.status == "refuted", done.confirmation
    assert done.confirmation.evidence["inputs"] == [[8]]


def test_a_top_level_model_needing_loaded_data_is_a_hole(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent("""\
        import pandas as pd
        from torch import nn

        data = pd.read_csv("train.csv")
        model = nn.Sequential(nn.Linear(data.shape[1], 4), nn.Tanh(), nn.Linear(4, 1))
        nn.init.constant_(model[0].weight, 0.5)
        """))
    d = Diagnostic(str(path), Span(6, 1, 6, 40), "IL201", "constant-init", Severity.WARNING, "finding")
    (done,) = confirm_diagnostics([d], Settings(confirm=ConfirmSettings(enabled=True, timeout=60)), str(tmp_path))
    assert done.confirmation is not None
    assert done.confirmation.status == "unverified"
    assert "`data` comes from read_csv, line 4" in done.confirmation.detail


def test_a_sibling_example_s_own_model_file_is_another_class(tmp_path: Path) -> None:
    # examples/a/train.py re-initializes the Net of examples/a/model.py, not that of examples/b/model.py.
    model = textwrap.dedent(ZERO_CLASS_BUILT_ELSEWHERE.split("\n\n\n    def build")[0] + "\n")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.py").write_text(model)
    (tmp_path / "a" / "train.py").write_text("import torch\nfrom torch import nn\nfrom model import MLP\n\nnet = MLP()\n"
                                             "nn.init.xavier_uniform_(net.fc1.weight)\n")
    proc = subprocess.run([sys.executable, "-m", "initlint", "--no-cache", "--confirm", "--format", "json", "b/model.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    found = json.loads(proc.stdout)
    assert found and {f["confirmation"]["status"] for f in found} == {"confirmed"}, found
