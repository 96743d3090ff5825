"""The claim registry: every claim by id, selection by id, id prefix or paper, and plugins.

Claims register themselves when their module is imported (``register(Claim(...))`` at module
level); :mod:`rlsandbox.proofs_check` imports the built-in claim modules.

Plugins. The environment variable ``RLSANDBOX_CLAIM_PLUGINS`` lists extra claim modules,
separated by commas, each either

* ``module``: imported; the module registers its claims at import, or
* ``module:attr``: imported, then ``module.attr`` (a sequence of claims, or a callable returning
  one) is registered here; an *equal* claim already registered under the same id is kept (so a
  plugin may be loaded into a process that already holds its claims).

Plugins are loaded lazily, by :func:`load_plugins`, which :func:`select`, :func:`get_claim` and
the CLI call; worker processes of ``--jobs``/``--scheduler`` runs inherit the environment and so
see the same claims. Each spec is loaded once per process.
"""
from __future__ import annotations

import difflib
import importlib
import os
from collections.abc import Iterable

from rlsandbox.proofs_check.claim import PAPERS, Claim

__all__ = ["REGISTRY", "register", "get_claim", "select", "load_plugins", "PLUGINS_ENV"]

#: Every registered claim, by id, in registration order.
REGISTRY: dict[str, Claim] = {}

#: Environment variable naming plugin claim modules (see the module docstring).
PLUGINS_ENV = "RLSANDBOX_CLAIM_PLUGINS"

_LOADED: set[str] = set()


def register(claim: Claim) -> Claim:
    """Add ``claim`` to :data:`REGISTRY` and return it; a second claim with the same id raises.

    Examples
    --------
    >>> register("classic.vi.eps_half")
    Traceback (most recent call last):
    ...
    TypeError: register expects a Claim, got str
    """
    if not isinstance(claim, Claim):
        raise TypeError(f"register expects a Claim, got {type(claim).__name__}")
    if claim.id in REGISTRY:
        raise ValueError(f"claim id {claim.id!r} is already registered (by "
                         f"{REGISTRY[claim.id].measure.__module__}); ids must be unique: "
                         f"rename one of the two")
    REGISTRY[claim.id] = claim
    return claim


def load_plugins(spec: str | None = None) -> list[str]:
    """Import the plugin claim modules named by ``spec`` (default: ``$RLSANDBOX_CLAIM_PLUGINS``).

    Returns the ids of the claims registered by this call. A spec already loaded in this
    process is skipped. An unimportable module or a bad attribute raises ``ValueError`` naming
    the spec and the variable.
    """
    if spec is None:
        spec = os.environ.get(PLUGINS_ENV, "")
    before = set(REGISTRY)
    for entry in (e.strip() for e in spec.split(",")):
        if not entry or entry in _LOADED:
            continue
        module_name, _, attr = entry.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"{PLUGINS_ENV} names {entry!r}, but module {module_name!r} cannot "
                             f"be imported ({exc}); check the name and that its directory is "
                             f"on sys.path (PYTHONPATH)") from exc
        if attr:
            if not hasattr(module, attr):
                raise ValueError(f"{PLUGINS_ENV} names {entry!r}, but module {module_name!r} has "
                                 f"no attribute {attr!r}")
            claims = getattr(module, attr)
            for claim in (claims() if callable(claims) else claims):
                if REGISTRY.get(getattr(claim, "id", None)) != claim:
                    register(claim)
        _LOADED.add(entry)
    return [cid for cid in REGISTRY if cid not in before]


def get_claim(claim_id: str) -> Claim:
    """The registered claim ``claim_id`` (plugins loaded first if it is not there yet)."""
    if claim_id not in REGISTRY:
        load_plugins()
    if claim_id not in REGISTRY:
        close = difflib.get_close_matches(claim_id, list(REGISTRY), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else \
            "; `rlsandbox list claims` shows the registered ones"
        raise ValueError(f"no claim with id {claim_id!r} is registered{hint}")
    return REGISTRY[claim_id]


def select(tokens: Iterable[str] = ()) -> list[Claim]:
    """Claims named by ``tokens``: paper slugs, claim ids, or id prefixes ending at a dot.

    No tokens selects every registered claim. The result is ordered by paper (the order of
    ``PAPERS``), then by registration order within a paper, so a report does not depend on the
    order in which claim modules happened to be imported; it holds each claim once. An unknown token, or a paper with no registered claims, raises
    ``ValueError``.

    Examples
    --------
    >>> select(["nonexistent.claim.id"])
    Traceback (most recent call last):
    ...
    ValueError: 'nonexistent.claim.id' is neither a paper slug (classic, mdpo, distributional, r2pvi, loop, harpg, preference) nor a registered claim id or id prefix; `rlsandbox list claims` shows the registered ones
    """
    load_plugins()
    tokens = list(tokens)
    if not tokens:
        return _by_paper(REGISTRY.values())
    chosen: set[str] = set()
    for token in tokens:
        if not isinstance(token, str):
            raise TypeError(f"claim selectors are str, got {type(token).__name__} {token!r}")
        if token in PAPERS:
            hits = [c.id for c in REGISTRY.values() if c.paper == token]
            if not hits:
                raise ValueError(f"no claims of paper {token!r} are registered yet; registered "
                                 f"papers: {', '.join(sorted({c.paper for c in REGISTRY.values()})) or 'none'}")
        else:
            hits = [cid for cid in REGISTRY if cid == token or cid.startswith(token + ".")]
            if not hits:
                close = difflib.get_close_matches(token, list(REGISTRY), n=3)
                hint = (f"; did you mean {', '.join(map(repr, close))}?" if close else
                        "; `rlsandbox list claims` shows the registered ones")
                raise ValueError(f"{token!r} is neither a paper slug ({', '.join(PAPERS)}) nor "
                                 f"a registered claim id or id prefix{hint}")
        chosen.update(hits)
    return _by_paper(c for cid, c in REGISTRY.items() if cid in chosen)


def _by_paper(claims: Iterable[Claim]) -> list[Claim]:
    """Claims sorted by their paper's position in ``PAPERS`` (stable: registration order within)."""
    return sorted(claims, key=lambda claim: PAPERS.index(claim.paper))
