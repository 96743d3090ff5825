"""Hypothesis strategies for property-based tests of RL theory.

Every strategy draws a *valid* problem by construction, so a property test never wastes
examples on ``assume`` filters:

* a distribution over ``n`` outcomes is drawn as normalised exponentials,
  ``p_i = keep_i exp(x_i) / sum_j keep_j exp(x_j)`` with logits ``x_i`` in [-4, 4] and a keep mask
  in which one drawn index is always kept, so rows may hold exact zeros (sparse supports) and
  still sum to 1 up to float64 round-off (a few ulps; the models' tolerance is 1e-9);
* sizes, discounts and horizons accept a fixed value, a ``(lo, hi)`` range (inclusive) or any
  hypothesis strategy, so a test can pin what it needs and let hypothesis vary the rest.

Hypothesis shrinks logits to 0 and masks to "drop", so a failing example shrinks towards
deterministic transitions to state 0 and uniform rows: small, readable counterexamples.

Strategies
----------
tabular_mdps      :class:`~rlsandbox.TabularMDP` (dense or CSR; optional terminal states)
policies          stochastic ``(S, A)`` or deterministic ``(S,)`` policies for a given model
                  (``(H, S, A)`` / ``(H, S)`` for finite-horizon models)
finite_horizon_mdps  :class:`~rlsandbox.FiniteHorizonMDP` with per-step kernels
linear_mdps       :class:`~rlsandbox.linear.LinearMDP` with simplex features (valid kernels)
datasets          offline transition datasets sampled from a model with a drawn seed
outcome_mdps      :class:`~rlsandbox.algorithms.distributional.OutcomeMDP` (random rewards,
                  exact rationals or float; finite or infinite horizon)
finite_dists      :class:`~rlsandbox.algorithms.distributional.FiniteDist` return laws
initial_stocks    initial stocks c0 on a lattice (the card's RG draws c0 in (1/2)Z ∩ [-4, 4])

Example
-------
A property test of the contraction of the Bellman optimality operator
``||T V - T W||_inf <= gamma ||V - W||_inf`` [puterman2005, Prop 6.2.4], with a float64
allowance for the sums over ``S`` terms:

>>> import numpy as np
>>> from hypothesis import given, settings, strategies as st
>>> from hypothesis.extra.numpy import arrays
>>> import rlsandbox as rls
>>> from rlsandbox.testing import tabular_mdps
>>> values = arrays(np.float64, 4, elements=st.floats(-10, 10))
>>> @settings(max_examples=20, deadline=None, database=None)
... @given(tabular_mdps(S=4, A=(1, 3), gamma=(0.0, 0.99)), values, values)
... def test_contraction(mdp, V, W):
...     TV, _ = rls.bellman_optimality(mdp, V)
...     TW, _ = rls.bellman_optimality(mdp, W)
...     fp = 4 * (mdp.S + 2) * np.finfo(float).eps * (1 + np.abs(mdp.R).max() + 10)
...     assert np.abs(TV - TW).max() <= mdp.gamma * np.abs(V - W).max() + fp
>>> test_contraction()

A model and a policy for it, drawn together:

>>> @settings(max_examples=10, deadline=None, database=None)
... @given(tabular_mdps(S=(1, 4)).flatmap(lambda m: st.tuples(st.just(m), policies(m))))
... def test_value_shape(mdp_pi):
...     mdp, pi = mdp_pi
...     assert rls.evaluate(mdp, pi).shape == (mdp.S,)
>>> test_value_shape()
"""
from __future__ import annotations

import numbers
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.mdp import FiniteHorizonMDP, TabularMDP

__all__ = ["tabular_mdps", "policies", "finite_horizon_mdps", "linear_mdps", "datasets",
           "simplex", "outcome_mdps", "finite_dists", "initial_stocks"]

#: Logits of drawn distributions lie in [-LOGIT, LOGIT]: nonzero probabilities of one row then
#: differ by a factor of at most exp(2 LOGIT) ~ 3000, which keeps tiny models well scaled.
LOGIT = 4.0


