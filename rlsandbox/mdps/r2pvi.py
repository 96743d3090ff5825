"""The R2PVI paper's instances: the simulated linear MDP (nominal and perturbed) [r2pvi, §5.1].

States x1..x5 are indices 0..4 (:data:`X1` .. :data:`X5`); x1 is the initial state, x4
(:data:`FAIL_STATE`) an absorbing zero-reward fail state, x5 an absorbing "good" state. Horizon
H = 3, feature dimension d = 4, actions ``a in {-1, +1}^4`` (16 actions, in the order of
``itertools.product([-1, 1], repeat=4)``, :data:`SIM_ACTIONS`, the order of the official code,
so that "lowest index" tie-breaking agrees with its ``argmax``). With ``xi = (xi_norm / 4) 1``
and ``t = <xi, a>`` (in {-0.2, -0.1, 0, 0.1, 0.2} for xi_norm = 0.2):

    phi(x1, a) = (1 - delta - t, 0, 0, delta + t)
    phi(x2, a) = (0, 1 - delta - t, 0, delta + t)
    phi(x3, a) = (0, 0, 1 - delta - t, delta + t)
    phi(x4, a) = (0, 0, 1, 0),     phi(x5, a) = (0, 0, 0, 1)

Rewards ``theta_1 = 0``, ``theta_2 = theta_3 = e_4`` (card steps 1..3; here ``theta[0..2]``).
Nominal factors (card §5.1; steps 0-based here):

    step 0: mu[0, 0] = 0.999 x2 + 0.001 x4,  mu[0, 3] = x5,  mu[0, 1] = mu[0, 2] = x4
    step 1: mu[1, 1] = 0.999 x3 + 0.001 x4,  mu[1, 2] = x4,  mu[1, 3] = x5,  mu[1, 0] = x4
    step 2: mu[2, 2] = x4,  mu[2, 3] = x5,  mu[2, 0] = mu[2, 1] = x4

The card leaves the unused factors and step 3 open ("set them to delta_{x4} for
definiteness"; "step 3 irrelevant"); the choices above are those and, for step 2, the
transition the official code samples at its last step (x3 -> x4 w.p. phi_3, -> x5 w.p. phi_4),
which no value depends on (V_H = 0).

Perturbed test model [r2pvi, §5.1]: only step 0 changes, ``mu[0, 0] = x2`` (the 0.001 leak is
dropped) and ``mu[0, 3] = q x4 + (1 - q) x5``, so ``TV(mu[0, 3], mu0[0, 3]) = q``.

Reference values (card §5.1, checked in the tests): in the test model the nominal-optimal
policy earns ``1.6249 - q`` (1.624875 exactly), the best policy at q = 1 earns
``0.9 * 1.24975 = 1.124775``; the nominal optimum is ``0.5 * 0.999 * 1.24975 + 1 =
1.624250125`` (card C11: 1.6243).

Examples
--------
>>> lin = simulated_linear_mdp()
>>> lin, lin.is_d_rectangular, lin.rho.tolist()
(LinearMDP(S=5, A=16, d=4, H=3), True, [1.0, 0.0, 0.0, 0.0, 0.0])
>>> SIM_ACTIONS[0].tolist(), SIM_ACTIONS[-1].tolist()
([-1, -1, -1, -1], [1, 1, 1, 1])
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from rlsandbox._validate import check_in_range
from rlsandbox.linear import LinearMDP

__all__ = ["SIM_ACTIONS", "X1", "X2", "X3", "X4", "X5", "FAIL_STATE", "SIM_H",
           "simulated_features", "simulated_linear_mdp", "simulated_test_mdp",
           "uniform_behavior", "legacy_dataset", "legacy_monte_carlo"]

X1, X2, X3, X4, X5 = range(5)
#: The absorbing zero-reward state x4.
FAIL_STATE = X4
#: Horizon of the simulated MDP.
SIM_H = 3
#: The 16 actions {-1, +1}^4 in the official code's order (product with -1 first), (16, 4).
SIM_ACTIONS = np.array(list(itertools.product([-1, 1], repeat=4)), dtype=np.int64)
SIM_ACTIONS.flags.writeable = False

_LEAK = 0.001


def _check_params(delta: Any, xi_norm: Any) -> tuple[float, float]:
    delta = check_in_range("delta", delta, low=0.0, high=1.0)
    xi_norm = check_in_range("xi_norm", xi_norm, low=0.0)
    if delta - xi_norm < 0.0 or 1.0 - delta - xi_norm < 0.0:
        raise ValueError(f"delta == {delta!r} and xi_norm == {xi_norm!r} give features outside "
                         f"the simplex (delta + <xi, a> ranges over [delta - xi_norm, delta + "
                         f"xi_norm] and must stay in [0, 1]); the paper uses delta = 0.3 with "
                         f"xi_norm = 0.2 or 0.3")
    return delta, xi_norm


def simulated_features(delta: float = 0.3, xi_norm: float = 0.2) -> np.ndarray:
    """The feature map ``phi[s, a, :]`` (5, 16, 4) of the simulated MDP [r2pvi, §5.1].

    Computed as the official code does (``1 - delta - <xi, a>`` and ``delta + <xi, a>`` with
    ``xi = xi_norm * 1 / ||1||_1``), so the floats agree with it.

    Examples
    --------
    >>> phi = simulated_features()
    >>> phi[0, -1].round(12).tolist(), phi[3, 5].tolist()
    ([0.5, 0.0, 0.0, 0.5], [0.0, 0.0, 1.0, 0.0])
    """
    delta, xi_norm = _check_params(delta, xi_norm)
    xi = xi_norm * np.ones(4) / 4.0
    t = SIM_ACTIONS.astype(np.float64) @ xi                  # (16,)
    phi = np.zeros((5, 16, 4))
    for s in (X1, X2, X3):
        phi[s, :, s] = 1.0 - delta - t
        phi[s, :, 3] = delta + t
    phi[X4, :, 2] = 1.0
    phi[X5, :, 3] = 1.0
    return phi


def _factors(q: float | None) -> np.ndarray:
    e = np.eye(5)
    mu = np.empty((SIM_H, 4, 5))
    mu[0] = [(1 - _LEAK) * e[X2] + _LEAK * e[X4], e[X4], e[X4], e[X5]]
    mu[1] = [e[X4], (1 - _LEAK) * e[X3] + _LEAK * e[X4], e[X4], e[X5]]
    mu[2] = [e[X4], e[X4], e[X4], e[X5]]
    if q is not None:
        mu[0, 0] = e[X2]
        mu[0, 3] = q * e[X4] + (1.0 - q) * e[X5]
    return mu


def _theta() -> np.ndarray:
    return np.array([np.zeros(4), np.eye(4)[3], np.eye(4)[3]])


def simulated_linear_mdp(delta: float = 0.3, xi_norm: float = 0.2) -> LinearMDP:
    """The nominal simulated linear MDP of the R2PVI experiments [r2pvi, §5.1].

    Parameters
    ----------
    delta : float
        Feature offset (0.3 in the paper).
    xi_norm : float
        ``||xi||_1``: 0.2 for figures 1(a), 1(c); 0.3 reproduces figure 1(b) (card §5.1).

    Returns
    -------
    LinearMDP
        ``H = 3``, ``S = 5``, ``A = 16``, ``d = 4``, start state x1 (``rho = e_0``).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> fh = simulated_linear_mdp().to_tabular()
    >>> round(rls.solve(fh).value, 9)        # 0.5 * 0.999 * 1.24975 + 1 (card C11: 1.6243)
    1.624250125
    """
    phi = simulated_features(delta, xi_norm)
    return LinearMDP(phi, _factors(None), _theta(), rho=np.eye(5)[X1])


def simulated_test_mdp(q: float, delta: float = 0.3, xi_norm: float = 0.2) -> LinearMDP:
    """The perturbed test model: step-0 factor 4 sends mass q to the fail state [r2pvi, §5.1].

    Parameters
    ----------
    q : float in [0, 1]
        Perturbation level (``TV(mu[0, 3], mu0[0, 3]) = q``).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> fh = simulated_test_mdp(0.5).to_tabular()
    >>> best_nominal = np.full((3, 5), 15)               # a = (1, 1, 1, 1) everywhere
    >>> round(float(rls.evaluate(fh, best_nominal)[0, 0]), 6)    # 1.624875 - q
    1.124875
    """
    q = check_in_range("q", q, low=0.0, high=1.0)
    phi = simulated_features(delta, xi_norm)
    return LinearMDP(phi, _factors(q), _theta(), rho=np.eye(5)[X1])


def uniform_behavior(lin: LinearMDP) -> np.ndarray:
    """The uniform behavior policy ``(H, S, A)`` of the paper's data sets (card §5.1).

    Examples
    --------
    >>> uniform_behavior(simulated_linear_mdp()).shape
    (3, 5, 16)
    """
    return np.full((lin.H, lin.S, lin.A), 1.0 / lin.A)


# ====================================================================== the official code's streams
def legacy_dataset(lin: LinearMDP, *, K: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """K trajectories drawn exactly as the official simulated-MDP code draws them (card §5.1).

    The code seeds NumPy's legacy global generator with ``seed`` (the replication index) and,
    per trajectory and step, draws a uniformly random action index with ``choice(16)`` and then
    the next state among x2..x5 with ``choice(4, p=...)``. This function replays that stream
    with a *local* ``numpy.random.RandomState(seed)`` (same MT19937 stream, no global state),
    so the data sets, and hence the learned policies, are those of the published runs.

    Deviation from the library's randomness convention (explicit ``numpy.random.Generator``):
    deliberate, to regenerate the published panels; use :func:`rlsandbox.algorithms.r2pvi.collect`
    with a Generator everywhere else.

    Parameters
    ----------
    lin : LinearMDP
        The simulated MDP (:func:`simulated_linear_mdp`); its kernel gives the probabilities.
    K : int >= 1; seed : int >= 0

    Returns
    -------
    s : (K, H+1) int64, a : (K, H) int64

    Examples
    --------
    >>> s, a = legacy_dataset(simulated_linear_mdp(), K=2, seed=0)
    >>> s.shape, a.shape, s[:, 0].tolist()
    ((2, 4), (2, 3), [0, 0])
    """
    from rlsandbox._validate import check_int

    K = check_int("K", K, low=1)
    seed = check_int("seed", seed, low=0)
    rs = np.random.RandomState(seed)
    H, A = lin.H, lin.A
    s = np.zeros((K, H + 1), dtype=np.int64)
    a = np.zeros((K, H), dtype=np.int64)
    for k in range(K):
        for h in range(H):
            a[k, h] = rs.choice(A, size=1)[0]
            p = lin.P[h, s[k, h], a[k, h], 1:]          # over x2..x5, as the code's prob vector
            s[k, h + 1] = 1 + rs.choice(4, size=1, p=p)[0]
    return s, a


def legacy_monte_carlo(test: LinearMDP, policy: Any, *, seed: int,
                       episodes: int = 100) -> float:
    """The official code's Monte-Carlo "average reward" of a policy in a test model (card §5.1).

    Replays the code's test loop: legacy generator seeded with ``seed`` (the replication
    index), ``episodes`` episodes from x1, one ``choice(4, p=...)`` draw per step for the next
    state; returns the mean episode return. Kept only to regenerate the published panels
    (card §5.3 item 1); exact evaluation (``rlsandbox.evaluate``) is the noiseless equivalent.

    Parameters
    ----------
    test : LinearMDP
        A model on the simulated MDP's states (e.g. :func:`simulated_test_mdp`).
    policy : (H, S) int
    seed : int >= 0; episodes : int >= 1

    Examples
    --------
    >>> import numpy as np
    >>> legacy_monte_carlo(simulated_test_mdp(1.0), np.full((3, 5), 15), seed=0, episodes=3)
    0.5
    """
    from rlsandbox._validate import check_int, check_policy

    seed = check_int("seed", seed, low=0)
    episodes = check_int("episodes", episodes, low=1)
    H, S = test.H, test.S
    pi = check_policy("policy", policy, S, test.A, leading=(H,))
    if pi.dtype != np.int64:
        raise TypeError("policy must be deterministic: an integer array (H, S)")
    rs = np.random.RandomState(seed)
    total = 0.0
    for _ in range(episodes):
        s, ret = X1, 0.0
        for h in range(H):
            a = int(pi[h, s])
            ret += float(test.R[h, s, a])
            s = 1 + int(rs.choice(4, size=1, p=test.P[h, s, a, 1:])[0])
        total += ret / episodes
    return total
