"""The analysis of a finished sweep (sim/analysis.py): Sobol' indices against the Ishigami
function's analytic values, Morris effects of a linear function, replicate statistics, heat
maps and PRIM boxes on hand-made tables, the refusals, and the analysis folder."""

from __future__ import annotations

import json
import math
import sys
import types

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sampler
from SALib.sample import sobol as sobol_sampler
from SALib.test_functions import Ishigami

import sim.results as results
from sim import analysis
from sim.analysis import (IncompleteDesign, analyze, heatmap, is_systemic, morris, parse_systemic, prim_boxes,
                          replicate_means, replicate_spread, sobol, sobol_second_order)

PNG = b"\x89PNG\r\n\x1a\n"
ISHIGAMI = ["x1", "x2", "x3"]
# the Ishigami function's indices for a = 7, b = 0.1 on [-pi, pi]^3 (Saltelli et al. 2008, Global
# sensitivity analysis: the primer, 4.7; SALib's test_functions.Ishigami docstring)
ISHIGAMI_S1 = np.array([0.3139, 0.4424, 0.0])
ISHIGAMI_ST = np.array([0.5576, 0.4424, 0.2437])


# --------------------------------------------------------------------------- sweeps by hand


def make_table(points: pd.DataFrame, outputs: list[dict[str, np.ndarray]], failed=()) -> pd.DataFrame:
    """A sweep's table: ``points`` (one row per point, one column per parameter), ``outputs[r]``
    the outputs of replicate ``r`` at every point; ``failed`` holds the (point, replicate) pairs
    whose run failed (outputs NaN). Runs numbered replicate-major, seeds 100 + replicate."""
    frames = []
    for r, values in enumerate(outputs):
        frame = points.reset_index(drop=True).copy()
        frame.insert(0, "seed", 100 + r)
        frame.insert(0, "replicate", r)
        frame.insert(0, "point", np.arange(len(points)))
        for name, v in values.items():
            frame[name] = np.asarray(v, dtype=float)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "run", np.arange(len(table)))
    table["status"], table["error"], table["seconds"] = "ok", "", 0.5
    for point, replicate in failed:
        row = (table["point"] == point) & (table["replicate"] == replicate)
        table.loc[row, list(outputs[0])] = math.nan
        table.loc[row, "status"] = "failed"
        table.loc[row, "error"] = "ZeroDivisionError: boom"
    return table


def make_spec(design: str, parameters: list[tuple], outputs: list[str], **kw) -> dict:
    """``parameters``: (name, lo, hi) or (name, values) tuples."""
    params = []
    for p in parameters:
        if len(p) == 3:
            params.append({"name": p[0], "lo": float(p[1]), "hi": float(p[2]), "values": None, "type": "float"})
        else:
            params.append({"name": p[0], "lo": None, "hi": None, "values": list(p[1]), "type": "float"})
    return {"design": design, "parameters": params, "second_order": False, "levels": 4, "replicates": 1,
            "seed": 2024, "outputs": outputs, "analysis": {}, **kw}


def ishigami_sweep(n: int = 1024, second_order: bool = False, noise: float = 0.1):
    """Ishigami on SALib's Sobol' sample, two replicates y + e and y - e (mean exactly y)."""
    problem = {"num_vars": 3, "names": ISHIGAMI, "bounds": [[-np.pi, np.pi]] * 3}
    x = sobol_sampler.sample(problem, n, calc_second_order=second_order, seed=7)
    y = Ishigami.evaluate(x, A=7, B=0.1)
    e = np.random.default_rng(1).normal(0.0, noise, len(y))
    design = pd.DataFrame(x, columns=ISHIGAMI)
    design.index.name = "point"
    table = make_table(design, [{"y": y + e}, {"y": y - e}])
    spec = make_spec("sobol", [(name, -np.pi, np.pi) for name in ISHIGAMI], ["y"],
                     second_order=second_order, replicates=2)
    return table, design, spec


# --------------------------------------------------------------------------- Sobol'


