"""The claim contract: validation, the registry and plugins, and the check kinds' rules.

Toy claims are defined here (not registered globally), so these tests do not depend on the
classical claims. The rules under test are stated in rlsandbox/proofs_check/checks.py.
"""
from __future__ import annotations

import math
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

import rlsandbox as rls
from rlsandbox.proofs_check import (REGISTRY, Claim, Instance, Measurement, check, check_cell,
                                    get_claim, load_plugins, register, run, run_claim, select,
                                    zoo_instances)
from rlsandbox.proofs_check import registry as registry_module

EPS = np.finfo(np.float64).eps


# ---------------------------------------------------------------- toy claims (unregistered)

def dirichlet_sizes(n_random, rng):
    sizes = [2, 3] + [int(n) for n in rng.integers(4, 60, size=n_random)]
    return [Instance(f"dirichlet(n={n})", {"n": n}, lambda n=n: n) for n in sizes]


def dirichlet_sum(n, rng):
    # numpy normalises the draw by its float sum, so each entry carries relative error <= eps
    # and summing n numbers in [0, 1] adds <= (n - 1) eps (Higham 2002, §4.2): 2 n eps covers both
    return Measurement(rng.dirichlet(np.ones(n)).sum(), 1.0, tol=2 * n * EPS)


def dirichlet_sum_drop_first(n, rng):
    # the control drops entry 0, which is > 2 n eps except with probability ~ 2 n^2 eps
    return Measurement(rng.dirichlet(np.ones(n))[1:].sum(), 1.0, tol=2 * n * EPS)


def dirichlet_sum_same(n, rng):
    return dirichlet_sum(n, rng)        # a "control" that breaks nothing


def dirichlet_sum_off(n, rng):
    return Measurement(rng.dirichlet(np.ones(n)).sum(), 1.5, tol=2 * n * EPS)   # wrong claim


def toy(**changes):
    fields = dict(id="classic.toy.dirichlet_sum", paper="classic", cite="[toy]",
                  statement="the entries of a Dirichlet draw sum to one",
                  assumptions="n >= 2 entries", provenance="derived", kind="equality",
                  instances=dirichlet_sizes, measure=dirichlet_sum,
                  negative_control=dirichlet_sum_drop_first, control_note="drops entry 0")
    fields.update(changes)
    return Claim(**fields)


@pytest.fixture
def isolated_registry(monkeypatch):
    """REGISTRY and the plugin bookkeeping restored after the test."""
    saved = dict(REGISTRY)
    monkeypatch.setattr(registry_module, "_LOADED", set())
    yield REGISTRY
    REGISTRY.clear()
    REGISTRY.update(saved)


# ---------------------------------------------------------------- Claim / Instance / Measurement

@pytest.mark.parametrize("changes, error, match", [
    ({"id": "classic.eps_half"}, ValueError, "not of the form paper.theorem.slug"),
    ({"id": "Classic.vi.eps"}, ValueError, "not of the form paper.theorem.slug"),
    ({"id": "mdpo.vi.eps"}, ValueError, "must start with its paper slug 'classic'"),
    ({"paper": "nature", "id": "nature.a.b"}, ValueError, "paper == 'nature'; expected one of"),
    ({"provenance": "folklore"}, ValueError, "provenance == 'folklore'"),
    ({"kind": "bound"}, ValueError, "kind == 'bound'; expected one of"),
    ({"statement": "two\nlines"}, ValueError, "statement spans several lines"),
    ({"cite": ""}, ValueError, "cite is empty"),
    ({"assumptions": 3}, TypeError, "assumptions must be a str"),
    ({"measure": "f"}, TypeError, "measure must be a callable"),
    ({"runs": 0}, ValueError, "runs == 0, must be in"),
    ({"quick": 1.5}, TypeError, "quick must be an integer"),
    ({"options": {"rtol": -1.0}}, ValueError, r"options\['rtol'\] == -1.0"),
    ({"options": {"rtoll": 1e-9}}, ValueError, "'rtoll' are not used by kind 'equality'"),
    ({"kind": "monotone"}, ValueError, r"needs options\['direction'\]"),
    ({"kind": "monotone", "options": {"direction": "down"}}, ValueError, "'nonincreasing'"),
    ({"kind": "rate", "options": {"slope": -1.0}}, ValueError, r"slope'\] == -1.0"),
    ({"kind": "rate", "options": {"slope": (1.0, -1.0)}}, ValueError, "lo > hi"),
    ({"kind": "high_probability", "options": {"delta": 1.0}}, ValueError, r"delta'\] == 1.0"),
    ({"kind": "upper_bound", "options": {"rtol": 0.1}}, ValueError, "allowed: none"),
])
def test_claim_validation_messages(changes, error, match):
    with pytest.raises(error, match=match):
        toy(**changes)


