"""Bradley-Terry preference data: population and sampled pair weights, the comparison graph.

BT model [card preference_coverage, §2.3]: P(y > y' | x) = sigma(r*(x, y) - r*(x, y')).
A pair-query distribution nu(x, y, y') over ordered pairs with y != y' (standard choice
nu proportional to rho(x) mu(y|x) mu(y'|x), y != y': pairs with y = y' carry no information)
and BT labels give the *labelled* weights

    q[x, y, y'] = nu(x, y, y') P(y > y' | x) + nu(x, y', y) P(y > y' | x),

the probability that the triple (x, y+ = y, y- = y') is observed. Sampled data are counts
N[x, y, y'] of n i.i.d. labelled triples, i.e. N ~ Multinomial(n, q) (exactly the law of n
independent draws, drawn in one call from an explicit ``rng``). Both are a :class:`PairData`.

The comparison graph G_x (card §2.3) has an edge {y, y'} iff W[x, y, y'] + W[x, y', y] > 0;
its connected components C_{x,1..m_x}, covered set Cov(x) (responses on some edge) and unseen
set U(x) are in :class:`ComparisonGraph`. The BT maximum-likelihood scores of a component
exist iff its directed "beat" graph (y -> y' when y beat y') is strongly connected
(Zermelo/Ford; card C3 and §6 pitfall 4).

Label noise (RDPO24, card §3.6): every stored label is flipped independently with
probability eps in [0, 1/2); :func:`flip_labels` draws it, :func:`noisy_population` gives
its expectation (1 - eps) W + eps W^T.

Shapes: W (nX, K, K) with a zero diagonal. Deviations: none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from rlsandbox._validate import (check_bool, check_float_array, check_in_range, check_int,
                                 check_nonnegative, check_rng, readonly)
from rlsandbox.algorithms.preference.model import PreferenceBandit, bt_probability

__all__ = ["PairData", "ComparisonGraph", "population_pairs", "sample_pairs", "flip_labels",
           "noisy_population", "comparison_graph", "check_pair_data", "pairs_from_list"]


@dataclass(frozen=True, eq=False)
class PairData:
    """Labelled comparisons: ``W[x, y+, y-]`` >= 0 is the weight of "y+ preferred to y- at x".

    Parameters
    ----------
    W : array (nX, K, K)
        Population probabilities q (summing to 1) or sample counts N; zero diagonal (a pair
        with y+ == y- carries no information and is refused).
    population : bool
        True for an exact (population) distribution, False for sampled counts. Losses are
        *sums* sum W loss (card §3.2): an expectation for population data, a sum over samples
        for counts (divide by ``total`` for the average).

    Attributes
    ----------
    nX, K, total (sum of W), edge_weight = W + W^T (symmetric), covered (nX, K) bool.

    Examples
    --------
    >>> W = np.zeros((1, 3, 3)); W[0, 0, 1] = 2; W[0, 1, 0] = 1
    >>> data = PairData(W)
    >>> data.total, data.covered.tolist()
    (3.0, [[True, True, False]])
    """

    W: np.ndarray
    population: bool = False
    edge_weight: np.ndarray = field(init=False, repr=False)
    covered: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        W = check_float_array("W", self.W, ndim=3)
        if W.shape[1] != W.shape[2]:
            raise ValueError(f"W has shape {W.shape}; expected (nX, K, K)")
        check_nonnegative("W", W)
        diag = np.einsum("xkk->xk", W)
        if (diag != 0).any():
            x, y = (int(i) for i in np.argwhere(diag != 0)[0])
            raise ValueError(f"W[{x}, {y}, {y}] = {diag[x, y]:g}; a comparison of a response with "
                             f"itself carries no information (it adds a constant to every loss). "
                             f"Drop such pairs (set the diagonal to 0)")
        if W.sum() <= 0:
            raise ValueError("W is all zeros; a dataset needs at least one comparison")
        population = check_bool("population", self.population)
        edge = W + W.transpose(0, 2, 1)
        object.__setattr__(self, "W", readonly(W))
        object.__setattr__(self, "population", population)
        object.__setattr__(self, "edge_weight", readonly(edge))
        object.__setattr__(self, "covered", readonly(edge.sum(axis=-1) > 0))

    def __repr__(self) -> str:
        kind = "population" if self.population else f"counts, n={self.total:g}"
        return f"PairData(nX={self.nX}, K={self.K}, {kind})"

    @property
    def nX(self) -> int:
        return self.W.shape[0]

    @property
    def K(self) -> int:
        return self.W.shape[1]

    @property
    def total(self) -> float:
        return float(self.W.sum())

    def win_rate(self) -> np.ndarray:
        """p_hat[x, y, y'] = W[x, y, y'] / (W[x, y, y'] + W[x, y', y]) on edges, 0.5 off edges
        (a placeholder with zero weight; never used as data). Shape (nX, K, K)."""
        out = np.full(self.W.shape, 0.5)
        np.divide(self.W, self.edge_weight, out=out, where=self.edge_weight > 0)
        return readonly(out)

    def normalized(self) -> "PairData":
        """The same comparisons with weights summing to 1 (an empirical distribution)."""
        return PairData(self.W / self.total, population=self.population)


def check_pair_data(bandit: PreferenceBandit, data: Any) -> PairData:
    """Check that ``data`` fits ``bandit`` (shapes) and compares only responses inside the
    reference support (card §2.3 validity requirement: Cov(x) within S_ref(x))."""
    if not isinstance(data, PairData):
        raise TypeError(f"data must be a PairData, got {type(data).__name__}")
    if (data.nX, data.K) != (bandit.nX, bandit.K):
        raise ValueError(f"data has (nX, K) = ({data.nX}, {data.K}) but the bandit has "
                         f"({bandit.nX}, {bandit.K})")
    bad = data.covered & ~bandit.support
    if bad.any():
        x, y = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"data compares response {y} at prompt {x}, where piref = 0; every "
                         f"reference-based loss is undefined there (log-ratio -inf, card §2.3). "
                         f"Remove those comparisons or give the response reference mass")
    return data


def _edge_mask(edges: Any, nX: int, K: int) -> np.ndarray:
    """A symmetric bool mask (nX, K, K) from a mask or a list of (x, y, y') triples."""
    arr = np.asarray(edges)
    if arr.dtype == np.bool_:
        if arr.shape != (nX, K, K):
            raise ValueError(f"edges mask has shape {arr.shape}; expected (nX, K, K) = "
                             f"({nX}, {K}, {K})")
        mask = arr.copy()
    else:
        if arr.ndim != 2 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"edges must be a bool mask (nX, K, K) or integer triples "
                             f"(x, y, y') of shape (m, 3); got shape {arr.shape}, dtype "
                             f"{arr.dtype}")
        mask = np.zeros((nX, K, K), dtype=bool)
        for x, y, y2 in arr:
            if not (0 <= x < nX and 0 <= y < K and 0 <= y2 < K) or y == y2:
                raise ValueError(f"edge ({x}, {y}, {y2}) is not a pair of distinct responses "
                                 f"y, y' in [0, {K}) at a prompt x in [0, {nX})")
            mask[x, y, y2] = True
    return mask | mask.transpose(0, 2, 1)