def test_sobol_ishigami_analytic_indices_lie_in_the_intervals():
    table, design, spec = ishigami_sweep()
    first = sobol(table, design, spec)
    assert list(first.columns) == ["output", "parameter", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]
    assert list(first["parameter"]) == ISHIGAMI and (first["output"] == "y").all()
    # every analytic index inside its 95% interval (5,120 points; the replicates' noise cancels in
    # their mean, so these are the indices of y itself)
    assert ((first["S1_low"] <= ISHIGAMI_S1) & (ISHIGAMI_S1 <= first["S1_high"])).all(), first
    assert ((first["ST_low"] <= ISHIGAMI_ST) & (ISHIGAMI_ST <= first["ST_high"])).all(), first
    x3 = first.set_index("parameter").loc["x3"]
    assert x3["S1_low"] < 0 < x3["S1_high"]
    # the intervals are informative: at most +/- 0.1 at N = 1024
    assert ((first["S1_high"] - first["S1_low"]) < 0.2).all()
    assert ((first["ST_high"] - first["ST_low"]) < 0.2).all()
    # a seed fixed by the sweep's root seed: the same intervals at every call
    pd.testing.assert_frame_equal(first, sobol(table, design, spec))
    assert first.attrs["notes"] == [] and first.attrs["level"] == 0.95


def test_sobol_leaves_failed_runs_out():
    table, design, spec = ishigami_sweep(n=256, noise=0.0)
    broken = table.copy()
    row = (broken.point == 5) & (broken.replicate == 1)
    broken.loc[row, "y"] = 1e6   # whatever a failed run's row holds is ignored: the point's mean is replicate 0's
    broken.loc[row, "status"] = "failed"
    pd.testing.assert_frame_equal(sobol(broken, design, spec), sobol(table, design, spec))


def test_sobol_second_order_ishigami():
    table, design, spec = ishigami_sweep(n=512, second_order=True)
    second = sobol_second_order(table, design, spec).set_index(["parameter_1", "parameter_2"])
    assert list(second.index) == [("x1", "x2"), ("x1", "x3"), ("x2", "x3")]
    # x3 acts only through its interaction with x1: S13 = ST3 - 0 = 0.2437, S12 = S23 = 0
    for pair, value in {("x1", "x2"): 0.0, ("x1", "x3"): 0.2437, ("x2", "x3"): 0.0}.items():
        assert second.loc[pair, "S2_low"] <= value <= second.loc[pair, "S2_high"], second
    with pytest.raises(ValueError, match="second_order = true"):
        sobol_second_order(*ishigami_sweep(n=64))


def test_sobol_refuses_other_designs_missing_points_and_unknown_outputs():
    table, design, spec = ishigami_sweep(n=64)
    with pytest.raises(ValueError, match=r"need a sobol design.*'lhs'"):
        sobol(table, design, {**spec, "design": "lhs"})
    with pytest.raises(ValueError, match=r"need a morris design.*'sobol'; use sobol"):
        morris(table, design, spec)
    # every run of points 3 and 17 failed
    failed = [(3, 0), (3, 1), (17, 0), (17, 1), (20, 0)]
    broken = make_table(design, [{"y": table.loc[table.replicate == r, "y"].to_numpy()} for r in (0, 1)],
                        failed=failed)
    with pytest.raises(IncompleteDesign, match=r"2 of 320 points have none \(points 3, 17\)"):
        sobol(broken, design, spec)
    with pytest.raises(ValueError, match=r"unknown output 'failures'; the sweep's outputs are: y"):
        sobol(table, design, spec, outputs=["failures"])
    with pytest.raises(ValueError, match="multiple of 5 points, not 319"):
        sobol(table[table.point < 319], design.iloc[:319], spec)
    with pytest.raises(ValueError, match="level 1.5"):
        sobol(table, design, spec, level=1.5)


