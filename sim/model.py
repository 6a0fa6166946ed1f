"""The credit-limit contagion model: a ``mesa.Model`` with a documented daily schedule.

State lives in columnar stores (``model.consumers``, ``model.accounts``, ``model.lenders``,
``model.merchants``, ``model.outside``), built by :mod:`sim.construction`; Mesa agents are
views of their rows (``model.agents_by_type[Consumer]``). One call of :meth:`CreditModel.step`
is one calendar day and runs the twelve phases of docs/model.md section 3 in order. The
behavioural rules are functions of the agent type they belong to (``agents/``); the glue that
gathers their inputs, calls them in order and keeps the day's flows (``model.today``) lives in
:class:`~sim.households.Households` (``model.households``) for the households, in
:class:`~sim.credit_market.CreditMarket` (``model.credit``) for the lenders and in
:class:`~sim.supply_chain.SupplyChain` (``model.supply``) for the merchants:

1. ``macro``              here: incomes follow the income index (levels set at construction)
2. ``labour_and_income``  ``Households.labour_and_income``: separations and hires (agents/labour.py);
                          expense shocks; pay days; essentials, arrears, buffer-stock spending
                          (agents/consumer.py)
3. ``shop``               ``Households.shop``: desired spending, payment choice, purchases
                          (agents/consumer.py); credit booked (agents/accounts.py);
                          ``CreditMarket.apply_for_second_accounts``
4. ``monitor``            ``CreditMarket.monitor``: anomaly monitor; promotion limits open, expire
5. ``book_sales``         here: lenders' settlements due today, less the fee (agents/accounts.py)
6. ``orders``             ``SupplyChain.orders_and_production``: restocking, orders, production
7. ``pay_costs``          ``SupplyChain.payments`` (merchants), then ``CreditMarket.pay_costs`` (lenders)
8. ``repay``              ``CreditMarket.repay``: overdue accounts, statements, due dates, charge-offs
9. ``review``             ``CreditMarket.review`` (appetite, scores, limits; agents/lender.py), then
                          ``SupplyChain.review`` (banks, merchants' appeal, churn and staff)
10. ``defaults``          ``supplier_failure`` shocks, then ``SupplyChain.defaults``: failures, cascades
11. ``entry``             ``SupplyChain.entry``: buyers re-link; failed slots refilled
    (month end)           ``Households.close_outside_month`` (the outside sector's sales ratio);
                          ``CreditMarket.close_month`` (income estimates)
12. ``record``            here: the invariants (with ``check``); the day's figures (sim/outputs.py)

Every limit change goes through ``CreditMarket.set_limit`` (:func:`agents.lender.set_limit`),
which logs its cause.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from pathlib import Path

import mesa
import numpy as np

from agents.accounts import settle
from agents.consumer import Consumer, refresh_income
from agents.lender import LimitLog
from agents.merchant import Merchant
from sim.accounting import check_invariants
from sim.calendar import Calendar
from sim.config import SEED_MAX, Config, ConfigError, differs_only_in_shocks, load_config
from sim.construction import (build_accounts, build_agents, build_consumers, build_groups, build_lenders,
                              build_levels, build_merchants, build_outside)
from sim.credit_market import CreditMarket
from sim.flows import DayFlows
from sim.households import Households
from sim.memory import tune_allocator
from sim.outputs import Recorder, RecorderCollector
from sim.rng import Streams
from sim.shocks import FORK_BLOCKERS, Shock, divergence_day, parse_shocks, shares_early_days


class CreditModel(mesa.Model):
    """Consumers, retailers and lenders on a daily calendar.

    Built as Mesa builds models, from keywords, or from a resolved configuration::

        CreditModel()                                        # the baseline scenario
        CreditModel(scenario="tightening", rng=7, population__consumers=1000)
        CreditModel(load_config("tightening", ["population.consumers=1000"]))
        mesa.batch_run(CreditModel, parameters={"population__consumers": [500, 1000]},
                       rng=[1, 2], max_steps=1000)

    Parameters
    ----------
    config:
        A resolved :class:`~sim.config.Config`. Without it, ``scenario`` (with ``strategies``
        and ``params``) is resolved by :func:`~sim.config.load_config`.
    scenario:
        A scenario name in ``scenarios/`` or a path (default: the baseline).
    strategies:
        Coping strategies laid over the scenario, as ``--strategy`` does.
    rng:
        The root seed (``run.seed``): an int, or a ``numpy.random.Generator`` to draw one from.
        ``None`` keeps the scenario's seed, so a model is reproducible by default; give
        ``mesa.batch_run`` explicit seeds (``rng=[1, 2, 3]``) for replicates, since its
        ``iterations`` pass ``None`` and would repeat one run.
    check:
        Verify the stock-flow invariants every day; raise on the first breach.
    panel:
        ``"monthly"`` to collect the account panel at month ends.
    panel_sample:
        Share of consumers in the panel (chosen by id hash, the same in every run).
    agent_reporters:
        Opt-in agent reporters for :attr:`datacollector` (Mesa's ``DataCollector`` forms: an
        attribute name, or a function of the agent); they run for every agent on every recorded
        day, so they cost time at large populations. A reporter that is a name reads ``None``
        where an agent type lacks the attribute.
    params:
        Parameters by key path with ``__`` for dots (``population__consumers=1000``), laid over
        the scenario.

    ``model.steps`` counts every simulated day, the burn-in included; the recorded days are
    the ones with ``model.day >= 0``, and :attr:`datacollector` collects on those only.
    """

    def __init__(self, config: Config | None = None, *, scenario: str | Path = "baseline",
                 strategies: tuple | list = (), rng: int | np.random.Generator | None = None,
                 check: bool = False, panel: str | None = None, panel_sample: float = 1.0,
                 agent_reporters: dict | None = None, **params):
        cfg = _resolve(config, scenario, strategies, rng, params)
        tune_allocator()
        super().__init__(rng=cfg.run.seed)
        self.cfg = cfg
        self.check = check
        self.streams = Streams(cfg.run.seed)
        self.calendar = Calendar(cfg)
        self.lender_names = cfg.lender_names
        self.lender_index = {name: i for i, name in enumerate(self.lender_names)}
        self.platform = self.lender_index[cfg.run.platform]
        self.lender_params = [cfg.lenders[name] for name in self.lender_names]
        self.t = self.calendar.first
        self.in_step = False
        self.credit = CreditMarket(self)   # the consumer-credit side (its state is built below)
        self.households = Households(self)
        build_levels(self)
        build_merchants(self)
        build_consumers(self)
        build_groups(self)
        build_accounts(self)
        build_lenders(self)
        build_outside(self)
        build_agents(self)
        self.log = LimitLog(len(self.lender_names))
        self.recorder = Recorder(self, panel=panel, panel_sample=panel_sample)
        self.datacollector = RecorderCollector(self.recorder, agent_reporters)
        self.today = DayFlows(len(self.lender_names))
        self.snapshots: dict[int, list] = {}
        self.running = True

    @property
    def scenario(self) -> None:
        """Mesa's experimental ``Scenario`` object: not used (the scenario is :attr:`cfg`, a TOML
        file resolved, and ``cfg.name`` names it). With none, SolaraViz's reset rebuilds the model
        from its keywords alone."""
        return None

    @scenario.setter
    def scenario(self, value) -> None:   # mesa.Model.__init__ sets one; it is dropped
        pass

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """One calendar day: the twelve phases of the schedule, in order (the month's close on its
        last day comes between phases 11 and 12)."""
        if self.t >= self.calendar.days:
            self.running = False
            return
        self.in_step = True
        self.pos = self.calendar.pos(self.t)
        self.dom = int(self.calendar.day_of_month[self.pos])
        self.log.recording = self.t >= 0
        self.log.reset_day()
        self.today = DayFlows(len(self.lender_names))
        self.macro()
        self.labour_and_income()
        self.shop()
        self.monitor()
        self.book_sales()
        self.orders()
        self.pay_costs()
        self.repay()
        self.review()
        self.defaults()
        self.entry()
        self._close_month()
        self.record()
        self.t += 1
        self.in_step = False
        if self.t >= self.calendar.days:
            self.running = False

    def run(self, progress: bool = False, until: int | None = None) -> "CreditModel":
        """Run burn-in and the recorded horizon (or only the days before day ``until``, a day
        index: negative in the burn-in); returns ``self``."""
        end = self.calendar.days if until is None else min(max(until, self.t), self.calendar.days)
        if not progress:   # (no tqdm at all: its lock is a semaphore that a killed worker would leak)
            while self.running and self.t < end:
                self.step()
            return self
        from tqdm.auto import tqdm

        with tqdm(total=end - self.t, unit="day", desc=self.cfg.name, leave=False) as bar:
            while self.running and self.t < end:
                self.step()
                bar.update(1)
        return self

    def fork(self, config: Config) -> "CreditModel":
        """A copy of this model, as it is today, that goes on under ``config``: a configuration
        that differs from this model's only in shocks that start today or later (and in name
        and description; :func:`sim.config.differs_only_in_shocks`). The copy is the model a
        run of ``config`` would be today, so paired runs of a scenario and its base can share
        the days before the first shock that sets them apart (``sim compare`` does). Raises
        ``ValueError`` when ``config`` does not qualify."""
        if config.network.path is not None:   # a loaded network sets the number of merchants
            config = dataclasses.replace(config, population=self.cfg.population)
        day = divergence_day(self.cfg.shocks, config.shocks)
        problem = None
        if not differs_only_in_shocks(self.cfg, config):
            problem = "it differs in more than its shocks"
        elif not shares_early_days(self.cfg.shocks, config.shocks):
            problem = f"a shock of a kind in {FORK_BLOCKERS} differs"
        elif day is not None and day < self.t:
            problem = f"its shocks differ from day {day}, before today (day {self.t})"
        if problem:
            raise ValueError(f"cannot fork {self.cfg.name!r} into {config.name!r}: {problem}")
        twin = copy.deepcopy(self)
        twin._set_shocks(config.shocks, name=config.name, description=config.description)
        return twin

    def apply_shock(self, kind: str, *, size: float = 0.0, days: int = 1, **keys) -> Shock:
        """A shock that starts on the next day to simulate, added to the running model (the
        app's live shocks): ``kind`` and ``size`` as in a ``[[shocks]]`` table (``sim/shocks.py``
        lists the kinds), lasting ``days`` days, with the kind's own ``keys`` (``lender``,
        ``target``, ...). It is validated as a scenario's shock is and joins ``model.cfg.shocks``,
        so the outputs' configuration says what the run went through. Returns the shock."""
        if self.t < 0:
            raise ValueError(f"apply_shock: shocks start in the recorded window; the model is in its burn-in "
                             f"(day {self.t}); run it to day 0 first (model.run(until=0))")
        if self.t >= self.calendar.days:
            raise ValueError("apply_shock: the run is over")
        table = {"kind": kind, "start": self.calendar.date(self.t), "days": days, "size": size, **keys}
        shocks = parse_shocks([*self.cfg.shocks, ("applied", len(self.cfg.shocks), table)], self.cfg)
        self._set_shocks(tuple(shocks))
        return shocks[-1]

    def _set_shocks(self, shocks: tuple, **names) -> None:
        """The model goes on under ``shocks`` (and ``names``: a new name and description): the
        daily shock levels are rebuilt (:func:`sim.construction.build_levels`, which checks
        ``supplier_failure`` targets against the merchants first) and the banks' tightening with
        them. A refused target leaves the model as it was."""
        before = self.cfg
        self.cfg = dataclasses.replace(before, shocks=shocks, **names)
        try:
            build_levels(self)
        except ConfigError:
            self.cfg = before
            raise
        self.supply.bank_tightening = self.supply.economy_tightening()

    # 1 ------------------------------------------------------------------
    def macro(self) -> None:
        """Shock levels for today; risk appetite follows in ``review``."""
        pos = self.pos
        index = self.income_index[pos]
        if pos == 0 or index != self.income_index[pos - 1]:
            refresh_income(self.consumers, slice(None), index, self.cfg.labour.benefit_replacement)

    # 2 ------------------------------------------------------------------
    def labour_and_income(self) -> None:
        """The labour market, expense shocks and pay days (:meth:`Households.labour_and_income`)."""
        self.households.labour_and_income()

    # 3 ------------------------------------------------------------------
    def shop(self) -> None:
        """Shopping, payment choice and purchases (:meth:`Households.shop`)."""
        self.households.shop()

    # 4 ------------------------------------------------------------------
    def monitor(self) -> None:
        """Anomaly monitor and promotion limits (:meth:`CreditMarket.monitor`)."""
        self.credit.monitor()

    # 5 ------------------------------------------------------------------
    def book_sales(self) -> None:
        """Settlements due today move from the lenders to the merchants."""
        self.merchants.cash += settle(self.merchants.settlement_due, self.lenders, self.t)

    # 6 ------------------------------------------------------------------
    def orders(self) -> None:
        """Restocking, orders, production and shipping (:meth:`SupplyChain.orders_and_production`)."""
        self.supply.orders_and_production()

    # 7 ------------------------------------------------------------------
    def pay_costs(self) -> None:
        """Merchants' payments (:meth:`SupplyChain.payments`), then the lenders' funding costs
        and payouts (:meth:`CreditMarket.pay_costs`)."""
        self.supply.payments()
        self.credit.pay_costs()

    # 8 ------------------------------------------------------------------
    def repay(self) -> None:
        """Overdue accounts, statements, due dates, freezes and charge-offs
        (:meth:`CreditMarket.repay`)."""
        self.credit.repay()

    # 9 ------------------------------------------------------------------
    def review(self) -> None:
        """The lenders' reviews (:meth:`CreditMarket.review`), then the merchants' and banks'
        (:meth:`SupplyChain.review`)."""
        self.credit.review()
        self.supply.review()

    # 10, 11 ----------------------------------------------------------------
    def defaults(self) -> None:
        """Merchant failures, creditors' losses and contagion (:meth:`SupplyChain.defaults`)."""
        for s in self.supplier_failures:
            if s.start == self.t:
                self.supply.force_failure(s.target)
        self.supply.defaults()

    def entry(self) -> None:
        """Re-linking and entry (:meth:`SupplyChain.entry`)."""
        self.supply.entry()

    @property
    def failure_rows(self) -> list[dict]:
        """The merchant failures so far, one dict each (:attr:`SupplyChain.failure_rows`)."""
        return self.supply.failure_rows

    # 12 -----------------------------------------------------------------
    def record(self) -> None:
        """The stock-flow invariants (with ``check``, the burn-in included); the day's figures
        on recorded days (:meth:`sim.outputs.Recorder.record_day`); at a month end the monthly
        totals restart once the panel has read them."""
        if self.check:
            check_invariants(self, raise_on_breach=True)
        if self.t >= 0:
            self.recorder.record_day()
            self.datacollector.collect(self)
        if self.calendar.month_end[self.pos]:
            self.consumers.month_spending[:] = 0.0
            self.accounts.month_credit[:] = 0.0

    def _close_month(self) -> None:
        """After phase 11: the day counts toward the outside sector's month; on a month's last
        day the outside sector closes its month (:meth:`Households.close_outside_month`) and the
        lenders update their income estimates (:meth:`CreditMarket.close_month`)."""
        self.outside.month_days += 1
        if self.calendar.month_end[self.pos]:
            self.households.close_outside_month()
            self.credit.close_month()

    # ------------------------------------------------------------------ helpers

    def _set_limit(self, l: int, idx: np.ndarray, new: np.ndarray, cause) -> None:
        """Change fixed limits and record the change with its cause (:meth:`CreditMarket.set_limit`)."""
        self.credit.set_limit(l, idx, new, cause)

    def _build_groups(self) -> None:
        """Regroup consumers by pay day and statement day after a change
        (:func:`sim.construction.build_groups`)."""
        build_groups(self)

    @property
    def day(self) -> int:
        """The day index whose end the model's state describes: the day just simulated (the day
        before the first, before any step; during a step, the day being simulated). Day 0 is
        ``run.start_date``; the burn-in's days are negative."""
        return self.t if self.in_step else self.t - 1

    @property
    def date(self) -> dt.date:
        """The calendar date of :attr:`day`: after ``step()``, the day just simulated."""
        return self.calendar.date(self.day)

    def consumer(self, consumer_id: int) -> Consumer:
        """The Mesa agent of a consumer, by the ``consumer_id`` of the outputs (its row). Mesa's
        ``unique_id`` is a model-wide number (merchants first, then lenders, then consumers);
        ``agent.consumer_id`` gives the outputs' id back."""
        return self.consumer_agents[consumer_id]

    def merchant(self, merchant_id: int) -> Merchant:
        """The Mesa agent of a merchant, by the ``merchant_id`` of the outputs (its row)."""
        return self.merchant_agents[merchant_id]

    # results ---------------------------------------------------------------
    def results(self):
        """The recorded outputs as pandas DataFrames (see :mod:`sim.outputs`)."""
        return self.recorder.results()


def _resolve(config: Config | None, scenario, strategies, rng, params: dict) -> Config:
    """The configuration a :class:`CreditModel` is built from: ``config``, or ``scenario`` with
    ``strategies`` and ``params`` (key paths with ``__`` for dots); ``rng`` sets ``run.seed``."""
    if config is not None:
        if params or strategies or scenario != "baseline":
            raise TypeError("CreditModel: give a resolved config, or scenario/strategies/parameters, not both "
                            f"(got config={config.name!r} with "
                            f"{', '.join(sorted(params)) or 'scenario=' + repr(str(scenario))})")
        cfg = config
    else:
        cfg = load_config(scenario, strategies=tuple(strategies), **params)
    if rng is None:
        return cfg
    if isinstance(rng, np.random.Generator):
        seed = int(rng.integers(SEED_MAX))
    elif isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and 0 <= rng <= SEED_MAX:
        seed = int(rng)
    else:
        raise ConfigError(f"rng: expected a seed in [0, {SEED_MAX}] or a numpy Generator, got {rng!r}")
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=seed))