# --------------------------------------------------------------- argument specs
def _int_spec(name: str, spec: Any, *, low: int) -> SearchStrategy[int]:
    """An int strategy from an int, an inclusive ``(lo, hi)`` range or a strategy."""
    if isinstance(spec, SearchStrategy):
        return spec
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise ValueError(f"{name} == {spec!r}; a range is a pair (lo, hi), e.g. {name}=(1, 5)")
        lo = check_int(f"{name}[0]", spec[0], low=low)
        hi = check_int(f"{name}[1]", spec[1], low=lo)
        return st.integers(lo, hi)
    return st.just(check_int(name, spec, low=low))


def _float_spec(name: str, spec: Any, *, low: float, high: float) -> SearchStrategy[float]:
    """A float strategy in [low, high] from a number, a ``(lo, hi)`` range or a strategy."""
    if isinstance(spec, SearchStrategy):
        return spec
    if isinstance(spec, (tuple, list)):
        if len(spec) != 2:
            raise ValueError(f"{name} == {spec!r}; a range is a pair (lo, hi), e.g. "
                             f"{name}=(0.0, 0.95)")
        lo = check_in_range(f"{name}[0]", spec[0], low=low, high=high)
        hi = check_in_range(f"{name}[1]", spec[1], low=lo, high=high)
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return st.just(check_in_range(name, spec, low=low, high=high))


def _bool_spec(name: str, spec: Any) -> SearchStrategy[bool]:
    if isinstance(spec, SearchStrategy):
        return spec
    if not isinstance(spec, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool or a strategy of bools (e.g. st.booleans()), "
                        f"got {type(spec).__name__} {spec!r}")
    return st.just(bool(spec))


def _range_pair(name: str, spec: Any) -> tuple[float, float]:
    if not (isinstance(spec, (tuple, list)) and len(spec) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec)):
        raise TypeError(f"{name} must be a pair (lo, hi) of real numbers, got {spec!r}")
    lo, hi = float(spec[0]), float(spec[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ValueError(f"{name} == {spec!r}; expected finite lo <= hi")
    return lo, hi


# ------------------------------------------------------------------ distributions
def _draw_simplex(draw, shape: tuple[int, ...], n: int, *, zeros: bool,
                  support: np.ndarray | None = None) -> np.ndarray:
    """Rows ``(*shape, n)`` that are distributions (see the module docstring).

    ``support`` (bool ``(n,)``): if given, the always-kept entry of each row is drawn from it,
    so every row puts positive mass on ``support``.
    """
    logits = draw(hnp.arrays(np.float64, (*shape, n),
                             elements=st.floats(-LOGIT, LOGIT, allow_nan=False)))
    w = np.exp(logits)
    if zeros or support is not None:
        keep = draw(hnp.arrays(np.bool_, (*shape, n))) if zeros else np.ones((*shape, n), bool)
        allowed = np.arange(n) if support is None else np.flatnonzero(support)
        pos = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, allowed.size - 1)))
        np.put_along_axis(keep, allowed[pos][..., None], True, axis=-1)
        w = w * keep
    return w / w.sum(axis=-1, keepdims=True)


@st.composite
def _simplex(draw, n, shape, zeros):
    return _draw_simplex(draw, draw(shape), draw(n), zeros=zeros)


def simplex(n: Any, *, shape: tuple[int, ...] = (), zeros: bool = True) -> SearchStrategy[np.ndarray]:
    """Arrays ``(*shape, n)`` of float64 whose last axis rows are probability distributions.

    Each row is ``keep * exp(x) / sum(keep * exp(x))`` with logits ``x`` in [-4, 4]; with
    ``zeros=True`` a drawn mask zeroes some entries (one drawn entry is always kept), so rows
    have sparse supports but always sum to 1 within a few ulps.

    Parameters
    ----------
    n : int, (lo, hi) or strategy
        Number of outcomes (>= 1).
    shape : tuple of int
        Leading shape (a batch of rows).
    zeros : bool
        Allow exact zeros.

    Examples
    --------
    >>> import numpy as np
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(simplex(5, shape=(3,)))
    ... def test_rows(p):
    ...     assert p.shape == (3, 5) and (p >= 0).all()
    ...     assert np.allclose(p.sum(-1), 1, rtol=0, atol=1e-12)
    >>> test_rows()
    """
    shape = tuple(check_int(f"shape[{i}]", k, low=0) for i, k in enumerate(shape))
    return _simplex(_int_spec("n", n, low=1), st.just(shape), bool(zeros))


