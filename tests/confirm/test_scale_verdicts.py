"""IL401's verdict on a measured stack (checks.scale): a flagged later layer's own gain counts as
the first layer's does, so a stack whose RMS stays within the ratio is not refuted on it."""

from __future__ import annotations

import pytest

from initlint.confirm.checks import scale

# Two layers whose output RMS grows 6x from the first to the last (within 10x); W1 is fan-in scaled.
MEASURED = {"layers": ["W1", "W2"], "rms": [1.2, 7.2], "input_rms": 1.0, "inputs": {"x": [2, 784]}}


@pytest.mark.parametrize(
    ("w2_gain", "status"),
    [(14.0, "confirmed"), (8.7, "unverified"), (1.3, "refuted")],
)
def test_a_flagged_later_layer_that_grows_what_it_reads(w2_gain: float, status: str) -> None:
    verdict = scale(dict(MEASURED, gains={"W2": w2_gain}), 10.0)
    assert verdict.status == status, verdict
    if status != "refuted":
        assert "W2 itself scales the RMS of what it reads" in verdict.detail
    else:
        assert verdict.detail.endswith("within 10x")


def test_behind_a_sigmoid_a_shrinking_layer_is_confirmed_too() -> None:
    verdict = scale(dict(MEASURED, gains={"W2": 0.05}, bounded=True), 10.0)
    assert verdict.status == "confirmed" and "held by a sigmoid or tanh" in verdict.detail


def test_a_shrink_across_a_sigmoid_is_the_bound_s_not_the_init_s() -> None:
    # A two-moons net at N(0, 1) on a guessed width: the last layer reads sigmoid outputs.
    m = {"layers": ["0.kernel", "1.kernel"], "rms": [2.45, 0.244], "input_rms": 1.0, "bounded": True, "inputs": [[2, 8]]}
    verdict = scale(m, 10.0)
    assert verdict.status == "unverified" and "bounds their inputs" in verdict.detail, verdict


def test_a_first_layer_that_grows_the_input_confirms_across_a_sigmoid_too() -> None:
    # Nielsen's N(0, 1) on 784 inputs: RMS 1 -> 30, then a sigmoid.
    m = {"layers": ["0.kernel", "1.kernel"], "rms": [30.7, 3.01], "input_rms": 1.03, "bounded": True, "inputs": [[2, 784]]}
    verdict = scale(m, 10.0)
    assert verdict.status == "confirmed" and "its first layer alone scales what it reads" in verdict.detail, verdict