def test_sobol_constant_output_gives_nan_indices_and_a_note():
    table, design, spec = ishigami_sweep(n=64)
    table["flat"] = 3.0
    first = sobol(table, design, {**spec, "outputs": ["y", "flat"]})
    flat = first[first.output == "flat"]
    assert len(flat) == 3 and flat[["S1", "S1_low", "ST", "ST_high"]].isna().all().all()
    assert first[first.output == "y"]["ST"].notna().all()
    assert any("flat is the same at every point" in n for n in first.attrs["notes"])
    # an output NaN in every successful run of a point: no indices for it, the others computed
    table.loc[table.point == 2, "y"] = math.nan
    holed = sobol(table, design, {**spec, "outputs": ["y", "flat"]})
    assert holed[["S1", "ST"]].isna().all().all()
    assert any("y is NaN at 1 of 320 points whose runs succeeded (e.g. point 2)" in n
               for n in holed.attrs["notes"])


# --------------------------------------------------------------------------- Morris


def test_morris_linear_function_effects_are_exact():
    names, bounds = ["x1", "x2", "x3"], [(0.0, 2.0), (0.0, 1.0), (0.0, 5.0)]
    x = morris_sampler.sample({"num_vars": 3, "names": names, "bounds": [list(b) for b in bounds]}, 10,
                              num_levels=4, seed=11)
    y = 10 * x[:, 0] + 1 * x[:, 1] + 0 * x[:, 2]
    design = pd.DataFrame(x, columns=names)
    spec = make_spec("morris", [(n, *b) for n, b in zip(names, bounds)], ["y"])
    table = make_table(design, [{"y": y + 0.25}, {"y": y - 0.25}])
    effects = morris(table, design, spec).set_index("parameter")
    assert list(effects.columns) == ["output", "mu", "mu_star", "mu_star_low", "mu_star_high", "sigma"]
    # an elementary effect is in output units per whole range: slope x (hi - lo) = 10 x 2, 1 x 1, 0 x 5,
    # the same at every step, so sigma is 0 and the bootstrap interval has no width
    expected = {"x1": 20.0, "x2": 1.0, "x3": 0.0}
    for name, value in expected.items():
        row = effects.loc[name]
        assert row["mu_star"] == pytest.approx(value, abs=1e-12)
        assert row["mu"] == pytest.approx(value, abs=1e-12)
        assert row["mu_star_low"] == pytest.approx(value, abs=1e-12)
        assert row["mu_star_high"] == pytest.approx(value, abs=1e-12)
        assert row["sigma"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"need a sobol design.*'morris'; use morris"):
        sobol(table, design, spec)
    with pytest.raises(IncompleteDesign, match=r"1 of 40 points have none \(point 7\)"):
        morris(make_table(design, [{"y": y}], failed=[(7, 0)]), design, spec)


# --------------------------------------------------------------------------- replicates


def hand_table() -> pd.DataFrame:
    """Three points, three replicates; point 2's runs and point 0's replicate 2 failed; z is NaN in
    a successful run of point 1."""
    points = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    outputs = [{"y": [1.0, 4.0, 0.0], "z": [10.0, 20.0, 0.0]},
               {"y": [3.0, 6.0, 0.0], "z": [10.0, math.nan, 0.0]},
               {"y": [0.0, 8.0, 0.0], "z": [0.0, 40.0, 0.0]}]
    return make_table(points, outputs, failed=[(0, 2), (2, 0), (2, 1), (2, 2)])


def test_replicate_means_leave_failed_runs_out_and_keep_every_point():
    means = replicate_means(hand_table(), ["y", "z"])
    assert list(means.index) == [0, 1, 2] and means.index.name == "point"
    assert means.loc[0, "y"] == 2.0 and means.loc[1, "y"] == 6.0 and math.isnan(means.loc[2, "y"])
    assert means.loc[0, "z"] == 10.0 and means.loc[1, "z"] == 30.0 and math.isnan(means.loc[2, "z"])
    assert list(replicate_means(hand_table(), "y", points=5).index) == [0, 1, 2, 3, 4]


