"""The research library (issue 8): the ``limit_hold`` counterfactual switch, the scenarios of
the four causes of cuts and of the crises, and the attribution of lost sales (Q1).

Rules are pinned on small hand-made arrays; scenario tests run paired models on common seeds
at a small size."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model

from agents.lender import CAUSE_CODE, CAUSES, NEVER, Accounts, LimitLog, set_limit
from sim.config import ConfigError, load_config
from sim.shocks import HOLDABLE_CAUSES, hold_schedule, parse_shocks

# --------------------------------------------------------------------------- the hold rule


def _held(*causes: str) -> np.ndarray:
    mask = np.zeros(len(CAUSES), dtype=bool)
    mask[[CAUSE_CODE[c] for c in causes]] = True
    return mask


def test_a_hold_keeps_the_limits_its_causes_would_cut_and_nothing_else():
    acc = Accounts.empty(1, 6)
    acc.fixed_limit[0][:] = 1000.0
    log = LimitLog(1)
    last_cut = np.full(6, NEVER)
    idx = np.arange(6)
    new = np.array([700.0, 700.0, 0.0, 1500.0, 700.0, 0.0])
    codes = np.array([CAUSE_CODE[c] for c in ("review", "macro", "freeze", "raise", "anomaly", "charge_off")])
    set_limit(acc, log, last_cut, 0, idx, new, codes, t=5, experiments=False, held=_held("review", "anomaly"))
    # the review and the anomaly cut are held; the macro cut, the freeze, the raise and the
    # charge-off go through
    assert acc.fixed_limit[0].tolist() == [1000.0, 700.0, 0.0, 1500.0, 1000.0, 0.0]
    assert last_cut.tolist() == [NEVER, 5, 5, NEVER, NEVER, 5]
    assert log.cuts[0] == 1 and log.cuts_by_cause[0, CAUSE_CODE["macro"]] == 1 and log.raises[0] == 1
    # a cause given by name, all of it held: nothing changes, nothing is recorded
    set_limit(acc, log, last_cut, 0, np.array([1]), np.array([100.0]), "macro", t=6, experiments=False,
              held=_held("macro"))
    assert acc.fixed_limit[0][1] == 700.0 and log.cuts[0] == 1
    # a held cause may still raise a limit (only falls are held)
    set_limit(acc, log, last_cut, 0, np.array([1]), np.array([900.0]), "review", t=7, experiments=False,
              held=_held("review"))
    assert acc.fixed_limit[0][1] == 900.0


def _cfg(*shocks: dict):
    cfg = load_config(None, ["run.days=30"])
    return cfg, parse_shocks([dict(s) for s in shocks], cfg)


def test_hold_schedule_by_lender_cause_and_day():
    cfg, shocks = _cfg({"kind": "limit_hold", "start": "2026-01-03", "end": "2026-01-05", "cause": "anomaly",
                        "lender": "huabei"},
                       {"kind": "limit_hold", "start": "2026-01-10", "days": 2})
    held = hold_schedule(shocks, cfg.lender_names, 30, 0)
    assert held.shape == (2, len(CAUSES), 30)
    # huabei's anomaly cuts on days 2 and 3 only; every holdable cause at both lenders on days 9-10
    assert np.flatnonzero(held[1, CAUSE_CODE["anomaly"]]).tolist() == [2, 3, 9, 10]
    assert np.flatnonzero(held[0, CAUSE_CODE["anomaly"]]).tolist() == [9, 10]
    assert np.flatnonzero(held[1, CAUSE_CODE["review"]]).tolist() == [9, 10]   # only anomaly on days 2-3
    for cause in HOLDABLE_CAUSES:
        assert held[:, CAUSE_CODE[cause], 9].all()
    for cause in ("freeze", "charge_off", "raise", "experiment", "promo_expiry"):
        assert not held[:, CAUSE_CODE[cause]].any()
    assert hold_schedule([], cfg.lender_names, 30, 0) is None
    # positions count from the first simulated day (burn-in days come first)
    assert np.flatnonzero(hold_schedule(shocks, cfg.lender_names, 40, -10)[0, 0]).tolist() == [19, 20]


def test_hold_cause_is_checked():
    with pytest.raises(ConfigError, match="cause = 'freeze'.*review, macro, anomaly, promo_reversion"):
        _cfg({"kind": "limit_hold", "start": "2026-01-03", "days": 3, "cause": "freeze"})
    with pytest.raises(ConfigError, match="cause is not used by kind 'income'"):
        _cfg({"kind": "income", "start": "2026-01-03", "days": 3, "size": -0.1, "cause": "review"})


def test_a_hold_on_every_cause_stops_every_cut_in_a_model():
    """A run with every cause held from day 0 makes no cut of the lender's choice; freezes and
    charge-offs go on."""
    strict = ["lenders.baitiao.anomaly_z=0.5", "lenders.baitiao.anomaly_floor=50",
              "lenders.baitiao.anomaly_limit_share=0"]    # a monitor that flags thousands
    hold = 'shocks=[{kind="limit_hold", start="2026-01-01", end="2026-05-01"}]'
    ts = make_model(consumers=800, merchants=8, days=120, sets=[*strict, hold]).run().results()["timeseries"]
    ts0 = make_model(consumers=800, merchants=8, days=120, sets=strict).run().results()["timeseries"]
    assert ts0["limit_cuts_anomaly"].sum() > 1000 and ts0["limit_cuts_review"].sum() > 0
    assert ts["limit_cuts"].sum() == 0 and ts["limit_cuts_huabei"].sum() == 0
    assert ts["freezes"].sum() > 0 and ts["anomaly_flags"].sum() > 0


# --------------------------------------------------------------------------- the four causes

SMALL = ["run.burn_in_days=730"]   # enough to settle the cut counts at this size


@pytest.mark.slow
@pytest.mark.parametrize("scenario, cause", [("scoring_update", "review"), ("anomaly_monitoring", "anomaly"),
                                             ("macro_downturn", "macro"), ("promo_reversion", "promo_reversion")])
def test_each_cause_scenario_cuts_more_of_its_own_cause_than_the_baseline(scenario, cause):
    """Paired on seeds 1 and 2 (8,000 consumers, 160 merchants). At 10,000 / 200 with the full
    burn-in (seeds 20260101-2) the own-cause cuts went: review 758, 618 -> 966, 750;
    macro 112, 50 -> 1615, 1199; promo_reversion 219, 118 -> 307, 259; anomaly (both
    thresholds x 0.6) 208, 180 -> 1867, 1832."""
    from sim.compare import run_comparison

    comp = run_comparison(scenario, "baseline", seeds=[1, 2], overrides=SMALL, consumers=8000, merchants=160,
                          workers=2)
    own = comp.per_seed[comp.per_seed["measure"] == f"limit_cuts_{cause}"]
    assert len(own) == 2 and (own["scenario"] > own["base"] * 1.1).all(), own[["seed", "base", "scenario"]]


# --------------------------------------------------------------------------- Q1: attribution


@pytest.fixture(scope="module")
def crunch_attribution():
    from sim.attribution import run_attribution
    return run_attribution("credit_crunch", "baseline", seeds=[1, 2, 3, 4], overrides=SMALL, consumers=5000,
                           merchants=100, workers=2)


@pytest.mark.slow
def test_attribution_parts_add_up_and_the_cuts_take_part_of_the_lost_sales(crunch_attribution):
    ps = crunch_attribution.per_seed
    assert np.allclose(ps["without_cuts"] + ps["due_to_cuts"], ps["total"], rtol=0, atol=1e-6)
    assert np.array_equal(ps["total"], ps["scenario"] - ps["base"])
    assert np.array_equal(ps["calm_cuts"], ps["base"] - ps["base_held"])
    t = crunch_attribution.table.set_index("measure")
    assert t.loc["retail_sales", "total"] == pytest.approx(t.loc["retail_sales", "without_cuts"]
                                                           + t.loc["retail_sales", "due_to_cuts"])
    # from the crunch's first day nobody is cut in either held world: the held runs' cuts are
    # those of January and February, the same in both; the crunch's extra cuts are all 'due to cuts'
    assert crunch_attribution.hold_from == "2026-03-01"
    cuts = ps[ps["measure"] == "limit_cuts"]
    assert (cuts["base_held"] == cuts["scenario_held"]).all() and (cuts["base_held"] < cuts["base"] / 3).all()
    assert (cuts["due_to_cuts"] == cuts["total"]).all()
    # the crunch loses sales both ways, and its limit cuts cost sales on top (every seed)
    sales = ps[ps["measure"] == "retail_sales"]
    assert (sales["without_cuts"] < 0).all() and (sales["due_to_cuts"] < 0).all()
    assert 0 < t.loc["retail_sales", "share_due_to_cuts"] < 1


@pytest.mark.slow
def test_attribution_intervals_shrink_with_seeds(crunch_attribution):
    from sim.attribution import summarise
    ps = crunch_attribution.per_seed
    two = summarise(ps[ps["seed"].isin([1, 2])]).set_index("measure")
    four = summarise(ps).set_index("measure")
    for part in ("total", "without_cuts", "due_to_cuts"):
        w2 = two.loc["retail_sales", f"{part}_high"] - two.loc["retail_sales", f"{part}_low"]
        w4 = four.loc["retail_sales", f"{part}_high"] - four.loc["retail_sales", f"{part}_low"]
        assert w4 < w2, part


def test_attribution_of_a_scenario_against_itself_is_zero_exactly(tmp_path):
    from sim.cli import main
    out = tmp_path / "att"
    assert main(["attribute", "baseline", "--against", "baseline", "--seeds", "2", "--consumers", "400",
                 "--merchants", "8", "--days", "40", "--set", "run.burn_in_days=0", "--out", str(out),
                 "--quiet"]) == 0
    import pandas as pd
    ps = pd.read_csv(out / "attribution_seeds.csv")
    for part in ("total", "without_cuts", "due_to_cuts"):
        assert (ps[part] == 0).all(), part
    assert {p.name for p in out.iterdir()} == {"attribution.csv", "attribution_seeds.csv", "attribution.png",
                                               "attribution.json"}


def test_parts_is_the_difference_in_differences():
    from sim.attribution import parts
    assert parts({"base": 100.0, "scenario": 70.0, "base_held": 104.0, "scenario_held": 84.0}) == {
        "total": -30.0, "without_cuts": -20.0, "due_to_cuts": -10.0, "calm_cuts": -4.0}


def test_compare_on_two_identical_scenarios_is_zero_exactly():
    from sim.compare import run_comparison
    comp = run_comparison("baseline", "baseline", seeds=2, overrides=["run.burn_in_days=0"], consumers=400,
                          merchants=8, days=40)
    assert (comp.per_seed["diff"] == 0).all()


def test_a_stricter_monitor_lowers_both_of_its_bars():
    """The monitor's share-of-limit bar is given apart from z (a strictness shock scales both):
    a purchase of 800 on a 1,000 fixed limit, 10 sigma above the mean, clears z = 5 but only a
    bar of 0.75 of the limit, not the default whole limit."""
    from agents.lender import anomaly_monitor
    from sim.config import LenderParams
    p = LenderParams(anomaly_floor=100.0)
    for share, flagged in ((None, []), (0.75, [0]), (0.8, [0]), (0.81, [])):
        acc = Accounts.empty(1, 1)
        acc.fixed_limit[0][:] = 1000.0
        acc.spend_obs[0][:] = 5
        acc.spend_mean[0][:] = 300.0
        acc.spend_var[0][:] = 50.0 ** 2
        got = anomaly_monitor(acc, 0, p, np.array([0]), np.array([800.0]), 5.0, 10, share)
        assert got.tolist() == flagged, share


def test_a_promotion_aware_monitor_measures_a_purchase_against_the_whole_line():
    """1,000 fixed and 500 temporary limit: a 1,200 basket is beyond the fixed limit (flagged by
    an unaware monitor) but within the whole line (not by an aware one); 1,500 is flagged by both."""
    from agents.lender import anomaly_monitor
    from sim.config import LenderParams
    p = LenderParams(anomaly_floor=100.0)
    for x, aware, flagged in ((1200.0, False, [0]), (1200.0, True, []), (1500.0, True, [0])):
        acc = Accounts.empty(1, 1)
        acc.fixed_limit[0][:] = 1000.0
        acc.temp_limit[0][:] = 500.0
        acc.spend_obs[0][:] = 5
        acc.spend_mean[0][:] = 300.0
        acc.spend_var[0][:] = 50.0 ** 2
        assert anomaly_monitor(acc, 0, p, np.array([0]), np.array([x]), 5.0, 10, None, aware).tolist() == flagged


# --------------------------------------------------------------------------- Q2 and Q4 helpers, exactly


def test_cause_profile_counts_whom_each_cause_cut():
    """Eleven consumers with incomes 0..10 (fifths split at 2, 4, 6 and 8; an income on a split
    goes to the fifth above); the platform cut consumer 0 twice for review (PD 0.01 and 0.03,
    current) on the window's first and last days, consumer 9 once (PD 0.2, 1 DPD), consumer 4
    (income 4) by the anomaly monitor; a huabei cut, a raise, a no-change and a cut outside the
    window do not count."""
    import types

    import pandas as pd

    from sim.research import cause_profile
    model = types.SimpleNamespace(
        cfg=types.SimpleNamespace(run=types.SimpleNamespace(platform="baitiao")), platform=0,
        consumers=types.SimpleNamespace(base_income=np.arange(0.0, 11.0)),
        accounts=types.SimpleNamespace(open=np.array([[True] * 8 + [False] * 3])))
    rows = [("2026-01-01", 0, "baitiao", 1000.0, 800.0, "review", 0, 0.01),
            ("2026-12-31", 0, "baitiao", 800.0, 600.0, "review", 0, 0.03),
            ("2026-03-01", 9, "baitiao", 1000.0, 700.0, "review", 1, 0.20),
            ("2026-03-02", 4, "baitiao", 1000.0, 700.0, "anomaly", 0, 0.04),
            ("2026-03-02", 5, "baitiao", 0.0, 0.0, "anomaly", 3, 0.04),
            ("2026-03-03", 5, "huabei", 1000.0, 700.0, "review", 0, 0.04),
            ("2026-03-04", 6, "baitiao", 700.0, 900.0, "raise", 0, 0.04),
            ("2027-01-01", 7, "baitiao", 1000.0, 700.0, "review", 0, 0.04)]
    ch = pd.DataFrame(rows, columns=["date", "consumer_id", "lender", "old_limit", "new_limit", "cause", "dpd", "pd"])
    ch["date"] = pd.to_datetime(ch["date"])
    out = cause_profile(model, {"limit_changes": ch}, ("2026-01-01", "2026-12-31"))
    assert out["accounts_open"] == 8
    review = out["review"]
    assert review["cuts"] == 3 and review["accounts"] == 2
    # whom: the first cut of each account (PD 0.01 and 0.20), one current and one past due
    assert review["pd_mean"] == pytest.approx(0.105) and review["past_due"] == 0.5
    assert [review[f"pd_band_{k}"] for k in range(4)] == [0.5, 0.0, 0.0, 0.5]
    assert [review[f"income_q{k}"] for k in range(1, 6)] == [0.5, 0.0, 0.0, 0.0, 0.5]
    anomaly = out["anomaly"]
    assert anomaly["cuts"] == 1 and anomaly["accounts"] == 1 and anomaly["pd_band_1"] == 1.0
    assert [anomaly[f"income_q{k}"] for k in range(1, 6)] == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert anomaly["past_due"] == 0.0
    macro = out["macro"]
    assert macro["cuts"] == 0 and np.isnan(macro["pd_mean"]) and np.isnan(macro["past_due"])
    assert np.isnan(macro["pd_band_0"]) and np.isnan(macro["income_q5"])


def test_strategy_costs_are_booked_to_their_payers_exactly():
    from sim.config import load_config
    from sim.research import COSTS
    cfg = load_config("baseline")
    d = {"merchant_cash_mean": 2e6, "charge_off_amount": 3e5, "provisions_end": -1e5, "bank_drawn_mean": 4e6,
         "stockout_loss": 7e4}
    s = {"reminder_cost": 1234.5, "scf_drawn_mean": 1e7, "instalment_subsidy": 5e5}
    # half a year: the forgone return on 2 million more cash at the bank rate (5%) is 50,000
    assert COSTS["cash_reserves"].of(d, s, cfg, 182.5) == pytest.approx(2e6 * 0.05 * 0.5)
    assert COSTS["supply_chain_finance"].of(d, s, cfg, 365) == pytest.approx(1e7 * 0.06)
    assert COSTS["diversified_financing"].of(d, s, cfg, 365) == pytest.approx(4e6 * 0.05)
    assert COSTS["differentiated_limits"].of(d, s, cfg, 365) == 2e5
    assert COSTS["reminders"].of(d, s, cfg, 365) == 1234.5
    assert COSTS["instalment_offers"].of(d, s, cfg, 365) == 5e5
    assert COSTS["inventory_discipline"].of(d, s, cfg, 365) == 7e4
    assert COSTS["promo_aware_monitoring"].of(d, s, cfg, 365) == 3e5
    assert COSTS["remedies_618"].of(d, s, cfg, 365) == pytest.approx(5e5 + 1e7 * 0.06)
    payers = {name: c.payer for name, c in COSTS.items()}
    assert payers["reminders"] == payers["differentiated_limits"] == "platform"
    assert payers["cash_reserves"] == payers["supply_chain_finance"] == "merchants"


def test_set_limit_keeps_experiment_accounts_apart_but_for_freezes_charge_offs_and_the_experiment():
    acc = Accounts.empty(1, 4)
    acc.fixed_limit[0][:] = 1000.0
    acc.protected_until[0][:] = [10, 10, 3, NEVER]   # accounts 0, 1 in a running experiment on day 5
    log, last_cut = LimitLog(1), np.full(4, NEVER)
    idx = np.arange(4)
    codes = np.full(4, CAUSE_CODE["review"])
    set_limit(acc, log, last_cut, 0, idx, np.full(4, 600.0), codes, t=5, experiments=True)
    assert acc.fixed_limit[0].tolist() == [1000.0, 1000.0, 600.0, 600.0]
    set_limit(acc, log, last_cut, 0, np.array([0]), np.array([700.0]), "macro", t=5, experiments=True)
    assert acc.fixed_limit[0][0] == 1000.0
    for cause, new in (("freeze", 0.0), ("experiment", 1500.0), ("charge_off", 0.0)):
        set_limit(acc, log, last_cut, 0, np.array([1]), np.array([new]), cause, t=5, experiments=True)
        assert acc.fixed_limit[0][1] == new, cause
    # the experiment's last protected day is its end: from then on the account is free
    set_limit(acc, log, last_cut, 0, np.array([2]), np.array([300.0]), "review", t=3, experiments=True)
    assert acc.fixed_limit[0][2] == 300.0
    # a change that does not lower the limit (a charge-off of a frozen account at limit 0) does
    # not date the consumer's last cut (the raise cool-down)
    acc.fixed_limit[0][3] = 0.0
    last_cut[3] = NEVER
    set_limit(acc, log, last_cut, 0, np.array([3]), np.array([0.0]), "charge_off", t=6, experiments=False)
    assert last_cut[3] == NEVER
    # with no experiment running the protection is not looked at
    set_limit(acc, log, last_cut, 0, np.array([0]), np.array([800.0]), "review", t=5, experiments=False)
    assert acc.fixed_limit[0][0] == 800.0


def test_attribution_summary_by_hand():
    """Three seeds of one measure: parts -30, -20, -10 (total), -20, -14, -8 (limits held); the
    means, t-intervals (t(0.975, 2) = 4.303) and the share of the total due to the cuts."""
    import pandas as pd

    from sim.attribution import PARTS, summarise
    rows = []
    for seed, (b, sc, bh, sh) in zip((1, 2, 3), ((100.0, 70.0, 104.0, 84.0), (90.0, 70.0, 92.0, 78.0),
                                                   (80.0, 70.0, 81.0, 73.0))):
        from sim.attribution import parts
        y = {"base": b, "scenario": sc, "base_held": bh, "scenario_held": sh}
        rows.append({"measure": "retail_sales", "label": "retail sales", "unit": "yuan", "seed": seed, **y,
                     **parts(y)})
        rows.append({"measure": "flat", "label": "no effect", "unit": "count", "seed": seed, **y,
                     **{p: 0.0 for p in PARTS}})
    t = summarise(pd.DataFrame(rows)).set_index("measure")
    r = t.loc["retail_sales"]
    assert (r["total"], r["without_cuts"], r["due_to_cuts"]) == (-20.0, -14.0, -6.0)
    assert r["calm_cuts"] == pytest.approx(-7 / 3)      # base minus base held: -4, -2, -1
    assert r["base_mean"] == 90.0 and r["seeds"] == 3 and r["label"] == "retail sales" and r["unit"] == "yuan"
    from scipy.stats import t as student
    q = float(student.ppf(0.975, 2))
    assert q == pytest.approx(4.3027, abs=1e-4)
    half = q * 10.0 / np.sqrt(3)          # total: sd 10
    assert (r["total_low"], r["total_high"]) == pytest.approx((-20.0 - half, -20.0 + half), rel=1e-12)
    half = q * 6.0 / np.sqrt(3)           # limits held: -20, -14, -8, sd 6
    assert (r["without_cuts_low"], r["without_cuts_high"]) == pytest.approx((-14.0 - half, -14.0 + half), rel=1e-12)
    half = q * 4.0 / np.sqrt(3)           # due to cuts: -10, -6, -2, sd 4
    assert (r["due_to_cuts_low"], r["due_to_cuts_high"]) == pytest.approx((-6.0 - half, -6.0 + half), rel=1e-12)
    assert r["share_due_to_cuts"] == pytest.approx(0.3)
    assert np.isnan(t.loc["flat", "share_due_to_cuts"]) and list(t.index) == ["retail_sales", "flat"]
    half50 = float(student.ppf(0.75, 2)) * 10.0 / np.sqrt(3)     # a 50% interval is narrower
    assert summarise(pd.DataFrame(rows), level=0.5).set_index("measure").loc["retail_sales", "total_low"] == \
        pytest.approx(-20.0 - half50, rel=1e-12)