def test_claim_fills_option_defaults():
    assert toy().options == {"rtol": 0.0}
    rate = toy(kind="rate", options={"slope": [-1.1, -0.9]})
    assert rate.options == {"slope": (-1.1, -0.9), "confidence": 0.95}
    hp = toy(kind="high_probability", options={"delta": 0.05})
    assert hp.options == {"delta": 0.05, "alpha": 1e-3}


def test_instance_params_become_plain_json():
    inst = Instance("g", {"S": np.int64(4), "gamma": np.float64(0.9), "sizes": (1, 2),
                          "v": np.array([0.5, 1.0])}, lambda: None)
    assert inst.params == {"S": 4, "gamma": 0.9, "sizes": [1, 2], "v": [0.5, 1.0]}
    assert type(inst.params["S"]) is int
    with pytest.raises(TypeError, match="holds a object"):
        Instance("g", {"f": object()}, lambda: None)
    with pytest.raises(ValueError, match="must be finite"):
        Instance("g", {"x": float("nan")}, lambda: None)
    with pytest.raises(TypeError, match="build must be a callable"):
        Instance("g", {}, None)


def test_measurement_validation_and_exact_json_round_trip():
    with pytest.raises(ValueError, match="Measurement.measured is nan"):
        Measurement(float("nan"), 1.0)
    with pytest.raises(ValueError, match=r"Measurement.bound\[1\] is inf"):
        Measurement([1.0, 2.0], [1.0, np.inf])
    with pytest.raises(ValueError, match="Measurement.tol == -1.0"):
        Measurement(1.0, 1.0, tol=-1.0)
    with pytest.raises(TypeError, match="extra must be a mapping"):
        Measurement(1.0, 1.0, extra=[1])
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.standard_normal(50) * 10.0 ** rng.integers(-300, 300, 50),
                             [5e-324, -0.0, np.nextafter(1.0, 2.0)]])
    m = Measurement(values, float(values[3]), tol=1e-17, extra={"x": tuple(values[:3])})
    assert not m.measured.flags.writeable and m.measured.dtype == np.float64
    back = Measurement.from_json(m.to_json())
    # bitwise: float64 -> JSON text (shortest repr) -> float64 is exact
    assert back.measured.tobytes() == m.measured.tobytes()
    assert back.bound == m.bound and back.tol == m.tol and back.extra == m.extra


# ---------------------------------------------------------------- registry and plugins

def test_register_select_and_lookup(isolated_registry):
    a = register(toy(id="classic.toy.alpha_one"))
    b = register(toy(id="classic.toy.alpha_two"))
    c = register(toy(id="classic.other.beta"))
    with pytest.raises(ValueError, match="'classic.toy.alpha_one' is already registered"):
        register(toy(id="classic.toy.alpha_one"))
    assert select(["classic.toy"]) == [a, b]                      # id prefix at a dot
    assert select(["classic.other.beta", "classic.toy.alpha_two", "classic.toy"]) == [a, b, c]
    assert select(["classic"])[-3:] == [a, b, c]                 # paper slug, in order
    assert get_claim("classic.toy.alpha_two") is b
    with pytest.raises(ValueError, match="did you mean 'classic.toy.alpha_two'"):
        get_claim("classic.toy.alpha_tow")
    with pytest.raises(ValueError, match="'classic.to' is neither a paper slug"):
        select(["classic.to"])                                    # not a prefix at a dot
    # a paper slug with no registered claims (every slug has some now: hide one paper's)
    saved = dict(REGISTRY)                                       # restored in its order
    for cid in [cid for cid, claim in saved.items() if claim.paper == "loop"]:
        del REGISTRY[cid]
    try:
        with pytest.raises(ValueError, match="no claims of paper 'loop' are registered"):
            select(["loop"])
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)