def test_replicate_spread_pinned():
    spread = replicate_spread(hand_table(), ["y", "z"]).set_index("output")
    y, z = spread.loc["y"], spread.loc["z"]
    # y: sd(1, 3) = sqrt 2 at point 0, sd(4, 6, 8) = 2 at point 1; the means 2 and 6 have sd sqrt 8
    assert y["replicate_sd"] == pytest.approx((math.sqrt(2) + 2) / 2)
    assert y["point_mean_sd"] == pytest.approx(math.sqrt(8))
    assert y["noise_ratio"] == pytest.approx((math.sqrt(2) + 2) / 2 / math.sqrt(8))
    assert (y["runs_used"], y["runs_failed"], y["runs_nan"], y["points"], y["replicates"]) == (5, 4, 0, 2, 3)
    # z: sd(10, 10) = 0, sd(20, 40) = sqrt 200; the means 10 and 30 have sd sqrt 200
    assert z["replicate_sd"] == pytest.approx(math.sqrt(200) / 2)
    assert z["point_mean_sd"] == pytest.approx(math.sqrt(200))
    assert z["noise_ratio"] == pytest.approx(0.5)
    assert (z["runs_used"], z["runs_failed"], z["runs_nan"]) == (4, 4, 1)


def test_replicate_spread_one_replicate_says_so():
    table = make_table(pd.DataFrame({"a": [1.0, 2.0, 3.0]}), [{"y": [1.0, 2.0, 4.0]}])
    spread = replicate_spread(table, ["y"]).iloc[0]
    assert math.isnan(spread["replicate_sd"]) and math.isnan(spread["noise_ratio"])
    assert spread["point_mean_sd"] == pytest.approx(np.std([1.0, 2.0, 4.0], ddof=1))
    assert any("one successful replicate per point" in n for n in replicate_spread(table, ["y"]).attrs["notes"])


# --------------------------------------------------------------------------- heat maps


def grid_sweep():
    """a in {1, 2}, b in {10, 20, 30}, c in {0, 1}; y = 100 a + b + c -/+ 0.5 (replicates 0 and 1);
    the run at a = 2, b = 10, c = 1, replicate 1 failed."""
    points = pd.DataFrame([(a, b, c) for a in (1, 2) for b in (10, 20, 30) for c in (0, 1)],
                          columns=["a", "b", "c"]).astype(float)
    y = (100 * points["a"] + points["b"] + points["c"]).to_numpy()
    failed_point = int(points.index[(points.a == 2) & (points.b == 10) & (points.c == 1)][0])
    table = make_table(points, [{"y": y - 0.5}, {"y": y + 0.5}], failed=[(failed_point, 1)])
    spec = make_spec("grid", [("a", [1, 2]), ("b", [10, 20, 30]), ("c", [0, 1])], ["y"], replicates=2)
    return table, points, spec


def test_heatmap_cell_means_and_systemic_share_exactly(tmp_path):
    table, _, spec = grid_sweep()
    path = tmp_path / "map.png"
    cells = heatmap(table, spec, "y", "a", "b", systemic="y >= 130.5", path=path)
    assert list(cells.columns) == ["a", "b", "a_low", "a_high", "b_low", "b_high", "mean", "share_systemic",
                                   "runs"]
    cells = cells.set_index(["a", "b"])
    assert len(cells) == 6
    # a cell's mean is over its c values and replicates: 100 a + b + 0.5
    for (a, b), row in cells.iterrows():
        if (a, b) == (2.0, 10.0):   # 209.5, 210.5, 210.5 (211.5 failed)
            assert row["mean"] == pytest.approx(630.5 / 3) and row["runs"] == 3
        else:
            assert row["mean"] == pytest.approx(100 * a + b + 0.5) and row["runs"] == 4
    # y >= 130.5: at a = 1, b = 30 the runs are 129.5, 130.5, 130.5, 131.5
    share = cells["share_systemic"]
    assert share[(1.0, 10.0)] == 0 and share[(1.0, 20.0)] == 0 and share[(1.0, 30.0)] == 0.75
    assert (share.loc[2.0] == 1.0).all()
    data = path.read_bytes()
    assert data.startswith(PNG)
    import matplotlib.image
    assert matplotlib.image.imread(path).ndim == 3
    # without a rule: no share; the same means
    plain = heatmap(table, spec, "y", "a", "b")
    assert plain["share_systemic"].isna().all()
    np.testing.assert_allclose(plain.set_index(["a", "b"])["mean"], cells["mean"])


