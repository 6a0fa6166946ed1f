"""Mechanism tests for sim.contagion: DebtRank by hand, systemic importance, cascades.

Exposure convention: ``exposures[i, j]`` is what ``i`` is owed by ``j`` (``i``
supplies ``j`` on trade credit), so distress flows from ``j`` to ``i``.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sim.contagion import (
    DebtRankResult,
    assign_generations,
    cascade_statistics,
    debtrank,
    economic_weights,
    exposure_matrix,
    impact_matrix,
    systemic_importance,
)


def chain():
    """A owes B 5, B owes C 4: W[B, A] = 5/10 = 0.5, W[C, B] = 4/16 = 0.25."""
    exposures = np.zeros((3, 3))
    exposures[1, 0] = 5.0    # B's receivable on A
    exposures[2, 1] = 4.0    # C's receivable on B
    equity = np.array([20.0, 10.0, 16.0])
    return exposures, equity


def random_network(m: int, edges_per_node: float, seed: int):
    """A random trade-credit network with cycles, as a sparse exposure matrix."""
    rng = np.random.default_rng(seed)
    k = int(m * edges_per_node)
    creditor = rng.integers(0, m, k)
    debtor = rng.integers(0, m, k)
    amount = rng.lognormal(0.0, 1.0, k)
    equity = rng.lognormal(1.0, 1.0, m)
    equity[rng.random(m) < 0.02] = 0.0          # a few insolvent merchants
    return exposure_matrix(creditor, debtor, amount, m), equity


# ------------------------------------------------------------------ DebtRank by hand

def test_chain_round_by_round():
    exposures, equity = chain()
    np.testing.assert_allclose(debtrank(exposures, equity, [0], max_rounds=0).h, [1.0, 0.0, 0.0])
    # round 1: A (distressed) hits its creditor B: h_B = 0.5 * 1
    first = debtrank(exposures, equity, [0], max_rounds=1)
    np.testing.assert_allclose(first.h, [1.0, 0.5, 0.0])
    assert not first.converged
    # round 2: B passes its level on: h_C = 0.25 * 0.5
    np.testing.assert_allclose(debtrank(exposures, equity, [0], max_rounds=2).h, [1.0, 0.5, 0.125])
    # round 3: C is distressed but owes nobody; then no node is distressed
    final = debtrank(exposures, equity, [0])
    np.testing.assert_allclose(final.h, [1.0, 0.5, 0.125])
    np.testing.assert_allclose(final.h_initial, [1.0, 0.0, 0.0])
    assert final.rounds == 3 and final.converged
    # R = (0.5 * 10 + 0.125 * 16) / 46 (the shock to A is not counted)
    assert final.value == pytest.approx(7.0 / 46.0)
    assert final.total_loss == pytest.approx(20.0 + 5.0 + 2.0)
    assert final.induced_loss == pytest.approx(7.0)


def test_partial_shock_scales_linearly_below_the_cap():
    exposures, equity = chain()
    result = debtrank(exposures, equity, [0], shock=0.4)
    np.testing.assert_allclose(result.h, [0.4, 0.2, 0.05])
    assert result.value == pytest.approx((0.2 * 10 + 0.05 * 16) / 46)


def test_cycle_terminates_because_each_node_propagates_once():
    # A owes B 6 (E_B = 10: W[B, A] = 0.6); B owes A 8 (E_A = 20: W[A, B] = 0.4)
    exposures = np.array([[0.0, 8.0], [6.0, 0.0]])
    equity = np.array([20.0, 10.0])
    # round 1: h_B = 0.6 * 0.5 = 0.3; A inactive, B distressed
    np.testing.assert_allclose(debtrank(exposures, equity, [0], 0.5, max_rounds=1).h, [0.5, 0.3])
    # round 2: h_A = 0.5 + 0.4 * 0.3 = 0.62; A is inactive, so it does not propagate again
    result = debtrank(exposures, equity, [0], 0.5)
    np.testing.assert_allclose(result.h, [0.62, 0.3])
    assert result.rounds == 2 and result.converged
    assert result.value == pytest.approx((0.12 * 20 + 0.3 * 10) / 30)


def test_node_passes_on_only_the_level_it_had_when_distressed():
    # A owes B and C; C owes B; B owes D. B is hit in round 1 (by A) and round 2 (by C),
    # but it propagates once, in round 2, with its round-1 level 0.5 (the 2012 rule).
    exposures = np.zeros((4, 4))
    exposures[1, 0] = 5.0     # W[B, A] = 0.5
    exposures[2, 0] = 5.0     # W[C, A] = 0.5
    exposures[1, 2] = 4.0     # W[B, C] = 0.4
    exposures[3, 1] = 10.0    # W[D, B] = 1.0
    equity = np.full(4, 10.0)
    np.testing.assert_allclose(debtrank(exposures, equity, [0], max_rounds=1).h, [1.0, 0.5, 0.5, 0.0])
    result = debtrank(exposures, equity, [0])
    np.testing.assert_allclose(result.h, [1.0, 0.7, 0.5, 0.5])
    assert result.rounds == 3


def test_impact_capped_at_one():
    exposures = np.array([[0.0, 0.0], [30.0, 0.0]])   # B is owed 30 by A, with equity 10
    equity = np.array([10.0, 10.0])
    assert impact_matrix(exposures, equity)[1, 0] == 1.0
    np.testing.assert_allclose(debtrank(exposures, equity, [0]).h, [1.0, 1.0])


def test_no_shock_gives_zero():
    exposures, equity = chain()
    for result in (debtrank(exposures, equity, []), debtrank(exposures, equity, [0], shock=0.0),
                   debtrank(exposures, equity, np.zeros(3, dtype=bool))):
        assert np.all(result.h == 0.0)
        assert result.value == 0.0 and result.total_loss == 0.0 and result.rounds == 0


def test_boolean_mask_and_sparse_input_agree_with_dense_indices():
    exposures, equity = chain()
    dense = debtrank(exposures, equity, [0])
    masked = debtrank(sp.csr_array(exposures), equity, np.array([True, False, False]))
    np.testing.assert_array_equal(dense.h, masked.h)
    assert isinstance(masked, DebtRankResult)


def test_default_weights_are_equity_shares():
    exposures, equity = chain()
    weights = economic_weights(equity)
    assert weights.sum() == pytest.approx(1.0)
    # with every impact capped at 1, all nodes default: R = 1 - v_A
    wiped = np.zeros((3, 3))
    wiped[1, 0], wiped[2, 1] = 100.0, 100.0
    assert debtrank(wiped, equity, [0]).value == pytest.approx(1.0 - 20.0 / 46.0)
    # R is the induced loss as a share of system equity
    result = debtrank(exposures, equity, [0])
    assert result.value == pytest.approx(result.induced_loss / equity.sum())
    # custom weights are used as given
    assert debtrank(exposures, equity, [0], weights=np.ones(3)).value == pytest.approx(0.5 + 0.125)


def test_non_positive_equity_is_already_defaulted():
    exposures, equity = chain()
    equity[1] = 0.0                            # B has no buffer
    W = impact_matrix(exposures, equity)
    assert W[1, 0] == 1.0                      # any loss wipes it out
    result = debtrank(exposures, equity, [0])
    # B starts at 1 and inactive: its default is not part of A's shock, so C is untouched
    np.testing.assert_allclose(result.h_initial, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(result.h, [1.0, 1.0, 0.0])
    assert result.value == 0.0 and result.weights[1] == 0.0
    assert result.total_loss == pytest.approx(20.0)
    # shocking B itself propagates its default: h_C = 0.25
    np.testing.assert_allclose(debtrank(exposures, equity, [1]).h, [0.0, 1.0, 0.25])
    assert np.all(np.isfinite(debtrank(exposures, -equity, [0]).h))


def test_input_validation():
    exposures, equity = chain()
    with pytest.raises(ValueError):
        debtrank(-exposures, equity, [0])
    with pytest.raises(ValueError):
        debtrank(exposures, equity[:2], [0])
    with pytest.raises(ValueError):
        debtrank(exposures, equity, [0], shock=1.5)
    with pytest.raises(IndexError):
        debtrank(exposures, equity, [3])


def test_exposure_matrix_sums_duplicate_claims():
    exposures = exposure_matrix([1, 1, 2], [0, 0, 1], [2.0, 3.0, 4.0], 3)
    np.testing.assert_array_equal(exposures.toarray(), chain()[0])


# ------------------------------------------------------------------ systemic importance

def star(leaves: int = 5):
    """Hub 0 buys from every leaf (owes 5, leaf equity 10) and sells to each (is owed 1, equity 20)."""
    m = leaves + 1
    exposures = np.zeros((m, m))
    exposures[1:, 0] = 5.0     # W[leaf, hub] = 0.5
    exposures[0, 1:] = 1.0     # W[hub, leaf] = 0.05
    equity = np.array([20.0] + [10.0] * leaves)
    return exposures, equity


def test_systemic_importance_ranks_the_hub_first():
    exposures, equity = star()
    importance = systemic_importance(exposures, equity)
    assert np.argmax(importance) == 0
    # hub defaults: each leaf loses half its equity
    assert importance[0] == pytest.approx(5 * 0.5 * 10 / 70)
    # a leaf defaults: round 1 the hub loses 0.05; round 2 it passes 0.5 * 0.05 = 0.025 to the
    # four other leaves; round 3 they pass 4 * 0.05 * 0.025 = 0.005 back to the (inactive) hub
    np.testing.assert_allclose(importance[1:], (0.055 * 20 + 4 * 0.025 * 10) / 70)
    leaf = debtrank(exposures, equity, [1])
    np.testing.assert_allclose(leaf.h, [0.055, 1.0] + [0.025] * 4)
    assert leaf.rounds == 3


@pytest.mark.parametrize("batch_size", [None, 7])
def test_systemic_importance_matches_single_runs(batch_size):
    exposures, equity = random_network(120, 3.0, seed=1)
    importance = systemic_importance(exposures, equity, batch_size=batch_size)
    single = [debtrank(exposures, equity, [k]).value for k in range(equity.size)]
    np.testing.assert_allclose(importance, single, rtol=1e-12, atol=1e-15)
    assert importance.max() > 0


def test_systemic_importance_with_custom_weights_and_no_edges():
    exposures, equity = random_network(40, 2.0, seed=2)
    weights = np.linspace(0.0, 1.0, 40)
    single = [debtrank(exposures, equity, [k], weights=weights).value for k in range(40)]
    np.testing.assert_allclose(systemic_importance(exposures, equity, weights=weights), single, atol=1e-15)
    assert np.all(systemic_importance(np.zeros((4, 4)), np.ones(4)) == 0.0)


def test_systemic_importance_at_research_size_is_a_share():
    # (its speed is measured by benchmarks, not here)
    exposures, equity = random_network(2_000, 3.0, seed=3)
    importance = systemic_importance(exposures, equity)
    assert importance.shape == (2_000,) and np.all(importance >= 0.0) and np.all(importance <= 1.0)


# ------------------------------------------------------------------ cascades

def failures_table() -> pd.DataFrame:
    """Cascade 0: merchant 10 fails alone. Cascade 1: 20 fails, takes down 21 and 22; 21 takes down 23."""
    dates = pd.to_datetime(["2026-02-01", "2026-03-01", "2026-03-05", "2026-03-09", "2026-03-20"])
    return pd.DataFrame({
        "date": dates,
        "merchant_id": [10, 20, 21, 22, 23],
        "tier": ["retailer", "retailer", "distributor", "distributor", "manufacturer"],
        "cause": ["liquidity", "liquidity", "counterparty", "credit_line", "counterparty"],
        "parents": [[], [], [20], [20], [21]],
        "generation": [0, 0, 1, 1, 2],
        "cascade_id": [0, 1, 1, 1, 1],
        "arrears": [1.0, 2.0, 3.0, 4.0, 5.0],
        "creditor_losses": [0.5, 1.0, 1.5, 2.0, 2.5],
    })


def test_cascade_statistics_by_hand():
    stats = cascade_statistics(failures_table())
    assert stats["n_failures"] == 5 and stats["n_cascades"] == 2
    assert stats["size_distribution"] == {1: 1, 4: 1}
    assert stats["mean_cascade_size"] == 2.5 and stats["max_cascade_size"] == 4
    assert stats["max_depth"] == 3 and stats["depth_distribution"] == {1: 1, 3: 1}
    assert stats["n_contagion"] == 3 and stats["contagion_share"] == pytest.approx(3 / 5)
    assert stats["by_cause"] == {"liquidity": 2, "counterparty": 2, "credit_line": 1}
    assert stats["by_tier"] == {"distributor": 2, "manufacturer": 1, "retailer": 2}
    assert stats["creditor_losses"] == pytest.approx(7.5) and stats["arrears"] == pytest.approx(15.0)
    assert all(type(k) is int for k in stats["size_distribution"])


def test_cascade_statistics_of_an_empty_table():
    empty = failures_table().iloc[0:0]
    for table in (empty, pd.DataFrame()):
        stats = cascade_statistics(table)
        assert stats["n_failures"] == 0 and stats["n_cascades"] == 0 and stats["max_depth"] == 0
        assert stats["contagion_share"] == 0.0 and stats["mean_cascade_size"] == 0.0
        assert stats["size_distribution"] == {} and stats["by_tier"] == {}
        assert stats["by_cause"] == {"liquidity": 0, "counterparty": 0, "credit_line": 0}


def test_assign_generations_rebuilds_the_table():
    table = failures_table()
    rebuilt = table.iloc[0:0]
    for k in range(len(table)):                 # one failure a day, appended in order
        generation, cascade = assign_generations([table.merchant_id[k]], [table.parents[k]], rebuilt)
        row = table.iloc[[k]].assign(generation=generation, cascade_id=cascade)
        rebuilt = pd.concat([rebuilt, row], ignore_index=True)
    np.testing.assert_array_equal(rebuilt.generation, table.generation)
    np.testing.assert_array_equal(rebuilt.cascade_id, table.cascade_id)


def test_assign_generations_same_day_and_merging_cascades():
    history = failures_table()
    # 30 is caused by 23 (cascade 1, gen 2) and by 10 (cascade 0, gen 0): joins cascade 0 at gen 3.
    # 31 is caused by 30 on the same day, listed first. 32 has an unknown parent: a new root.
    generation, cascade = assign_generations([31, 30, 32], [[30], [23, 10], [999]], history)
    np.testing.assert_array_equal(generation, [4, 3, 0])
    np.testing.assert_array_equal(cascade, [0, 0, 2])
    # reused merchant id: the latest failure of 20 counts
    again = pd.concat([history, history.iloc[[1]].assign(generation=0, cascade_id=7)], ignore_index=True)
    generation, cascade = assign_generations([40], [[20]], again)
    assert generation.tolist() == [1] and cascade.tolist() == [7]
    # empty history: roots get ids from 0, or from next_cascade_id
    np.testing.assert_array_equal(assign_generations([1, 2], [[], []])[1], [0, 1])
    np.testing.assert_array_equal(assign_generations([1], [[]], next_cascade_id=5)[1], [5])


def test_failure_by_customer_losses_groups_suppliers_by_the_share_of_customers_failed_before_them():
    from sim.contagion import failure_by_customer_losses

    # suppliers 0..3 with four customers each (0: 10-13, 1: 14-17, 2: 18-21, 3: 22-25)
    supplier = np.repeat([0, 1, 2, 3], 4)
    buyer = np.arange(10, 26)
    day = lambda d: np.datetime64(f"2026-03-{d:02d}")  # noqa: E731
    failures = pd.DataFrame({
        "merchant_id": [10, 11, 0, 14, 15, 2, 18, 19, 22, 23, 3],
        "date": [day(1), day(2), day(5), day(9), day(3), day(4), day(1), day(1), day(1), day(3), day(2)],
    })
    table = failure_by_customer_losses(failures, supplier, buyer)
    # 0: customers 10 and 11 failed before it (2 of 4: 50%), failed -> (25%, 50%]
    # 1: 14 and 15 failed, never the supplier: 50% -> (25%, 50%], survived
    # 2: 18, 19 failed on day 1, before its day 4 (50%) -> (25%, 50%], failed
    # 3: 22 failed before its day 2, 23 after (25%) -> (0%, 25%], failed
    assert table["customers_failed"].tolist() == ["none", "(0%, 25%]", "(25%, 50%]", "(50%, 100%]"]
    assert table["suppliers"].tolist() == [0, 1, 3, 0]
    assert table["failed"].tolist() == [0, 1, 2, 0]
    np.testing.assert_allclose(table["failure_rate"].to_numpy(), [np.nan, 1.0, 2 / 3, np.nan])
    # a supplier with no customer failed is the reference group
    more = failure_by_customer_losses(failures, np.r_[supplier, 4, 4], np.r_[buyer, 30, 31])
    assert more["suppliers"].tolist() == [1, 1, 3, 0] and more["failed"].tolist() == [0, 1, 2, 0]
    assert np.isinf(more["relative_rate"].iloc[1])
    # a failure on the same day as the supplier's does not count as before it
    same_day = pd.DataFrame({"merchant_id": [10, 0], "date": [day(5), day(5)]})
    t = failure_by_customer_losses(same_day, supplier[:4], buyer[:4])
    assert t["suppliers"].tolist() == [1, 0, 0, 0] and t["failed"].tolist() == [1, 0, 0, 0]
    with pytest.raises(ValueError, match="one entry per relation"):
        failure_by_customer_losses(failures, supplier, buyer[:-1])
    # no failures at all: every supplier is in the reference group
    empty = failure_by_customer_losses(failures.iloc[:0], supplier, buyer)
    assert empty["suppliers"].tolist() == [4, 0, 0, 0] and empty["failed"].tolist() == [0, 0, 0, 0]


def synthetic_supplier_runs(true_coefficient: float, seed: int, runs: int = 2, suppliers: int = 6000):
    """Runs of suppliers with 1-6 customers each; a customer fails (on day 1) with chance 0.05
    times its supplier's number of customers (so the share failed rises with it); a supplier
    fails (day 2) with log-odds -2 + true_coefficient * share - 1.5 * log(customers) (+0.4 in
    the second run): without the control, the effect of the share would be understated."""
    rng = np.random.default_rng(seed)
    out = []
    for run in range(runs):
        customers = rng.integers(1, 7, suppliers)
        supplier = np.repeat(np.arange(suppliers), customers)
        buyer = suppliers + np.arange(supplier.size)          # every relation its own customer
        customer_failed = rng.random(buyer.size) < 0.05 * customers[supplier]
        share = np.bincount(supplier, customer_failed, minlength=suppliers) / customers
        z = -2.0 + true_coefficient * share - 1.5 * np.log(customers) + 0.4 * run
        supplier_failed = rng.random(suppliers) < 1 / (1 + np.exp(-z))
        ids = np.r_[buyer[customer_failed], np.flatnonzero(supplier_failed)]
        dates = np.r_[np.full(customer_failed.sum(), np.datetime64("2026-03-01")),
                      np.full(supplier_failed.sum(), np.datetime64("2026-03-02"))]
        out.append((pd.DataFrame({"merchant_id": ids, "date": dates}), supplier, buyer))
    return out


def test_customer_loss_effect_recovers_a_known_contagion_effect_and_finds_none_where_there_is_none():
    from sim.contagion import customer_loss_effect

    # the true ratio at a half, at the controls' mean: about exp(0.5 * 2.2) = 3 (rare events)
    runs = synthetic_supplier_runs(2.2, seed=3)
    effect = customer_loss_effect(runs, bootstrap=50)
    assert effect["share_coefficient"] == pytest.approx(2.2, abs=0.35)
    assert 2.3 < effect["ratio"] < 3.6 and effect["ratio_low"] < effect["ratio"] < effect["ratio_high"]
    assert effect["suppliers"] == 12000 and effect["failed"] == sum(
        int((f["date"] == np.datetime64("2026-03-02")).sum()) for f, _, _ in runs)
    none = customer_loss_effect(synthetic_supplier_runs(0.0, seed=4))
    assert none["ratio"] == pytest.approx(1.0, abs=0.25)
    assert "ratio_low" not in none
    # the bootstrap is seeded: the same seed gives the same interval, another seed another
    again = customer_loss_effect(runs, bootstrap=50)
    assert (again["ratio_low"], again["ratio_high"]) == (effect["ratio_low"], effect["ratio_high"])
    assert customer_loss_effect(runs, bootstrap=50, seed=1)["ratio_low"] != effect["ratio_low"]
    with pytest.raises(ValueError, match="^customer_loss_effect needs at least one run$"):
        customer_loss_effect([])


def test_customer_loss_effect_compares_suppliers_within_a_run():
    """Runs differ in their base failure rates and in how many customers fail (a crunch and a
    calm year): pooled without a run intercept, the share would pick up the difference."""
    from sim.contagion import customer_loss_effect

    calm, crunch = synthetic_supplier_runs(0.0, seed=5, runs=1)[0], synthetic_supplier_runs(0.0, seed=6, runs=1)[0]
    failures, supplier, buyer = crunch
    # in the crunch every supplier is twice as likely to fail, and more customers fail
    rng = np.random.default_rng(7)
    extra_suppliers = np.setdiff1d(rng.choice(6000, 600, replace=False), failures["merchant_id"])
    extra_customers = rng.choice(buyer, 4000, replace=False)
    crunch = (pd.concat([failures, pd.DataFrame({"merchant_id": extra_suppliers,
                                                 "date": np.datetime64("2026-03-02")}),
                         pd.DataFrame({"merchant_id": extra_customers, "date": np.datetime64("2026-03-01")})]),
              supplier, buyer)
    effect = customer_loss_effect([calm, crunch])
    assert effect["ratio"] == pytest.approx(1.0, abs=0.25)
    # (pooled as one run, the same suppliers would seem to catch failure from their customers)
    pooled = customer_loss_effect([(pd.concat([calm[0], crunch[0].assign(merchant_id=crunch[0]["merchant_id"] + 10**6)]),
                                    np.r_[calm[1], crunch[1] + 10**6], np.r_[calm[2], crunch[2] + 10**6])])
    assert pooled["ratio"] > 1.3