def _write_plugin(tmp_path, monkeypatch, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


_PLUGIN = """
    import numpy as np
    from rlsandbox.proofs_check import Claim, Instance, Measurement, register

    def sizes(n_random, rng):
        return [Instance("one", {{}}, lambda: 1)]

    def exact(problem, rng):
        return Measurement(1.0, 1.0)

    def off(problem, rng):
        return Measurement(2.0, 1.0)

    def make(i):
        return Claim(id=f"classic.plugin.c{{i}}", paper="classic", cite="[toy]",
                     statement="one is one", assumptions="none", provenance="derived",
                     kind="equality", instances=sizes, measure=exact, negative_control=off,
                     control_note="two is not one")

    def claims():
        return [make(0), make(1)]
    {extra}
"""


def test_load_plugins_module_attr_is_idempotent(isolated_registry, tmp_path, monkeypatch):
    _write_plugin(tmp_path, monkeypatch, "rls_plugin_attr", _PLUGIN.format(extra=""))
    monkeypatch.setenv("RLSANDBOX_CLAIM_PLUGINS", " rls_plugin_attr:claims ")
    assert load_plugins() == ["classic.plugin.c0", "classic.plugin.c1"]
    assert load_plugins() == []                       # loaded once per process
    # an equal claim already present (e.g. a fork of a process that loaded the plugin) is kept
    monkeypatch.setattr(registry_module, "_LOADED", set())
    assert load_plugins() == []
    assert get_claim("classic.plugin.c1").measure.__module__ == "rls_plugin_attr"


def test_load_plugins_plain_module_registers_at_import(isolated_registry, tmp_path,
                                                       monkeypatch):
    _write_plugin(tmp_path, monkeypatch, "rls_plugin_plain",
                  _PLUGIN.format(extra="register(make(7))"))
    monkeypatch.setenv("RLSANDBOX_CLAIM_PLUGINS", "rls_plugin_plain")
    assert "classic.plugin.c7" not in REGISTRY
    assert get_claim("classic.plugin.c7").id == "classic.plugin.c7"   # lookup loads plugins


def test_load_plugins_errors(isolated_registry, tmp_path, monkeypatch):
    _write_plugin(tmp_path, monkeypatch, "rls_plugin_err", _PLUGIN.format(extra=""))
    with pytest.raises(ValueError, match="RLSANDBOX_CLAIM_PLUGINS names 'no_such_mod_xyz'"):
        load_plugins("no_such_mod_xyz")
    with pytest.raises(ValueError, match="has no attribute 'nope'"):
        load_plugins("rls_plugin_err:nope")


def test_zoo_instances_build_through_the_zoo_registry():
    insts = zoo_instances("riverswim", "chain", gamma=0.9)
    assert [i.name for i in insts] == ["riverswim(gamma=0.9)", "chain(gamma=0.9)"]
    assert insts[0].params == {"zoo": "riverswim", "gamma": 0.9}
    mdp = insts[0].build()
    assert isinstance(mdp, rls.TabularMDP) and mdp.gamma == 0.9
    reference = rls.mdps.make("riverswim", gamma=0.9)
    assert np.array_equal(mdp.dense_P(), reference.dense_P())
    with pytest.raises(ValueError, match="'riverswimm' is not a zoo instance; known:"):
        zoo_instances("riverswimm")


# ---------------------------------------------------------------- check kinds: per cell

def test_upper_and_lower_bounds_at_the_boundary():
    bound, tol = 0.75, 2.0 ** -20
    edge = bound + tol                                     # exact in binary
    assert check_cell("upper_bound", Measurement(edge, bound, tol)).holds
    above = check_cell("upper_bound", Measurement(np.nextafter(edge, 2.0), bound, tol))
    assert not above.holds and above.margin < 0
    low_edge = bound - tol
    assert check_cell("lower_bound", Measurement(low_edge, bound, tol)).holds
    assert not check_cell("lower_bound", Measurement(np.nextafter(low_edge, 0.0), bound, tol)).holds
    cell = check_cell("upper_bound", Measurement(0.25, 1.0, 0.5))
    assert (cell.margin, cell.tightness) == (1.25, 0.25)   # bound + tol - measured; measured/bound
    assert check_cell("lower_bound", Measurement(3.0, 0.0)).tightness is None   # bound == 0


def test_equality_uses_tol_plus_rtol_times_bound():
    assert check_cell("equality", Measurement(1.0 + 2.0 ** -30, 1.0, 2.0 ** -30)).holds
    assert not check_cell("equality", Measurement(1.0 + 2.0 ** -29, 1.0, 2.0 ** -30)).holds
    # rtol 2^-10 of |bound| = 8 allows |measured - bound| up to 2^-7
    assert check_cell("equality", Measurement(-8.0 - 2.0 ** -7, -8.0), {"rtol": 2.0 ** -10}).holds
    cell = check_cell("equality", Measurement(-8.0 - 2.0 ** -6, -8.0), {"rtol": 2.0 ** -10})
    assert not cell.holds and cell.margin == -(2.0 ** -7)


@pytest.mark.parametrize("direction, seq, tol, holds, margin", [
    ("nonincreasing", [3.0, 2.0, 2.0, 1.0], 0.0, True, 0.0),
    ("nonincreasing", [3.0, 2.0, 2.5, 1.0], 0.0, False, -0.5),
    ("nonincreasing", [3.0, 2.0, 2.5, 1.0], 0.5, True, 0.0),
    ("nondecreasing", [1.0, 2.0, 4.0], 0.0, True, 1.0),
    ("nondecreasing", [1.0, 2.0, 1.75], 0.125, False, -0.125),
])
def test_monotone_rule(direction, seq, tol, holds, margin):
    cell = check_cell("monotone", Measurement(seq, tol=tol), {"direction": direction})
    assert (cell.holds, cell.margin, cell.tightness) == (holds, margin, None)


def test_verdict_counts_violations_and_takes_the_median_tightness():
    ms = [Measurement(m, b) for m, b in [(1.0, 2.0), (3.0, 4.0), (5.0, 4.0), (0.0, 0.0)]]
    v = check("upper_bound", ms)
    assert (v.holds, v.violations, v.worst_margin) == (False, 1, -1.0)
    assert v.tightness == float(np.median([0.5, 0.75, 1.25]))   # bound == 0 has no ratio


@pytest.mark.parametrize("kind, m, options, match", [
    ("upper_bound", Measurement([1.0, 2.0], 1.0), {}, "measures a scalar"),
    ("upper_bound", Measurement(1.0), {}, "needs a scalar bound, got None"),
    ("monotone", Measurement([1.0]), {"direction": "nonincreasing"}, "at least 2 values"),
    ("rate", Measurement([1.0, 2.0, 3.0]), {"slope": (0, 1)}, r"needs extra\['x'\]"),
    ("rate", Measurement([1.0, 0.0, 3.0], extra={"x": [1, 2, 3]}), {"slope": (0, 1)},
     "needs x > 0 and y > 0"),
    ("rate", Measurement([1.0, 2.0], extra={"x": [1, 2]}), {"slope": (0, 1)},
     "at least 3 points"),
    ("rate", Measurement([1.0, 2.0, 3.0], extra={"x": [2, 2, 2]}), {"slope": (0, 1)},
     "all x values of the rate fit are equal"),
    ("high_probability", Measurement(0.5), {"delta": 0.1}, "measures 1.0"),
])
def test_check_refuses_malformed_measurements(kind, m, options, match):
    with pytest.raises(ValueError, match=match):
        check(kind, [m], options)


# ---------------------------------------------------------------- check kinds: aggregate

def test_rate_fit_matches_scipy_linregress():
    rng = np.random.default_rng(3)
    cells = []
    for _ in range(4):
        x = np.geomspace(1.0, 1e3, 25)
        cells.append(Measurement(2.0 * x ** -0.7 * np.exp(0.3 * rng.standard_normal(x.size)),
                                 extra={"x": x}))
    v = check("rate", cells, {"slope": (-1.0, -0.5), "confidence": 0.9})
    lx = np.log(np.concatenate([c.extra["x"] for c in cells]))
    ly = np.log(np.concatenate([c.measured for c in cells]))
    ref = stats.linregress(lx, ly)
    half = stats.t.ppf(0.95, lx.size - 2) * ref.stderr
    # the same closed-form OLS in float64 with a different summation order: relative
    # round-off O(n eps) ~ 1e-14 for 100 points; 1e-10 leaves room for cancellation
    assert v.detail["slope"] == pytest.approx(ref.slope, rel=1e-10)
    assert v.detail["stderr"] == pytest.approx(ref.stderr, rel=1e-10)
    assert v.detail["ci"] == pytest.approx([ref.slope - half, ref.slope + half], rel=1e-10)
    assert v.detail["points"] == 100
    assert v.holds == (ref.slope - half <= -0.5 and ref.slope + half >= -1.0)


def test_rate_holds_iff_the_interval_meets_the_ci():
    x = np.arange(1.0, 11.0)
    exact = [Measurement(3.0 * x ** -0.5, extra={"x": x})]     # residuals ~ eps: CI ~ a point
    v = check("rate", exact, {"slope": (-0.6, -0.4)})
    assert v.holds and v.detail["slope"] == pytest.approx(-0.5, abs=1e-12)
    off = check("rate", exact, {"slope": (-0.45, -0.4)})
    # margin = min(ci_hi - lo, hi - ci_lo) = min(-0.5 + 0.45, -0.4 + 0.5) = -0.05
    assert not off.holds and off.violations == 1
    assert off.worst_margin == pytest.approx(-0.05, abs=1e-12)


def _binomial_tail(n, k, delta):
    """P[Bin(n, delta) >= k] in exact rational arithmetic."""
    d = Fraction(delta)
    return sum(math.comb(n, j) * d ** j * (1 - d) ** (n - j) for j in range(k, n + 1))


def test_high_probability_binomial_rule_matches_exact_tail():
    n, delta, alpha = 120, 0.05, 1e-3
    k_max = max(k for k in range(n + 1) if _binomial_tail(n, k, delta) >= Fraction(alpha))
    for k in (0, k_max, k_max + 1):
        ms = [Measurement(1.0 if i < k else 0.0) for i in range(n)]
        v = check("high_probability", ms, {"delta": delta, "alpha": alpha})
        assert v.holds == (k <= k_max) and v.violations == k
        assert v.worst_margin == k_max - k and v.detail["k_max"] == k_max
        # scipy's binomial tail (regularised incomplete beta) is accurate to ~1e-14 relative
        assert v.detail["p_value"] == pytest.approx(float(_binomial_tail(n, k, delta)), rel=1e-9)
        assert v.tightness == pytest.approx(k / n / delta, rel=1e-15)


# ---------------------------------------------------------------- a claim end to end

def test_toy_claim_holds_and_its_control_is_caught():
    r = run_claim(toy(), seed=3, instances=6)
    assert r.holds and r.caught
    assert len(r.instances) == 8 and len(r.cells) == 8
    assert r.verdict.violations == 0 and r.control.violations == 8    # every cell breaks
    # the measure's margin is at least tol - (n - 1) eps > 0 by the round-off bound above
    assert r.verdict.worst_margin > 0


def test_status_and_exit_codes_of_a_run():
    ok = toy(id="classic.toy.ok")
    uncaught = toy(id="classic.toy.uncaught", negative_control=dirichlet_sum_same)
    violated = toy(id="classic.toy.violated", measure=dirichlet_sum_off,
                   negative_control=dirichlet_sum_same)
    assert run([ok], instances=1).exit_code == 0
    res = run([ok, uncaught], instances=1)
    assert (res.status, res.exit_code) == ("control_not_caught", 2)
    assert [c.caught for c in res.claims] == [True, False]
    res = run([uncaught, violated], instances=1)       # a violation outranks a missed control
    assert (res.status, res.exit_code) == ("violated", 1)
    assert res.claims[1].verdict.violations == 3


def test_same_seed_same_results_new_seed_new_runs_same_instances():
    a = run_claim(toy(), seed=5, instances=3)
    b = run_claim(toy(), seed=5, instances=3)
    c = run_claim(toy(), seed=6, instance_seed=5, instances=3)
    # the control's value (1 - first entry) varies from draw to draw, unlike the sum
    assert [x.control.measured for x in a.cells] == [x.control.measured for x in b.cells]
    assert [i.params for i in c.instances] == [i.params for i in a.instances]
    assert all(x.control.measured != y.control.measured for x, y in zip(a.cells, c.cells))
