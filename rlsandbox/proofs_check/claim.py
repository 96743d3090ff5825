"""A claim: one checkable statement of a theorem, with its instances, measure and control.

A :class:`Claim` ties a theorem to code (DESIGN.md, "A claim"; STYLE.md §8). It names the
statement (``id``, ``paper``, ``cite``, ``statement``, ``assumptions``, ``provenance``), says
where to check it (``instances``: named zoo instances first, then seeded random ones, all
satisfying the assumptions), what to measure on each (``measure``: the measured side and the
theorem's side, as a :class:`Measurement`), how to compare them (``kind``, ``options``, see
:mod:`rlsandbox.proofs_check.checks`), and how the check is shown able to fail
(``negative_control``: the same measurement with one deliberate break, on which the check must
fail).

Everything is validated once, at construction, and raises ``ValueError``/``TypeError`` with a
message naming the field, the value and the fix. ``Instance.params`` and ``Measurement.extra``
are normalised to plain JSON types (numpy scalars and arrays to Python numbers and lists,
tuples to lists): they enter the result-store key and the reports.

These names, fields and check semantics are the contract every paper's claim module
(``rlsandbox/proofs_check/<paper>.py``) writes against; ``classic.py`` is the worked example.
"""
from __future__ import annotations

import functools
import json
import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_float_array, check_in_range, check_int, \
    check_scalar, readonly

__all__ = ["Claim", "Instance", "Measurement", "zoo_instances", "PAPERS", "KINDS",
           "PROVENANCES", "OPTIONS"]

#: Paper slugs a claim may belong to (the issue's list; cards in shared/papers/).
PAPERS = ("classic", "mdpo", "distributional", "r2pvi", "loop", "harpg", "preference")

#: How a card marks a statement: quoted from the paper, derived by us, or not yet verified.
PROVENANCES = ("paper", "derived", "unverified")

#: Check kinds; semantics in :mod:`rlsandbox.proofs_check.checks`.
KINDS = ("upper_bound", "lower_bound", "equality", "monotone", "rate", "high_probability")

#: Options each kind accepts: name -> (required, default). Unknown names are refused so that a
#: typo cannot silently switch a check off.
OPTIONS: dict[str, dict[str, tuple[bool, Any]]] = {
    "upper_bound": {},
    "lower_bound": {},
    "equality": {"rtol": (False, 0.0)},
    "monotone": {"direction": (True, None)},
    "rate": {"slope": (True, None), "confidence": (False, 0.95)},
    "high_probability": {"delta": (True, None), "alpha": (False, 1e-3)},
}

#: Directions a monotone claim may state.
DIRECTIONS = ("nonincreasing", "nondecreasing")

_ID_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+){2,}$")


