"""The deterministic token-level MDP of RQ24 ("From r to Q*"): soft Bellman values, implicit
rewards, DPO as inverse soft-Q learning, likelihood (beam) search.

A prompt x starts a tree: state s_t = (x, a_0, ..., a_{t-1}), action a_t in {0..V-1}, the
deterministic transition s_{t+1} = s_t + a_t, fixed length T (the states at depth T are
terminal, value 0). A reference policy piref(a|s) and a per-token reward r(s, a) live on the
non-terminal states; a response y = (a_0..a_{T-1}) has return R(x, y) = sum_t r(s_t, a_t) and
log-probability sum_t log pi(a_t|s_t) (sums, not means; card §6 pitfall 10).

Soft Bellman recursion with reference, this card's convention [preference_coverage, §2.7]:

    Q*(s, a)  = r(s, a) + V*(s + a),        V* = 0 at depth T
    V*(s)     = beta log sum_a piref(a|s) exp(Q*(s, a) / beta)
    pi*(a|s)  = piref(a|s) exp((Q*(s, a) - V*(s)) / beta)

RQ24 folds beta log piref into the reward, Q_RQ = Q* + beta log piref, V* = beta logsumexp
(Q_RQ / beta): the same pi* and V*. Identities (card C14, C15; [RQ24], exact forms derived):

    (a) beta log(pi*/piref)(a|s) = Q*(s, a) - V*(s) = r(s, a) + V*(s + a) - V*(s)
    (b) sum_t beta log(pi*/piref)(a_t|s_t) = R(x, y) - V*(x)
    (c) pi*(y|x) proportional to piref(y|x) exp(R(x, y)/beta): the sequence bandit's optimum
    (d) potential shaping r + Phi(s + a) - Phi(s), Phi = 0 at depth T, changes R by -Phi(x)
    (e) for any pi, the soft-optimal policy of r_pi = beta log(pi/piref) is pi itself, V = 0
    C15(b) log pi*(a_{0:t}|x) = (1/beta)[sum_{k<=t} (r + beta log piref)(s_k, a_k)
                                         + V*(s_{t+1}) - V*(x)]

Array layout: level t (0 <= t < T) holds an array of shape (nX,) + (V,)*(t+1) indexed by
(x, a_0, ..., a_t): the quantity at state s_t = (x, a_0..a_{t-1}) and action a_t. Values
V at depth t have shape (nX,) + (V,)*t. Sequence tables (returns, log-probabilities) have
shape (nX,) + (V,)*T; ``V**T`` is kept at most 10^5 (card §2.8). Deviations: fixed length T
only (no EOS token).

Token-level DPO training (:func:`train_token`; card §2.7 steps (4)-(5), §3.2 "sequences: log
pi(y|x) = sum_t log pi(a_t|s_t)"): per-state logits theta(s, .) with pi(.|s) = softmax, the
pairwise loss of sequence margins h = sum_t [log pi - log piref](s_t, a_t) over y+ minus y-,
and full-batch gradient descent. With c(y) = sum_{y'} W ell'(m)[y, y'] - W ell'(m)[y', y] the
net coefficient of a response, d loss / d theta(s_t, a) = C(s_t, a) - pi(a|s_t) sum_a' C(s_t,
a'), where C(s_t, a) sums c over the responses through (s_t, a).

Reference-free losses on sequences (card §3.5): SimPO's margin is the difference of *mean*
token log-probabilities, u = log pi(y+|x)/|y+| - log pi(y-|x)/|y-| [SIMPO24]; DPO-noref keeps
the sums, u = log pi(y+|x) - log pi(y-|x) (card §3.2 control). In this fixed-length tree
|y| = T for every response, so SimPO's length normalisation is the constant factor 1/T (the
same as simpo_beta/T on summed log-probabilities; it matters only with variable lengths,
which need an EOS token: not modelled).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.special import logsumexp

from rlsandbox._validate import check_float_array, check_in_range, check_int, readonly
from rlsandbox.algorithms.preference.data import PairData, check_pair_data
from rlsandbox.algorithms.preference.losses import PairLoss
from rlsandbox.algorithms.preference.model import PreferenceBandit, kl_divergence

__all__ = ["TokenTree", "SoftSolution", "soft_solve", "rq_q_values", "sequence_sum",
           "sequence_return", "sequence_logprob", "implicit_reward", "shape_reward", "to_bandit", "beam_search",
           "prefix_logprob", "policy_levels_from_logits", "TokenTrainResult", "train_token",
           "identity_errors",
           "MAX_LEAVES"]

#: Largest number of leaves V^T per prompt the enumerating functions accept.
MAX_LEAVES = 100_000


def _level_shape(nX: int, V: int, t: int) -> tuple[int, ...]:
    return (nX,) + (V,) * (t + 1)


def _check_levels(name: str, levels: Any, nX: int, V: int, T: int, *, log: bool) -> tuple:
    if not isinstance(levels, (list, tuple)) or len(levels) != T:
        n = len(levels) if hasattr(levels, "__len__") else "?"
        raise ValueError(f"{name} must be a sequence of T = {T} arrays (one per depth), got "
                         f"{type(levels).__name__} of length {n}")
    out = []
    for t, lev in enumerate(levels):
        arr = np.array(lev, dtype=np.float64)
        if arr.shape != _level_shape(nX, V, t):
            raise ValueError(f"{name}[{t}] has shape {arr.shape}; expected (nX,) + (V,)*{t + 1} "
                             f"= {_level_shape(nX, V, t)}")
        if np.isnan(arr).any() or (arr == np.inf).any() or (not log and not np.isfinite(arr).all()):
            raise ValueError(f"{name}[{t}] holds NaN or inf; expected "
                             + ("log-probabilities (finite or -inf)" if log else "finite values"))
        if log:
            s = np.exp(arr).sum(axis=-1)
            if np.abs(s - 1.0).max() > 1e-9:
                raise ValueError(f"exp({name}[{t}]) does not sum to 1 over the last axis (max "
                                 f"deviation {np.abs(s - 1.0).max():.3g}); each state's action "
                                 f"distribution must be normalised")
        out.append(readonly(arr))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class TokenTree:
    """A deterministic token tree: reference policy and per-token reward per depth (RQ24).

    Parameters
    ----------
    log_piref : sequence of T arrays, level t of shape (nX,) + (V,)*(t+1)
        log piref(a_t | s_t), each state's row normalised; -inf allowed (token unavailable).
    r : sequence of T arrays of the same shapes
        Per-token reward r(s_t, a_t) (dense allowed).
    beta : float > 0

    Examples
    --------
    >>> t = TokenTree([np.log([[0.5, 0.5]])], [np.array([[1.0, 0.0]])], beta=1.0)
    >>> t.nX, t.V, t.T
    (1, 2, 1)
    """

    log_piref: Sequence[np.ndarray]
    r: Sequence[np.ndarray]
    beta: float
    nX: int = field(init=False)
    V: int = field(init=False)
    T: int = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.log_piref, (list, tuple)) or not self.log_piref:
            raise ValueError("log_piref must be a non-empty sequence of per-depth arrays")
        first = np.asarray(self.log_piref[0])
        if first.ndim != 2:
            raise ValueError(f"log_piref[0] has shape {first.shape}; expected (nX, V)")
        nX, V = first.shape
        T = len(self.log_piref)
        if V < 2:
            raise ValueError(f"the vocabulary has V = {V} token; need V >= 2")
        if V ** T > MAX_LEAVES:
            raise ValueError(f"V**T = {V}**{T} = {V ** T} leaves per prompt exceeds {MAX_LEAVES}; "
                             f"use a smaller vocabulary or horizon")
        object.__setattr__(self, "log_piref",
                           _check_levels("log_piref", self.log_piref, nX, V, T, log=True))
        object.__setattr__(self, "r", _check_levels("r", self.r, nX, V, T, log=False))
        object.__setattr__(self, "beta", check_in_range("beta", self.beta, low=0.0,
                                                        low_open=True))
        object.__setattr__(self, "nX", nX)
        object.__setattr__(self, "V", V)
        object.__setattr__(self, "T", T)

    def __repr__(self) -> str:
        return f"TokenTree(nX={self.nX}, V={self.V}, T={self.T}, beta={self.beta:g})"

    def replace(self, **changes: Any) -> "TokenTree":
        kw = {"log_piref": self.log_piref, "r": self.r, "beta": self.beta}
        kw.update(changes)
        return TokenTree(**kw)


@dataclass(frozen=True, eq=False)
class SoftSolution:
    """Soft-optimal solution of a token tree.

    Attributes
    ----------
    Q : tuple of T arrays, Q*(s_t, a_t) (this card's convention, without beta log piref).
    V : tuple of T + 1 arrays, V*(s_t) with shape (nX,) + (V,)*t; V[T] = 0.
    log_pi : tuple of T arrays, log pi*(a_t | s_t).
    """

    Q: tuple
    V: tuple
    log_pi: tuple


def soft_solve(tree: TokenTree, r: Sequence[np.ndarray] | None = None, *,
               reference_in_value: bool = True) -> SoftSolution:
    """Backward soft Bellman recursion over the tree (card §2.7), for the tree's reward or a
    given per-token reward ``r`` (same layout).

    ``reference_in_value=False`` is the card's C14 negative control: V(s) = beta logsumexp
    (Q/beta) without piref inside, while still setting pi = piref exp((Q - V)/beta) -- which is
    then not normalised.

    Examples
    --------
    One step (T = 1) is the bandit: V*(x) = beta log sum_a piref e^{r/beta}.

    >>> t = TokenTree([np.log([[0.5, 0.5]])], [np.array([[1.0, 0.0]])], beta=1.0)
    >>> sol = soft_solve(t)
    >>> bool(abs(sol.V[0][0] - np.log((np.e + 1) / 2)) < 1e-15)
    True
    """
    r = tree.r if r is None else _check_levels("r", r, tree.nX, tree.V, tree.T, log=False)
    beta = tree.beta
    V_next = np.zeros((tree.nX,) + (tree.V,) * tree.T)
    Qs, Vs, pis = [None] * tree.T, [None] * (tree.T + 1), [None] * tree.T
    Vs[tree.T] = readonly(V_next)
    for t in range(tree.T - 1, -1, -1):
        Q = r[t] + V_next
        lp = tree.log_piref[t]
        if reference_in_value:
            Vt = beta * logsumexp(lp + Q / beta, axis=-1)
        else:
            Vt = beta * logsumexp(Q / beta, axis=-1)
        with np.errstate(invalid="ignore"):
            log_pi = lp + (Q - Vt[..., None]) / beta
        Qs[t], Vs[t], pis[t] = readonly(Q), readonly(Vt), readonly(log_pi)
        V_next = Vt
    return SoftSolution(tuple(Qs), tuple(Vs), tuple(pis))


def rq_q_values(tree: TokenTree, sol: SoftSolution) -> tuple:
    """RQ24's convention Q_RQ(s, a) = Q*(s, a) + beta log piref(a|s) (card §2.7), per level."""
    return tuple(readonly(Q + tree.beta * lp) for Q, lp in zip(sol.Q, tree.log_piref))


def _expand(arr: np.ndarray, T: int, t: int) -> np.ndarray:
    """View a level-t array (nX,) + (V,)*(t+1) with T - t - 1 trailing singleton axes."""
    return arr.reshape(arr.shape + (1,) * (T - t - 1))


def sequence_sum(levels: Sequence[np.ndarray], T: int) -> np.ndarray:
    """sum_t level_t(s_t, a_t) along every full response: (nX,) + (V,)*T."""
    total = 0.0
    for t, lev in enumerate(levels):
        total = total + _expand(np.asarray(lev), T, t)
    return np.asarray(total, dtype=np.float64)


def sequence_return(tree: TokenTree, r: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """R(x, y) = sum_t r(s_t, a_t) for every response y (nX,) + (V,)*T."""
    return readonly(sequence_sum(tree.r if r is None else r, tree.T))


def sequence_logprob(tree: TokenTree, log_pi: Sequence[np.ndarray]) -> np.ndarray:
    """log pi(y|x) = sum_t log pi(a_t|s_t) for every response (nX,) + (V,)*T (-inf allowed)."""
    log_pi = _check_levels("log_pi", log_pi, tree.nX, tree.V, tree.T, log=True)
    return readonly(sequence_sum(log_pi, tree.T))


def implicit_reward(tree: TokenTree, log_pi: Sequence[np.ndarray]) -> tuple:
    """Per-token implicit reward r_pi(s, a) = beta log(pi(a|s)/piref(a|s)) (card C14(e)),
    per level; 0 where both are 0."""
    log_pi = _check_levels("log_pi", log_pi, tree.nX, tree.V, tree.T, log=True)
    out = []
    for lp, lr in zip(log_pi, tree.log_piref):
        with np.errstate(invalid="ignore"):
            d = tree.beta * (lp - lr)
        out.append(readonly(np.where(np.isnan(d), 0.0, d)))
    return tuple(out)


def shape_reward(tree: TokenTree, Phi: Sequence[np.ndarray]) -> tuple:
    """Potential shaping r'(s_t, a_t) = r + Phi(s_{t+1}) - Phi(s_t) (card C14(d)).

    ``Phi`` holds T + 1 arrays, Phi[t] of shape (nX,) + (V,)*t (Phi[0] at the prompt); the
    theory needs Phi[T] = 0 (terminal); a nonzero Phi[T] is the card's negative control.
    """
    if not isinstance(Phi, (list, tuple)) or len(Phi) != tree.T + 1:
        raise ValueError(f"Phi must hold T + 1 = {tree.T + 1} arrays (depths 0..T)")
    out = []
    for t in range(tree.T):
        cur = check_float_array(f"Phi[{t}]", Phi[t], shape=(tree.nX,) + (tree.V,) * t)
        nxt = check_float_array(f"Phi[{t + 1}]", Phi[t + 1],
                                shape=(tree.nX,) + (tree.V,) * (t + 1))
        out.append(readonly(tree.r[t] + nxt - cur[..., None]))
    return tuple(out)


def policy_levels_from_logits(logits: Sequence[np.ndarray]) -> tuple:
    """Normalise per-state logits (any finite/-inf arrays in the level layout) to log-policies."""
    return tuple(readonly(np.asarray(z, dtype=np.float64) -
                          logsumexp(z, axis=-1, keepdims=True)) for z in logits)


def to_bandit(tree: TokenTree, *, rho: Any = None) -> PreferenceBandit:
    """The sequence-level bandit of the tree: responses are the V^T token sequences (C-order
    flattening of (a_0, ..., a_{T-1})), piref(y|x) = prod_t piref(a_t|s_t), r*(x, y) = R(x, y),
    same beta (card C14(c)).

    Examples
    --------
    >>> t = TokenTree([np.log([[0.5, 0.5]])], [np.array([[1.0, 0.0]])], beta=1.0)
    >>> to_bandit(t).K
    2
    """
    lp = sequence_sum(tree.log_piref, tree.T).reshape(tree.nX, -1)
    R = sequence_return(tree).reshape(tree.nX, -1)
    piref = np.exp(lp)
    piref = piref / piref.sum(axis=-1, keepdims=True)     # exact up to the last ulp
    return PreferenceBandit(piref=piref, r=R, beta=tree.beta, rho=rho)


def prefix_logprob(tree: TokenTree, log_pi: Sequence[np.ndarray], t: int) -> np.ndarray:
    """log pi(a_0..a_t | x) for every prefix of length t + 1: (nX,) + (V,)*(t+1)."""
    t = check_int("t", t, low=0, high=tree.T - 1)
    total = 0.0
    for k in range(t + 1):
        total = total + np.asarray(log_pi[k]).reshape(log_pi[k].shape + (1,) * (t - k))
    return readonly(np.asarray(total, dtype=np.float64))


def beam_search(tree: TokenTree, log_pi: Sequence[np.ndarray], width: int) -> np.ndarray:
    """Beam search on the policy's log-likelihood (card C15, §5.3 E7): keep the ``width`` most
    likely prefixes at each depth (ties broken by the smaller flat index), return the most
    likely complete response per prompt as token arrays (nX, T).

    width = 1 is greedy decoding; width >= V^(T-1) is exact likelihood search (every prefix of
    length T-1 is kept and all its children compared).

    Examples
    --------
    >>> t = TokenTree([np.log([[0.6, 0.4]]), np.log([[[0.5, 0.5], [0.9, 0.1]]])],
    ...               [np.zeros((1, 2)), np.zeros((1, 2, 2))], beta=1.0)
    >>> beam_search(t, t.log_piref, 1).tolist(), beam_search(t, t.log_piref, 2).tolist()
    ([[0, 0]], [[1, 0]])
    """
    width = check_int("width", width, low=1)
    log_pi = _check_levels("log_pi", log_pi, tree.nX, tree.V, tree.T, log=True)
    out = np.zeros((tree.nX, tree.T), dtype=np.int64)
    for x in range(tree.nX):
        beams = [((), 0.0)]
        for t in range(tree.T):
            cand = []
            for prefix, score in beams:
                row = log_pi[t][(x,) + prefix]
                for a in range(tree.V):
                    if row[a] > -np.inf:
                        cand.append((prefix + (a,), score + float(row[a])))
            cand.sort(key=lambda c: (-c[1], c[0]))
            beams = cand[:width]
        out[x] = beams[0][0]
    return readonly(out)


@dataclass(frozen=True, eq=False)
class TokenTrainResult:
    """A token-level training run.

    Attributes
    ----------
    log_pi : tuple of T arrays, the final per-state log-policy (level layout).
    steps : (n,) int, the recorded steps (0 = initialisation).
    logpi_path : (n, nX, V**T) sequence log-probabilities at the recorded steps (C-order
        flattening of the responses, as :func:`to_bandit`).
    loss : (n,) the pairwise loss sum W ell(m).
    kl : (n,) sequence-level KL_rho(pi || piref).
    """

    log_pi: tuple
    steps: np.ndarray
    logpi_path: np.ndarray
    loss: np.ndarray
    kl: np.ndarray


def train_token(tree: TokenTree, data: PairData, loss: PairLoss, *, steps: int, lr: float,
                record: Any = None, rho: Any = None) -> TokenTrainResult:
    """Token-level DPO (or IPO, rDPO, cDPO, SimPO, DPO-noref) by full-batch gradient descent on
    per-state logits initialised at log piref (card §2.7 inverse soft-Q learning, §3.2, §3.5;
    RQ24). -inf logits (tokens piref forbids) never move. Sequence margins: reference losses
    use h = sum_t log(pi/piref)(s_t, a_t) over y+ minus y-; SimPO the mean token log-prob
    difference u = (1/T) sum_t [log pi(a+_t|s+_t) - log pi(a-_t|s-_t)] (card §3.5, |y| = T
    here); DPO-noref the summed one.

    Parameters
    ----------
    tree : TokenTree
    data : PairData over the sequence bandit ``to_bandit(tree)`` (shape (nX, V**T, V**T)),
        e.g. ``population_pairs(to_bandit(tree))`` or ``sample_pairs(...)``
    loss : PairLoss (``dpo(tree.beta)`` for DPO; ``simpo(simpo_beta, simpo_gamma)`` for
        sequence SimPO with mean token log-probabilities)
    steps : int >= 0; lr : float > 0 (constant step)
    record : steps to record (default every step)
    rho : prompt distribution for the KL record (uniform by default)

    Returns
    -------
    TokenTrainResult

    Deviations: plain gradient descent with a constant step; no minibatches.

    Examples
    --------
    On a tree with full-support population pairs the token-level DPO iterates approach pi*
    (card §2.7: DPO in the token MDP recovers the soft-optimal policy).

    >>> from rlsandbox.algorithms.preference import dpo, population_pairs
    >>> t = TokenTree([np.log([[0.5, 0.5]]), np.log([[[0.6, 0.4], [0.3, 0.7]]])],
    ...               [np.array([[1.0, 0.0]]), np.array([[[0.0, 0.5], [1.0, 0.0]]])], beta=1.0)
    >>> b = to_bandit(t)
    >>> out = train_token(t, population_pairs(b), dpo(1.0), steps=3000, lr=2.0, record=[3000])
    >>> bool(np.abs(np.exp(out.logpi_path[-1]) - b.pi_star).max() < 1e-6)
    True
    """
    if not isinstance(tree, TokenTree):
        raise TypeError(f"tree must be a TokenTree, got {type(tree).__name__}")
    if not isinstance(loss, PairLoss):
        raise TypeError(f"loss must be a PairLoss (dpo, ipo, rdpo, cdpo, simpo, dpo_noref), "
                        f"got {type(loss).__name__}")
    bandit = to_bandit(tree, rho=rho)
    check_pair_data(bandit, data)
    steps = check_int("steps", steps, low=0)
    lr = check_in_range("lr", lr, low=0.0, low_open=True)
    rec = np.arange(steps + 1) if record is None else np.unique(np.asarray(record, np.int64))
    if rec.size == 0 or rec.min() < 0 or rec.max() > steps:
        raise ValueError(f"record must list steps in [0, {steps}], got {record!r}")
    nX, V, T = tree.nX, tree.V, tree.T
    seq_ref = sequence_sum(tree.log_piref, T).reshape(nX, -1)
    # d margin / d (summed sequence log-prob): 1/T for SimPO's mean token log-prob, else 1
    scale = 1.0 / T if loss.name == "simpo" else 1.0
    used = data.W > 0
    xs, yp, ym = np.nonzero(used)
    Wu = data.W[used]
    K = V ** T
    size = nX * K
    fp, fm = xs * K + yp, xs * K + ym
    theta = [np.array(lp, dtype=np.float64) for lp in tree.log_piref]
    n = rec.size
    path, loss_rec, kl_rec = np.empty((n, nX, K)), np.empty(n), np.empty(n)
    j = 0
    for t in range(steps + 1):
        log_pi = [z - logsumexp(z, axis=-1, keepdims=True) for z in theta]
        seq = sequence_sum(log_pi, T).reshape(nX, -1)
        with np.errstate(invalid="ignore"):
            g = np.where(np.isfinite(seq_ref), scale * (seq - seq_ref if loss.reference
                                                        else seq), 0.0)
        m = g[xs, yp] - g[xs, ym]
        if j < n and rec[j] == t:
            path[j] = seq
            loss_rec[j] = float(Wu @ loss.value(m))
            kl_rec[j] = float(bandit.rho @ kl_divergence(seq, bandit.log_piref))
            j += 1
        if t == steps:
            break
        c = scale * Wu * loss.derivative(m)
        c_seq = (np.bincount(fp, c, size) - np.bincount(fm, c, size)).reshape((nX,) + (V,) * T)
        for lev in range(T):
            C = c_seq.sum(axis=tuple(range(lev + 2, T + 1))) if lev + 1 < T else c_seq
            p = np.exp(log_pi[lev])
            theta[lev] = theta[lev] - lr * (C - p * C.sum(axis=-1, keepdims=True))
    log_pi = tuple(readonly(z - logsumexp(z, axis=-1, keepdims=True)) for z in theta)
    return TokenTrainResult(log_pi, readonly(rec), readonly(path), readonly(loss_rec),
                            readonly(kl_rec))


def _log_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| over log-probabilities, with -inf == -inf counted as agreement (error 0) and
    a -inf against a finite value as +inf: never NaN. 0 for empty arrays."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    same_inf = np.isinf(a) & (a == b)
    with np.errstate(invalid="ignore"):
        d = np.abs(a - b)
    return float(np.max(np.where(same_inf, 0.0, d), initial=0.0))


def identity_errors(tree: TokenTree, *, rng: Any, reference_in_value: bool = True
                    ) -> dict[str, tuple[float, float]]:
    """The card's C14 identities (a)-(e) on one tree, as (max abs error, round-off allowance)
    per identity, plus the normalisation of pi* at every state (card §2.7, C14).

    Keys: "normalisation", "(a) soft advantage", "(b) telescoping", "(c) bandit equivalence",
    "(d) shaping invariance", "(e) implicit-reward optimality". (d) draws a random potential
    Phi (Phi = 0 at depth T) and (e) random per-state logits from ``rng``.
    ``reference_in_value=False`` is C14's negative control (piref dropped inside V).

    Log space: where piref (hence pi*) is 0 both sides of a log-probability identity are -inf;
    such entries agree (error 0) when both are -inf and count as an infinite error when only
    one is -- never NaN (card §6 pitfall 2). Identity (a) is checked on the reference support.

    Allowance: every identity compares sums of at most 2T + 2 terms of size <= s (the largest
    |r|, |V*|, beta |log piref| plus 1): 64 (2T + 2) U s, U = 2^-53 (a factor 64 of headroom;
    divided by beta for the log-probability identities (c), (d)); normalisation: 64 V U.

    Examples
    --------
    >>> from rlsandbox.mdps.preference import random_token_tree
    >>> errs = identity_errors(random_token_tree(rng=0), rng=1)
    >>> all(e <= tol for e, tol in errs.values())
    True
    """
    if not isinstance(tree, TokenTree):
        raise TypeError(f"tree must be a TokenTree, got {type(tree).__name__}")
    rng = np.random.default_rng(rng)
    beta, T, U = tree.beta, tree.T, float(np.finfo(np.float64).eps) / 2.0
    sol = soft_solve(tree, reference_in_value=reference_in_value)
    vals = [np.abs(r).max() for r in tree.r] + [np.abs(v).max() for v in sol.V]
    vals += [beta * np.abs(lp[np.isfinite(lp)]).max() for lp in tree.log_piref]
    tol = 64 * (2 * T + 2) * U * (float(max(vals)) + 1.0)
    out = {"normalisation": (max(float(np.abs(np.exp(lp).sum(axis=-1) - 1).max())
                                 for lp in sol.log_pi), 64 * tree.V * U)}
    err_a = 0.0
    for lp, lr, r, Vn, Vt in zip(sol.log_pi, tree.log_piref, tree.r, sol.V[1:], sol.V[:-1]):
        on = np.isfinite(lr)
        err_a = max(err_a, _log_diff(lp[~on], lr[~on]),
                    float(np.max(np.abs(beta * (lp[on] - lr[on])
                                        - (r + Vn - Vt[..., None])[on]), initial=0.0)))
    out["(a) soft advantage"] = (err_a, tol)
    seq_pi = sequence_sum(sol.log_pi, T)
    seq_ref = sequence_sum(tree.log_piref, T)
    R = sequence_return(tree)
    V0 = sol.V[0].reshape((tree.nX,) + (1,) * T)
    on = np.isfinite(seq_ref)
    out["(b) telescoping"] = (max(_log_diff(seq_pi[~on], seq_ref[~on]), float(np.max(np.abs(
        beta * (seq_pi[on] - seq_ref[on]) - (R - V0)[on]), initial=0.0))), tol)
    lw = seq_ref.reshape(tree.nX, -1) + R.reshape(tree.nX, -1) / beta
    bandit_lp = lw - logsumexp(lw, axis=1, keepdims=True)
    out["(c) bandit equivalence"] = (_log_diff(seq_pi.reshape(tree.nX, -1), bandit_lp),
                                     tol / beta)
    Phi = [rng.normal(size=(tree.nX,) + (tree.V,) * t) for t in range(T)] + \
        [np.zeros((tree.nX,) + (tree.V,) * T)]
    sol_s = soft_solve(tree, shape_reward(tree, Phi))
    out["(d) shaping invariance"] = (
        max(_log_diff(a, c) for a, c in zip(sol_s.log_pi, sol.log_pi)), tol / beta)
    logits = [np.where(np.isfinite(lr), rng.normal(size=lr.shape), -np.inf)
              for lr in tree.log_piref]
    pi_levels = policy_levels_from_logits(logits)
    sol_e = soft_solve(tree, implicit_reward(tree, pi_levels),
                       reference_in_value=reference_in_value)
    err_e = max(max(_log_diff(a, c) for a, c in zip(sol_e.log_pi, pi_levels)),
                max(float(np.abs(v).max()) for v in sol_e.V))
    out["(e) implicit-reward optimality"] = (err_e, tol)
    return out