# ------------------------------------------------------------------ tabular MDPs
@st.composite
def _tabular_mdps(draw, S, A, gamma, sparse, terminal, zeros, reward):
    S, A, g = draw(S), draw(A), draw(gamma)
    term = np.zeros(S, dtype=bool)
    if terminal:
        n_term = draw(st.integers(1, max(1, S - 1)))
        term[draw(st.permutations(range(S)))[:n_term]] = True
    P = _draw_simplex(draw, (S, A), S, zeros=zeros,
                      support=term if terminal == "proper" else None)
    R = draw(hnp.arrays(np.float64, (S, A), elements=st.floats(*reward, allow_nan=False)))
    for s in np.flatnonzero(term):                  # absorbing, zero reward
        P[s] = 0.0
        P[s, :, s] = 1.0
        R[s] = 0.0
    rho = _draw_simplex(draw, (), S, zeros=zeros)
    if draw(sparse):
        P = sp.csr_array(P.reshape(S * A, S))
    return TabularMDP(P, R, g, rho=rho, terminal=term if terminal else None)


def tabular_mdps(*, S: Any = (1, 5), A: Any = (1, 3), gamma: Any = (0.0, 0.95),
                 sparse: Any = False, terminal: bool | str = False, zeros: bool = True,
                 reward: tuple[float, float] = (-1.0, 1.0)) -> SearchStrategy[TabularMDP]:
    """Valid :class:`~rlsandbox.TabularMDP` instances.

    Parameters
    ----------
    S, A : int, (lo, hi) or strategy
        Numbers of states and actions (>= 1); a pair is an inclusive range.
    gamma : float, (lo, hi) or strategy
        Discount in [0, 1]. The default keeps ``1/(1-gamma) <= 20`` so that solves are fast.
    sparse : bool or strategy of bools
        Store ``P`` as scipy.sparse CSR ``(S*A, S)`` (``st.booleans()`` draws both kinds).
    terminal : False, True or "proper"
        True adds between 1 and ``max(1, S-1)`` absorbing zero-reward terminal states (a drawn
        subset). "proper" additionally gives every non-terminal row positive probability of
        entering a terminal state, so *every* policy is proper and ``gamma == 1`` values exist.
    zeros : bool
        Let rows of ``P`` and ``rho`` contain exact zeros (sparse supports). With
        ``zeros=False`` every entry of P is positive (every chain is irreducible and aperiodic
        unless ``terminal`` is set).
    reward : (lo, hi)
        Range of ``R[s, a]`` (terminal states get 0).

    Returns
    -------
    SearchStrategy[TabularMDP]
        ``P`` dense ``(S, A, S)`` or CSR, ``R (S, A)``, drawn ``rho (S,)`` and ``terminal``.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, deadline=None, database=None)
    ... @given(tabular_mdps(S=3, A=2, gamma=0.9, sparse=True))
    ... def test_pi_converges(mdp):
    ...     assert mdp.is_sparse and rls.solve(mdp, method="pi").converged
    >>> test_pi_converges()
    """
    if terminal not in (False, True, "proper"):
        raise ValueError(f"terminal == {terminal!r}; expected False, True or 'proper'")
    return _tabular_mdps(_int_spec("S", S, low=1), _int_spec("A", A, low=1),
                         _float_spec("gamma", gamma, low=0.0, high=1.0),
                         _bool_spec("sparse", sparse), terminal, bool(zeros),
                         _range_pair("reward", reward))


# ------------------------------------------------------------------ policies
@st.composite
def _policies(draw, S, A, leading, deterministic, zeros):
    det = draw(deterministic)
    if det:
        return draw(hnp.arrays(np.int64, (*leading, S), elements=st.integers(0, A - 1)))
    return _draw_simplex(draw, (*leading, S), A, zeros=zeros)


