"""Linear MDPs and linear mixture MDPs, validated and materialised into exact tabular form.

**Linear MDP** [jin2020, Assumption A]. A known feature map ``phi[s, a, :]`` in ``R^d``, factor
measures ``mu[h, i, s']`` and a reward parameter ``theta[h, :]`` with

    P[h, s, a, s'] = sum_i phi[s, a, i] mu[h, i, s']        (= phi[s, a] @ mu[h][:, s'])
    R[h, s, a]     = sum_i phi[s, a, i] theta[h, i]         (= phi[s, a] @ theta[h])

for steps ``h = 0..H-1`` (finite horizon), or with a single ``mu (d, S)``, ``theta (d,)`` for a
discounted or average-reward model. Here ``mu`` may be signed and ``phi`` arbitrary: the model
is valid exactly when the implied kernel is, i.e. every ``P[h, s, a, :]`` is >= 0 and sums to 1.
Then for any policy ``Q^pi[h] = phi @ (theta[h] + mu[h] @ V^pi[h+1])`` is linear in the
features [jin2020, Prop 2.3] (discounted: ``Q^pi = phi @ (theta + gamma mu @ V^pi)``).

**d-rectangular case** [r2pvi, §2.1]: every ``phi[s, a]`` lies in the probability simplex and every
factor ``mu[h, i, :]`` is a distribution over states ("factor distributions"). Robust offline RL
over d-rectangular uncertainty sets (R2PVI, DRPVI) perturbs each factor independently, which only
makes sense in this case; :attr:`LinearMDP.is_d_rectangular` recognises it and
:meth:`LinearMDP.require_d_rectangular` refuses other models with a message.

**Linear mixture MDP** [ayoub2020; loop, §2.4 (table of classes)]. Known basis kernels
``psi[h, j, s, a, s']`` and an unknown parameter ``theta[h, :]`` with

    P[h, s, a, s'] = sum_j theta[h, j] psi[h, j, s, a, s']

and a known reward ``R[h, s, a]``. In the LOOP card's notation ``phi(s'|s, a) = psi[:, s, a, s']``.

Both are frozen dataclasses, validated once at construction; every stored array is a read-only
float64 copy, and ``.P``, ``.R`` hold the implied kernel and reward. ``.to_tabular()`` returns the
exact :class:`~rlsandbox.mdp.TabularMDP` (stationary model; pass ``gamma``) or
:class:`~rlsandbox.mdp.FiniteHorizonMDP` (when ``H`` or per-step parameters are given).

Conventions. Steps are ``0..H-1`` (the cards write ``1..H``). Per-step parameters carry a leading
``h`` axis; a finite-horizon model stores them broadcast to that axis (``mu (H, d, S)``,
``theta (H, d)``), a stationary model without it (``mu (d, S)``, ``theta (d,)``).
Shapes: phi (S, A, d), mu (d, S) / (H, d, S), theta (d,) / (H, d), psi (d, S, A, S) /
(H, d, S, A, S), P (S, A, S) / (H, S, A, S), R (S, A) / (H, S, A).

References
----------
[jin2020] C. Jin, Z. Yang, Z. Wang, M. I. Jordan. Provably efficient reinforcement learning with
linear function approximation. COLT 2020 (arXiv 1907.05388), §2.2.
[ayoub2020] A. Ayoub, Z. Jia, C. Szepesvari, M. Wang, L. Yang. Model-based reinforcement learning
with value-targeted regression. ICML 2020.
[r2pvi], [loop]: the paper cards shared/papers/r2pvi.md and shared/papers/loop.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsandbox._validate import (ROW_SUM_ATOL, check_float_array, check_in_range, check_int,
                                 check_stochastic, readonly)
from rlsandbox.mdp import FiniteHorizonMDP, TabularMDP

__all__ = ["LinearMDP", "LinearMixtureMDP"]


# ------------------------------------------------------------------ shared validation
def _horizon(H: Any, per_step: dict[str, np.ndarray | None]) -> int | None:
    """The horizon implied by ``H`` and the leading axes of the per-step arrays (or None).

    ``per_step`` maps a name to an array that has a leading step axis, or to None.
    """
    H = None if H is None else check_int("H", H, low=1)
    for name, arr in per_step.items():
        if arr is None:
            continue
        if H is None:
            H = arr.shape[0]
        elif arr.shape[0] != H:
            raise ValueError(f"{name} has shape {arr.shape} ({arr.shape[0]} steps) but the horizon "
                             f"is H == {H}; make them agree, or pass a stationary {name} "
                             f"(without the leading step axis) to repeat it over the H steps")
    return H


def _check_gamma(gamma: Any, H: int | None) -> float | None:
    if gamma is None:
        return None
    if H is not None:
        raise ValueError(f"gamma == {gamma!r} was given for a finite-horizon model (H == {H}); "
                         f"finite-horizon values are undiscounted sums over H steps. Drop gamma, "
                         f"or drop H and the per-step axis for a discounted model")
    return check_in_range("gamma", gamma, low=0.0, high=1.0)


def _check_rho(rho: Any, S: int) -> np.ndarray:
    if rho is None:
        return readonly(np.full(S, 1.0 / S))
    return check_stochastic("rho", rho, shape=(S,))


def _check_implied_kernel(P: np.ndarray, *, stationary: bool, entry: str, row: str,
                          fix: str) -> None:
    """Raise unless every row ``P[h, s, a, :]`` of the implied kernel is a distribution.

    ``P`` is (H, S, A, S). ``entry`` / ``row`` are format strings with fields h, s, a, t
    (the next state) giving the formula of one entry / one row, e.g. "phi[{s}, {a}] @ mu[{h}]".
    """
    def where(h: int, s: int, a: int, t: str) -> str:
        return f"P[{s}, {a}, {t}]" if stationary else f"P[{h}, {s}, {a}, {t}]"

    neg = P < 0
    if neg.any():
        h, s, a, t = (int(i) for i in np.unravel_index(int(np.argmax(neg)), P.shape))
        raise ValueError(f"{where(h, s, a, str(t))} = {entry.format(h=h, s=s, a=a, t=t)} = "
                         f"{P[h, s, a, t]:.6g} is negative; the implied transition kernel must be "
                         f">= 0 entrywise (nothing is clipped). {fix}")
    sums = P.sum(axis=-1)
    bad = np.abs(sums - 1.0) > ROW_SUM_ATOL
    if bad.any():
        h, s, a = (int(i) for i in np.unravel_index(int(np.argmax(bad)), sums.shape))
        raise ValueError(f"{where(h, s, a, ':')} = {row.format(h=h, s=s, a=a)} sums to "
                         f"{sums[h, s, a]:.12g}; every row of the implied transition kernel must "
                         f"sum to 1 (atol {ROW_SUM_ATOL:g}), nothing is renormalised. {fix}")


def _first_non_distribution(name: str, x: np.ndarray) -> str | None:
    """Why the last axis of ``x`` is not a family of distributions (None if it is)."""
    neg = x < 0
    if neg.any():
        idx = np.unravel_index(int(np.argmax(neg)), x.shape)
        return f"{name}[{', '.join(map(str, idx))}] = {x[idx]:.6g} is negative"
    sums = x.sum(axis=-1)
    bad = np.abs(sums - 1.0) > ROW_SUM_ATOL
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), sums.shape)
        where = f"{name}[{', '.join(map(str, idx))}, :]" if idx else name
        return f"{where} sums to {sums[idx]:.12g}, not 1 (atol {ROW_SUM_ATOL:g})"
    return None


def _to_tabular(P: np.ndarray, R: np.ndarray, rho: np.ndarray, H: int | None,
                own_gamma: float | None, gamma: Any, cls: str) -> TabularMDP | FiniteHorizonMDP:
    if H is not None:
        if gamma is not None:
            raise ValueError(f"gamma == {gamma!r} passed to to_tabular of a finite-horizon {cls} "
                             f"(H == {H}); its tabular form is an undiscounted FiniteHorizonMDP. "
                             f"Drop gamma")
        return FiniteHorizonMDP(P, R, rho=rho)
    g = own_gamma if gamma is None else gamma
    if g is None:
        raise ValueError(f"this {cls} has no gamma and no horizon, so its tabular form is not "
                         f"determined. Pass to_tabular(gamma=...) (gamma == 1 for average reward), "
                         f"or build the {cls} with gamma=... or H=...")
    return TabularMDP(P, R, g, rho=rho)


# ------------------------------------------------------------------ linear MDP
@dataclass(frozen=True, slots=True, eq=False)
class LinearMDP:
    """A linear MDP ``P[h, s, a, :] = phi[s, a] @ mu[h]``, ``R[h] = phi @ theta[h]`` [jin2020].

    Parameters
    ----------
    phi : array (S, A, d)
        Known features.
    mu : array (d, S) or (H, d, S)
        Factor measures (signed allowed); per-step with a leading ``H`` axis.
    theta : array (d,) or (H, d)
        Reward parameter, stationary or per step.
    gamma : float in [0, 1], optional
        Discount of the stationary model (``gamma == 1`` for average reward); refused for a
        finite-horizon model.
    H : int, optional
        Horizon. Given, or implied by a per-step ``mu`` / ``theta``, it makes the model finite
        horizon (stationary parameters are then repeated over the steps).
    rho : array (S,), optional
        Initial-state distribution; uniform by default.

    Attributes
    ----------
    P : (S, A, S) or (H, S, A, S) the implied kernel; R : (S, A) or (H, S, A) the implied reward.
    mu, theta : stored as (H, d, S), (H, d) for finite-horizon models, else (d, S), (d,).

    Raises
    ------
    ValueError
        If shapes disagree, an entry is not finite, or the implied kernel has a negative entry
        or a row not summing to 1 (atol 1e-9): the message names the first offending
        ``(h, s, a)`` and its sum. Non-negativity is checked exactly, as for ``TabularMDP``:
        with signed ``phi`` / ``mu``, an entry that is 0 in exact arithmetic can evaluate to
        about ``-1e-17`` and is refused (keep such models away from zero transitions).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.linear import LinearMDP
    >>> phi = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.5, 0.5]]])  # (S, A, d)
    >>> mu = np.array([[0.9, 0.1], [0.2, 0.8]])                               # (d, S)
    >>> lin = LinearMDP(phi, mu, np.array([0.0, 1.0]), gamma=0.9)
    >>> lin.is_d_rectangular, lin.P[0, 1].tolist()
    (True, [0.55, 0.45])
    >>> lin.to_tabular()
    TabularMDP(S=2, A=2, gamma=0.9, dense)
    """

    phi: np.ndarray
    mu: np.ndarray
    theta: np.ndarray
    gamma: float | None = None
    H: int | None = None
    rho: np.ndarray | None = None
    P: np.ndarray = field(init=False, repr=False)
    R: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        phi = check_float_array("phi", self.phi, ndim=3)
        S, A, d = phi.shape
        if min(S, A, d) == 0:
            raise ValueError(f"phi has shape {phi.shape}; expected (S, A, d) with S, A, d >= 1")
        mu = check_float_array("mu", self.mu, ndim=(2, 3))
        if mu.shape[-2:] != (d, S):
            raise ValueError(f"mu has shape {mu.shape}; expected (d, S) = {(d, S)} or (H, d, S) "
                             f"to match phi of shape {phi.shape} (S, A, d)")
        theta = check_float_array("theta", self.theta, ndim=(1, 2))
        if theta.shape[-1] != d:
            raise ValueError(f"theta has shape {theta.shape}; expected (d,) = ({d},) or (H, d) "
                             f"to match phi of shape {phi.shape} (S, A, d)")
        H = _horizon(self.H, {"mu": mu if mu.ndim == 3 else None,
                              "theta": theta if theta.ndim == 2 else None})
        gamma = _check_gamma(self.gamma, H)
        if H is not None:
            mu = np.broadcast_to(mu, (H, d, S)).copy() if mu.ndim == 2 else mu
            theta = np.broadcast_to(theta, (H, d)).copy() if theta.ndim == 1 else theta
        mu_h = mu if H is not None else mu[None]
        theta_h = theta if H is not None else theta[None]
        P = np.einsum("sai,hit->hsat", phi, mu_h)
        _check_implied_kernel(
            P, stationary=H is None,
            entry="phi[{s}, {a}] @ mu" + ("" if H is None else "[{h}]") + "[:, {t}]",
            row="phi[{s}, {a}] @ mu" + ("" if H is None else "[{h}]"),
            fix="A d-rectangular model satisfies this by construction: every phi[s, a] in the "
                "simplex and every factor mu[..., i, :] a distribution over states")
        R = np.einsum("sai,hi->hsa", phi, theta_h)
        if H is None:
            P, R = P[0], R[0]
        set_(self, "phi", readonly(phi))
        set_(self, "mu", readonly(mu))
        set_(self, "theta", readonly(theta))
        set_(self, "gamma", gamma)
        set_(self, "H", H)
        set_(self, "rho", _check_rho(self.rho, S))
        set_(self, "P", readonly(P))
        set_(self, "R", readonly(R))

    # ----------------------------------------------------------------- shape
    @property
    def S(self) -> int:
        """Number of states."""
        return self.phi.shape[0]

    @property
    def A(self) -> int:
        """Number of actions."""
        return self.phi.shape[1]

    @property
    def d(self) -> int:
        """Feature dimension."""
        return self.phi.shape[2]

    @property
    def is_finite_horizon(self) -> bool:
        """True if the model has a horizon ``H`` (per-step ``mu (H, d, S)``, ``theta (H, d)``)."""
        return self.H is not None

    # ------------------------------------------------------ d-rectangularity
    def _d_rectangular_violation(self) -> str | None:
        why = _first_non_distribution("phi", self.phi)
        if why is not None:
            return why + "; phi[s, a] must lie in the probability simplex"
        why = _first_non_distribution("mu", self.mu)
        if why is not None:
            return why + "; every factor mu[..., i, :] must be a distribution over states"
        return None

    @property
    def is_d_rectangular(self) -> bool:
        """True if every ``phi[s, a]`` is in the simplex and every factor ``mu[h, i, :]`` is a
        distribution (both within atol 1e-9 on the sums) [r2pvi, §2.1]."""
        return self._d_rectangular_violation() is None

    def require_d_rectangular(self, where: str = "this method") -> None:
        """Raise ``ValueError`` naming the first violation unless the model is d-rectangular.

        Examples
        --------
        >>> import numpy as np
        >>> from rlsandbox.linear import LinearMDP
        >>> phi = np.array([[[2.0, -1.0]], [[-1.0, 2.0]]])   # signed; (S, A, d) = (2, 1, 2)
        >>> mu = np.array([[2/3, 1/3], [1/3, 2/3]])
        >>> LinearMDP(phi, mu, np.zeros(2), gamma=0.5).require_d_rectangular("R2PVI")
        Traceback (most recent call last):
        ...
        ValueError: R2PVI needs a d-rectangular linear MDP, but phi[0, 0, 1] = -1 is negative; phi[s, a] must lie in the probability simplex
        """
        why = self._d_rectangular_violation()
        if why is not None:
            raise ValueError(f"{where} needs a d-rectangular linear MDP, but {why}")

    # -------------------------------------------------------------- tabular
    def to_tabular(self, *, gamma: float | None = None) -> TabularMDP | FiniteHorizonMDP:
        """The exact tabular model: ``FiniteHorizonMDP(P, R, rho)`` for a finite-horizon model,
        else ``TabularMDP(P, R, gamma, rho)``.

        Parameters
        ----------
        gamma : float, optional
            Discount for a stationary model; defaults to ``self.gamma`` (one of the two is
            required). Refused for a finite-horizon model.

        Examples
        --------
        >>> import numpy as np
        >>> from rlsandbox.mdps.linear import random_linear_mdp
        >>> lin = random_linear_mdp(4, 2, 3, rng=np.random.default_rng(0), H=5)
        >>> lin.to_tabular()
        FiniteHorizonMDP(H=5, S=4, A=2)
        """
        return _to_tabular(self.P, self.R, self.rho, self.H, self.gamma, gamma, "LinearMDP")

    @classmethod
    def from_tabular(cls, mdp: TabularMDP | FiniteHorizonMDP) -> "LinearMDP":
        """A tabular model as a linear MDP with one-hot features, ``d = S A``.

        ``phi[s, a] = e_{s A + a}``, ``mu[h, s A + a, :] = P[h, s, a, :]``,
        ``theta[h, s A + a] = R[h, s, a]``; the model is d-rectangular and ``to_tabular()``
        returns the same ``P`` and ``R`` exactly [jin2020, Example 2.1]. A ``TabularMDP``'s
        terminal mask is not carried over (its rows stay absorbing with zero reward).

        Examples
        --------
        >>> import numpy as np, rlsandbox as rls
        >>> from rlsandbox.linear import LinearMDP
        >>> P = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [1.0, 0.0]]])   # (S, A, S)
        >>> lin = LinearMDP.from_tabular(rls.TabularMDP(P, np.eye(2), gamma=0.9))
        >>> lin.d, lin.is_d_rectangular, bool((lin.to_tabular().P == P).all())
        (4, True, True)
        """
        if isinstance(mdp, FiniteHorizonMDP):
            H, S, A = mdp.H, mdp.S, mdp.A
            mu = mdp.P.reshape(H, S * A, S)
            theta = mdp.R.reshape(H, S * A)
            gamma = None
        elif isinstance(mdp, TabularMDP):
            S, A = mdp.S, mdp.A
            mu = mdp.dense_P().reshape(S * A, S)
            theta = mdp.R.reshape(S * A)
            gamma = mdp.gamma
        else:
            raise TypeError(f"from_tabular expects a TabularMDP or FiniteHorizonMDP, got "
                            f"{type(mdp).__name__}")
        phi = np.eye(S * A).reshape(S, A, S * A)
        return cls(phi, mu, theta, gamma=gamma, rho=mdp.rho)

    def __repr__(self) -> str:
        kind = f"H={self.H}" if self.H is not None else (
            "gamma=None" if self.gamma is None else f"gamma={self.gamma:g}")
        return f"LinearMDP(S={self.S}, A={self.A}, d={self.d}, {kind})"


# ------------------------------------------------------------------ linear mixture MDP
@dataclass(frozen=True, slots=True, eq=False)
class LinearMixtureMDP:
    """A linear mixture MDP ``P[h, s, a, s'] = sum_j theta[h, j] psi[h, j, s, a, s']`` [ayoub2020].

    Parameters
    ----------
    psi : array (d, S, A, S) or (H, d, S, A, S)
        Known basis "kernels" (signed entries allowed; only the mixture must be a kernel).
    theta : array (d,) or (H, d)
        Mixture parameter, stationary or per step.
    R : array (S, A) or (H, S, A)
        Known expected reward.
    gamma, H, rho
        As for :class:`LinearMDP`.

    Attributes
    ----------
    P : (S, A, S) or (H, S, A, S) the implied kernel; R as given (broadcast to (H, S, A) for a
    finite-horizon model). psi, theta stored as (H, d, S, A, S), (H, d) when finite horizon.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.linear import LinearMixtureMDP
    >>> stay = np.eye(2)[:, None, :].repeat(2, axis=1)                # (S, A, S): s' = s
    >>> psi = np.array([stay, stay[::-1]])                            # psi[1]: switch state
    >>> mix = LinearMixtureMDP(psi, np.array([0.75, 0.25]), np.zeros((2, 2)), gamma=0.9)
    >>> mix.P[0, 0].tolist(), mix.is_convex_mixture
    ([0.75, 0.25], True)
    """

    psi: np.ndarray
    theta: np.ndarray
    R: np.ndarray
    gamma: float | None = None
    H: int | None = None
    rho: np.ndarray | None = None
    P: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        psi = check_float_array("psi", self.psi, ndim=(4, 5))
        d, S, A, S2 = psi.shape[-4:]
        if S != S2 or min(d, S, A) == 0:
            raise ValueError(f"psi has shape {psi.shape}; expected (d, S, A, S) or "
                             f"(H, d, S, A, S) with d, S, A >= 1")
        theta = check_float_array("theta", self.theta, ndim=(1, 2))
        if theta.shape[-1] != d:
            raise ValueError(f"theta has shape {theta.shape}; expected (d,) = ({d},) or (H, d) "
                             f"to match psi of shape {psi.shape}")
        R = check_float_array("R", self.R, ndim=(2, 3))
        if R.shape[-2:] != (S, A):
            raise ValueError(f"R has shape {R.shape}; expected (S, A) = {(S, A)} or (H, S, A) to "
                             f"match psi of shape {psi.shape}")
        H = _horizon(self.H, {"psi": psi if psi.ndim == 5 else None,
                              "theta": theta if theta.ndim == 2 else None,
                              "R": R if R.ndim == 3 else None})
        gamma = _check_gamma(self.gamma, H)
        if H is not None:
            psi = np.broadcast_to(psi, (H, d, S, A, S)).copy() if psi.ndim == 4 else psi
            theta = np.broadcast_to(theta, (H, d)).copy() if theta.ndim == 1 else theta
            R = np.broadcast_to(R, (H, S, A)).copy() if R.ndim == 2 else R
        psi_h = psi if H is not None else psi[None]
        theta_h = theta if H is not None else theta[None]
        P = np.einsum("hj,hjsat->hsat", theta_h, psi_h)
        _check_implied_kernel(
            P, stationary=H is None,
            entry="sum_j theta" + ("[{h}, j]" if H is not None else "[j]") + " psi"
                  + ("[{h}, j" if H is not None else "[j") + ", {s}, {a}, {t}]",
            row="sum_j theta" + ("[{h}, j]" if H is not None else "[j]") + " psi"
                + ("[{h}, j" if H is not None else "[j") + ", {s}, {a}, :]",
            fix="A convex mixture satisfies this by construction: theta in the simplex and every "
                "psi[..., j, s, a, :] a distribution over next states")
        if H is None:
            P = P[0]
        set_(self, "psi", readonly(psi))
        set_(self, "theta", readonly(theta))
        set_(self, "R", readonly(R))
        set_(self, "gamma", gamma)
        set_(self, "H", H)
        set_(self, "rho", _check_rho(self.rho, S))
        set_(self, "P", readonly(P))

    @property
    def S(self) -> int:
        """Number of states."""
        return self.psi.shape[-3]

    @property
    def A(self) -> int:
        """Number of actions."""
        return self.psi.shape[-2]

    @property
    def d(self) -> int:
        """Number of basis kernels (dimension of theta)."""
        return self.theta.shape[-1]

    @property
    def is_finite_horizon(self) -> bool:
        """True if the model has a horizon ``H``."""
        return self.H is not None

    @property
    def is_convex_mixture(self) -> bool:
        """True if ``theta`` (each step) is in the simplex and every ``psi[..., j, s, a, :]`` is a
        distribution (atol 1e-9 on sums): the mixture of ``d`` genuine kernels."""
        return (_first_non_distribution("theta", self.theta) is None
                and _first_non_distribution("psi", self.psi) is None)

    def to_tabular(self, *, gamma: float | None = None) -> TabularMDP | FiniteHorizonMDP:
        """The exact tabular model (see :meth:`LinearMDP.to_tabular`)."""
        return _to_tabular(self.P, self.R, self.rho, self.H, self.gamma, gamma, "LinearMixtureMDP")

    def __repr__(self) -> str:
        kind = f"H={self.H}" if self.H is not None else (
            "gamma=None" if self.gamma is None else f"gamma={self.gamma:g}")
        return f"LinearMixtureMDP(S={self.S}, A={self.A}, d={self.d}, {kind})"