def to_json(value: Any, name: str) -> Any:
    """``value`` as plain JSON data (dict/list/str/int/float/bool/None), else ``TypeError``.

    numpy scalars and arrays become Python numbers and lists, tuples become lists, mapping keys
    must be strings. Non-finite floats are refused (JSON has no NaN): a ``ValueError`` names
    where. Nothing else is converted.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"{name} is {v}; values stored as JSON must be finite")
        return v
    if isinstance(value, np.ndarray):
        if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_) \
                or np.issubdtype(value.dtype, np.complexfloating):
            raise TypeError(f"{name} is an array of dtype {value.dtype}; only real or boolean "
                            f"arrays can be stored as JSON")
        if value.ndim == 0:
            return to_json(value.item(), name)
        bad = ~np.isfinite(value) if np.issubdtype(value.dtype, np.floating) else None
        if bad is not None and bad.any():
            idx = ", ".join(map(str, np.unravel_index(int(np.argmax(bad)), value.shape)))
            raise ValueError(f"{name}[{idx}] is {value[bad].flat[0]}; values stored as JSON "
                             f"must be finite")
        return value.tolist()                 # Python floats / ints / bools, nested lists
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{name} has key {k!r} of type {type(k).__name__}; JSON keys "
                                f"must be strings")
            out[k] = to_json(v, f"{name}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(v, f"{name}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{name} holds a {type(value).__name__} ({value!r:.60}); only JSON data "
                    f"(numbers, strings, bools, None, lists, string-keyed dicts, numpy "
                    f"numbers/arrays) is allowed")


def _check_text(owner: str, name: str, value: Any, *, one_line: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name} must be a str, got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{owner}.{name} is empty; give the {name} as the card states it")
    if one_line and "\n" in value:
        raise ValueError(f"{owner}.{name} spans several lines ({value!r:.80}); the {name} is "
                         f"one line (put detail in assumptions or the docstring)")
    return value


def _check_callable(owner: str, name: str, value: Any, signature: str) -> None:
    if not callable(value):
        raise TypeError(f"{owner}.{name} must be a callable {signature}, got "
                        f"{type(value).__name__} {value!r:.60}")


def _number_or_vector(name: str, x: Any) -> float | np.ndarray:
    """A finite float (scalar input) or a read-only finite float64 1-D array."""
    if np.ndim(x) == 0:
        if isinstance(x, np.ndarray):
            x = x.item()
        return check_scalar(name, x)
    return readonly(check_float_array(name, x, ndim=1))


@dataclass(frozen=True)
class Instance:
    """One problem a claim is checked on.

    Parameters
    ----------
    name : str
        Readable label for reports, e.g. ``"riverswim"``, ``"garnet(S=10,A=3)#4"``.
    params : mapping
        JSON-able description of the instance (normalised to plain JSON); it enters the
        result-store key together with the instance's index and seed, so it should identify
        the instance (e.g. the sizes and the draw index of a random one).
    build : callable () -> problem
        Deterministic: every call returns an equal problem object (``TabularMDP``, ...).
        For ``--jobs``/Dask runs the instance list is regenerated in the worker from the
        same seed, so ``build`` need not be picklable.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> inst = Instance("riverswim", {"zoo": "riverswim"}, rls.mdps.riverswim)
    >>> inst.build().S
    6
    """

    name: str
    params: Mapping[str, Any]
    build: Callable[[], Any]

    def __post_init__(self) -> None:
        _check_text("Instance", "name", self.name, one_line=True)
        if not isinstance(self.params, Mapping):
            raise TypeError(f"Instance {self.name!r}: params must be a mapping of JSON data, "
                            f"got {type(self.params).__name__}")
        object.__setattr__(self, "params", to_json(self.params, f"Instance {self.name!r} params"))
        _check_callable(f"Instance {self.name!r}", "build", self.build, "() -> problem")

    def __hash__(self) -> int:   # params is a dict
        return hash(self.name)


@dataclass(frozen=True, eq=False)
class Measurement:
    """Both sides of a claim on one instance and run.

    Parameters
    ----------
    measured : float or array (n,)
        The measured quantity: a scalar for bounds and equalities; the sequence for
        ``monotone``; the y values (errors) for ``rate``; 1.0 or 0.0 (the bad event happened
        on this run or not) for ``high_probability``. Finite float64.
    bound : float or array (n,) or None
        The theorem's side (None for ``monotone``, ``rate`` and ``high_probability``).
    tol : float >= 0
        Slack the *measure* justifies (float round-off, a stopping rule's guarantee); the code
        computing it says why in a comment.
    extra : mapping
        JSON-able diagnostics shown in report.json; for ``rate``, ``extra["x"]`` holds the x
        values matching ``measured``.

    Measurements compare by identity (their arrays have no single truth value); compare
    :meth:`to_json` forms for equality of content.

    Examples
    --------
    >>> m = Measurement(0.25, 0.5, tol=1e-15, extra={"S": 4})
    >>> m.measured, m.bound, m.extra
    (0.25, 0.5, {'S': 4})
    """

    measured: float | np.ndarray
    bound: float | np.ndarray | None = None
    tol: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "measured", _number_or_vector("Measurement.measured",
                                                               self.measured))
        if self.bound is not None:
            object.__setattr__(self, "bound", _number_or_vector("Measurement.bound", self.bound))
        object.__setattr__(self, "tol", check_in_range("Measurement.tol", self.tol, low=0.0))
        if not isinstance(self.extra, Mapping):
            raise TypeError(f"Measurement.extra must be a mapping of JSON data, got "
                            f"{type(self.extra).__name__}")
        object.__setattr__(self, "extra", to_json(self.extra, "Measurement.extra"))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form; :meth:`from_json` inverts it exactly (float64 round-trips)."""
        return {"measured": to_json(self.measured, "measured"),
                "bound": to_json(self.bound, "bound"), "tol": self.tol, "extra": self.extra}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Measurement":
        """The measurement :meth:`to_json` produced."""
        return cls(data["measured"], data["bound"], data["tol"], data["extra"])


@dataclass(frozen=True)
class Claim:
    """A checkable statement of a theorem.

    Parameters
    ----------
    id : str
        Stable ``paper.theorem.slug`` (lowercase letters, digits, ``_``; at least three
        dot-separated parts, the first one the paper slug), e.g. ``"classic.vi.eps_half"``.
    paper : str
        One of :data:`PAPERS`.
    cite : str
        Citation with theorem number, e.g. ``"[puterman1994, Thm 6.3.1]"``.
    statement : str
        One line, quoted or paraphrased from the card or book.
    assumptions : str
        What the instances satisfy.
    provenance : {"paper", "derived", "unverified"}
        As the card marks the statement.
    kind : str
        One of :data:`KINDS`; semantics in :mod:`rlsandbox.proofs_check.checks`.
    instances : callable (n_random, rng) -> sequence of Instance
        Named zoo instances first, then ``n_random`` seeded random ones drawn from ``rng``
        only; every instance satisfies the assumptions. Deterministic given ``rng``.
    measure : callable (problem, rng) -> Measurement
        Randomness only from ``rng``.
    negative_control : callable (problem, rng) -> Measurement
        The same measurement with one deliberate break; the check must FAIL on it.
    control_note : str
        One line: what the control breaks.
    options : mapping
        Kind-specific (see :data:`OPTIONS`): equality ``{"rtol": r}`` (default 0);
        monotone ``{"direction": "nonincreasing" | "nondecreasing"}``; rate
        ``{"slope": (lo, hi), "confidence": 0.95}``; high_probability
        ``{"delta": d, "alpha": 1e-3}``. Defaults are filled in.
    runs : int >= 1
        Runs per instance (stochastic measures).
    quick, default : int >= 0
        Random instances under ``--quick`` and by default.

    Examples
    --------
    A toy claim: the entries of a Dirichlet draw sum to one. The control drops one entry.

    >>> import numpy as np
    >>> def instances(n_random, rng):
    ...     sizes = [2] + [int(n) for n in rng.integers(3, 50, size=n_random)]
    ...     return [Instance(f"dirichlet(n={n})", {"n": n}, lambda n=n: n) for n in sizes]
    >>> def total(n, rng):  # sum of n numbers in [0, 1]: round-off <= 2 n eps (Higham, §4.2)
    ...     x = rng.dirichlet(np.ones(n))
    ...     return Measurement(x.sum(), 1.0, tol=2 * n * np.finfo(float).eps)
    >>> def total_minus_first(n, rng):
    ...     x = rng.dirichlet(np.ones(n))
    ...     return Measurement(x[1:].sum(), 1.0, tol=2 * n * np.finfo(float).eps)
    >>> claim = Claim(id="classic.toy.dirichlet_sum", paper="classic", cite="[toy]",
    ...               statement="a Dirichlet vector sums to one", assumptions="n >= 2",
    ...               provenance="derived", kind="equality", instances=instances,
    ...               measure=total, negative_control=total_minus_first,
    ...               control_note="drops the first entry")
    >>> claim.options
    {'rtol': 0.0}
    """

    id: str
    paper: str
    cite: str
    statement: str
    assumptions: str
    provenance: str
    kind: str
    instances: Callable[[int, np.random.Generator], Sequence[Instance]]
    measure: Callable[[Any, np.random.Generator], Measurement]
    negative_control: Callable[[Any, np.random.Generator], Measurement]
    control_note: str
    options: Mapping[str, Any] = field(default_factory=dict)
    runs: int = 1
    quick: int = 3
    default: int = 20

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID_RE.match(self.id):
            raise ValueError(f"Claim id {self.id!r} is not of the form paper.theorem.slug "
                             f"(lowercase letters, digits and '_', at least three "
                             f"dot-separated parts), e.g. 'classic.vi.eps_half'")
        owner = f"Claim {self.id!r}"
        check_choice(f"{owner}: paper", self.paper, PAPERS)
        if self.id.split(".", 1)[0] != self.paper:
            raise ValueError(f"{owner}: the id must start with its paper slug {self.paper!r}, "
                             f"e.g. {self.paper + '.' + self.id.split('.', 1)[1]!r}")
        _check_text(owner, "cite", self.cite)
        _check_text(owner, "assumptions", self.assumptions)
        _check_text(owner, "statement", self.statement, one_line=True)
        _check_text(owner, "control_note", self.control_note, one_line=True)
        check_choice(f"{owner}: provenance", self.provenance, PROVENANCES)
        check_choice(f"{owner}: kind", self.kind, KINDS)
        _check_callable(owner, "instances", self.instances, "(n_random, rng) -> [Instance]")
        _check_callable(owner, "measure", self.measure, "(problem, rng) -> Measurement")
        _check_callable(owner, "negative_control", self.negative_control,
                        "(problem, rng) -> Measurement")
        object.__setattr__(self, "options", _check_options(owner, self.kind, self.options))
        object.__setattr__(self, "runs", check_int(f"{owner}: runs", self.runs, low=1))
        object.__setattr__(self, "quick", check_int(f"{owner}: quick", self.quick, low=0))
        object.__setattr__(self, "default", check_int(f"{owner}: default", self.default, low=0))

    def __hash__(self) -> int:   # options is a dict: hash by the (unique) id
        return hash(self.id)


def _check_options(owner: str, kind: str, options: Any) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise TypeError(f"{owner}: options must be a mapping, got {type(options).__name__}")
    spec = OPTIONS[kind]
    unknown = sorted(set(options) - set(spec))
    if unknown:
        allowed = ", ".join(map(repr, spec)) or "none"
        raise ValueError(f"{owner}: option(s) {', '.join(map(repr, unknown))} are not used by "
                         f"kind {kind!r}; allowed: {allowed}")
    out: dict[str, Any] = {}
    for name, (required, default) in spec.items():
        if name not in options:
            if required:
                raise ValueError(f"{owner}: kind {kind!r} needs options[{name!r}]; "
                                 f"{_OPTION_HELP[name]}")
            out[name] = default
        else:
            out[name] = options[name]
    where = f"{owner}: options"
    if kind == "equality":
        out["rtol"] = check_in_range(f"{where}['rtol']", out["rtol"], low=0.0)
    elif kind == "monotone":
        out["direction"] = check_choice(f"{where}['direction']", out["direction"], DIRECTIONS)
    elif kind == "rate":
        slope = out["slope"]
        if not isinstance(slope, (tuple, list)) or len(slope) != 2:
            raise ValueError(f"{where}['slope'] == {slope!r}; {_OPTION_HELP['slope']}")
        lo = check_scalar(f"{where}['slope'][0]", slope[0])
        hi = check_scalar(f"{where}['slope'][1]", slope[1])
        if lo > hi:
            raise ValueError(f"{where}['slope'] == {slope!r} has lo > hi; give (lo, hi)")
        out["slope"] = (lo, hi)
        out["confidence"] = check_in_range(f"{where}['confidence']", out["confidence"],
                                           low=0.0, high=1.0, low_open=True, high_open=True)
    elif kind == "high_probability":
        out["delta"] = check_in_range(f"{where}['delta']", out["delta"], low=0.0, high=1.0,
                                      low_open=True, high_open=True)
        out["alpha"] = check_in_range(f"{where}['alpha']", out["alpha"], low=0.0, high=1.0,
                                      low_open=True, high_open=True)
    return out


_OPTION_HELP = {
    "direction": f"one of {', '.join(map(repr, DIRECTIONS))}",
    "slope": "the interval (lo, hi) the fitted log-log slope must meet, e.g. (-1.1, -0.9)",
    "delta": "the failure probability the theorem states, e.g. 0.05",
}


def _zoo_build(name: str, params: dict[str, Any]) -> Any:
    from rlsandbox import mdps
    make = getattr(mdps, "make", None)
    if make is None:
        raise ValueError(f"zoo instance {name!r} cannot be built: rlsandbox.mdps.make does not "
                         f"exist in this version; build the instance with its builder directly")
    return make(name, **params)


def zoo_instances(*names: str, **params: Any) -> list[Instance]:
    """Named zoo instances, built lazily by ``rlsandbox.mdps.make(name, **params)``.

    Parameters
    ----------
    *names : str
        Zoo names (``rlsandbox.mdps.names()``).
    **params
        Keyword arguments passed to every builder (JSON-able), e.g. ``gamma=0.9``.

    Returns
    -------
    list of Instance
        ``name`` is the zoo name (with the parameters appended when given), ``params`` is
        ``{"zoo": name, **params}``, and ``build`` calls ``rlsandbox.mdps.make``.

    Examples
    --------
    >>> [inst.name for inst in zoo_instances("riverswim", gamma=0.9)]
    ['riverswim(gamma=0.9)']
    """
    if not names:
        raise ValueError("zoo_instances needs at least one zoo name, e.g. "
                         "zoo_instances('riverswim')")
    from rlsandbox import mdps
    known = mdps.names() if hasattr(mdps, "names") else None
    out = []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"zoo instance names are str, got {type(name).__name__} {name!r}")
        if known is not None and name not in known:
            raise ValueError(f"{name!r} is not a zoo instance; known: {', '.join(sorted(known))}")
        clean = to_json(params, f"zoo_instances({name!r}) params")
        label = name + ("(" + ",".join(f"{k}={json.dumps(v)}" for k, v in clean.items()) + ")"
                        if clean else "")
        out.append(Instance(label, {"zoo": name, **clean},
                            functools.partial(_zoo_build, name, clean)))
    return out