def policies(mdp: Any, *, deterministic: Any = None, zeros: bool = True) -> SearchStrategy[np.ndarray]:
    """Policies for ``mdp``: stochastic float64 ``(S, A)`` or deterministic int64 ``(S,)``.

    For a model with a horizon (``mdp.H`` not None, e.g. :class:`~rlsandbox.FiniteHorizonMDP`)
    the policies are non-stationary, ``(H, S, A)`` or ``(H, S)``.

    Parameters
    ----------
    mdp : object with ``S``, ``A`` (and optionally ``H``)
    deterministic : None, bool or strategy of bools
        None draws both kinds.
    zeros : bool
        Let stochastic policies put zero probability on some actions.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from hypothesis import given, settings
    >>> mdp = rls.TabularMDP(np.full((3, 2, 3), 1 / 3), np.zeros((3, 2)), gamma=0.9)
    >>> @settings(max_examples=10, database=None)
    ... @given(policies(mdp, deterministic=True))
    ... def test_det(pi):
    ...     assert pi.shape == (mdp.S,) and pi.dtype == np.int64
    >>> test_det()
    """
    S = check_int("mdp.S", mdp.S, low=1)
    A = check_int("mdp.A", mdp.A, low=1)
    H = getattr(mdp, "H", None)
    leading = () if H is None else (check_int("mdp.H", H, low=1),)
    det = st.booleans() if deterministic is None else _bool_spec("deterministic", deterministic)
    return _policies(S, A, leading, det, bool(zeros))


# ------------------------------------------------------------- finite horizon
@st.composite
def _finite_horizon_mdps(draw, H, S, A, zeros, reward):
    H, S, A = draw(H), draw(S), draw(A)
    P = _draw_simplex(draw, (H, S, A), S, zeros=zeros)
    R = draw(hnp.arrays(np.float64, (H, S, A), elements=st.floats(*reward, allow_nan=False)))
    rho = _draw_simplex(draw, (), S, zeros=zeros)
    return FiniteHorizonMDP(P, R, rho=rho)


def finite_horizon_mdps(*, H: Any = (1, 4), S: Any = (1, 4), A: Any = (1, 3),
                        zeros: bool = True,
                        reward: tuple[float, float] = (-1.0, 1.0)) -> SearchStrategy[FiniteHorizonMDP]:
    """Valid :class:`~rlsandbox.FiniteHorizonMDP` instances with per-step ``P (H, S, A, S)``,
    ``R (H, S, A)`` and a drawn ``rho (S,)``; arguments as in :func:`tabular_mdps`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(finite_horizon_mdps(H=3, S=2, A=2))
    ... def test_shapes(fh):
    ...     assert fh.P.shape == (3, 2, 2, 2) and fh.R.shape == (3, 2, 2)
    >>> test_shapes()
    """
    return _finite_horizon_mdps(_int_spec("H", H, low=1), _int_spec("S", S, low=1),
                                _int_spec("A", A, low=1), bool(zeros), _range_pair("reward", reward))


# ------------------------------------------------------------------ linear MDPs
@st.composite
def _linear_mdps(draw, S, A, d, H, gamma, d_rectangular, zeros, reward):
    from rlsandbox.linear import LinearMDP

    S, A, d, H = draw(S), draw(A), draw(d), draw(H)
    steps = () if H is None else (H,)
    phi = _draw_simplex(draw, (S, A), d, zeros=zeros)            # phi[s, a] in the simplex
    mu = _draw_simplex(draw, (*steps, d), S, zeros=zeros)        # factor distributions
    theta = draw(hnp.arrays(np.float64, (*steps, d), elements=st.floats(*reward, allow_nan=False)))
    if not draw(d_rectangular):
        # Householder reflection M = I - 2 v v^T / |v|^2 (orthogonal, M^{-1} = M): phi M and
        # M mu, M theta give the same P = phi mu and R = phi theta, with signed features.
        v = draw(hnp.arrays(np.float64, d, elements=st.floats(-1.0, 1.0, allow_nan=False)))
        v[draw(st.integers(0, d - 1))] += 2.0                    # |v| >= 1: no cancellation
        M = np.eye(d) - 2.0 * np.outer(v, v) / (v @ v)
        phi, mu, theta = phi @ M, M @ mu, theta @ M              # M symmetric: M theta = theta M
    rho = _draw_simplex(draw, (), S, zeros=zeros)
    g = None if H is not None else draw(gamma)
    return LinearMDP(phi, mu, theta, gamma=g, H=H, rho=rho)


