"""Finite-support return distributions: pushforwards, mixtures, statistics and distances.

A :class:`FiniteDist` is a probability distribution on finitely many real atoms, stored as
strictly increasing ``atoms`` with positive ``probs``. Its numbers are either all
``fractions.Fraction`` (``exact``) or all Python floats; every operation keeps the type, so
the same code runs exactly on rational instances and in float64 on the rest [card §3
"Conventions"].

Operations [card §2.1]: the pushforwards ``(m_g)# nu`` (:meth:`FiniteDist.scale`, x -> g x) and
``(b_r)# nu`` (:meth:`FiniteDist.shift`, x -> r + x), and mixtures ``sum_i w_i nu_i``
(:func:`mixture`). Statistics: mean, variance, the CDF ``F(x) = P(X <= x)``, the
left-continuous quantile ``F^{-1}(u) = inf{x : F(x) >= u}`` [card Pitfall 12], the lower-tail
``CVaR_tau = (1/tau) int_0^tau F^{-1}(u) du`` with fractional mass at the VaR atom [card §3 A4,
Pitfall 5] and ``VaR_tau = F^{-1}(tau)``.

Distances [card §2.1; bellemare2017; rowland2018]: Wasserstein
``w_p = (int_0^1 |F^{-1}(u) - G^{-1}(u)|^p du)^{1/p}`` (p >= 1; ``w_1 = int |F - G| dx``),
``w_inf = sup_u |F^{-1}(u) - G^{-1}(u)|``, the Cramér distance
``l_2 = (int (F(x) - G(x))^2 dx)^{1/2}`` (:func:`cramer_sq` gives its square, exact on
rationals), total variation ``TV = (1/2) sum_x |p(x) - q(x)|``, and their sup over states
(:func:`sup_distance`, the barred versions of the card).

Merging atoms. Exact distributions merge equal atoms. Float ones merge sorted neighbours
closer than ``MERGE_RTOL * max(1, |x|)`` (MERGE_RTOL = 1e-12; the merged atom keeps the
smaller value): sums of the same rewards in a different order differ by a few ulps, and
without merging a return law would carry spurious near-duplicate atoms [card §3 A1, "round
keys to ~1e-12 and document it"]. Probabilities are never renormalised.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from rlsandbox._validate import ROW_SUM_ATOL, check_in_range

__all__ = ["FiniteDist", "mixture", "point", "wasserstein", "w_inf", "cramer", "cramer_sq",
           "total_variation", "sup_distance", "DISTANCES", "MERGE_RTOL", "empirical_cvar"]

#: Relative gap below which two float atoms are merged (module docstring).
MERGE_RTOL = 1e-12


def _merge(pairs: Iterable[tuple[Any, Any]], exact: bool) -> tuple[tuple, tuple]:
    """Sorted atoms with summed probabilities; zero-mass atoms dropped (see module docstring)."""
    items = sorted(pairs, key=lambda xp: xp[0])
    atoms: list = []
    probs: list = []
    for x, p in items:
        if p == 0:
            continue
        if atoms and (x == atoms[-1] if exact
                      else x - atoms[-1] <= MERGE_RTOL * max(1.0, abs(x))):
            probs[-1] += p
        else:
            atoms.append(x)
            probs.append(p)
    return tuple(atoms), tuple(probs)


@dataclass(frozen=True, slots=True, eq=False)
class FiniteDist:
    """A finite-support distribution: ``P(X = atoms[i]) = probs[i]``.

    Build with :meth:`from_pairs` (validated) or :func:`point`; operations return new objects.

    Attributes
    ----------
    atoms : tuple, strictly increasing (Fractions if ``exact`` else floats)
    probs : tuple, > 0, summing to 1 (exactly, or within float round-off)
    exact : bool

    Examples
    --------
    >>> from fractions import Fraction as Fr
    >>> nu = FiniteDist.from_pairs([(Fr(-1, 2), Fr(1, 2)), (3, Fr(1, 2))], exact=True)
    >>> nu.mean(), nu.cvar(Fr(1, 2)), nu.quantile(Fr(1, 2))
    (Fraction(5, 4), Fraction(-1, 2), Fraction(-1, 2))
    >>> nu.scale(Fr(1, 2)).shift(1).atoms
    (Fraction(3, 4), Fraction(5, 2))
    """

    atoms: tuple
    probs: tuple
    exact: bool

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[Any, Any]] | Mapping[Any, Any], *,
                   exact: bool) -> "FiniteDist":
        """Validated distribution from ``(atom, probability)`` pairs (or an atom -> p mapping).

        Probabilities must be >= 0 and sum to 1 (exactly, or within 1e-9 for floats); equal
        atoms are merged. Exact mode converts ints and Fractions (and refuses floats).
        """
        from rlsandbox.algorithms.distributional.model import to_number

        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        clean = []
        for k, xp in enumerate(items):
            x, p = xp
            x = to_number(f"atom {k}", x, exact)
            p = to_number(f"probability {k}", p, exact)
            if p < 0:
                raise ValueError(f"probability {k} (of atom {x}) is {p}; probabilities must be "
                                 f">= 0")
            clean.append((x, p))
        if not clean:
            raise ValueError("a distribution needs at least one (atom, probability) pair")
        total = sum(p for _, p in clean)
        if (total != 1) if exact else abs(total - 1.0) > ROW_SUM_ATOL:
            raise ValueError(f"probabilities sum to {total}; they must sum to 1"
                             f"{'' if exact else f' (atol {ROW_SUM_ATOL:g})'}; nothing is "
                             f"renormalised")
        atoms, probs = _merge(clean, exact)
        return cls(atoms, probs, exact)

    @classmethod
    def _raw(cls, pairs: Iterable[tuple[Any, Any]], exact: bool) -> "FiniteDist":
        atoms, probs = _merge(pairs, exact)
        return cls(atoms, probs, exact)

    # ------------------------------------------------------------ pushforwards
    def __len__(self) -> int:
        return len(self.atoms)

    def pairs(self) -> list[tuple[Any, Any]]:
        """``[(atom, probability), ...]`` in increasing atom order."""
        return list(zip(self.atoms, self.probs))

    def affine(self, r: Any, g: Any) -> "FiniteDist":
        """``law(r + g X)``: the pushforward by ``b_r o m_g`` (``g >= 0``)."""
        if g < 0:
            raise ValueError(f"affine scale g == {g} must be >= 0 (a negative scale reverses "
                             f"the order of atoms)")
        return FiniteDist._raw(((r + g * x, p) for x, p in zip(self.atoms, self.probs)),
                               self.exact)

    def scale(self, g: Any) -> "FiniteDist":
        """``(m_g)# nu = law(g X)``."""
        return self.affine(0 * g, g)

    def shift(self, r: Any) -> "FiniteDist":
        """``(b_r)# nu = law(r + X)``."""
        return self.affine(r, 1 + 0 * r)

    # -------------------------------------------------------------- statistics
    def expect(self, f: Callable[[Any], Any]) -> Any:
        """``E f(X) = sum_i probs[i] f(atoms[i])``."""
        return sum((p * f(x) for x, p in zip(self.atoms, self.probs)), 0 * self.probs[0])

    def mean(self) -> Any:
        """``E X``."""
        return self.expect(lambda x: x)

    def var(self) -> Any:
        """``E (X - E X)^2``."""
        m = self.mean()
        return self.expect(lambda x: (x - m) * (x - m))

    def cdf(self, x: Any) -> Any:
        """``F(x) = P(X <= x)``."""
        return sum((p for a, p in zip(self.atoms, self.probs) if a <= x), 0 * self.probs[0])

    def quantile(self, u: Any) -> Any:
        """Left-continuous inverse CDF ``F^{-1}(u) = inf{x : F(x) >= u}``, u in (0, 1].

        Cumulative sums are compared with ``u`` exactly (rationals) or with a float slack of
        ``ROW_SUM_ATOL`` at the top (so that u = 1 returns the largest atom even when the float
        probabilities sum to 1 - 1e-16).
        """
        if not 0 < u <= 1:
            raise ValueError(f"quantile level u == {u}; must be in (0, 1]")
        acc = 0 * self.probs[0]
        for x, p in zip(self.atoms, self.probs):
            acc += p
            if acc >= u:
                return x
        return self.atoms[-1]

    def var_at(self, tau: Any) -> Any:
        """``VaR_tau = F^{-1}(tau)`` (lower tail of the return) [card §3 A4]."""
        return self.quantile(tau)

    def cvar(self, tau: Any) -> Any:
        """Lower-tail ``CVaR_tau = (1/tau) int_0^tau F^{-1}(u) du``, tau in (0, 1] [card §3 A4].

        The atoms are taken from the lowest up to total mass tau, with a fractional mass at
        the VaR atom [card Pitfall 5]; ``cvar(1) == mean()``. Equivalently
        ``max_b { b - E[(b - X)^+] / tau }``, attained at ``b = VaR_tau``.
        """
        if not 0 < tau <= 1:
            raise ValueError(f"CVaR level tau == {tau}; must be in (0, 1]")
        remaining = tau
        total = 0 * tau
        for x, p in zip(self.atoms, self.probs):
            take = p if p < remaining else remaining
            total += take * x
            remaining -= take
            if remaining <= 0:
                break
        return total / tau

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(atoms, probs) as float64 arrays."""
        return (np.array([float(x) for x in self.atoms]),
                np.array([float(p) for p in self.probs]))

    def __repr__(self) -> str:
        body = ", ".join(f"{x}: {p}" for x, p in zip(self.atoms[:6], self.probs[:6]))
        more = f", ... ({len(self.atoms)} atoms)" if len(self.atoms) > 6 else ""
        return f"FiniteDist({{{body}{more}}}{', exact' if self.exact else ''})"


def point(x: Any, *, exact: bool) -> FiniteDist:
    """The point mass ``delta_x``.

    >>> point(2, exact=True).atoms
    (Fraction(2, 1),)
    """
    from rlsandbox.algorithms.distributional.model import to_number

    x = to_number("x", x, exact)
    return FiniteDist((x,), (Fraction(1) if exact else 1.0,), exact)


def mixture(weights: Sequence[Any], dists: Sequence[FiniteDist]) -> FiniteDist:
    """``sum_i weights[i] dists[i]`` (weights >= 0 summing to 1; not re-checked: internal).

    >>> from fractions import Fraction as Fr
    >>> mixture([Fr(1, 4), Fr(3, 4)], [point(0, exact=True), point(1, exact=True)]).probs
    (Fraction(1, 4), Fraction(3, 4))
    """
    if len(weights) != len(dists) or not dists:
        raise ValueError(f"mixture needs as many weights as distributions (>= 1), got "
                         f"{len(weights)} and {len(dists)}")
    exact = dists[0].exact
    return FiniteDist._raw(((x, w * p) for w, d in zip(weights, dists)
                            for x, p in zip(d.atoms, d.probs)), exact)


# ====================================================================== distances
def _check_pair(mu: FiniteDist, nu: FiniteDist) -> None:
    if not isinstance(mu, FiniteDist) or not isinstance(nu, FiniteDist):
        raise TypeError(f"distances compare two FiniteDist, got {type(mu).__name__} and "
                        f"{type(nu).__name__}")


def _cdf_steps(mu: FiniteDist, nu: FiniteDist):
    """Yield (x_i, x_{i+1}, F_mu, F_nu) on the merged support: both CDFs are constant on
    [x_i, x_{i+1})."""
    xs = sorted(set(mu.atoms) | set(nu.atoms))
    zero = 0 * mu.probs[0]
    fm = fn = zero
    im = jn = 0
    for i, x in enumerate(xs[:-1]):
        while im < len(mu.atoms) and mu.atoms[im] <= x:
            fm += mu.probs[im]
            im += 1
        while jn < len(nu.atoms) and nu.atoms[jn] <= x:
            fn += nu.probs[jn]
            jn += 1
        yield x, xs[i + 1], fm, fn


def _quantile_steps(mu: FiniteDist, nu: FiniteDist):
    """Yield (du, q_mu, q_nu): on consecutive u-intervals of length du both left-continuous
    quantile functions are constant. The last cumulative sum of each side is set to exactly 1
    (float sums may end at 1 -+ 1e-16; the probabilities themselves are not changed)."""
    def cums(d: FiniteDist) -> list:
        out, acc = [], 0 * d.probs[0]
        for p in d.probs:
            acc += p
            out.append(acc)
        out[-1] = Fraction(1) if d.exact else 1.0
        return out
    a, b = cums(mu), cums(nu)
    i = j = 0
    u = 0 * mu.probs[0]
    while i < len(a) and j < len(b):
        nxt = a[i] if a[i] <= b[j] else b[j]
        if nxt > u:
            yield nxt - u, mu.atoms[i], nu.atoms[j]
            u = nxt
        if a[i] <= nxt:
            i += 1
        if b[j] <= nxt:
            j += 1


def wasserstein(mu: FiniteDist, nu: FiniteDist, p: float = 1) -> Any:
    """``w_p(mu, nu) = (int_0^1 |F_mu^{-1}(u) - F_nu^{-1}(u)|^p du)^{1/p}``, p >= 1.

    ``w_1`` is exact on rational distributions (it equals ``int |F_mu - F_nu| dx``).

    >>> from fractions import Fraction as Fr
    >>> wasserstein(point(0, exact=True), point(Fr(3, 2), exact=True))
    Fraction(3, 2)
    """
    _check_pair(mu, nu)
    if p == math.inf:
        return w_inf(mu, nu)
    check_in_range("p", p, low=1.0)
    if p == 1:
        return sum((abs(fm - fn) * (x1 - x0) for x0, x1, fm, fn in _cdf_steps(mu, nu)),
                   0 * mu.probs[0])
    total = sum(float(du) * abs(float(qm) - float(qn)) ** p
                for du, qm, qn in _quantile_steps(mu, nu))
    return total ** (1.0 / p)


def w_inf(mu: FiniteDist, nu: FiniteDist) -> Any:
    """``w_inf(mu, nu) = sup_{u in (0,1)} |F_mu^{-1}(u) - F_nu^{-1}(u)|`` (exact on rationals).

    Float laws: the cumulative sums of n probabilities carry round-off up to ~n eps, so two
    breakpoints that are equal in exact arithmetic can leave a spurious u-interval of length
    ~1e-16 in which the quantile functions are mismatched. Intervals shorter than
    ``4 (n_mu + n_nu) eps`` are therefore skipped on float laws (mass below that level is not
    resolved by float64 cumulative sums anyway).
    """
    _check_pair(mu, nu)
    best = 0 * mu.probs[0]
    floor = 0 if mu.exact else 4.0 * (len(mu) + len(nu)) * float(np.finfo(np.float64).eps)
    for du, qm, qn in _quantile_steps(mu, nu):
        if du <= floor:
            continue
        d = abs(qm - qn)
        if d > best:
            best = d
    return best


def cramer_sq(mu: FiniteDist, nu: FiniteDist) -> Any:
    """Squared Cramér distance ``l_2^2 = int (F_mu(x) - F_nu(x))^2 dx`` (exact on rationals)."""
    _check_pair(mu, nu)
    return sum(((fm - fn) * (fm - fn) * (x1 - x0) for x0, x1, fm, fn in _cdf_steps(mu, nu)),
               0 * mu.probs[0])


def cramer(mu: FiniteDist, nu: FiniteDist) -> float:
    """Cramér distance ``l_2 = sqrt(cramer_sq)`` (a float)."""
    return math.sqrt(float(cramer_sq(mu, nu)))


def total_variation(mu: FiniteDist, nu: FiniteDist) -> Any:
    """``TV = (1/2) sum_x |mu(x) - nu(x)|`` over the union of atoms."""
    _check_pair(mu, nu)
    pm = dict(zip(mu.atoms, mu.probs))
    pn = dict(zip(nu.atoms, nu.probs))
    zero = 0 * mu.probs[0]
    return sum((abs(pm.get(x, zero) - pn.get(x, zero)) for x in set(pm) | set(pn)), zero) / 2


#: name -> distance function, for :func:`sup_distance` and the claims.
DISTANCES: dict[str, Callable[[FiniteDist, FiniteDist], Any]] = {
    "w1": lambda m, n: wasserstein(m, n, 1),
    "w2": lambda m, n: wasserstein(m, n, 2),
    "winf": w_inf,
    "l2": cramer,
    "l2sq": cramer_sq,
    "tv": total_variation,
}


def sup_distance(eta: Sequence[FiniteDist] | Mapping[Any, FiniteDist],
                 eta2: Sequence[FiniteDist] | Mapping[Any, FiniteDist], metric: str) -> Any:
    """The barred distance ``sup_x d(eta(x), eta2(x))`` over states (or state-actions).

    ``metric`` is one of :data:`DISTANCES` ("w1", "w2", "winf", "l2", "l2sq", "tv");
    ``eta`` and ``eta2`` are sequences (index = state) or mappings with the same keys.

    >>> a = [point(0, exact=True), point(1, exact=True)]
    >>> b = [point(0, exact=True), point(3, exact=True)]
    >>> sup_distance(a, b, "w1")
    Fraction(2, 1)
    """
    if metric not in DISTANCES:
        raise ValueError(f"metric == {metric!r}; expected one of {', '.join(DISTANCES)}")
    keys = list(eta.keys()) if isinstance(eta, Mapping) else list(range(len(eta)))
    keys2 = list(eta2.keys()) if isinstance(eta2, Mapping) else list(range(len(eta2)))
    if sorted(map(repr, keys)) != sorted(map(repr, keys2)):
        raise ValueError(f"sup_distance needs the same states on both sides, got {len(keys)} "
                         f"and {len(keys2)} entries")
    d = DISTANCES[metric]
    return max(d(eta[k], eta2[k]) for k in keys)


def empirical_cvar(samples: Any, tau: float) -> float:
    """Lower-tail CVaR_tau of the empirical distribution of ``samples`` (1-D, float64).

    The mean of the ``floor(n tau)`` smallest samples plus the fractional weight of the next
    one, divided by ``n tau``: :meth:`FiniteDist.cvar` of the empirical law.

    >>> empirical_cvar([3.0, -1.0, 0.0, 2.0], 0.5)
    -0.5
    """
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = x.size
    if n == 0:
        raise ValueError("empirical_cvar needs at least one sample")
    tau = check_in_range("tau", tau, low=0.0, high=1.0, low_open=True)
    k = int(math.floor(n * tau))
    frac = n * tau - k
    total = float(x[:k].sum()) + (frac * float(x[k]) if k < n and frac > 0 else 0.0)
    return total / (n * tau)
