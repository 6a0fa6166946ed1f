"""Construction of :class:`sim.model.CreditModel`: the steps of its ``__init__``, in order.

Each step is a function of the model: it reads what the earlier steps built and sets
the model's state (docs/model.md section 5). Draws come from streams keyed by name
(:mod:`sim.rng`), but the steps read one another's results, so they run in this order:

1. :func:`build_levels`     the daily level of every shock kind, the season looking ahead
2. :func:`build_merchants`  the supply network (generated or loaded) and the merchants on it
3. :func:`build_consumers`  the consumers, their clocks, and the supply chain in a steady state
4. :func:`build_groups`     consumers by pay day and by statement day; promotion expiry days
5. :func:`build_accounts`   accounts, income estimates, starting limits, primary lines
                            (through ``model.credit``)
6. :func:`build_lenders`    lenders' starting equity
7. :func:`build_outside`    the outside sector, and the labour market's steady state
8. :func:`build_agents`     Mesa agents (views of the rows) on the merchants' network space
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from agents.consumer import (BILLING_DAYS, DAYS_PER_MONTH, OUTSIDE, Consumer, ConsumerState, big_ticket_peak_rate,
                             hardship_rate, refresh_income)
from agents.labour import SELF_EMPLOYED, separation_probability, steady_state_vacancies
from agents.lender import Accounts, Lender, LenderState, features, sigmoid, target_limit
from agents.merchant import RETAILER, Merchant
from sim.outside import Outside
from sim.shocks import check_targets, hold_schedule, shock_active, shock_level
from sim.supply_chain import SupplyChain, build_network, create_merchants

if TYPE_CHECKING:
    from sim.model import CreditModel


def build_levels(model: CreditModel) -> None:
    """Every shock kind's level on every simulated day (one array per kind, indexed by
    calendar position), the scheduled shocks by kind, and the season looking ten days
    ahead. In a fork (:meth:`CreditModel.fork`), whose merchants exist, the new shocks'
    ``supplier_failure`` targets are checked against them (:func:`build_merchants` does it
    at construction)."""
    cal, cfg = model.calendar, model.cfg
    if getattr(model, "network", None) is not None:
        check_targets(cfg.shocks, model.network.m, model.network.tier_counts(), _network_name(cfg))
    level = lambda kind, lender=None: shock_level(cfg.shocks, kind, cal.n, cal.first, lender)  # noqa: E731
    # autonomous demand for the outside sector: the demand shock, and the income shock
    # (wages and autonomous demand move together)
    model.autonomous = 1.0 + level("demand") + level("income")
    model.labour_shift = -level("unemployment") * cfg.population.consumers
    model.income_index = 1.0 + level("income")
    model.confidence = cfg.macro.confidence_normal * np.maximum(1.0 + level("confidence"), 0.0)
    model.funding_rate = cfg.macro.funding_rate_normal + level("funding_rate")
    model.tightening = np.array([level("credit_tightening", name) for name in model.lender_names])
    model.strictness = np.array([1.0 + level("anomaly_strictness", name) for name in model.lender_names])
    # model updates: forced re-estimations (no feature given) and scorecard changes
    model.model_updates = {(s.start, s.lender) for s in cfg.shocks
                           if s.kind == "model_update" and s.feature is None}
    model.scorecard_changes = [s for s in cfg.shocks if s.kind == "model_update" and s.feature is not None]
    model.experiments = [s for s in cfg.shocks if s.kind == "credit_limit_experiment"]
    model.supplier_failures = [s for s in cfg.shocks if s.kind == "supplier_failure"]
    model.scf_frozen = shock_active(cfg.shocks, "scf_freeze", cal.n, cal.first)
    model.held = hold_schedule(cfg.shocks, model.lender_names, cal.n, cal.first)
    # extra settlement days for credit sales made on each day (by lender)
    model.settlement_delay = np.zeros((len(model.lender_names), cal.n), dtype=np.int64)
    for s in cfg.shocks:
        if s.kind == "settlement_delay":
            l = model.lender_index[s.lender or cfg.run.platform]
            model.settlement_delay[l, s.start - cal.first:min(s.end - cal.first, cal.n)] += int(round(s.size))
    # season looking ahead (retailers stock up before promotions)
    season = cal.season
    ahead = np.convolve(np.r_[season, np.ones(10)], np.ones(10) / 10, mode="full")[9:9 + cal.n]
    model.season_ahead = np.maximum(season, ahead)


def build_merchants(model: CreditModel) -> None:
    """The supply network (generated or loaded) and the merchants on it; a ``supplier_failure``
    shock whose target is not one of them is a ConfigError here, before any day runs."""
    model.network = build_network(model.cfg, model.streams)
    check_targets(model.cfg.shocks, model.network.m, model.network.tier_counts(), _network_name(model.cfg))
    if model.network.m != model.cfg.population.merchants:  # a loaded network sets the count
        model.cfg = dataclasses.replace(model.cfg, population=dataclasses.replace(
            model.cfg.population, merchants=model.network.m))
    delays = [int(round(s.size)) for s in model.cfg.shocks if s.kind == "settlement_delay"]
    lag_slots = max(p.settlement_lag for p in model.lender_params) + sum(delays) + 1
    model.merchants = create_merchants(model.cfg, model.network, lag_slots, len(model.lender_names))


def _network_name(cfg) -> str:
    """The supply network, for messages: its file when it is read from one."""
    return f"the supply network {cfg.network.path}" if cfg.network.path else "the supply network"


def build_consumers(model: CreditModel) -> None:
    """The consumers (:meth:`agents.consumer.ConsumerState.create`) with their first big-ticket
    and expense-shock days; then the supply chain, started in a steady state for the
    retailers' expected revenue from their customers' desired spending
    (:meth:`sim.supply_chain.SupplyChain.initialise`)."""
    cfg = model.cfg
    ms = model.merchants
    retail_weight = np.where(ms.tier == RETAILER, ms.size, 0.0)
    model.consumers = cs = ConsumerState.create(cfg.population.consumers, cfg.consumers, cfg.labour,
                                                model.streams, retail_weight)
    refresh_income(cs, slice(None), model.income_index[0], cfg.labour.benefit_replacement)
    ids = np.arange(cs.n)
    start = model.calendar.first - 1
    model.big_ticket_rate = big_ticket_peak_rate(cfg.consumers, model.calendar.window_share,
                                                 cfg.merchants.offer_big_ticket_uplift if cfg.merchants.instalment_offers
                                                 else 0.0)
    cs.next_big_ticket[:] = start + model.streams.waiting_days("big_ticket.clock", start, ids,
                                                               model.big_ticket_rate)
    model.fraudsters = np.flatnonzero(cs.fraud)
    cs.next_hardship[:] = start + model.streams.waiting_days("hardship.clock", start, ids,
                                                             hardship_rate(cs, cfg.consumers, ids))
    # retailers' expected revenue from their customers' desired spending
    share = np.diff(np.c_[np.zeros(cs.n), cs.retailer_cumweight.T, np.ones(cs.n)], axis=1)
    daily = cs.propensity * cs.income / DAYS_PER_MONTH
    big = cfg.consumers.big_ticket_probability * 0.5 * (cfg.consumers.big_ticket_min +
                                                        cfg.consumers.big_ticket_max) * cs.income
    spend = (daily + big)[:, None] * share
    retail_sales = np.bincount(cs.retailers.ravel(), spend.ravel(), minlength=ms.m) * \
        cfg.merchants.start_sales_share
    model.supply = SupplyChain(model, model.network)
    model.supply.initialise(retail_sales)


def build_groups(model: CreditModel) -> None:
    """Consumers by pay day and by statement day (fixed for the run), and the days
    temporary limits expire."""
    model.groups = {}
    for name in ("payday", "statement_day"):
        values = getattr(model.consumers, name)
        order = np.argsort(values, kind="stable")
        bounds = np.searchsorted(values[order], np.arange(1, BILLING_DAYS + 2))
        model.groups[name] = [order[bounds[d - 1]:bounds[d]] for d in range(1, BILLING_DAYS + 1)]
    model.expiry_days = [{w.end + p.promo_grace_days for w in model.calendar.windows}
                         for p in model.lender_params]


def build_accounts(model: CreditModel) -> None:
    """Accounts held at each lender, with an exponential tenure; each lender's income
    estimate; starting limits near the policy's steady state; each consumer's primary line."""
    cs, cfg = model.consumers, model.cfg
    model.accounts = acc = Accounts.empty(len(model.lender_names), cs.n)
    # each lender's lagged estimate of every consumer's income (updated at month ends)
    model.income_estimate = np.tile(cs.income, (len(model.lender_names), 1))
    for l, p in enumerate(model.lender_params):
        name = model.lender_names[l]
        holders = np.flatnonzero(model.streams.uniform(f"population.account.{name}", 0, cs.n) < p.account_share)
        tenure = model.streams.uniform(f"population.tenure.{name}", 0, cs.n)[holders]
        acc.open[l][holders] = True
        age = -np.log(np.maximum(tenure, 1e-12)) * p.initial_tenure_mean_years  # exponential, years
        acc.open_day[l][holders] = model.t - (np.minimum(age, 30.0) * 365).astype(np.int64)
    # starting limits near the policy's steady state: the prior score with typical usage
    for l, p in enumerate(model.lender_params):
        holders = np.flatnonzero(acc.open[l])
        observed = model.credit.observed_income(l, holders)
        X = features(acc, l, holders, model.t, observed, cfg.consumers.income_median)
        X[:, 3] = p.starting_score_utilisation
        X[:, 7] = p.starting_score_spend_volatility
        pd0 = sigmoid(X @ np.asarray(p.initial_weights))
        acc.fixed_limit[l][holders] = target_limit(pd0, observed, 1.0, p) * p.starting_limit_share
        acc.pd[l][holders] = pd0
    model.primary = np.full(cs.n, model.platform, dtype=np.int64)
    model.credit.choose_primary(np.arange(cs.n))


def build_lenders(model: CreditModel) -> None:
    """Starting equity near the steady state: 1.3 times the capital target plus the
    provisions (12-month expected loss at the starting PDs) on the receivables the lender
    expects (typical utilisation of the starting limits)."""
    acc = model.accounts
    expected = acc.fixed_limit.sum(axis=1) * np.array([p.starting_drawn_share for p in model.lender_params])
    loss_share = np.array([p.lgd * (acc.pd[l][acc.open[l]].mean() if acc.open[l].any() else 0.0)
                           for l, p in enumerate(model.lender_params)])
    capital = 1.3 * (np.array([p.capital_target for p in model.lender_params]) + loss_share) * expected
    model.lenders = LenderState.create(model.lender_params, capital)


def build_outside(model: CreditModel) -> None:
    """The outside sector, its cash closing total cash at zero; the labour market in a
    steady state (separation probabilities, turnover vacancies, normal outside staff)."""
    model.outside = Outside(funding_lent=np.zeros(len(model.lender_names)))
    model.outside.cash = -(model.consumers.cash.sum() + model.merchants.cash.sum() + model.lenders.cash.sum())
    model.outside.trade_receivables = model.supply.book.outside_receivable()   # raw-input invoices
    model.initial_total_cash = 0.0
    # the outside sector's normal demand for labour is its staff at start; it keeps open the
    # vacancies at which matching replaces the normal separations at normal unemployment
    # (the start is a steady state)
    cs, lab = model.consumers, model.cfg.labour
    model.separation_prob = separation_probability(cs.risk_prone, lab.separation_rate,
                                                   lab.risky_separation_multiplier)
    employees = cs.employed & (cs.employer != SELF_EMPLOYED)
    outside = np.count_nonzero(cs.employed & (cs.employer == OUTSIDE))
    separations = float(model.separation_prob[employees].sum()) * DAYS_PER_MONTH
    vacancies = steady_state_vacancies(np.count_nonzero(~cs.employed), separations,
                                       lab.matching_efficiency, lab.matching_elasticity)
    model.outside.turnover_vacancy_rate = vacancies / max(np.count_nonzero(employees), 1)
    model.outside.labour_normal = model.outside.labour_target = float(outside)


def build_agents(model: CreditModel) -> None:
    """Mesa agents, views of their rows: merchants on a network space built from the supply
    network (no layout), lenders and consumers; ``model.merchant_agents`` and
    ``model.consumer_agents`` list them by row (the outputs' ids)."""
    model.space = model.network.mesa_space(model.random)
    cells = {cell.coordinate: cell for cell in model.space.all_cells}
    model.merchant_agents = [Merchant(model, i) for i in range(model.merchants.m)]
    for agent in model.merchant_agents:
        agent.cell = cells[agent.index]
    for i, name in enumerate(model.lender_names):
        Lender(model, i, name)
    model.consumer_agents = [Consumer(model, i) for i in range(model.consumers.n)]
