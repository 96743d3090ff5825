"""LOOP card claims (paper "loop"): each holds on its quick instances and its negative control
is caught, through the claims framework; the adversarial named instances behave as their
docstrings derive."""
from __future__ import annotations

import numpy as np
import pytest

import rlsandbox as rls
from rlsandbox.algorithms.loop import true_hypothesis
from rlsandbox.dp.average import diameter
from rlsandbox.proofs_check import REGISTRY, run_claim
from rlsandbox.proofs_check import loop as loop_claims

LOOP = [cid for cid in REGISTRY if cid.startswith("loop.")]
EPS = np.finfo(np.float64).eps


def test_every_card_claim_is_registered():
    assert set(LOOP) == {c.id for c in loop_claims.CLAIMS}
    assert {"loop.he2024.boe", "loop.he2024.thm.regret", "loop.he2024.lem.switching",
            "loop.he2024.lem.optimism", "loop.he2024.decomp", "loop.jaksch2010.episodes",
            "loop.jaksch2010.evi", "loop.he2024.span_diameter", "loop.he2024.agec.linear",
            "loop.he2024.reduction.linear", "loop.jaksch2010.thm2",
            "loop.wu2022.ucrl2vtr", "loop.he2024.span_needed",
            "loop.he2024.thm.regret.scaled_gap", "loop.he2024.reduction.finite_grid",
            "loop.he2024.boe.plain_vi", "loop.he2024.thm.regret.ratio",
            "loop.jaksch2010.evi.stopping", "loop.he2024.span_needed.weakly",
            "loop.wei2021.fopo", "loop.he2024.lem.optimism.rectangular",
            "loop.wu2022.ucrl2vtr.scaled_gap", "loop.wei2021.olsvi_fh",
            "loop.jaksch2010.thm2.bound"} == set(LOOP)
    marks = {c.id: c.provenance for c in loop_claims.CLAIMS}
    # card marks: C1/C2 [R] -> unverified; C3 radius and C4 derived; C0, C8 standard [V]
    assert marks["loop.he2024.thm.regret"] == marks["loop.he2024.lem.switching"] == "unverified"
    assert marks["loop.he2024.decomp"] == marks["loop.he2024.lem.optimism"] == "derived"
    # C5 [R/S], C7 (b) and C9 recollected baseline rates -> unverified; C6 [D/S] -> derived
    assert marks["loop.he2024.agec.linear"] == marks["loop.jaksch2010.thm2"] == \
        marks["loop.wu2022.ucrl2vtr"] == "unverified"
    assert marks["loop.he2024.reduction.linear"] == "derived"
    # C1 (ii) [R] -> unverified; C6 (iii) [D/S] -> derived
    assert marks["loop.he2024.thm.regret.scaled_gap"] == "unverified"
    assert marks["loop.he2024.reduction.finite_grid"] == "derived"
    # C0's first control and C8 (ii) standard [V] -> paper; C1 (iii) [R] and C10 [S]
    # statements about LOOP -> unverified
    assert marks["loop.he2024.boe.plain_vi"] == marks["loop.jaksch2010.evi.stopping"] == "paper"
    assert marks["loop.he2024.thm.regret.ratio"] == \
        marks["loop.he2024.span_needed.weakly"] == "unverified"
    # C9's FOPO half, its (d, T) exponents and OLSVI.FH's rate are recalled baseline
    # rates [R/V] -> unverified; (d-ii)'s optimism follows from the superset argument of card
    # §3.9 (d)(ii) [S/D] -> derived
    assert marks["loop.wei2021.fopo"] == marks["loop.wu2022.ucrl2vtr.scaled_gap"] == \
        marks["loop.wei2021.olsvi_fh"] == "unverified"
    assert marks["loop.he2024.lem.optimism.rectangular"] == "derived"
    # C7 (c): UCRL2's Thm 2 is a recollected baseline guarantee ("standard, recollection —
    # mark unverified", card §3.6) -> unverified
    assert marks["loop.jaksch2010.thm2.bound"] == "unverified"


