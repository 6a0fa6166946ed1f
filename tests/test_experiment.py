"""Credit-line experiments: treated and control keep their limits; the response of
debt to a limit increase is positive and largest for constrained consumers
(Gross & Souleles 2002; Agarwal et al. 2018)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_model


@pytest.fixture(scope="module")
def experiment():
    model = make_model(consumers=8000, merchants=60, days=250, burn_in=180, scenario="limit_experiment",
                       panel="monthly")
    model.run()
    return model


def test_treated_get_the_change_and_keep_their_limits(experiment):
    panel = experiment.results()["panel"]
    plat = panel[panel["lender"] == "baitiao"]
    feb = plat[plat["month"] == "2026-02"].set_index("consumer_id")
    mar = plat[plat["month"] == "2026-03"].set_index("consumer_id")
    treated = mar.index[mar["treated"].fillna(False).astype(bool)]
    control = mar.index[(~mar["treated"].fillna(True).astype(bool))]
    share = len(treated) / (len(treated) + len(control))
    assert 0.17 < share < 0.23
    both = treated.intersection(feb.index)
    ratio = (mar.loc[both, "fixed_limit"] / feb.loc[both, "fixed_limit"].replace(0, np.nan)).dropna()
    assert np.median(ratio) == pytest.approx(1.5, rel=1e-6)
    # during the experiment only freezes (to zero) change a limit in either arm
    changes = experiment.results()["limit_changes"]
    # (accounts that stayed in the experiment all along: a closed and reopened account leaves it)
    months = plat[plat["month"].between("2026-03", "2026-08")]
    stayed = months.groupby("consumer_id")["treated"].apply(lambda s: s.notna().all() and len(s) == 6)
    during = changes[(changes["date"] > "2026-03-01") & (changes["date"] < "2026-09-01") &
                     (changes["lender"] == "baitiao") & changes["consumer_id"].isin(stayed.index[stayed])]
    assert set(during["cause"].unique()) <= {"freeze", "charge_off", "promo_expiry"}
    assert (panel.loc[panel["lender"] == "huabei", "treated"].isna()).all()


def limit_response(model, column="balance", months=("2026-05", "2026-06", "2026-07", "2026-08")):
    """Response to the limit increase, (treated - control mean of ``column``) / limit increase,
    over current accounts: all, hand-to-mouth consumers (cash buffer target below half a month
    of income), and the rest."""
    panel = model.results()["panel"]
    plat = panel[panel["lender"] == "baitiao"]
    before = plat[plat["month"] == "2026-02"].set_index("consumer_id")
    after = plat[plat["month"].isin(months) & plat["treated"].notna()]
    after = after.groupby("consumer_id").agg(value=(column, "mean"), treated=("treated", "first"))
    ids = after.index.intersection(before.index[(before["dpd"] == 0) & (before["fixed_limit"] > 0)])
    after = after.loc[ids]
    treated = after["treated"].astype(bool).to_numpy()
    increase = 0.5 * before.loc[ids, "fixed_limit"].to_numpy()
    hand_to_mouth = model.consumers.buffer_months[ids.to_numpy()] < 0.5

    def response(mask):
        gap = after["value"][treated & mask].mean() - after["value"][~treated & mask].mean()
        return gap / increase[mask].mean()

    return response(np.ones(len(ids), bool)), response(hand_to_mouth), response(~hand_to_mouth)



@pytest.fixture(scope="module")
def half_treated(tmp_path_factory):
    path = tmp_path_factory.mktemp("exp") / "half.toml"
    path.write_text('extends = "baseline"\n[[shocks]]\nkind = "credit_limit_experiment"\n'
                    'start = "2026-02-01"\nend = "2027-02-01"\nsize = 0.5\nshare = 0.5\n')
    return make_model(consumers=20000, merchants=100, days=400, burn_in=1095, scenario=str(path),
                      panel="monthly").run()


@pytest.mark.slow
def test_debt_response_matches_gross_souleles_and_falls_with_the_credit_score(half_treated):
    """``sim.experiments.estimate`` 12 months after a +50% rise. Two seeds (``sim experiment
    limit_experiment_12m --consumers 20000 --merchants 100 --seeds 2``) gave 0.135 (SE 0.010)
    overall, 0.070 in the safest PD quintile and 0.435 (SE 0.034) in the riskiest: Gross &
    Souleles (2002) 10-14%; Agarwal et al. (2018) about 0 and 0.6. One seed here."""
    from sim.experiments import estimate
    table = estimate(half_treated.results()["panel"], half_treated.cfg, horizons=(3, 12))
    at12 = table[table["horizon"] == 12].set_index("band")
    overall, safest, riskiest = at12.loc["all", "mpb"], at12.loc[1, "mpb"], at12.loc[5, "mpb"]
    assert 0.09 < overall < 0.18
    assert safest < 0.12 and riskiest > 0.3
    assert riskiest > safest + 4 * np.hypot(at12.loc[1, "mpb_se"], at12.loc[5, "mpb_se"])
    at3 = table[(table["horizon"] == 3) & (table["band"] == "all")]["mpb"].item()
    assert at3 < overall                 # debt builds up over months


def test_spending_response_is_largest_where_credit_binds():
    """Same consumers, same day, same draws: a 50% higher limit raises spending one for one
    where credit binds (no cash, demand beyond the line); where it does not, only impatient
    consumers (u* > 0) spend more, through the gap to their target debt."""
    def spending(limit_scale):
        model = make_model(consumers=400, merchants=4, days=5)
        acc, cs = model.accounts, model.consumers
        ids = np.arange(400)
        cs.cash[:] = 0.0
        cs.credit_first[:] = True
        cs.risk_prone[:] = False
        cs.impatient[:] = ids % 2 == 0
        cs.target_utilisation[:] = np.where(cs.impatient, 0.6, 0.0)
        acc.open[0] = True
        acc.open[1] = False
        acc.fixed_limit[1] = 0.0
        model.primary[:] = 0
        binding = ids < 200
        acc.fixed_limit[0] = np.where(binding, 10.0, 50_000.0) * limit_scale
        model.step()
        return acc.balance[0].copy(), binding, cs.impatient.copy()

    base, binding, impatient = spending(1.0)
    more, _, _ = spending(1.5)
    extra = more - base
    shoppers = base > 0
    tight = extra[binding & shoppers].mean() / (0.5 * 10.0)
    slack_impatient = extra[~binding & shoppers & impatient].mean() / (0.5 * 50_000.0)
    assert tight > 0.5                   # most of the extra line is used at once
    assert 0 < slack_impatient < 0.05    # a little on the day: kappa x u* x the rise / 30 / trips
    assert np.all(extra[~binding & ~impatient] == 0)   # patient consumers keep the rise as a reserve