def linear_mdps(*, S: Any = (1, 5), A: Any = (1, 3), d: Any = (1, 4), H: Any = None,
                gamma: Any = (0.0, 0.95), d_rectangular: Any = True, zeros: bool = True,
                reward: tuple[float, float] = (-1.0, 1.0)) -> SearchStrategy:
    """Valid :class:`~rlsandbox.linear.LinearMDP` instances ``P = phi @ mu``, ``R = phi @ theta``.

    Features ``phi[s, a]`` are drawn in the probability simplex of ``R^d`` and every factor
    ``mu[i, :]`` as a distribution over states, so the implied kernel is valid by construction
    (the d-rectangular case [r2pvi, §2.1]). With ``d_rectangular=False`` the features are then
    mixed by a random Householder reflection ``M`` (``phi M``, ``M mu``, ``M theta``): the same
    kernel and reward up to round-off, but signed features and factors.

    Parameters
    ----------
    S, A, d : int, (lo, hi) or strategy
        States, actions, feature dimension (>= 1).
    H : None, int, (lo, hi) or strategy
        None draws a stationary model (``mu (d, S)``, ``theta (d,)``) with discount ``gamma``;
        otherwise a finite-horizon model with per-step ``mu (H, d, S)``, ``theta (H, d)``
        (``gamma`` is then not used).
    gamma : float, (lo, hi) or strategy
        Discount of stationary models.
    d_rectangular : bool or strategy of bools
    zeros : bool
        Let ``phi`` rows, factors and ``rho`` contain exact zeros.
    reward : (lo, hi)
        Range of ``theta`` entries (so ``R`` lies in it too when d-rectangular).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=10, database=None)
    ... @given(linear_mdps(S=3, A=2, d=2, H=4))
    ... def test_tabular(lin):
    ...     fh = lin.to_tabular()
    ...     assert fh.P.shape == (4, 3, 2, 3) and lin.is_d_rectangular
    >>> test_tabular()
    """
    H_st = st.none() if H is None else _int_spec("H", H, low=1)
    return _linear_mdps(_int_spec("S", S, low=1), _int_spec("A", A, low=1),
                        _int_spec("d", d, low=1), H_st,
                        _float_spec("gamma", gamma, low=0.0, high=1.0),
                        _bool_spec("d_rectangular", d_rectangular), bool(zeros),
                        _range_pair("reward", reward))


# ------------------------------------------------------------------ datasets
@st.composite
def _datasets(draw, mdp, n, pi, states):
    from rlsandbox.sampling import transitions

    n = draw(n)
    if pi is None:
        pi = draw(policies(mdp, deterministic=False))
    if states is None:      # the occupancy of pi where it is defined, else rho
        fh = isinstance(mdp, FiniteHorizonMDP)
        states = "occupancy" if fh or mdp.gamma < 1.0 else mdp.rho
    seed = draw(st.integers(0, 2**32 - 1))
    return transitions(mdp, pi, n=n, rng=np.random.default_rng(seed), states=states)


def datasets(mdp: TabularMDP | FiniteHorizonMDP, *, n: Any = (1, 50), pi: Any = None,
             states: Any = None) -> SearchStrategy:
    """Offline datasets of i.i.d. transitions ``(s, a, r, s_next)`` sampled from ``mdp``.

    Draws a seed (and, unless ``pi`` is given, a stochastic behaviour policy from
    :func:`policies`), then calls :func:`rlsandbox.sampling.transitions` with
    ``rng=numpy.random.default_rng(seed)``; hypothesis shrinks the seed and ``n``, and a
    failing example replays bit for bit. Every row is consistent with the model: ``P[s, a,
    s_next] > 0`` and ``r`` is the model's reward.

    Parameters
    ----------
    mdp : TabularMDP or FiniteHorizonMDP
    n : int, (lo, hi) or strategy
        Number of transitions (per step for a finite-horizon model).
    pi : array, optional
        Behaviour policy (``(S, A)`` or ``(S,)``, per step for finite horizon); drawn if None.
    states : None, "occupancy" or array (S,)
        State distribution of the rows; None uses the discounted occupancy of ``pi`` from
        ``mdp.rho`` when ``gamma < 1`` (and per-step marginals for finite horizon), else ``rho``.

    Returns
    -------
    SearchStrategy[rlsandbox.sampling.Transitions]
        ``s, a, s_next (m,) int64``, ``r (m,) float64``, ``mu`` the exact ``(S, A)``
        distribution of ``(s, a)``.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from hypothesis import given, settings
    >>> mdp = rls.TabularMDP(np.full((3, 2, 3), 1 / 3), np.ones((3, 2)), gamma=0.5)
    >>> @settings(max_examples=10, deadline=None, database=None)
    ... @given(datasets(mdp, n=(1, 20)))
    ... def test_rows(data):
    ...     assert (mdp.P[data.s, data.a, data.s_next] > 0).all() and (data.r == 1).all()
    >>> test_rows()
    """
    if not isinstance(mdp, (TabularMDP, FiniteHorizonMDP)):
        raise TypeError(f"datasets expects a TabularMDP or FiniteHorizonMDP, got "
                        f"{type(mdp).__name__}; for a linear MDP pass lin.to_tabular()")
    return _datasets(mdp, _int_spec("n", n, low=1), pi, states)