def population_pairs(bandit: PreferenceBandit, *, edges: Any = None) -> PairData:
    """Population labelled-pair weights q[x, y, y'] (card §2.3) under BT labels from r*.

    nu(x, y, y') is proportional to rho(x) mu(y|x) mu(y'|x) on pairs y != y' (restricted to
    ``edges`` if given) and normalised to total mass 1; then
    q[x, y, y'] = (nu(x, y, y') + nu(x, y', y)) P(y > y' | x).

    Parameters
    ----------
    bandit : PreferenceBandit
    edges : bool array (nX, K, K) or int array (m, 3) of (x, y, y'), optional
        Unordered pairs that may be queried (symmetrised); all pairs by default.

    Returns
    -------
    PairData with ``population=True``.

    Examples
    --------
    The card's P1: mu = piref = (1/2, 1/2, 0), so only {a, b} is ever compared.

    >>> from rlsandbox.algorithms.preference.model import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> q = population_pairs(b)
    >>> np.round(q.W[0], 6)                       # sigma(1), sigma(-1) on the edge {a, b}
    array([[0.      , 0.731059, 0.      ],
           [0.268941, 0.      , 0.      ],
           [0.      , 0.      , 0.      ]])
    """
    nX, K = bandit.nX, bandit.K
    nu = bandit.rho[:, None, None] * bandit.mu[:, :, None] * bandit.mu[:, None, :]
    nu = nu * (1.0 - np.eye(K))[None]
    if edges is not None:
        nu = nu * _edge_mask(edges, nX, K)
    total = nu.sum()
    if total <= 0:
        raise ValueError("the pair-query distribution has no mass: mu puts all its mass on one "
                         "response per prompt, or the edges avoid mu's support. Use a data "
                         "policy mu with at least two responses in some prompt's support")
    nu = nu / total
    q = (nu + nu.transpose(0, 2, 1)) * bt_probability(bandit.r)
    return check_pair_data(bandit, PairData(q, population=True))


