"""Objectives: statistical functionals F of the stock-augmented return law [card §2.3, §2.5].

A criterion is a functional ``F: D -> R`` applied to ``zeta = law(c + G)``, the law of the
initial stock plus the return [card §2.3]. Two classes matter for distributional DP:

* an **expected utility** (EU) ``F_f(nu) = E_{X ~ nu} f(X)`` (:class:`ExpectedUtility`);
* any other functional (:class:`Functional`): CVaR, VaR/median, mean - lam Var.

Each objective *declares* the card's class properties [card §2.5]:

* ``mixture_indifferent`` (P1): F(nu1) >= F(nu2) implies
  F(l nu1 + (1-l) nu3) >= F(l nu2 + (1-l) nu3). True for every EU; false for CVaR, VaR,
  the median and mean-variance.
* ``gamma_indifferent`` (P2, for every gamma < 1): F(nu1) >= F(nu2) iff
  F((m_g)# nu1) >= F((m_g)# nu2). For EU this holds iff f(g x) = a f(x) + b (a > 0), which the
  card's table lists (derived by the card author): x, 1{x >= 0}, min(x, 0),
  a min(x,0) + b max(x,0), -|x|, -x^2 satisfy it; 1{x >= 1}, min(x, 1), -|x - 1|, -exp(-lam x)
  and x - lam x^2 do not. CVaR_tau and VaR_tau are positively homogeneous, hence P2.

The flags are declarations taken from the card's table (derived there, not re-proved here);
the claims check their consequences (C2, C4, C5). ``degree`` is the positive-homogeneity
degree d of f (f(g x) = g^d f(x), g > 0) when it has one: the scalar augmented Bellman equation
then has effective discount gamma^d [card §2.4]. ``lipschitz`` is f's Lipschitz constant (C8,
C9). ``kernel_form`` describes f to the compiled grid VI (A5): ``("pl", a, b)`` for
``a min(x, 0) + b max(x, 0)`` or ``("indicator",)`` for ``1{x >= 0}``.

Utilities are written with generic arithmetic: on a Fraction they return a Fraction (except
the exponential, which returns a float), so exact models stay exact [card Pitfall 7].

Time-aware criteria [card §3 A2-T]: ``F_t(nu) = F((m_{gamma^t})# nu)``, i.e.
``f_t(y) = f(gamma^t y)`` for EU; :meth:`Objective.time_scaled` builds it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from rlsandbox._validate import check_in_range, check_scalar
from rlsandbox.algorithms.distributional.dists import FiniteDist

__all__ = ["Objective", "ExpectedUtility", "Functional", "mean_utility", "threshold",
           "cvar_utility", "piecewise_linear", "target_abs", "target_squared",
           "constraint_satisfaction",
           "shifted_threshold", "shifted_min", "shifted_abs", "exponential_utility",
           "mean_variance_utility", "cvar", "value_at_risk", "median", "mean_variance",
           "COMPATIBLE_EU", "INCOMPATIBLE_EU"]


@dataclass(frozen=True)
class Objective:
    """A criterion F on return laws, with its declared class properties [card §2.5].

    Attributes
    ----------
    name : str
    mixture_indifferent : bool, property P1.
    gamma_indifferent : bool, property P2 (for every gamma in (0, 1)).
    """

    name: str
    mixture_indifferent: bool
    gamma_indifferent: bool

    @property
    def is_eu(self) -> bool:
        """True for expected utilities."""
        return False

    def __call__(self, dist: FiniteDist) -> Any:
        raise NotImplementedError

    def time_scaled(self, g: Any) -> "Objective":
        """``F_g(nu) = F((m_g)# nu)`` (the A2-T criterion at time t for g = gamma^t)."""
        raise NotImplementedError


@dataclass(frozen=True)
class ExpectedUtility(Objective):
    """``F_f(nu) = E f(X)`` [card §2.3].

    Attributes
    ----------
    f : callable, the utility (generic arithmetic: Fraction in, Fraction out where rational).
    degree : float or None, positive-homogeneity degree of f (None if f has none).
    lipschitz : float or None, Lipschitz constant of f (None if not Lipschitz).
    kernel_form : tuple or None, the compiled grid VI's description of f (module docstring).

    Examples
    --------
    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.algorithms.distributional.dists import FiniteDist
    >>> nu = FiniteDist.from_pairs([(-2, Fr(1, 4)), (1, Fr(3, 4))], exact=True)
    >>> cvar_utility()(nu), threshold()(nu), target_abs()(nu)
    (Fraction(-1, 2), Fraction(3, 4), Fraction(-5, 4))
    """

    f: Callable[[Any], Any] = field(default=lambda x: x)
    degree: float | None = None
    lipschitz: float | None = None
    kernel_form: tuple | None = None

    @property
    def is_eu(self) -> bool:
        return True

    def __call__(self, dist: FiniteDist) -> Any:
        return dist.expect(self.f)

    def time_scaled(self, g: Any) -> "ExpectedUtility":
        f = self.f
        return ExpectedUtility(f"{self.name}∘m_{g}", True, self.gamma_indifferent,
                               f=lambda x: f(g * x), degree=self.degree,
                               lipschitz=None if self.lipschitz is None
                               else self.lipschitz * float(g))


@dataclass(frozen=True)
class Functional(Objective):
    """A non-EU criterion ``F(nu) = functional(nu)`` (CVaR, VaR, mean-variance, ...)."""

    functional: Callable[[FiniteDist], Any] = field(default=lambda d: d.mean())

    def __call__(self, dist: FiniteDist) -> Any:
        return self.functional(dist)

    def time_scaled(self, g: Any) -> "Functional":
        fn = self.functional
        return Functional(f"{self.name}∘m_{g}", self.mixture_indifferent,
                          self.gamma_indifferent, functional=lambda d: fn(d.scale(g)))


def _min0(x):
    return x if x < 0 else 0 * x


def _max0(x):
    return x if x > 0 else 0 * x


# ---------------------------------------------------------------- P1 + P2 utilities
def mean_utility() -> ExpectedUtility:
    """``f(x) = x``: the mean; the stock is irrelevant, J* = c + V*(s) [card §2.5 table]."""
    return ExpectedUtility("x", True, True, f=lambda x: x, degree=1.0, lipschitz=1.0,
                           kernel_form=("pl", 1.0, 1.0))


def threshold() -> ExpectedUtility:
    """``f(x) = 1{x >= 0}``: with c0 = -theta, ``F = P(G >= theta)`` [card §2.5 table].

    Degree 0 (no contraction, card C8); exact comparison at 0 (use exact models near the
    boundary, card Pitfall 7).
    """
    def f(x):
        return (x * 0 + 1) if x >= 0 else x * 0
    return ExpectedUtility("1{x>=0}", True, True, f=f, degree=0.0, lipschitz=None,
                           kernel_form=("indicator",))


def cvar_utility() -> ExpectedUtility:
    """``f(x) = min(x, 0)``: the CVaR inner problem with c0 = -b [card §2.5, §3 A4]."""
    return ExpectedUtility("min(x,0)", True, True, f=_min0, degree=1.0, lipschitz=1.0,
                           kernel_form=("pl", 1.0, 0.0))


def piecewise_linear(alpha: float, beta: float) -> ExpectedUtility:
    """``f(x) = alpha min(x, 0) + beta max(x, 0)`` (mean-CVaR mixes; -|x| is (1, -1)).

    Degree 1, Lipschitz ``max(|alpha|, |beta|)``; P2 holds for every alpha, beta [card §2.5:
    f(g x) = g f(x)].
    """
    # ints and Fractions stay exact (Fraction in, Fraction out); other reals become floats
    a = alpha if isinstance(alpha, (int, Fraction)) and not isinstance(alpha, bool) \
        else check_scalar("alpha", alpha)
    b = beta if isinstance(beta, (int, Fraction)) and not isinstance(beta, bool) \
        else check_scalar("beta", beta)
    return ExpectedUtility(f"{alpha}min(x,0)+{beta}max(x,0)", True, True,
                           f=lambda x: a * _min0(x) + b * _max0(x), degree=1.0,
                           lipschitz=float(max(abs(a), abs(b))),
                           kernel_form=("pl", float(a), float(b)))


def target_abs() -> ExpectedUtility:
    """``f(x) = -|x|``: hit a target theta with c0 = -theta (homeostasis) [card §2.5]."""
    return ExpectedUtility("-|x|", True, True, f=lambda x: -abs(x), degree=1.0, lipschitz=1.0,
                           kernel_form=("pl", 1.0, -1.0))


def constraint_satisfaction(lam: Any = 1) -> ExpectedUtility:
    """``f(x) = x + lam min(x, 0) = (1 + lam) min(x, 0) + max(x, 0)``: with c0 = -theta,
    ``F = E[G - theta] - lam E[(theta - G)^+]``, the expected return with a penalty ``lam`` per
    unit of shortfall below the constraint level theta [card §1 and §5.1 name "constraint
    satisfaction" as an application; the formula is reconstructed here, not the paper's].

    Degree 1 and Lipschitz ``1 + lam``, so P1 and P2 hold for every lam >= 0 and A2 (finite
    horizon) or A5 (grid VI) optimise it exactly [card §2.5 table: alpha min + beta max];
    ``lam -> infinity`` approaches "never fall below theta" (a hard constraint).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.algorithms.distributional.dists import FiniteDist
    >>> nu = FiniteDist.from_pairs([(-2, Fr(1, 4)), (1, Fr(3, 4))], exact=True)   # c0 + G
    >>> constraint_satisfaction(3)(nu)        # E X - 3 E (-X)^+ = 1/4 - 3/2
    Fraction(-5, 4)
    """
    if isinstance(lam, bool) or not (isinstance(lam, (int, Fraction)) and lam >= 0):
        lam = check_in_range("lam", lam, low=0.0)
    return ExpectedUtility(f"x+{lam}min(x,0)", True, True,
                           f=lambda x: x + lam * _min0(x), degree=1.0,
                           lipschitz=float(1 + lam), kernel_form=("pl", float(1 + lam), 1.0))


def target_squared() -> ExpectedUtility:
    """``f(x) = -x^2`` (degree 2; not Lipschitz on R) [card §2.5]."""
    return ExpectedUtility("-x^2", True, True, f=lambda x: -(x * x), degree=2.0)


#: The γ-compatible EUs of the card's C2 check (and one asymmetric mix).
def COMPATIBLE_EU() -> list[ExpectedUtility]:
    """The card's C2 list: x, 1{x>=0}, min(x,0), -|x|, -x^2, 2 min(x,0) + max(x,0)."""
    return [mean_utility(), threshold(), cvar_utility(), target_abs(), target_squared(),
            piecewise_linear(2, 1)]


# ---------------------------------------------------------- P2-violating utilities
def shifted_threshold(theta: Any = 1) -> ExpectedUtility:
    """``f(x) = 1{x >= theta}`` with the threshold not folded into c0: violates P2 for
    theta != 0 [card §2.5 table, C2 negative control]."""
    return ExpectedUtility(f"1{{x>={theta}}}", True, False,
                           f=lambda x: (x * 0 + 1) if x >= theta else x * 0)


def shifted_min(theta: Any = 1) -> ExpectedUtility:
    """``f(x) = min(x, theta)``: violates P2 for theta != 0 [card §2.5 table]."""
    return ExpectedUtility(f"min(x,{theta})", True, False,
                           f=lambda x: x if x < theta else x * 0 + theta, lipschitz=1.0)


def shifted_abs(theta: Any = 1) -> ExpectedUtility:
    """``f(x) = -|x - theta|``: violates P2 for theta != 0 [card §2.5 table]."""
    return ExpectedUtility(f"-|x-{theta}|", True, False, f=lambda x: -abs(x - theta),
                           lipschitz=1.0)


def exponential_utility(lam: float = 1.0) -> ExpectedUtility:
    """``f(x) = -exp(-lam x)`` (float valued): P2 fails for gamma < 1, fine at gamma = 1
    [card §2.5 table, C5]."""
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    return ExpectedUtility(f"-exp(-{lam}x)", True, False,
                           f=lambda x: -math.exp(-lam * float(x)))


def mean_variance_utility(lam: Any = Fraction(1, 2)) -> ExpectedUtility:
    """``f(y) = y - lam y^2``: the mean-variance inner problem (P2 fails for gamma < 1)
    [card §3 A4, C7]."""
    return ExpectedUtility(f"y-{lam}y^2", True, False, f=lambda y: y - lam * y * y)


def INCOMPATIBLE_EU() -> list[ExpectedUtility]:
    """The card's C2 negative-control list: 1{x>=1}, -|x-1|, min(x,1)."""
    return [shifted_threshold(1), shifted_abs(1), shifted_min(1)]


# ---------------------------------------------------------------- non-EU functionals
def cvar(tau: Any) -> Functional:
    """``F(nu) = CVaR_tau(nu)`` (lower tail): P2 (positively homogeneous) but not P1
    [card §2.5, C4]."""
    if not 0 < tau <= 1:
        raise ValueError(f"tau == {tau}; CVaR needs tau in (0, 1]")
    return Functional(f"CVaR_{tau}", False, True, functional=lambda d: d.cvar(tau))


def value_at_risk(tau: Any) -> Functional:
    """``F(nu) = VaR_tau(nu) = F_nu^{-1}(tau)``: P2 but not P1 [card §2.5]."""
    if not 0 < tau <= 1:
        raise ValueError(f"tau == {tau}; VaR needs tau in (0, 1]")
    return Functional(f"VaR_{tau}", False, True, functional=lambda d: d.quantile(tau))


def median() -> Functional:
    """``F(nu) = F_nu^{-1}(1/2)`` (left-continuous): not P1 [card C4]."""
    return Functional("median", False, True, functional=lambda d: d.quantile(
        Fraction(1, 2) if d.exact else 0.5))


def mean_variance(lam: Any = 1) -> Functional:
    """``F(nu) = E X - lam Var X``: neither P1 nor P2 [card §2.5, C4, C7]."""
    return Functional(f"mean-{lam}Var", False, False,
                      functional=lambda d: d.mean() - lam * d.var())