# ------------------------------------------------- distributional DP (finite outcomes)
#: Discounts of the card's random generator RG [avilapires2025 via card distributional_dp.md
#: §4]; infinite horizons use those below 1.
_RG_GAMMAS = (Fraction(1), Fraction(1, 2), Fraction(9, 10))


def _gamma_spec(gamma: Any, exact: bool, infinite: bool) -> SearchStrategy:
    if isinstance(gamma, SearchStrategy):
        return gamma
    if gamma is None:
        choices = [g for g in _RG_GAMMAS if not (infinite and g == 1)]
        return st.sampled_from(choices if exact else [float(g) for g in choices])
    return st.just(gamma)


@st.composite
def _outcome_mdps(draw, S, A, H, gamma, outcomes, rewards, exact, acyclic):
    from rlsandbox.algorithms.distributional.model import OutcomeMDP

    n_s, n_a = draw(S), draw(A)
    horizon = draw(H)
    g = draw(gamma)
    rows = []
    for s in range(n_s):
        acts = []
        for _a in range(n_a):
            k = draw(outcomes)
            if exact:
                # integer weights 1..4: probabilities such as (1/2, 1/2), (1/4, 3/4) of RG
                w = [draw(st.integers(1, 4)) for _ in range(k)]
                probs = [Fraction(v, sum(w)) for v in w]
                rs = [Fraction(draw(st.integers(*rewards))) for _ in range(k)]
            else:
                probs = _draw_simplex(draw, (), k, zeros=False).tolist()
                rs = [draw(st.floats(*rewards, allow_nan=False)) for _ in range(k)]
            nxt = [draw(st.integers(s + 1 if acyclic else 0, n_s)) for _ in range(k)]
            acts.append(list(zip(probs, rs, nxt)))
        rows.append(acts)
    rows.append([])                                # the terminal state n_s (the card's ⊥)
    return OutcomeMDP(rows, gamma=g, H=horizon, exact=exact)


def outcome_mdps(*, S: Any = (1, 2), A: Any = (1, 2), H: Any = (1, 3), gamma: Any = None,
                 outcomes: Any = (1, 2), rewards: tuple[int, int] = (-2, 3),
                 exact: bool = True, acyclic: bool = False) -> SearchStrategy:
    """Finite-outcome MDPs :class:`~rlsandbox.algorithms.distributional.OutcomeMDP` of the
    distributional-DP card, generalising its random generator RG [avilapires2025 via card
    distributional_dp.md §4].

    ``S`` non-terminal states ``0..S-1`` (start state 0) plus the terminal state ``S``
    (absorbing, reward 0); every state has ``A`` actions; each (s, a) has ``outcomes``
    (p, r, s') triples with next states uniform on ``0..S`` (on ``s+1..S`` if ``acyclic``:
    every path ends within S steps, so return laws of infinite-horizon models are finite).
    Exact models: integer rewards in ``rewards`` (inclusive) and probabilities ``w_i / sum w``
    with integer weights ``w_i`` in 1..4, all Fractions. Float models: float rewards in
    ``rewards`` and probabilities as in :func:`simplex` (no zeros). Outcomes with equal
    (r, s') are merged by the model. RG itself is ``S=2, A=2, H=3, outcomes=(1, 2)`` with
    probabilities (1/2, 1/2) or (1/4, 3/4) and rewards in {-2, ..., 3}.

    Parameters
    ----------
    S, A, outcomes : int, (lo, hi) or strategy
    H : int, (lo, hi), strategy, or None for the infinite discounted horizon
    gamma : number, strategy or None
        None draws from the card's {1, 1/2, 9/10} (Fractions if exact; without 1 when ``H``
        is None, which needs gamma < 1).
    rewards : (lo, hi) pair of ints
    exact, acyclic : bool

    Examples
    --------
    Card C2 as a property: A2 attains the history-policy optimum for P1 + P2 utilities.

    >>> from hypothesis import given, settings
    >>> from rlsandbox.algorithms.distributional import (cvar_utility, history_optimum_eu,
    ...                                                   stock_dp)
    >>> @settings(max_examples=10, deadline=None, database=None)
    ... @given(outcome_mdps(H=2), initial_stocks())
    ... def test_c2(m, c0):
    ...     F = cvar_utility()
    ...     assert stock_dp(m, F, c0).value == history_optimum_eu(m, F, c0)
    >>> test_c2()
    """
    if not isinstance(exact, (bool, np.bool_)) or not isinstance(acyclic, (bool, np.bool_)):
        raise TypeError(f"exact and acyclic must be bools, got exact={exact!r}, "
                        f"acyclic={acyclic!r}")
    if not (isinstance(rewards, (tuple, list)) and len(rewards) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                    for v in rewards) and rewards[0] <= rewards[1]):
        raise ValueError(f"rewards == {rewards!r}; give an integer pair (lo, hi) with "
                         f"lo <= hi, e.g. rewards=(-2, 3)")
    h_spec = st.none() if H is None else _int_spec("H", H, low=1)
    return _outcome_mdps(_int_spec("S", S, low=1), _int_spec("A", A, low=1), h_spec,
                         _gamma_spec(gamma, bool(exact), H is None),
                         _int_spec("outcomes", outcomes, low=1),
                         (int(rewards[0]), int(rewards[1])), bool(exact), bool(acyclic))


