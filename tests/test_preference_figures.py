"""The preference card's figures in quick mode reproduce the card's expected outcomes.

E3 (card §5.2): the fixture numbers per step and per lambda, at half a unit of the card's last
printed digit, except DPO at step 100 (see the module docstring of
rlsandbox.experiments.preference_e3_reverse_kl: the card's numbers are our step 101).
E1 (card §5.2): worst-case DPO KL tracks log C_glo while RLHF and HyPO stay flat and <= R/beta.
"""
from __future__ import annotations

import numpy as np
import pytest

from rlsandbox.experiments import preference_e1_coverage as e1
from rlsandbox.experiments import preference_e3_reverse_kl as e3


@pytest.fixture(scope="module")
def e3_data():
    return e3.run(e3.QUICK, rng=np.random.default_rng(0))


def _at(df, method, lam, step):
    sel = df[(df.method == method) & (df.lam == lam) & (df.step == step) & (df.seed == 0)]
    assert len(sel) == 1
    return float(sel.kl.iloc[0]), float(sel.reward.iloc[0])


@pytest.mark.parametrize("lam, kl, reward", [(0.1, 1.337, 0.791), (0.5, 0.132, 0.733),
                                             (1.0, 0.023, 0.601), (5.0, 0.001, 0.520)])
def test_e3_hypo_fixtures_at_step_10000(e3_data, lam, kl, reward):
    # card E3, printed to 3 decimals: compared at 5e-4
    got_kl, got_r = _at(e3_data, "hypo", lam, 10_000)
    assert abs(got_kl - kl) <= 5e-4 and abs(got_r - reward) <= 5e-4


def test_e3_dpo_fixtures_and_collapse(e3_data):
    kl100, r100 = _at(e3_data, "dpo", 0.0, 100)
    # card: step 100 -> (0.80, 0.944); ours (0.7935, 0.9455) after 100 updates, and exactly
    # the card's numbers after 101: the card counts one more update (documented deviation)
    assert abs(kl100 - 0.80) <= 0.01 and abs(r100 - 0.944) <= 0.002
    kl101, r101 = _at(e3_data, "dpo", 0.0, 101)
    assert abs(kl101 - 0.80) <= 5e-3 and abs(r101 - 0.944) <= 5e-4
    # step >= 1000: KL = log(1/piref(y3)) = log 1e4 = 9.21, E r* = -1.0 (card)
    for step in (1000, 10_000):
        kl, r = _at(e3_data, "dpo", 0.0, step)
        assert abs(kl - 9.21) <= 5e-3 and abs(r + 1.0) <= 0.05
    # lam = 0.02 does not prevent the collapse (card E3, §6 pitfall 8)
    kl, r = _at(e3_data, "hypo", 0.02, 10_000)
    assert kl > 9.0 and r < -0.9


def test_e3_rloo_hypo_avoids_the_collapse(e3_data):
    rl = e3_data[e3_data.method == "hypo_rloo"]
    last = rl[rl.step == rl.step.max()]
    # the sampled KL gradient keeps every seed far from the collapse (KL 9.21)
    assert (last.kl < 0.5).all() and (last.reward > 0.4).all()


@pytest.fixture(scope="module")
def e1_data():
    return e1.run(e1.QUICK, rng=np.random.default_rng(0))


def test_e1_dpo_worst_kl_tracks_log_cglo(e1_data):
    p2 = e1_data[(e1_data.instance == "P2") & (e1_data.method == "dpo_member")]
    small = p2[p2.delta <= 1e-4]
    # card E1: worst-case DPO KL ~ log C_glo = log(1/delta) (a straight line in log delta);
    # KL(pi^delta || piref) = log(1/delta) - O(delta e^{...}) once the member has collapsed
    assert (np.abs(small.kl - np.log(1 / small.delta)) <= 0.01 * np.log(1 / small.delta)).all()


def test_e1_rlhf_and_hypo_flat_below_r_over_beta(e1_data):
    for method in ("rlhf_worst_found", "rlhf", "hypo_constrained_worst", "hypo_min_kl"):
        sub = e1_data[e1_data.method == method]
        assert not sub.empty
        assert (sub.kl <= sub.R_over_beta + 1e-12).all(), method
    p2 = e1_data[(e1_data.instance == "P2") & (e1_data.method == "rlhf_worst_found")]
    assert np.ptp(p2.kl) <= 0.5                         # flat in delta (card: KL ~ 0.20)