def test_heatmap_skips_a_nan_output_of_a_successful_run():
    table, _, spec = grid_sweep()
    hole = (table.a == 1) & (table.b == 10) & (table.c == 0) & (table.replicate == 0)   # 109.5
    table.loc[hole, "y"] = math.nan
    cells = heatmap(table, spec, "y", "a", "b", systemic="y >= 110").set_index(["a", "b"])
    row = cells.loc[(1.0, 10.0)]
    # left: 110.5, 110.5, 111.5, all >= 110; the cell still holds 4 successful runs
    assert row["mean"] == pytest.approx(332.5 / 3) and row["share_systemic"] == 1.0 and row["runs"] == 4
    assert any("1 successful run without a value of y" in n for n in cells.attrs["notes"])


def test_heatmap_bins_a_continuous_parameter():
    rng = np.random.default_rng(4)
    points = pd.DataFrame({"a": rng.uniform(0, 10, 400), "b": rng.choice([1.0, 2.0], 400)})
    table = make_table(points, [{"y": points["a"].to_numpy()}])
    spec = make_spec("lhs", [("a", 0, 10), ("b", 1, 2)], ["y"])
    cells = heatmap(table, spec, "y", "a", "b", bins=5)
    assert len(cells) == 10 and cells["runs"].sum() == 400
    # equal-width bins over the range 0..10: edges 0, 2, ..., 10, midpoints 1, 3, ..., 9
    assert sorted(cells["a"].unique()) == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert sorted(cells["a_low"].unique()) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert sorted(cells["b"].unique()) == [1.0, 2.0]   # two values: exact
    for row in cells.itertuples():
        inside = (points["a"] >= row.a_low) & (points["a"] < row.a_high) & (points["b"] == row.b)
        assert row.runs == inside.sum() and row.mean == pytest.approx(points.loc[inside, "a"].mean())
    with pytest.raises(ValueError, match="two different parameters"):
        heatmap(table, spec, "y", "a", "a")
    with pytest.raises(ValueError, match="unknown parameter 'q'.*a, b"):
        heatmap(table, spec, "y", "a", "q")


# --------------------------------------------------------------------------- systemic rules


def test_parse_systemic():
    assert parse_systemic("merchant_failure_share >= 0.05") == ("merchant_failure_share", ">=", 0.05)
    assert parse_systemic(" contagion_failures>3 ") == ("contagion_failures", ">", 3.0)
    assert parse_systemic("x<=-1e-3") == ("x", "<=", -0.001)


@pytest.mark.parametrize("text", ["merchant_failure_share", "merchant_failure_share == 0.05",
                                  "merchant_failure_share => 0.05", ">= 0.05", "share >= lots", "share >= nan",
                                  "share >= inf", "a >= 1 and b < 2", "", "x >= 1e999", 5])
def test_parse_systemic_refuses_malformed_rules(text):
    with pytest.raises(ValueError, match="is not a rule of the form 'OUTPUT >= NUMBER' \\(or >, <, <=\\)"):
        parse_systemic(text)


def test_is_systemic():
    table = pd.DataFrame({"share": [0.01, 0.05, 0.2, math.nan], "status": ["ok", "ok", "ok", "failed"]})
    assert list(is_systemic(table, "share >= 0.05")) == [False, True, True, False]
    assert list(is_systemic(table, "share < 0.05")) == [True, False, False, False]
    with pytest.raises(ValueError, match="no output 'failures'; its numeric columns are: share"):
        is_systemic(table, "failures > 1")