@st.composite
def _finite_dists(draw, atoms, support, exact):
    from rlsandbox.algorithms.distributional.dists import FiniteDist

    k = draw(atoms)
    if exact:
        xs = [Fraction(draw(st.integers(*support))) for _ in range(k)]
        w = [draw(st.integers(1, 4)) for _ in range(k)]
        return FiniteDist.from_pairs([(x, Fraction(v, sum(w))) for x, v in zip(xs, w)],
                                     exact=True)
    xs = [draw(st.floats(*support, allow_nan=False)) for _ in range(k)]
    probs = _draw_simplex(draw, (), k, zeros=False)
    return FiniteDist.from_pairs(list(zip(xs, probs.tolist())), exact=False)


def finite_dists(*, atoms: Any = (1, 5), support: tuple[int, int] = (-5, 5),
                 exact: bool = True) -> SearchStrategy:
    """Finite-support laws :class:`~rlsandbox.algorithms.distributional.FiniteDist` with
    ``atoms`` atoms in ``support`` (inclusive; integers if exact, floats otherwise) and
    probabilities ``w_i / sum w`` (integer weights 1..4, exact) or as in :func:`simplex`
    (float, no zeros); equal atoms are merged.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, database=None)
    ... @given(finite_dists(), finite_dists())
    ... def test_w1_symmetric(a, b):
    ...     from rlsandbox.algorithms.distributional import wasserstein
    ...     assert wasserstein(a, b) == wasserstein(b, a) >= 0
    >>> test_w1_symmetric()
    """
    if not (isinstance(support, (tuple, list)) and len(support) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                    for v in support) and support[0] <= support[1]):
        raise ValueError(f"support == {support!r}; give an integer pair (lo, hi) with "
                         f"lo <= hi, e.g. support=(-5, 5)")
    return _finite_dists(_int_spec("atoms", atoms, low=1), (int(support[0]), int(support[1])),
                         bool(exact))


def initial_stocks(*, low: int = -4, high: int = 4, step: Fraction = Fraction(1, 2)
                   ) -> SearchStrategy[Fraction]:
    """Initial stocks c0 in ``step Z ∩ [low, high]`` as Fractions; the default is the card's
    RG draw (1/2)Z ∩ [-4, 4] [avilapires2025 via card distributional_dp.md §4].

    >>> from hypothesis import find
    >>> find(initial_stocks(), lambda c: c < -3)
    Fraction(-7, 2)
    """
    step = Fraction(step)
    if step <= 0:
        raise ValueError(f"step == {step}; must be > 0, e.g. Fraction(1, 2)")
    lo, hi = Fraction(low) / step, Fraction(high) / step
    if lo > hi:
        raise ValueError(f"low == {low} > high == {high}; need low <= high")
    k_lo, k_hi = -((-lo.numerator) // lo.denominator), hi.numerator // hi.denominator
    return st.integers(k_lo, k_hi).map(lambda k: k * step)