def pairs_from_list(nX: int, K: int, pairs: Any) -> PairData:
    """Counts from a list of observed labelled triples (x, y+, y-), e.g. the card's L1/L2
    datasets ("each pair seen once").

    Examples
    --------
    >>> pairs_from_list(1, 4, [(0, 0, 1), (0, 2, 1), (0, 0, 2)]).W[0, 0].tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    nX = check_int("nX", nX, low=1)
    K = check_int("K", K, low=2)
    arr = np.asarray(pairs)
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"pairs must be integer triples (x, y+, y-) of shape (m, 3); got shape "
                         f"{arr.shape}, dtype {arr.dtype}")
    W = np.zeros((nX, K, K))
    for x, yp, ym in arr:
        if not (0 <= x < nX and 0 <= yp < K and 0 <= ym < K) or yp == ym:
            raise ValueError(f"pair ({x}, {yp}, {ym}) is not a prompt in [0, {nX}) with two "
                             f"distinct responses in [0, {K})")
        W[x, yp, ym] += 1.0
    return PairData(W)


def sample_pairs(bandit: PreferenceBandit, n: int, *, rng: Any, edges: Any = None) -> PairData:
    """n i.i.d. labelled comparisons (x, y+, y-) from nu and BT labels, as counts N (card §2.3).

    The counts of n independent draws from the labelled distribution q are exactly
    Multinomial(n, q); they are drawn in one call from ``rng``.

    Parameters
    ----------
    bandit : PreferenceBandit
    n : int >= 1
    rng : numpy.random.Generator or int seed (keyword-only, required)
    edges : see :func:`population_pairs`

    Examples
    --------
    >>> from rlsandbox.algorithms.preference.model import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> sample_pairs(b, 100, rng=0).total
    100.0
    """
    n = check_int("n", n, low=1)
    rng = check_rng("rng", rng)
    q = population_pairs(bandit, edges=edges).W
    p = q.ravel() / q.sum()
    N = rng.multinomial(n, p).reshape(q.shape).astype(np.float64)
    return PairData(N, population=False)


def flip_labels(data: PairData, eps: float, *, rng: Any) -> PairData:
    """Flip each stored label independently with probability ``eps`` (RDPO24 noise model,
    card §3.6): of the N[x, y, y'] samples labelled y > y', Binomial(N, eps) become y' > y.

    Examples
    --------
    >>> W = np.zeros((1, 2, 2)); W[0, 0, 1] = 1000
    >>> noisy = flip_labels(PairData(W), 0.3, rng=0)
    >>> noisy.total, bool(200 < noisy.W[0, 1, 0] < 400)
    (1000.0, True)
    """
    if not isinstance(data, PairData) or data.population:
        raise TypeError("flip_labels draws flips of sampled counts; pass a PairData of counts "
                        "(population=False). For the expectation use noisy_population")
    eps = check_in_range("eps", eps, low=0.0, high=0.5, high_open=True,
                         hint="the flip rate must be < 1/2 for labels to carry information")
    rng = check_rng("rng", rng)
    N = data.W.astype(np.int64)
    if not np.array_equal(N, data.W):
        raise ValueError("flip_labels needs integer counts in data.W")
    flipped = rng.binomial(N, eps)
    return PairData((N - flipped + flipped.transpose(0, 2, 1)).astype(np.float64))


def noisy_population(data: PairData, eps: float) -> PairData:
    """Expected data after flipping each label with probability eps: (1 - eps) W + eps W^T
    (card §3.6, C12(c): observed win probability (1 - eps) p + eps (1 - p))."""
    eps = check_in_range("eps", eps, low=0.0, high=0.5, high_open=True,
                         hint="the flip rate must be < 1/2 for labels to carry information")
    return PairData((1.0 - eps) * data.W + eps * data.W.transpose(0, 2, 1),
                    population=data.population)


@dataclass(frozen=True, eq=False)
class ComparisonGraph:
    """Connected components of the comparison graphs G_x (card §2.3).

    Attributes
    ----------
    labels : (nX, K) int64
        Component index of each response (0..m_x - 1), -1 for unseen responses U(x).
    n_components : (nX,) int64
        m_x.
    strongly_connected : (nX, max m_x) bool
        Whether the directed win graph of component k at prompt x is strongly connected (the
        BT-MLE scores of that component exist; False in padding columns).
    """

    labels: np.ndarray
    n_components: np.ndarray
    strongly_connected: np.ndarray

    @property
    def unseen(self) -> np.ndarray:
        """(nX, K) bool: responses in U(x) (on no edge)."""
        return self.labels < 0

    def members(self, x: int, k: int) -> np.ndarray:
        """Indices of the responses in component k of prompt x."""
        return np.flatnonzero(self.labels[x] == k)

    @property
    def mle_exists(self) -> bool:
        """True iff every component of every prompt has a finite BT-MLE (Zermelo condition)."""
        return all(bool(self.strongly_connected[x, :m].all())
                   for x, m in enumerate(self.n_components))


def comparison_graph(data: PairData) -> ComparisonGraph:
    """Components of each G_x and the strong connectivity of each component's win digraph.

    Examples
    --------
    >>> W = np.zeros((1, 4, 4)); W[0, 0, 1] = 1; W[0, 1, 0] = 1; W[0, 2, 3] = 1
    >>> g = comparison_graph(PairData(W))
    >>> g.labels.tolist(), g.strongly_connected.tolist()     # {0,1} both ways; 2 beat 3 only
    ([[0, 0, 1, 1]], [[True, False]])
    """
    if not isinstance(data, PairData):
        raise TypeError(f"data must be a PairData, got {type(data).__name__}")
    nX, K = data.nX, data.K
    labels = np.full((nX, K), -1, dtype=np.int64)
    n_comp = np.zeros(nX, dtype=np.int64)
    strong_rows = []
    for x in range(nX):
        nodes = np.flatnonzero(data.covered[x])
        if nodes.size == 0:
            strong_rows.append([])
            continue
        sub = data.edge_weight[x][np.ix_(nodes, nodes)] > 0
        m, lab = connected_components(csr_array(sub), directed=False)
        labels[x, nodes] = lab
        n_comp[x] = m
        wins = data.W[x][np.ix_(nodes, nodes)] > 0
        row = []
        for k in range(m):
            idx = np.flatnonzero(lab == k)
            ms, _ = connected_components(csr_array(wins[np.ix_(idx, idx)]), directed=True,
                                         connection="strong")
            row.append(ms == 1)
        strong_rows.append(row)
    width = max(1, int(n_comp.max()))
    strong = np.zeros((nX, width), dtype=bool)
    for x, row in enumerate(strong_rows):
        strong[x, :len(row)] = row
    return ComparisonGraph(readonly(labels), readonly(n_comp), readonly(strong))