# --------------------------------------------------------------------------- PRIM


def prim_sweep(n: int = 1000, seed: int = 3):
    rng = np.random.default_rng(seed)
    points = pd.DataFrame({"a": rng.random(n), "b": rng.random(n), "c": rng.random(n)})
    share = np.where((points.a > 0.7) & (points.b < 0.3), 0.1, 0.0)
    table = make_table(points, [{"merchant_failure_share": share}])
    spec = make_spec("lhs", [("a", 0, 1), ("b", 0, 1), ("c", 0, 1)], ["merchant_failure_share"])
    return table, spec


def test_prim_finds_the_systemic_corner():
    table, spec = prim_sweep()
    boxes = prim_boxes(table, spec, "merchant_failure_share >= 0.05")
    assert len(boxes) >= 1
    box = boxes.iloc[0]
    # the box's limits are values of the sample next to the true edges: with 1,000 uniform runs (about
    # 100 in the corner) the nearest runs inside lie within about 0.01 of an edge, and PRIM's last peel
    # (5% of the box's runs) or paste can leave one such step more; 0.03 allows for both
    assert box["a_low"] == pytest.approx(0.7, abs=0.03) and box["b_high"] == pytest.approx(0.3, abs=0.03)
    assert math.isnan(box["a_high"]) and math.isnan(box["b_low"])
    assert math.isnan(box["c_low"]) and math.isnan(box["c_high"]) and box["restricted"] == 2
    assert box["coverage"] >= 0.9 and box["density"] >= 0.95
    assert box["mass"] == pytest.approx(box["runs"] / 1000)
    assert box["limits"] == f"a >= {box['a_low']:.3g}; b <= {box['b_high']:.3g}"
    assert boxes.attrs["share_systemic"] == pytest.approx(table["merchant_failure_share"].gt(0).mean())


def test_prim_nothing_to_discover_gives_an_empty_table_and_a_note():
    table, spec = prim_sweep(n=200)
    none = prim_boxes(table.assign(merchant_failure_share=0.0), spec, "merchant_failure_share >= 0.05")
    assert none.empty and "a_low" in none.columns
    assert any("no run is systemic" in n for n in none.attrs["notes"])
    every = prim_boxes(table.assign(merchant_failure_share=1.0), spec, "merchant_failure_share >= 0.05")
    assert every.empty and any("every run is systemic" in n for n in every.attrs["notes"])
    few = prim_boxes(table.head(10), spec, "merchant_failure_share >= 0.05")
    assert few.empty and any("too few for PRIM" in n for n in few.attrs["notes"])


# --------------------------------------------------------------------------- the whole analysis


def test_analyze_sobol_writes_its_folder(tmp_path):
    table, design, spec = ishigami_sweep(n=64, second_order=True)
    table = make_table(design, [{"y": table.loc[table.replicate == r, "y"].to_numpy()} for r in (0, 1)],
                       failed=[(4, 1)])
    spec["analysis"] = {"systemic": "y >= 8", "heatmap": ["x2", "x1"]}
    result = analyze(table, design, spec)
    assert result.computed == ["replicates", "sobol", "sobol_second_order", "heatmap", "prim"]
    assert result.heatmap_parameters == ("x2", "x1") and result.systemic == "y >= 8"
    assert result.runs == len(table) and result.runs_failed == 1
    assert any("1 of 1024 runs failed" in n and "ZeroDivisionError" in n for n in result.notes)
    out = result.write(tmp_path / "analysis")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["analysis.json", "heatmap_y.csv", "heatmap_y.png", "indices_y.png", "prim_boxes.csv",
                     "replicates.csv", "sobol.csv", "sobol_second_order.csv"]
    index = results.read_index(out)
    assert set(index["outputs"]["files"]) == set(names) - {"analysis.json"}
    assert index["computed"] == result.computed and index["systemic"] == "y >= 8" and index["level"] == 0.95
    assert index["analysed_outputs"] == ["y"] and index["heatmap"] == ["x2", "x1"]
    assert json.loads((out / "analysis.json").read_text()) == index
    pd.testing.assert_frame_equal(pd.read_csv(out / "sobol.csv"), result.sobol, check_dtype=False)
    assert (out / "indices_y.png").read_bytes().startswith(PNG)
    report = result.report()
    assert "Sobol' indices" in report and "x1" in report and "PRIM boxes" in report
    assert "1 failed" in report


