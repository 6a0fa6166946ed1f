"""The lender's credit rules (issue 7): the score's outcome and its out-of-time AUC, scorecard
changes by ``model_update``, risk-based tightening, re-scored promotion reversions, the
fixed-limit anomaly bar, IFRS 9 style provisions, and freezes reported apart from cuts.

Each rule is pinned on small hand-made arrays with the exact result worked out by hand in the
comments; behavioural tests then run the model on a common seed."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import advance_to, make_model

from agents.accounts import collect_overdue
from agents.lender import (CAUSE_CODE, FEATURES, NEVER, Accounts, LenderState, LimitLog, anomaly_monitor, auc,
                           cutoff_pd, expected_loss, fit_logistic, grant_temporary_limits, promotion_reversion,
                           refit_score, score_outcome, target_limit, underwrite, update_appetite,
                           update_provisions, update_scorecard, write_off)
from sim.accounting import check_invariants
from sim.config import ConfigError, LenderParams, load_config

BAITIAO, HUABEI = 0, 1
P = LenderParams()


def params(**kw) -> LenderParams:
    return dataclasses.replace(P, **kw)


def lenders(n_lenders: int = 1, **kw) -> LenderState:
    state = LenderState.create([P] * n_lenders, np.zeros(n_lenders))
    for name, value in kw.items():
        getattr(state, name)[:] = value
    return state


def shock_table(**keys) -> str:
    body = ", ".join(f'{k}="{v}"' if isinstance(v, str) else f"{k}={v}" for k, v in keys.items())
    return f"shocks=[{{{body}}}]"


# --------------------------------------------------------------------------- 1. the score's outcome


def test_collect_overdue_dates_the_day_an_account_reaches_90_dpd():
    acc = Accounts.empty(1, 3)
    state = lenders()
    acc.open[0] = True
    acc.dpd[0] = [89, 29, 95]
    acc.overdue[0] = acc.balance[0] = [100.0, 100.0, 100.0]
    state.receivables[0] = 300.0
    cash = np.zeros(3)
    idx = np.arange(3)
    collect_overdue(acc, state, cash, np.zeros(3), 0, P, idx, np.zeros(3, dtype=bool), t=400)
    # DPD 89 -> 90 is dated; 29 -> 30 dates the 30 DPD field (and freezes), 95 -> 96 neither
    assert acc.dpd[0].tolist() == [90, 30, 96]
    assert acc.last_90dpd_day[0].tolist() == [400, NEVER, NEVER]
    assert acc.last_30dpd_day[0].tolist() == [NEVER, 400, NEVER]


def test_a_charge_off_before_90_dpd_counts_as_reaching_it():
    acc = Accounts.empty(1, 2)
    state = lenders()
    acc.open[0] = True
    acc.dpd[0] = [60, 180]                  # charged off early (a lower charge_off_dpd), and at 180
    acc.last_90dpd_day[0] = [NEVER, 410]
    acc.overdue[0] = acc.balance[0] = [200.0, 300.0]
    state.receivables[0] = 500.0
    assert write_off(acc, state, 0, np.arange(2), t=500) == 500.0
    assert acc.last_90dpd_day[0].tolist() == [500, 410]   # the first is dated today, the second kept


def test_score_outcome_is_90dpd_within_the_horizon():
    acc = Accounts.empty(1, 6)
    # snapshot on day 100, horizon 365: the window is days 100..464
    acc.last_90dpd_day[0] = [NEVER, 99, 100, 464, 465, 300]
    y = score_outcome(acc, 0, np.arange(6), 100, 365)
    assert y.tolist() == [False, False, True, True, False, True]


def test_refit_uses_the_newest_snapshot_a_horizon_old_and_measures_the_auc_of_the_scores_used():
    p = params(score_horizon_days=365)
    acc = Accounts.empty(1, 4)
    state = lenders()
    X = np.zeros((4, len(FEATURES)))
    X[:, 0] = 1.0
    X[:, 5] = [0.0, 1.0, 2.0, 3.0]          # other accounts
    used = np.zeros(len(FEATURES))
    used[5] = 1.0                           # the weights in force at the snapshot: logit = other accounts
    # bad: accounts 1 and 3 reach 90 DPD within the year after day 0
    acc.last_90dpd_day[0] = [NEVER, 200, NEVER, 364]
    snaps = [(0, np.arange(4), X, used), (100, np.arange(4), X * 0, used * 0), (400, np.arange(4), X, used)]
    refit_score(acc, state, 0, p, snaps, t=465)
    # ready: days 0 and 100 (465 - 100 = 365); the newest of them, day 100, has all-zero scores
    # and, on day 100, outcomes [F, T, F, T] (200 and 364 fall in 100..464): AUC of ties = 0.5
    assert state.score_auc[0] == 0.5
    assert [s[0] for s in snaps] == [100, 400]
    refit_score(acc, state, 0, p, [(0, np.arange(4), X, used)], t=400)
    # scores 0, 1, 2, 3 with bads at 1 and 3: pairs (bad, good) = (1,0) win, (1,2) loss,
    # (3,0) win, (3,2) win: 3 of 4
    assert state.score_auc[0] == 0.75


def test_auc_counts_ties_half_and_is_nan_without_both_groups():
    # bads score 0.35 and 0.8, goods 0.1 and 0.4: (0.35 > 0.1), (0.35 < 0.4), (0.8 > both): 3/4
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == 0.75
    # bads 0.2 and 0.5, goods 0.2 and 0.1: tie 1/2 + 1 + 1 + 1 = 3.5 of 4 pairs
    assert auc(np.array([0.2, 0.2, 0.5, 0.1]), np.array([1, 0, 1, 0])) == 0.875
    # perfectly wrong order: 0
    assert auc(np.array([3.0, 2.0, 1.0]), np.array([0, 1, 1])) == 0.0
    assert math.isnan(auc(np.array([1.0, 2.0]), np.array([0, 0])))
    assert math.isnan(auc(np.array([1.0, 2.0]), np.array([1, 1])))


def test_prior_weights_are_near_what_the_baseline_refit_finds():
    """The prior is calibrated on the baseline's refits (docs/model.md 7.17); it predicts 90+
    DPD in 12 months, so its intercept sits near the logit of a few per cent."""
    from sim.config import load_config
    for lp in load_config("baseline").lenders.values():
        w = np.asarray(lp.initial_weights)
        assert np.log(0.005 / 0.995) < w[0] < np.log(0.05 / 0.95)      # a base rate of 0.5-5%
        assert w[FEATURES.index("dpd_30")] > 1 and w[FEATURES.index("utilisation")] > 0
        assert w[FEATURES.index("log_income")] < 0
    assert P.charge_off_dpd == 180 and P.score_horizon_days == 365 and P.reestimate_every_days == 91


# --------------------------------------------------------------------------- 3. scorecard changes


def test_update_scorecard_pins_the_weight_and_its_prior():
    state = lenders(2)
    update_scorecard(state, 1, "other_accounts", 2.5)
    k = FEATURES.index("other_accounts")
    assert state.weights[1, k] == state.prior_weights[1, k] == 2.5 and state.pinned[1, k]
    assert state.pinned.sum() == 1 and state.weights[0, k] == P.initial_weights[k]


def test_a_pinned_weight_survives_a_refit():
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(400), rng.normal(size=(400, 2))]
    y = (rng.uniform(size=400) < 1 / (1 + np.exp(-(-1.0 + 1.0 * X[:, 1])))).astype(float)
    prior = np.array([0.0, 0.0, 4.0])
    free = fit_logistic(X, y, prior, ridge=1.0)
    pinned = fit_logistic(X, y, prior, ridge=1.0, pinned=np.array([False, False, True]))
    assert pinned[2] == 4.0                  # held exactly ...
    assert abs(free[2]) < 1.0                # ... where the data alone would drop it
    assert pinned[1] > 0.5                   # the other weights are still fitted


@pytest.mark.parametrize("keys, message", [
    (dict(feature="intercept", weight=1.0), "feature = 'intercept' is not a score feature"),
    (dict(feature="bureau", weight=1.0), "feature = 'bureau' is not a score feature"),
    (dict(feature="other_accounts"), "needs both feature and weight"),
    (dict(weight=1.0), "needs both feature and weight"),
    (dict(feature="other_accounts", weight="high"), "weight = 'high': expected a finite number"),
])
def test_model_update_keys_are_validated(keys, message):
    table = shock_table(kind="model_update", start="2026-02-01", days=1, **keys)
    with pytest.raises(ConfigError, match="shocks\\[0\\]") as err:
        load_config("baseline", [table])
    assert message in str(err.value)


def test_model_update_keys_name_the_scenario_file(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text('extends = "baseline"\n[[shocks]]\nkind = "model_update"\nstart = "2026-02-01"\ndays = 1\n'
                    'feature = "other_accounts"\nweight = inf\n')
    with pytest.raises(ConfigError) as err:
        load_config(str(path))
    assert "registry.toml" in str(err.value) and "weight = inf" in str(err.value)
    path.write_text('extends = "baseline"\n[[shocks]]\nkind = "demand"\nstart = "2026-02-01"\ndays = 1\n'
                    'feature = "other_accounts"\n')
    with pytest.raises(ConfigError, match="feature is not used by kind 'demand'"):
        load_config(str(path))
    path.write_text('extends = "baseline"\n[[shocks]]\nkind = "model_update"\nstart = "2026-02-01"\ndays = 1\n'
                    'feature = "other_accounts"\nweight = 3\n')
    s = load_config(str(path)).shocks[0]
    assert (s.feature, s.weight) == ("other_accounts", 3.0)


REGISTRY = shock_table(kind="model_update", start="2026-02-01", days=1, lender="baitiao",
                       feature="other_accounts", weight=3.0)


def cuts_after(model, day: str) -> set[int]:
    lc = model.results()["limit_changes"]
    lc = lc[(lc["lender"] == "baitiao") & (lc["date"] >= day) & lc["cause"].isin(["review", "macro"])]
    return set(lc.loc[lc["new_limit"] < lc["old_limit"], "consumer_id"].astype(int))


def test_a_model_update_weighting_multi_platform_borrowing_changes_who_is_cut():
    """A registry starts to report multi-platform borrowing and the platform weights it heavily:
    on the same seed, the accounts cut in the following months differ from the baseline's, and
    they are multi-platform borrowers."""
    base = make_model(consumers=1500, merchants=8, days=120)
    update = make_model(consumers=1500, merchants=8, days=120, sets=[REGISTRY])
    base.run()
    update.run()
    k = FEATURES.index("other_accounts")
    # (a refit keeps the weight: test_a_pinned_weight_survives_a_refit)
    assert update.lenders.weights[BAITIAO, k] == 3.0 and base.lenders.weights[BAITIAO, k] != 3.0
    assert update.lenders.pinned[BAITIAO].tolist() == [f == "other_accounts" for f in FEATURES]
    # same seed: identical until the shock
    before = lambda m: set(m.results()["limit_changes"].query("date < '2026-02-01'")["consumer_id"])  # noqa: E731
    assert before(base) == before(update)
    cut_base, cut_update = cuts_after(base, "2026-02-01"), cuts_after(update, "2026-02-01")
    new = cut_update - cut_base
    assert len(new) > 50 and len(new) > len(cut_base)
    multi = update.accounts.open[HUABEI]
    assert multi[list(new)].mean() > 0.9 and multi[list(new)].mean() > multi[list(cut_base)].mean() + 0.25


# --------------------------------------------------------------------------- 4. risk-based tightening


K = dict(appetite_cutoff_elasticity=2.0, appetite_steepness_elasticity=1.0, appetite_level_elasticity=0.25,
         limit_multiple=2.0, pd_max=0.4, limit_min=500.0, limit_max=50000.0)


def test_target_limit_at_normal_appetite_is_the_old_rule_exactly():
    p = params(**K)
    pd = np.array([0.0, 0.04, 0.2, 0.5])
    income = np.full(4, 5000.0)
    # 2 x (1 - PD/0.4) x 5000, the last clipped to limit_min
    old = np.clip(p.limit_multiple * np.clip(1.0 - pd / p.pd_max, 0.0, 1.0) * income * 1.0, 500.0, 50000.0)
    assert target_limit(pd, income, 1.0, p).tolist() == old.tolist() == [10000.0, 9000.0, 5000.0, 500.0]


def test_tightening_lowers_the_cutoff_and_takes_most_from_high_pd_accounts():
    p = params(**K)
    pd = np.array([0.0, 0.04, 0.08, 0.2])
    income = np.full(4, 5000.0)
    normal = target_limit(pd, income, 1.0, p)     # 10000, 9000, 8000, 5000
    assert normal.tolist() == [10000.0, 9000.0, 8000.0, 5000.0]
    tight = target_limit(pd, income, 0.5, p)
    # appetite 0.5: cut-off 0.4 x 0.5^2 = 0.1; exponent 0.5^-1 = 2; level 0.5^0.25 = 0.8409
    level = 0.5 ** 0.25
    assert tight == pytest.approx([2 * 1.0 ** 2 * level * 5000,   # PD 0:    8408.96
                                   2 * 0.6 ** 2 * level * 5000,   # PD 0.04: (1 - 0.4)^2 = 0.36: 3027.23
                                   500.0,                         # PD 0.08: 0.2^2 x ... = 336.36 -> limit_min
                                   500.0], rel=1e-12)             # PD 0.2 beyond the cut-off: limit_min
    # without the floor: the share of the target kept falls with PD, 84% for the safest,
    # 34% at PD 4%, 4% at PD 8%, nothing beyond the cut-off
    unfloored = params(**K | dict(limit_min=0.0))
    kept = target_limit(pd, income, 0.5, unfloored) / normal
    assert kept == pytest.approx([level, 0.36 * level * 10 / 9, 0.04 * level * 10 / 8, 0.0], rel=1e-12)
    assert np.all(np.diff(kept) < 0)
    assert cutoff_pd(0.4, 0.5, p) == pytest.approx(0.1) and cutoff_pd(0.08, 0.5, p) == pytest.approx(0.02)
    assert cutoff_pd(0.08, 1.0, p) == 0.08


def test_approvals_use_the_same_cutoff():
    p = params(**K, approval_pd=0.08)
    X = np.zeros((3, len(FEATURES)))
    X[:, 0] = 1.0
    w = np.zeros(len(FEATURES))
    w[0] = 1.0
    X[:, 0] = np.log(np.array([0.01, 0.03, 0.07]) / (1 - np.array([0.01, 0.03, 0.07])))  # PD 1%, 3%, 7%
    income = np.full(3, 5000.0)
    assert underwrite(X.copy(), w, income, 1.0, p, 0.5)[0].tolist() == [True, True, True]   # below 8%
    # appetite 0.5: approval cut-off 0.08 x 0.25 = 2%
    assert underwrite(X.copy(), w, income, 0.5, p, 0.5)[0].tolist() == [True, False, False]


def test_promotion_eligibility_follows_the_cutoff():
    p = params(**K, approval_pd=0.08, temp_limit_share=0.5)
    acc = Accounts.empty(1, 3)
    acc.open[0] = True
    acc.fixed_limit[0] = 1000.0
    acc.pd[0] = [0.01, 0.03, 0.07]
    grant_temporary_limits(acc, 0, p, expiry=50, appetite=0.5)   # cut-off 2%
    assert acc.temp_limit[0].tolist() == [500.0, 0.0, 0.0]


# --------------------------------------------------------------------------- 5. promotion reversion


def test_reversion_cuts_only_where_the_re_score_calls_for_it():
    p = params(promo_reversion_utilisation=1.0, cut_hysteresis=0.2, promo_reversion_cut=0.4)
    fixed = np.array([1000.0, 1000.0, 1000.0, 1000.0, 0.0])
    balance = np.array([1200.0, 1200.0, 1500.0, 900.0, 50.0])
    target = np.array([900.0, 500.0, 700.0, 100.0, 0.0])
    cut, new = promotion_reversion(balance, fixed, target, p)
    # 0: drawn beyond its limit but clean: target 900 >= 800 (= 1000 x (1 - 0.2)) -> kept
    # 1: drawn beyond, target 500 < 800: cut to max(500, 1000 x (1 - 0.4)) = 600
    # 2: drawn beyond, target 700 < 800: cut to max(700, 600) = 700 (the re-score sets it)
    # 3: risky (target 100) but within its fixed limit (90%): kept
    # 4: no fixed limit: nothing to cut
    assert cut.tolist() == [False, True, True, False, False]
    assert new.tolist() == [600.0, 700.0]


def test_at_expiry_a_clean_account_drawn_beyond_its_limit_keeps_it_and_a_risky_one_is_cut():
    model = make_model(consumers=300, merchants=6, days=60, sets=['run.start_date="2026-10-15"'], check=True)
    acc, cal = model.accounts, model.calendar
    expiry = cal.index("2026-11-13") + P.promo_grace_days
    advance_to(model, expiry)
    live = np.flatnonzero(acc.open[BAITIAO] & (acc.temp_expiry[BAITIAO] == expiry) & (acc.temp_limit[BAITIAO] > 0)
                          & (acc.balance[BAITIAO] < 1.0) & (acc.dpd[BAITIAO] == 0))
    clean, risky = live[:2]
    for i in (clean, risky):   # both drawn to 130% of the fixed limit, on the temporary limit
        extra = 1.3 * acc.fixed_limit[BAITIAO, i]
        acc.unbilled[BAITIAO, i] += extra
        acc.balance[BAITIAO, i] += extra
        model.lenders.receivables[BAITIAO] += extra
    acc.anomaly_score[BAITIAO, risky], acc.anomaly_day[BAITIAO, risky] = 30.0, expiry  # recent flags
    fixed = acc.fixed_limit[BAITIAO, [clean, risky]].copy()
    model.step()
    assert acc.fixed_limit[BAITIAO, clean] == fixed[0]
    assert acc.fixed_limit[BAITIAO, risky] == pytest.approx(fixed[1] * (1 - P.promo_reversion_cut))
    lc = model.results()["limit_changes"]
    rev = lc[(lc["cause"] == "promo_reversion") & (lc["lender"] == "baitiao")]
    assert risky in set(rev["consumer_id"]) and clean not in set(rev["consumer_id"])
    assert check_invariants(model, raise_on_breach=False) == []


# --------------------------------------------------------------------------- 6. the anomaly monitor


def primed(n: int, mean: float, sd: float, fixed: float, temp: float) -> Accounts:
    acc = Accounts.empty(1, n)
    acc.open[0] = True
    acc.spend_mean[0], acc.spend_var[0], acc.spend_obs[0] = mean, sd * sd, 20
    acc.fixed_limit[0], acc.temp_limit[0] = fixed, temp
    return acc


def test_the_share_of_limit_bar_uses_the_fixed_limit():
    p = params(anomaly_floor=500.0, anomaly_limit_share=0.8)
    acc = primed(2, 100.0, 10.0, 1000.0, 500.0)
    # z = 5: spikes beyond 100 + 5 x 10 = 150; the bar is 0.8 x 1000 = 800 (not 0.8 x 1500 = 1200)
    flagged = anomaly_monitor(acc, 0, p, np.arange(2), np.array([900.0, 700.0]), 5.0, t=10)
    assert flagged.tolist() == [0]
    assert acc.anomaly_score[0].tolist() == [1.0, 0.0] and acc.anomaly_day[0, 0] == 10


def test_an_unaware_monitor_flags_more_honest_big_purchases_in_a_promotion_window():
    model = make_model(consumers=20, merchants=4, days=1, sets=['run.start_date="2026-11-11"'])
    season = float(model.calendar.season[model.calendar.pos(0)])   # Double 11 peak: 1 + 2.5
    assert season == pytest.approx(3.5)
    p = model.cfg.lenders["baitiao"]
    # honest shoppers who usually spend 300 +- 300, with the promotion's temporary limit granted,
    # buy big tickets of 2,500 to 6,500 on it (all within fixed + temporary = 7,500)
    purchases = np.linspace(2500.0, 6500.0, 9)
    flags = {}
    for aware in (False, True):
        acc = primed(purchases.size, 300.0, 300.0, 5000.0, 0.0)
        acc.pd[0] = 0.01
        grant_temporary_limits(acc, 0, p, expiry=30)
        assert np.all(acc.temp_limit[0] == 2500.0)
        z = p.anomaly_z * (season if aware else 1.0)
        flags[aware] = anomaly_monitor(acc, 0, p, np.arange(purchases.size), purchases, z, t=0)
    # unaware (z = 5): beyond 300 + 1,500 = 1,800 and at least the fixed limit (1 x 5,000):
    # purchases >= 5,000
    assert p.anomaly_limit_share == 1.0
    assert flags[False].tolist() == [5, 6, 7, 8]
    # aware (z = 17.5): beyond 300 + 5,250 = 5,550: purchases 6,000 and 6,500 only
    assert flags[True].tolist() == [7, 8]


# --------------------------------------------------------------------------- 7. provisions

LOSS = dict(lgd=0.9, loss_probability_30dpd=0.3, loss_probability_60dpd=0.6, loss_probability_90dpd=0.85)


def test_expected_loss_by_stage():
    p = params(**LOSS)
    balance = np.array([1000.0, 1000.0, 2000.0, 500.0, 400.0, 0.0, -1e-9])
    dpd = np.array([0, 15, 30, 65, 120, 40, 0])
    pd = np.array([0.02, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5])
    # 0.02 x 0.9 x 1000 = 18; 0.1 x 0.9 x 1000 = 90 (1-29 DPD: 12-month loss on the PD);
    # 0.3 x 0.9 x 2000 = 540; 0.6 x 0.9 x 500 = 270; 0.85 x 0.9 x 400 = 306; nothing owed, nothing
    assert expected_loss(balance, dpd, pd, p) == pytest.approx([18.0, 90.0, 540.0, 270.0, 306.0, 0.0, 0.0],
                                                                abs=1e-12)
    state = lenders()
    state.provisions[0] = 100.0
    state.provision_expense[0] = 100.0
    expense = update_provisions(state, 0, balance, dpd, pd, p)
    assert expense == pytest.approx(1224.0 - 100.0)
    assert state.provisions[0] == pytest.approx(1224.0) and state.provision_expense[0] == pytest.approx(1224.0)
    # a charged-off balance leaves the book: its provision is released
    balance[4] = 0.0
    assert update_provisions(state, 0, balance, dpd, pd, p) == pytest.approx(-306.0)


def test_equity_is_net_of_provisions_and_the_capital_ratio_sees_them():
    state = lenders(cash=20.0, receivables=1000.0, funding=900.0, settlement_payable=20.0)
    assert state.equity[0] == 100.0            # 20 + 1000 - 0 - 900 - 20
    state.provisions[0] = 50.0
    assert state.equity[0] == 50.0
    p = params(appetite_capital=3.0, capital_target=0.1, appetite_halflife_days=30.0)
    update_appetite(state, [p], 0.05, 0.05, 0.03, 0.03, np.zeros(1), np.zeros(1, dtype=int), np.ones(1, dtype=int))
    # capital 50 / 1000 = 0.05, 0.05 below target: target appetite 1 - 3 x 0.05 = 0.85
    alpha = 1 - 0.5 ** (1 / 30)
    assert state.appetite[0] == pytest.approx(1 + alpha * (0.85 - 1), rel=1e-12)


def test_provisions_outside_zero_to_receivables_break_an_invariant():
    model = make_model(consumers=200, days=10)
    for _ in range(3):
        model.step()
    assert check_invariants(model, raise_on_breach=False) == []
    state = model.lenders
    # net worth is compared on the gross basis: only the new invariant sees a wrong allowance
    for wrong in (state.receivables[0] + 10.0, -5.0):
        state.provisions[0] = wrong
        names = [b.name for b in check_invariants(model, raise_on_breach=False)]
        assert names == ["baitiao: provisions outside [0, receivables]"]


def test_in_a_downturn_provisions_rise_before_charge_offs_do():
    downturn = shock_table(kind="unemployment", start="2026-01-15", end="2026-10-01", size=0.08)
    # (no parent recapitalisation here: an injection would lift the equity this test reads)
    no_recap = ["lenders.baitiao.recapitalisation_floor=0", "lenders.huabei.recapitalisation_floor=0"]
    base = make_model(consumers=2500, merchants=10, days=300, sets=no_recap)
    shocked = make_model(consumers=2500, merchants=10, days=300, sets=[downturn, *no_recap])
    ts0, ts1 = base.run().results()["timeseries"], shocked.run().results()["timeseries"]
    assert np.allclose(ts0["provisions"].iloc[:14], ts1["provisions"].iloc[:14])   # same seed
    extra_provisions = ts1["provisions"] - ts0["provisions"]
    extra_charge_offs = ts1["charge_off_amount"].cumsum() - ts0["charge_off_amount"].cumsum()
    level = 0.1 * ts0["provisions"].iloc[14]
    first_provision = int(np.argmax(extra_provisions.to_numpy() > level))
    rises = extra_charge_offs.to_numpy() > level
    assert extra_provisions.iloc[first_provision] > level and rises.any()
    first_charge_off = int(np.argmax(rises))
    assert first_provision + 60 < first_charge_off   # two months and more ahead
    # and equity (net of provisions) falls before the charge-offs come
    assert ts1["lender_equity"].iloc[first_charge_off] < ts0["lender_equity"].iloc[first_charge_off]


# --------------------------------------------------------------------------- 8. freezes apart


def test_freezes_and_charge_offs_are_not_cuts():
    log = LimitLog(1)
    acc = Accounts.empty(1, 6)
    idx = np.arange(6)
    old = np.array([1000.0, 1000.0, 1000.0, 0.0, 1000.0, 800.0])
    new = np.array([0.0, 0.0, 700.0, 0.0, 1000.0, 1000.0])
    codes = np.array([CAUSE_CODE[c] for c in ("freeze", "charge_off", "review", "freeze", "promo_expiry",
                                              "raise")])
    log.add(0, 0, idx, old, new, codes, acc)
    # cuts: only the review (1000 -> 700); freezes: both freeze records (one on a zero limit)
    assert log.cuts[0] == 1 and log.cut_amount[0] == 300.0 and log.freezes[0] == 2 and log.raises[0] == 1
    assert log.cuts_by_cause[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    log.reset_day()
    assert log.freezes[0] == 0


def test_the_time_series_reports_freezes_apart():
    model = make_model(consumers=600, merchants=6, days=120)
    model.run()
    frames = model.results()
    ts, lc = frames["timeseries"], frames["limit_changes"]
    mine = lc[lc["lender"] == "baitiao"]
    assert ts["freezes"].sum() == (mine["cause"] == "freeze").sum() > 0
    cuts = mine[(mine["new_limit"] < mine["old_limit"]) & ~mine["cause"].isin(["freeze", "charge_off",
                                                                               "promo_expiry"])]
    assert ts["limit_cuts"].sum() == len(cuts)
    assert "limit_cuts_freeze" not in ts.columns and "freezes_huabei" in ts.columns
    assert ts["provisions"].gt(0).all() and "provisions_huabei" in ts.columns
    assert ts["score_auc"].isna().all() and ts["score_auc_huabei"].isna().all()   # no refit in 120 days


def test_score_auc_is_recorded_from_the_first_refit():
    """Snapshots every 30 days, outcome window 95 days: the first refit with a snapshot old enough
    is on day 120 (the day-0 snapshot). A wave of sampled accounts stops paying after day 0 and
    reaches 90 DPD on day 90; the AUC of the scores used on day 0 against that outcome is stored
    and recorded from day 120."""
    sets = ["lenders.baitiao.reestimate_every_days=30", "lenders.baitiao.score_horizon_days=95"]
    model = make_model(consumers=800, merchants=6, days=130, sets=sets)
    model.step()
    day, idx, X, used = model.snapshots[BAITIAO][0]
    assert day == 0 and np.array_equal(used, P.initial_weights)
    wave = idx[~np.isin(idx, model.merchants.owner)][::10]
    cs, acc = model.consumers, model.accounts
    model.outside.cash += cs.cash[wave].sum()
    cs.cash[wave] = cs.base_income[wave] = cs.outside_wage[wave] = cs.income[wave] = 0.0
    cs.employed[wave] = False
    acc.overdue[BAITIAO, wave] += 1000.0
    acc.balance[BAITIAO, wave] += 1000.0
    model.lenders.receivables[BAITIAO] += 1000.0 * wave.size
    advance_to(model, 120)
    assert np.isnan(model.lenders.score_auc[BAITIAO])
    model.step()
    y = score_outcome(acc, BAITIAO, idx, 0, 95)
    assert np.isin(wave, idx[y]).all()
    expected = auc(X @ used, y)
    assert 0 < expected < 1 and model.lenders.score_auc[BAITIAO] == expected
    model.run()
    ts = model.results()["timeseries"]
    assert ts["score_auc"].iloc[:120].isna().all() and (ts["score_auc"].iloc[120:] == expected).all()
    assert check_invariants(model, raise_on_breach=False) == []


# --------------------------------------------------------------------------- edges of the rules (mutation tests)


def test_write_off_dates_only_accounts_below_90_dpd_and_adds_up_the_charge_offs():
    acc = Accounts.empty(1, 3)
    lenders = LenderState.create([P], np.zeros(1))
    acc.dpd[0][:] = [89, 90, 200]
    acc.last_90dpd_day[0][:] = [NEVER, 50, 40]
    acc.instalment_principal[0][:] = [100.0, 0.0, 0.0]
    acc.instalment_months[0][:] = [3, 0, 0]
    acc.balance[0][:] = [100.0, 200.0, 300.0]
    acc.overdue[0][1:] = [200.0, 300.0]
    lenders.receivables[0] = 600.0
    assert write_off(acc, lenders, 0, np.array([0, 1]), 120) == 300.0
    # 89 DPD: dated as reaching 90 today; 90 DPD had reached it on day 50
    assert acc.last_90dpd_day[0].tolist() == [120, 50, 40]
    assert acc.instalment_months[0][0] == 0 and acc.balance[0].tolist() == [0.0, 0.0, 300.0]
    write_off(acc, lenders, 0, np.array([2]), 121)
    assert lenders.charge_off_total[0] == 600.0 and lenders.receivables[0] == 0.0


def test_anomaly_monitor_boundaries_and_its_smoothing():
    """Floor 1,000, mean 200, sd 100, z 5: the z bar is 700. A purchase exactly at the floor is
    not tested; one just above is flagged; one exactly on a z bar above the floor is not."""
    p = dataclasses.replace(P, anomaly_floor=1000.0, anomaly_limit_share=0.0)
    acc = Accounts.empty(1, 4)
    acc.fixed_limit[0][:] = 5000.0
    acc.spend_obs[0][:] = 5
    acc.spend_mean[0][:] = [200.0, 200.0, 200.0, 0.0]
    acc.spend_var[0][:] = [100.0 ** 2, 100.0 ** 2, 300.0 ** 2, 0.0]
    x = np.array([1000.0, 1000.5, 1700.0, 50.0])   # the third: 200 + 5 x 300 = 1,700 exactly
    acc.anomaly_score[0][1], acc.anomaly_day[0][1] = 1.0, 0      # flagged once before, on day 0
    flagged = anomaly_monitor(acc, 0, p, np.arange(4), x, 5.0, 7)
    assert flagged.tolist() == [1]
    # the earlier flag has decayed for 7 days (by e in ANOMALY_DECAY_DAYS, 90), the new one counts 1
    assert acc.anomaly_score[0][1] == pytest.approx(math.exp(-7 / 90) + 1.0, rel=1e-12)
    assert acc.anomaly_day[0][1] == 7
    alpha = 1.0 - 0.5 ** (1.0 / p.anomaly_halflife_days)     # 30 shopping days: alpha = 0.0228
    assert alpha == pytest.approx(0.022840, abs=1e-6)
    mean0, var0 = np.array([200.0, 200.0, 200.0, 0.0]), np.array([1e4, 1e4, 9e4, 0.0])
    diff = x - mean0
    assert acc.spend_mean[0].tolist() == pytest.approx((mean0 + alpha * diff).tolist(), rel=1e-12)
    assert acc.spend_var[0].tolist() == pytest.approx(((1 - alpha) * (var0 + alpha * diff ** 2)).tolist(), rel=1e-12)
    assert acc.spend_mean[0][0] == pytest.approx(200.0 + 0.022840 * 800.0, abs=1e-3)
    assert acc.spend_obs[0].tolist() == [6, 6, 6, 6]
