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
    return make_model(consumers=20000, merchants=100, days=400, burn_in=365, scenario=str(path),
                      panel="monthly").run()


def test_debt_response_matches_gross_souleles_and_is_largest_for_the_hand_to_mouth(half_treated):
    """Measured at the default seed: 0.134 overall 11 months after a +50% rise (0.069 after two
    months), 0.66 for hand-to-mouth consumers, 0.05 for the rest."""
    overall, hand_to_mouth, rest = limit_response(half_treated, months=("2027-01",))
    assert 0.10 < overall < 0.17         # Gross & Souleles (2002): debt +10-14% of a limit rise
    assert hand_to_mouth > 0.45          # impatient revolvers take up most of it ...
    assert rest < 0.10                   # ... patient consumers keep it as a reserve
    early, _, _ = limit_response(half_treated, months=("2026-04",))
    assert early < overall               # debt builds up over months


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