def test_analyze_morris_and_grid_designs(tmp_path):
    names = ["x1", "x2", "x3"]
    x = morris_sampler.sample({"num_vars": 3, "names": names, "bounds": [[0, 1]] * 3}, 6, num_levels=4, seed=2)
    design = pd.DataFrame(x, columns=names)
    table = make_table(design, [{"y": 3 * x[:, 0] - x[:, 2]}])
    result = analyze(table, design, make_spec("morris", [(n, 0, 1) for n in names], ["y"]))
    assert result.sobol is None and result.morris is not None and result.prim is None
    assert any("one successful replicate per point" in n for n in result.notes)
    out = result.write(tmp_path / "morris")
    assert sorted(p.name for p in out.iterdir()) == ["analysis.json", "heatmap_y.csv", "heatmap_y.png",
                                                     "indices_y.png", "morris.csv", "replicates.csv"]
    assert results.read_index(out)["computed"] == ["replicates", "morris", "heatmap"]
    assert "mu*" in result.report()

    table, points, spec = grid_sweep()
    grid = analyze(table, points.rename_axis("point"), spec, systemic="y >= 130.5", heatmap=["b", "a"])
    assert grid.sobol is None and grid.morris is None and grid.computed == ["replicates", "heatmap", "prim"]
    assert any("no sensitivity indices" in n for n in grid.notes)
    assert grid.heatmap_parameters == ("b", "a") and grid.prim is not None


def test_analyze_with_a_point_without_runs_notes_it_and_computes_the_rest():
    table, design, spec = ishigami_sweep(n=64)
    table.loc[table.point == 9, "status"] = "failed"
    result = analyze(table, design, spec)
    assert result.sobol is None and result.computed == ["replicates", "heatmap"]
    assert any("no sensitivity indices" in n and "(point 9)" in n for n in result.notes)
    assert math.isnan(result.means.loc[9, "y"])
    table["status"] = "failed"
    with pytest.raises(ValueError, match="no successful run in the sweep"):
        analyze(table, design, spec)


def test_analyze_an_unfinished_sweep():
    # an unfinished sweep's table lacks the runs not made
    table, design, spec = ishigami_sweep(n=64)
    table["status"] = "ok"
    complete = analyze(table, design, spec)
    assert complete.runs_failed == 0 and complete.sobol is not None
    pd.testing.assert_frame_equal(complete.sobol, sobol(table.assign(status="ok"), design, spec))
    unfinished = table[table.point != 12]
    result = analyze(unfinished, design, {**spec, "runs": len(table)})
    assert result.sobol is None and result.runs_failed == 0
    assert any("2 of 640 runs are missing" in n for n in result.notes)
    assert any("(point 12)" in n for n in result.notes)


def test_analyze_folder_reads_the_sweep_through_sim_sweeps(monkeypatch, tmp_path):
    table, design, spec = ishigami_sweep(n=64)
    table.attrs["sweep"] = spec
    seen = []
    loader = types.ModuleType("sim.sweeps")
    loader.load = lambda folder, partial=False: seen.append(("load", folder, partial)) or table
    loader.load_design = lambda folder: seen.append(("design", folder)) or design
    monkeypatch.setitem(sys.modules, "sim.sweeps", loader)
    result = analysis.analyze_folder(tmp_path, outputs=["y"], level=0.9, partial=True)
    assert seen == [("load", tmp_path, True), ("design", tmp_path)]
    assert result.level == 0.9 and result.sobol is not None and result.spec is spec
