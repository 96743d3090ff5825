"""Claims: theorems as checkable statements, the runner that checks them, and their reports.

A :class:`Claim` is one statement of a paper with its instances, its measurement, its check
kind and a negative control on which the check must fail (DESIGN.md, "A claim"). Claims are
registered by id in :data:`REGISTRY`; :func:`run` checks them on seeded instances (serially,
on local processes or on a Dask cluster, with bitwise-identical results and a resumable
on-disk store), and :mod:`rlsandbox.proofs_check.report` writes ``report.md``,
``report.json`` and one plot per claim. ``rlsandbox verify`` and ``rlsandbox list claims``
are the command-line front ends (:mod:`rlsandbox.proofs_check.cli`).

Examples
--------
>>> from rlsandbox.proofs_check import REGISTRY, select
>>> all(claim.id in REGISTRY for claim in select())
True
"""
from __future__ import annotations

from rlsandbox.proofs_check.checks import CellCheck, Verdict, check, check_cell
from rlsandbox.proofs_check.claim import KINDS, PAPERS, PROVENANCES, Claim, Instance, \
    Measurement, zoo_instances
from rlsandbox.proofs_check.registry import PLUGINS_ENV, REGISTRY, get_claim, load_plugins, \
    register, select
from rlsandbox.proofs_check.runner import CellError, ClaimResult, RunResult, run, run_claim
from rlsandbox.proofs_check.store import Store

__all__ = ["Claim", "Instance", "Measurement", "register", "REGISTRY", "zoo_instances",
           "PAPERS", "KINDS", "PROVENANCES", "check", "check_cell", "CellCheck", "Verdict",
           "get_claim", "select", "load_plugins", "PLUGINS_ENV", "run", "run_claim",
           "RunResult", "ClaimResult", "CellError", "Store"]

# The built-in claim modules register their claims at import.
from rlsandbox.proofs_check import classic  # noqa: E402,F401
from rlsandbox.proofs_check import harpg  # noqa: E402,F401
from rlsandbox.proofs_check import r2pvi  # noqa: E402,F401
from rlsandbox.proofs_check import distributional  # noqa: E402,F401
from rlsandbox.proofs_check import mdpo  # noqa: E402,F401
from rlsandbox.proofs_check import loop  # noqa: E402,F401
from rlsandbox.proofs_check import preference  # noqa: E402,F401
