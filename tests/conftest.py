"""Shared pytest configuration: hypothesis profiles.

``ci``  (loaded when the ``CI`` environment variable is set): derandomized, so a CI run is
        reproducible and a failure replays; no deadline (the first call of a Numba kernel
        compiles, or loads its cache, inside an example); a modest number of examples.
``dev`` (the default): random exploration with the same budget; failures are stored in the
        local ``.hypothesis/`` database and replayed first on the next run.

``HYPOTHESIS_PROFILE=<name>`` overrides the choice (e.g. ``HYPOTHESIS_PROFILE=ci`` locally to
reproduce a CI run exactly).
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=50, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
