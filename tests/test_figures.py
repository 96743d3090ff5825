"""Figures: every registered figure runs in quick mode, writes PNG + CSV + JSON atomically, the
CSV is exactly the plotted data, the same seed gives the same files; plus the helpers
(bootstrap CI, atomic writer) and the committed gallery."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlsandbox._io import atomic_open, atomic_write
from rlsandbox.cli import EX_USAGE, main
from rlsandbox.experiments import FIGURES, FigureSpec, load_figure, register_figure
from rlsandbox.experiments import gallery
from rlsandbox.experiments.plotting import bootstrap_ci
from rlsandbox.experiments import vi_pi_convergence as vpc

ROOT = Path(__file__).resolve().parents[1]
GALLERY = ROOT / "figures"
NAMES = list(FIGURES)
EPS = np.finfo(np.float64).eps


# The seed-sensitivity test reruns a figure with another seed; in the default run it covers the
# first registered figure of each paper (whose make_figure path the others share), every figure
# under -m slow.
_FIRST_OF_PAPER = {n for i, n in enumerate(NAMES)
                   if n.split("_")[0] not in {m.split("_")[0] for m in NAMES[:i]}}
SEED_PARAMS = [n if n in _FIRST_OF_PAPER else pytest.param(n, marks=pytest.mark.slow)
               for n in NAMES]
each_figure = pytest.mark.parametrize("quick_run", NAMES, indirect=True)


# ---------------------------------------------------------------- every figure, quick, end to end
@pytest.fixture(scope="module")
def quick_run(request, tmp_path_factory):
    """One quick make_figure per registered figure, capturing the DataFrame given to plot()."""
    name = request.param
    mod = load_figure(name)
    seen = []
    original = mod.plot

    def spy(data, **kw):
        seen.append(data.copy(deep=True))
        return original(data, **kw)

    out = tmp_path_factory.mktemp(f"fig_{name}")
    mp = pytest.MonkeyPatch()
    mp.setattr(mod, "plot", spy)
    try:
        res = gallery.make_figure(name, out=out, quick=True, seed=7)
    finally:
        mp.undo()
    assert len(seen) == 1
    return name, out, res, seen[0]


@each_figure
def test_files_exist_and_png_small(quick_run):
    name, out, res, _ = quick_run
    for ext in ("png", "csv", "json"):
        assert (out / f"{name}.{ext}").is_file()
    png = (out / f"{name}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) <= gallery.MAX_PNG_BYTES
    # nothing but the three files: the atomic writer left no temporary files behind
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{name}.{ext}" for ext in ("csv", "json", "png"))


@each_figure
def test_csv_is_exactly_the_plotted_data(quick_run):
    name, out, res, plotted = quick_run
    reread = gallery.read_figure_data(out / f"{name}.csv")
    pd.testing.assert_frame_equal(reread, plotted, check_exact=True)
    pd.testing.assert_frame_equal(res.data, plotted, check_exact=True)


@each_figure
def test_json_metadata(quick_run):
    name, out, res, plotted = quick_run
    meta = json.loads((out / f"{name}.json").read_text())
    assert set(gallery.metadata_fields()) <= set(meta)
    mod = load_figure(name)
    assert meta["figure"] == name
    assert meta["config"] == json.loads(json.dumps(dataclasses.asdict(mod.QUICK)))
    assert meta["root_seed"] == 7 and meta["quick"] is True
    assert meta["n_boot"] == gallery.N_BOOT_QUICK
    assert meta["command"].startswith(f"rlsandbox figures {name} --quick --seed 7")
    assert meta["git_commit"] == "unknown" or re.fullmatch(r"[0-9a-f]{40}", meta["git_commit"])
    assert {"python", "numpy", "scipy", "numba", "rlsandbox"} <= set(meta["versions"])
    assert meta["wall_time_s"] > 0
    assert meta["rows"] == len(plotted)
    assert meta["files"] == {"csv": f"{name}.csv", "png": f"{name}.png", "json": f"{name}.json"}


@each_figure
def test_replot_from_csv_is_byte_identical(quick_run, tmp_path):
    """The PNG depends only on the CSV and the JSON (config, root seed, n_boot)."""
    name, out, res, _ = quick_run
    target = gallery.replot(name, out=out, png=tmp_path / "again.png")
    assert target.read_bytes() == (out / f"{name}.png").read_bytes()


@each_figure
def test_cli_same_seed_same_files(quick_run, tmp_path):
    name, out, res, _ = quick_run
    assert main(["figures", name, "--quick", "--seed", "7", "--out", str(tmp_path)]) == 0
    assert (tmp_path / f"{name}.csv").read_bytes() == (out / f"{name}.csv").read_bytes()
    assert (tmp_path / f"{name}.png").read_bytes() == (out / f"{name}.png").read_bytes()
    meta = json.loads((tmp_path / f"{name}.json").read_text())
    assert meta["argv"] is not None and meta["root_seed"] == 7


@pytest.mark.parametrize("quick_run", SEED_PARAMS, indirect=True)
def test_other_seed_other_data(quick_run):
    name, out, res, _ = quick_run
    mod = load_figure(name)
    other = mod.run(mod.QUICK, rng=np.random.default_rng(np.random.SeedSequence(8).spawn(2)[0]))
    assert not other.equals(res.data)


# ------------------------------------------------------ the VI/PI figure's data obeys theory
@pytest.fixture(scope="module")
def vpc_data():
    return vpc.run(vpc.QUICK, rng=np.random.default_rng(3))


def _slack(gamma: float) -> float:
    # The plotted errors are computed against V* from PI; garnet rewards lie in [0, 1), so
    # |V| <= 1/(1-gamma). The certified V* error (_certify's allowance) and the accumulated
    # round-off of the VI iterate are each below 2 S eps max|V| / (1 - gamma); two of them.
    S = vpc.QUICK.S
    return 4.0 * S * EPS / (1.0 - gamma) ** 2


def test_vi_errors_below_both_bounds(vpc_data):
    g = vpc.QUICK.gamma_main
    d = vpc_data[vpc_data["gamma"] == g]
    wide = d.pivot_table(index=["instance", "k"], columns="quantity", values="value")
    ok = wide.dropna(subset=["contraction_bound"])
    assert (ok["vi_error"] <= ok["contraction_bound"] + _slack(g)).all()
    post = wide.dropna(subset=["aposteriori_bound"])
    assert len(post) > 0
    assert (post["vi_error"] <= post["aposteriori_bound"] + _slack(g)).all()


def test_vi_error_decays_at_rate_gamma(vpc_data):
    """Contraction: every recorded VI error of every gamma is <= gamma^k ||V_0 - V*||."""
    for g, d in vpc_data[vpc_data["quantity"] == "vi_error"].groupby("gamma"):
        t = d.pivot(index="instance", columns="k", values="value")
        k = t.columns.to_numpy()
        assert k[0] == 0 and vpc.QUICK.rel_accuracy >= g ** k[-1]
        assert (t.to_numpy() <= g ** k * t[0].to_numpy()[:, None] + _slack(g)).all()


def test_pi_error_monotone_and_exact(vpc_data):
    """PI values improve monotonically [puterman2005, Prop 6.4.1] and reach V* exactly
    (the last evaluation is the same LU solve that defined V*)."""
    t = vpc_data[vpc_data["quantity"] == "pi_error"].pivot(index="instance", columns="k",
                                                           values="value")
    g = vpc.QUICK.gamma_main
    assert (np.diff(t.to_numpy(), axis=1) <= _slack(g)).all()
    assert (t.iloc[:, -1] == 0.0).all()


def test_diagnostics_match_the_data(vpc_data):
    diag = vpc_data.attrs["diagnostics"]
    ratios = []
    for g, d in vpc_data[vpc_data["quantity"] == "vi_error"].groupby("gamma"):
        t = d.pivot(index="instance", columns="k", values="value")
        k = t.columns.to_numpy()
        ratios.append((t.to_numpy()[:, 1:] / (g ** k[1:] * t[0].to_numpy()[:, None])).max())
    # same quotients, computed here with numpy's pow instead of Python's: a few ulps apart
    assert diag["max_vi_error_over_contraction_bound"] == pytest.approx(max(ratios), rel=1e-13)
    assert diag["max_vstar_error_bound_over_smallest_vi_error"] <= vpc.MAX_REL_VSTAR_UNCERTAINTY
    pi = vpc_data[vpc_data["quantity"] == "pi_error"].pivot(index="instance", columns="k",
                                                            values="value")
    first_exact = (pi.to_numpy() == 0.0).argmax(axis=1)      # index of pi_k with error 0
    # policy_iteration counts the improvement that finds no change: pi_k exact -> k + 1
    assert diag["max_pi_iterations_to_converge"] == int(first_exact.max()) + 1


@pytest.mark.parametrize("gamma, rel", [(0.5, 1e-3), (0.9, 1e-8), (0.95, 1e-8), (0.99, 1e-6),
                                        (0.1, 0.5), (0.5, 0.5)])
def test_vi_iterations_is_the_first_k(gamma, rel):
    K = vpc.vi_iterations(gamma, rel)
    assert gamma ** K <= rel
    assert K == 1 or gamma ** (K - 1) > rel


@pytest.mark.parametrize("kwargs, match", [
    ({"gamma_main": 0.7}, r"gamma_main == 0.7 is not in gammas"),
    ({"gammas": (0.5, 1.0), "gamma_main": 0.5}, r"gammas\[1\] == 1.0, must be in \(0, 1\)"),
    ({"n_seeds": 1}, r"n_seeds == 1, must be in \[2, inf\]"),
    ({"branching": 60}, r"branching == 60, must be in \[1, 50\]"),
    ({"gammas": (0.9, 0.9)}, r"repeats a value"),
])
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        vpc.Config(**kwargs)


def test_plot_refuses_foreign_data():
    with pytest.raises(ValueError, match=r"data lacks columns \['gamma', 'instance'"):
        vpc.plot(pd.DataFrame({"k": [0], "value": [1.0], "quantity": ["vi_error"]}),
                 config=vpc.QUICK, n_boot=10, rng=np.random.default_rng(0))


# ---------------------------------------------------------------- registry and CLI
def test_registry_refuses_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="already registered"):
        register_figure(FigureSpec("vi_pi_convergence", "x", "y"))
    with pytest.raises(ValueError, match="must be a Python identifier"):
        register_figure(FigureSpec("vi-pi", "x", "y"))
    with pytest.raises(ValueError, match=r"figure name == 'nope'; expected one of"):
        load_figure("nope")


@pytest.mark.parametrize("argv, message", [
    (["nope"], "figure name == 'nope'; expected one of 'vi_pi_convergence'"),
    (["--seed", "-1"], "--seed == -1; expected an integer >= 0"),
    (["--boot", "0"], "--boot == 0; expected an integer >= 1"),
    (["--replot", "--quick"], "--replot takes the seed"),
])
def test_cli_usage_errors(tmp_path, capsys, argv, message):
    assert main(["figures", *argv, "--out", str(tmp_path)]) == EX_USAGE
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_replot_needs_existing_figure(tmp_path, capsys):
    assert main(["figures", NAMES[0], "--replot", "--out", str(tmp_path)]) == EX_USAGE
    assert ".csv/.json do not exist; make the figure first" in capsys.readouterr().err


def test_cli_list_figures(capsys):
    assert main(["list", "figures", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["figures"]
    assert [row["name"] for row in listed] == NAMES
    assert all(row["description"] for row in listed)


# ---------------------------------------------------------------- the committed gallery
@pytest.mark.parametrize("name", NAMES)
def test_committed_gallery(name):
    meta_path = GALLERY / f"{name}.json"
    assert meta_path.is_file(), f"run `rlsandbox figures {name}` and commit figures/{name}.*"
    meta = json.loads(meta_path.read_text())
    assert meta["quick"] is False
    assert set(gallery.metadata_fields()) <= set(meta)
    png = GALLERY / f"{name}.png"
    assert png.stat().st_size <= gallery.MAX_PNG_BYTES
    data = gallery.read_figure_data(GALLERY / f"{name}.csv")
    assert len(data) == meta["rows"]
    readme = (GALLERY / "README.md").read_text()
    assert f"{name}.png" in readme and meta["command"] in readme


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_committed_gallery_reproduces(name, tmp_path):
    """Rerunning the committed command reproduces the committed CSV. Across machines the LU
    solves may differ in the last bits, so values are compared to 1e-9 relative (a few
    hundred ulps of accumulated VI round-off), the non-float columns exactly."""
    meta = json.loads((GALLERY / f"{name}.json").read_text())
    res = gallery.make_figure(name, out=tmp_path, seed=meta["root_seed"], n_boot=meta["n_boot"])
    committed = gallery.read_figure_data(GALLERY / f"{name}.csv")
    pd.testing.assert_frame_equal(res.data, committed, check_exact=False, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- bootstrap CI
def test_bootstrap_constant_samples_give_a_point():
    ci = bootstrap_ci(np.full((10, 3), 2.5), rng=np.random.default_rng(0), n_boot=50)
    assert np.array_equal(ci.center, np.full(3, 2.5))
    assert np.array_equal(ci.lo, ci.center) and np.array_equal(ci.hi, ci.center)


def test_bootstrap_is_deterministic_and_ordered():
    x = np.random.default_rng(1).lognormal(size=(25, 4))
    a = bootstrap_ci(x, rng=np.random.default_rng(5), n_boot=300, statistic="mean")
    b = bootstrap_ci(x, rng=np.random.default_rng(5), n_boot=300, statistic="mean")
    assert np.array_equal(a.lo, b.lo) and np.array_equal(a.hi, b.hi)
    assert np.all(a.lo <= a.hi)
    # every bootstrap mean lies within the sample's range, so the interval does too
    assert np.all(a.lo >= x.min(axis=0)) and np.all(a.hi <= x.max(axis=0))
    assert (a.n, a.n_boot, a.level, a.statistic) == (25, 300, 0.95, "mean")


def test_bootstrap_coverage_of_the_mean():
    """Monte Carlo coverage of the 95% percentile interval of the mean of n = 40 normal draws.

    For normal data the bootstrap distribution of the mean is close to N(xbar, s_n^2 / n) with
    the plug-in s_n^2 = (n-1)/n s^2, so the interval is about xbar -+ z s sqrt((n-1)/n) / sqrt(n)
    and covers with probability P(|t_{n-1}| <= z sqrt((n-1)/n)) = 0.9398 for n = 40
    [efron1993, §13.3] (scipy.stats.t). With 400 independent columns the coverage estimate has
    standard error sqrt(.94 * .06 / 400) = 0.012; we accept +-4 standard errors (the bootstrap's
    own Monte Carlo error with B = 500 is far smaller)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40, 400))            # columns are independent experiments, mean 0
    ci = bootstrap_ci(x, rng=rng, n_boot=500, statistic="mean")
    coverage = float(np.mean((ci.lo <= 0.0) & (0.0 <= ci.hi)))
    assert abs(coverage - 0.94) <= 4 * 0.012


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"samples": np.ones(1)}, ValueError, r"samples has 1 row\(s\) \(seeds\); a bootstrap needs"),
    ({"samples": np.array([1.0, np.nan])}, ValueError, r"samples\[1\] is nan"),
    ({"samples": np.ones(3), "level": 1.0}, ValueError, r"level == 1.0, must be in \(0, 1\)"),
    ({"samples": np.ones(3), "n_boot": 0}, ValueError, r"n_boot == 0, must be in \[1, inf\]"),
    ({"samples": np.ones(3), "statistic": "mode"}, ValueError, r"statistic == 'mode'"),
    ({"samples": np.ones(3), "rng": 0}, TypeError, r"rng must be a numpy.random.Generator"),
    ({"samples": np.ones((2, 2, 2))}, ValueError, r"samples has 3 dimensions"),
])
def test_bootstrap_errors(kwargs, exc, match):
    kwargs = {"rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(exc, match=match):
        bootstrap_ci(**kwargs)


# ---------------------------------------------------------------- atomic writer
def test_atomic_write_text_and_bytes(tmp_path):
    p = atomic_write(tmp_path / "sub" / "a.txt", "x,y\n1,2\n")
    assert p.read_text() == "x,y\n1,2\n"
    atomic_write(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert sorted(q.name for q in p.parent.iterdir()) == ["a.txt"]


def test_atomic_open_failure_leaves_old_file(tmp_path):
    p = tmp_path / "meta.json"
    p.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_open(p) as f:
            f.write("new, half written")
            raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["meta.json"]


@pytest.mark.parametrize("call, exc, match", [
    (lambda d: atomic_write(d, "x"), ValueError, "is an existing directory"),
    (lambda d: atomic_write(d / "f", 3.0), TypeError, "data must be str or bytes"),
    (lambda d: atomic_open(d / "f", "a").__enter__(), ValueError, "Appending cannot be atomic"),
    (lambda d: atomic_write(d / "no" / "f", "x", makedirs=False), ValueError,
     "does not exist; create it"),
    (lambda d: atomic_write(None, "x"), TypeError, "path must be a str or os.PathLike"),
])
def test_atomic_errors(tmp_path, call, exc, match):
    with pytest.raises(exc, match=match):
        call(tmp_path)