#: Session-2 claims run by `rlsandbox verify loop --quick` in CI; here only under -m slow, so the
#: default test run does not grow (they cost ~2 s each).
_SLOW = {"loop.he2024.thm.regret.scaled_gap", "loop.he2024.reduction.finite_grid"}


@pytest.mark.parametrize("claim_id", [pytest.param(c, marks=pytest.mark.slow) if c in _SLOW
                                      else c for c in LOOP])
def test_claim_holds_and_control_is_caught(claim_id):
    r = run_claim(claim_id, quick=True, seed=0)
    assert r.holds, (claim_id, r.verdict)
    assert r.caught, (claim_id, r.control)


def test_coin_flip_closed_form():
    # uniform transitions: V*(s) = max_a R[s, a] - J*, sp(V*) = spread (S - 1)
    m = loop_claims.coin_flip(S=3, A=2, spread=0.04)
    f = true_hypothesis(m)
    assert f.J == pytest.approx(np.mean(m.R.max(axis=1)), abs=1e-15)
    assert f.V.max() - f.V.min() == pytest.approx(0.08, abs=1e-14)


@pytest.mark.parametrize("n", [3, 4, 6, 8])
def test_span_diameter_bound_is_attained_on_riverswim(n):
    # docstring of the span claim: V*(n-1) - V*(0) = J* E[tau_{0 -> n-1}] = J* D on RiverSwim
    mdp = rls.mdps.riverswim(n, gamma=1.0)
    f = true_hypothesis(mdp)
    D = diameter(mdp)
    # the claim's own round-off allowance (LU forward error with cond <= 2 D)
    tol = 12.0 * n * EPS * D * 2 * (f.V.max() - f.V.min())
    assert f.V.max() - f.V.min() == pytest.approx(f.J * D, abs=tol)


def test_weakly_communicating_riverswim_has_infinite_diameter_and_riverswims_gain():
    # card §5.2 weakly-communicating variant on RiverSwim (claim C10, weakly): nothing enters
    # the entry states, so D = inf, while sp(V*) stays finite and J* is RiverSwim-3's; on the
    # entry states V*(n + j) = V*(0) - (n_entry - j) J* (each step there earns 0, then state 0)
    m = loop_claims.riverswim_weak(3, n_entry=2)
    assert np.isinf(diameter(m))
    f, base = true_hypothesis(m), true_hypothesis(rls.mdps.riverswim(3, gamma=1.0))
    assert f.J == pytest.approx(base.J, abs=1e-12)
    assert f.V[3] - f.V[0] == pytest.approx(-2 * f.J, abs=1e-10)
    assert f.V[4] - f.V[0] == pytest.approx(-f.J, abs=1e-10)


@pytest.mark.parametrize("q,r_stay", [(0.05, 0.1), (0.1, 0.3), (0.02, 0.0)])
def test_two_state_switch_closed_form(q, r_stay):
    # docstring of rlsandbox.mdps.loop.two_state_switch: J* = 1/(1+q), sp(V*) = J* (state 0's
    # equation J* + V(0) = 0 + V(1)), D = 1 (each state reaches the other in one step);
    # tolerances: float64 round-off of the PI solve on a 2-state chain (a few eps / q)
    from rlsandbox.mdps.loop import two_state_switch
    m = two_state_switch(q, r_stay)
    f = true_hypothesis(m)
    assert f.J == pytest.approx(1.0 / (1.0 + q), abs=100 * EPS / q)
    assert f.V[1] - f.V[0] == pytest.approx(f.J, abs=100 * EPS / q)
    assert diameter(m) == pytest.approx(1.0, abs=100 * EPS)
    # below the card's own small instances: UCRL2's bound is below T J* from T ~ 1.5e5 on
    from rlsandbox.algorithms.loop import ucrl2_regret_bound
    assert ucrl2_regret_bound(2 ** 18, 1.0, 2, 2, 0.05) < 2 ** 18 * f.J
    with pytest.raises(ValueError, match="r_stay"):
        two_state_switch(q, 0.99)
