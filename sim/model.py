"""The credit-limit contagion model: a ``mesa.Model`` with a documented daily schedule.

State lives in columnar stores (``model.consumers``, ``model.accounts``,
``model.lenders``, ``model.merchants``, ``model.outside``); Mesa agents are views
of their rows (``model.agents_by_type[Consumer]``). One call of :meth:`step`
is one calendar day and runs the phases of DESIGN section 3 in order:

1. ``macro``            shocks, unemployment target, income index, confidence, funding rate
2. ``labour_and_income`` separations and hires; pay days; essential and buffer-stock spending
3. ``shop``             desired spending, payment choice, purchases at retailers
4. ``monitor``          anomaly monitor on today's credit purchases; promotion limits open/expire
5. ``book_sales``       retailers' cash sales; lender settlements after the lag, less the fee
6. ``orders``           restocking toward target cover; orders up the chain by purchase shares;
                        manufacturers produce; suppliers ship (pro-rata rationing); invoices
7. ``pay_costs``        merchants: fixed costs, interest, invoices due (cash, bank line, SCF line,
                        arrears), payouts; lenders: funding interest, funding, payouts
8. ``repay``            overdue accounts; statements; due dates; late fees; DPD; freezes; charge-offs
9. ``review``           staggered monthly reviews; re-estimation; risk appetite; applications
10. ``defaults``        merchant failures, creditors' losses, layoffs, re-linking, cascades
11. ``entry``           buyers re-link to new suppliers; failed slots refilled with outside capital
12. ``record``          the day's figures (recorded window only)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import mesa
import numpy as np

from agents.consumer import (BILLING_DAYS, DAYS_PER_MONTH, OUTSIDE, Consumer, ConsumerState,
                             choose_retailer, desired_spending, hardship_rate, refresh_income)
from agents.labour import (SELF_EMPLOYED, labour_market_day, leave_jobs, outside_labour_demand, separation_probability,
                           steady_state_vacancies, take_jobs)
from agents.lender import (ANOMALY_DECAY_DAYS, CAUSE_CODE, NEVER, Accounts, Lender, LenderState, LimitLog,
                           add_debt, features, fit_logistic, sigmoid, target_limit, write_off)
from agents.merchant import RETAILER, Merchant, fill_rates
from sim.accounting import check_invariants
from sim.calendar import Calendar
from sim.config import Config, load_config
from sim.memory import tune_allocator
from sim.outputs import Recorder
from sim.rng import Streams
from sim.shocks import shock_active, shock_level
from sim.supply_chain import SupplyChain, build_network, create_merchants

REAPPLY_AFTER_CHARGE_OFF_DAYS = 730  # a charged-off consumer is not accepted again for two years
SECOND_ACCOUNT_LIMIT_SHARE = 0.5    # a new account starts at half its target limit
ACCOUNT_ATTRITION_MONTHLY = 0.01    # share of open accounts closed voluntarily a month (paid-up ones)
TYPICAL_UTILISATION = 0.2          # utilisation assumed in the score of starting limits
STARTING_UTILISATION = 0.15        # share of starting limits drawn, for starting lender capital
TYPICAL_SPEND_VOLATILITY = 0.7     # spending-volatility feature assumed for starting limits
ACQUISITION_RESPONSE = 10.0        # acquisition effort per unit of relative shortfall of accounts
STARTING_LIMIT_SHARE = 0.85        # starting limits sit this far into the cut/raise band
EXPERIMENT_OVERRIDES = ("freeze", "charge_off", "experiment")  # changes experiments allow
BALANCE_EPSILON = 0.005            # balances below half a fen count as paid up (rounding residue)
CLEAN_LATE_SCORE = 0.37             # decayed late count below this = no late payment in ~12 months


@dataclass(slots=True)
class Outside:
    """The outside sector: employers, benefits, suppliers, landlords, owners, funders.

    Its cash starts at minus everyone else's, so total cash is zero and total net
    worth equals total inventory (DESIGN section 5).
    """

    cash: float = 0.0
    funding_lent: np.ndarray | None = None   # wholesale funding lent to each lender, yuan
    bank_lent: float = 0.0                   # merchants' bank lines drawn, yuan
    trade_receivables: float = 0.0           # raw-input invoices and invoices bought from failed suppliers, yuan
    # the outside sector's labour demand follows what it sells (agents/labour.py)
    labour_normal: float = 0.0               # desired employment in normal times, persons
    labour_target: float = 0.0               # desired employment today, persons
    turnover_vacancy_rate: float = 0.0       # vacancies kept open to replace turnover, share of staff
    month_consumer_sales: float = 0.0        # this month's off-platform consumer spending, yuan
    month_merchant_sales: float = 0.0        # this month's merchant purchases (raw inputs, fixed costs), yuan
    month_days: int = 0                      # days counted in this month
    sales_normal: dict = field(default_factory=dict)  # calendar month -> its sales in the burn-in's last year
    sales_ratio: float = 1.0                 # smoothed ratio of sales to their normal level


class CreditModel(mesa.Model):
    """Consumers, retailers and lenders on a daily calendar.

    Parameters
    ----------
    config:
        A resolved :class:`~sim.config.Config` (default: the baseline scenario).
    check:
        Verify the stock-flow invariants every day; raise on the first breach.
    panel:
        ``"monthly"`` to collect the account panel at month ends.
    panel_sample:
        Share of consumers in the panel (chosen by id hash, the same in every run).
    """

    def __init__(self, config: Config | None = None, *, check: bool = False,
                 panel: str | None = None, panel_sample: float = 1.0):
        cfg = config if config is not None else load_config("baseline")
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
        self._build_levels()
        self._build_merchants()
        self._build_consumers()
        self._build_groups()
        self._build_accounts()
        self._build_lenders()
        self._build_outside()
        self._build_agents()
        self.log = LimitLog(len(self.lender_names))
        self.recorder = Recorder(self, panel=panel, panel_sample=panel_sample)
        self.today = _DayFlows(len(self.lender_names))
        self.snapshots: dict[int, list] = {}
        self.running = True

    # ------------------------------------------------------------------ construction

    def _build_levels(self) -> None:
        cal, cfg = self.calendar, self.cfg
        level = lambda kind, lender=None: shock_level(cfg.shocks, kind, cal.n, cal.first, lender)  # noqa: E731
        # autonomous demand for the outside sector: the demand shock, and the income shock
        # (wages and autonomous demand move together)
        self.autonomous = 1.0 + level("demand") + level("income")
        self.labour_shift = -level("unemployment") * cfg.population.consumers
        self.income_index = 1.0 + level("income")
        self.confidence = cfg.macro.confidence_normal * np.maximum(1.0 + level("confidence"), 0.0)
        self.funding_rate = cfg.macro.funding_rate_normal + level("funding_rate")
        self.tightening = np.array([level("credit_tightening", name) for name in self.lender_names])
        self.strictness = np.array([1.0 + level("anomaly_strictness", name) for name in self.lender_names])
        self.model_updates = {(s.start, s.lender) for s in cfg.shocks if s.kind == "model_update"}
        self.experiments = [s for s in cfg.shocks if s.kind == "credit_limit_experiment"]
        self.supplier_failures = [s for s in cfg.shocks if s.kind == "supplier_failure"]
        self.scf_frozen = shock_active(cfg.shocks, "scf_freeze", cal.n, cal.first)
        # extra settlement days for credit sales made on each day (by lender)
        self.settlement_delay = np.zeros((len(self.lender_names), cal.n), dtype=np.int64)
        for s in cfg.shocks:
            if s.kind == "settlement_delay":
                l = self.lender_index[s.lender or cfg.run.platform]
                self.settlement_delay[l, s.start - cal.first:min(s.end - cal.first, cal.n)] += int(round(s.size))
        # season looking ahead (retailers stock up before promotions)
        season = cal.season
        ahead = np.convolve(np.r_[season, np.ones(10)], np.ones(10) / 10, mode="full")[9:9 + cal.n]
        self.season_ahead = np.maximum(season, ahead)

    def _build_merchants(self) -> None:
        """The supply network (generated or loaded) and the merchants on it."""
        self.network = build_network(self.cfg, self.streams)
        if self.network.m != self.cfg.population.merchants:  # a loaded network sets the count
            self.cfg = dataclasses.replace(self.cfg, population=dataclasses.replace(
                self.cfg.population, merchants=self.network.m))
        delays = [int(round(s.size)) for s in self.cfg.shocks if s.kind == "settlement_delay"]
        lag_slots = max(p.settlement_lag for p in self.lender_params) + sum(delays) + 1
        self.merchants = create_merchants(self.cfg, self.network, lag_slots, len(self.lender_names))

    def _build_consumers(self) -> None:
        cfg = self.cfg
        ms = self.merchants
        retail_weight = np.where(ms.tier == RETAILER, ms.size, 0.0)
        self.consumers = cs = ConsumerState.create(cfg.population.consumers, cfg.consumers, cfg.labour,
                                                   self.streams, retail_weight)
        refresh_income(cs, slice(None), self.income_index[0], cfg.labour.benefit_replacement)
        ids = np.arange(cs.n)
        start = self.calendar.first - 1
        cs.next_big_ticket[:] = start + self.streams.waiting_days("big_ticket.clock", start, ids,
                                                                  cfg.consumers.big_ticket_probability)
        cs.next_hardship[:] = start + self.streams.waiting_days("hardship.clock", start, ids,
                                                                hardship_rate(cs, cfg.consumers, ids))
        # retailers' expected revenue from their customers' desired spending
        share = np.diff(np.c_[np.zeros(cs.n), cs.retailer_cumweight.T, np.ones(cs.n)], axis=1)
        daily = cs.propensity * cs.income / DAYS_PER_MONTH
        big = cfg.consumers.big_ticket_probability * 0.5 * (cfg.consumers.big_ticket_min +
                                                            cfg.consumers.big_ticket_max) * cs.income
        spend = (daily + big)[:, None] * share
        retail_sales = np.bincount(cs.retailers.ravel(), spend.ravel(), minlength=ms.m)
        self.supply = SupplyChain(self, self.network)
        self.supply.initialise(retail_sales)

    def _build_accounts(self) -> None:
        cs, cfg = self.consumers, self.cfg
        self.accounts = acc = Accounts.empty(len(self.lender_names), cs.n)
        for l, p in enumerate(self.lender_params):
            name = self.lender_names[l]
            holders = np.flatnonzero(self.streams.uniform(f"population.account.{name}", 0, cs.n) < p.account_share)
            tenure = self.streams.uniform(f"population.tenure.{name}", 0, cs.n)[holders]
            acc.open[l][holders] = True
            age = -np.log(np.maximum(tenure, 1e-12)) * p.initial_tenure_mean_years  # exponential, years
            acc.open_day[l][holders] = self.t - (np.minimum(age, 30.0) * 365).astype(np.int64)
        # starting limits near the policy's steady state: the prior score with typical usage
        for l, p in enumerate(self.lender_params):
            holders = np.flatnonzero(acc.open[l])
            observed = self._observed_income(l, holders)
            X = features(acc, l, holders, self.t, observed, cfg.consumers.income_median)
            X[:, 3] = TYPICAL_UTILISATION
            X[:, 7] = TYPICAL_SPEND_VOLATILITY
            pd0 = sigmoid(X @ np.asarray(p.initial_weights))
            acc.fixed_limit[l][holders] = target_limit(pd0, observed, 1.0, p) * STARTING_LIMIT_SHARE
            acc.pd[l][holders] = pd0
        self.primary = np.full(cs.n, self.platform, dtype=np.int64)
        self._choose_primary(np.arange(cs.n))

    def _build_lenders(self) -> None:
        """Starting equity near the steady state: a capital ratio of 1.3 times the target on
        the receivables the lender expects (typical utilisation of the starting limits)."""
        expected = self.accounts.fixed_limit.sum(axis=1) * STARTING_UTILISATION
        capital = 1.3 * np.array([p.capital_target for p in self.lender_params]) * expected
        self.lenders = LenderState.create(self.lender_params, capital)

    def _build_outside(self) -> None:
        self.outside = Outside(funding_lent=np.zeros(len(self.lender_names)))
        self.outside.cash = -(self.consumers.cash.sum() + self.merchants.cash.sum() + self.lenders.cash.sum())
        self.outside.trade_receivables = self.supply.book.outside_receivable()   # raw-input invoices
        self.initial_total_cash = 0.0
        # the outside sector's normal demand for labour is its staff at start; it keeps open the
        # vacancies at which matching replaces the normal separations at normal unemployment
        # (the start is a steady state)
        cs, lab = self.consumers, self.cfg.labour
        self.separation_prob = separation_probability(cs.risk_prone, lab.separation_rate,
                                                      lab.risky_separation_multiplier)
        employees = cs.employed & (cs.employer != SELF_EMPLOYED)
        outside = np.count_nonzero(cs.employed & (cs.employer == OUTSIDE))
        separations = float(self.separation_prob[employees].sum()) * DAYS_PER_MONTH
        vacancies = steady_state_vacancies(np.count_nonzero(~cs.employed), separations,
                                           lab.matching_efficiency, lab.matching_elasticity)
        self.outside.turnover_vacancy_rate = vacancies / max(np.count_nonzero(employees), 1)
        self.outside.labour_normal = self.outside.labour_target = float(outside)

    def _build_agents(self) -> None:
        # merchants sit on a Mesa network space built from the supply network (no layout)
        self.space = self.network.mesa_space(self.random)
        cells = {cell.coordinate: cell for cell in self.space.all_cells}
        for i in range(self.merchants.m):
            Merchant(self, i).cell = cells[i]
        for i, name in enumerate(self.lender_names):
            Lender(self, i, name)
        for i in range(self.consumers.n):
            Consumer(self, i)

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """One calendar day: the twelve phases of the schedule, in order."""
        if self.t >= self.calendar.days:
            self.running = False
            return
        self.pos = self.calendar.pos(self.t)
        self.dom = int(self.calendar.day_of_month[self.pos])
        self.log.recording = self.t >= 0
        self.log.reset_day()
        self.today = _DayFlows(len(self.lender_names))
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
        self.outside.month_days += 1
        if self.calendar.month_end[self.pos]:
            self._close_outside_month()
        if self.check:
            check_invariants(self, raise_on_breach=True)
        if self.t >= 0:
            self.recorder.record_day()
        if self.calendar.month_end[self.pos]:
            self.consumers.month_spending[:] = 0.0
            self.accounts.month_credit[:] = 0.0
        self.t += 1
        if self.t >= self.calendar.days:
            self.running = False

    def run(self, progress: bool = False) -> "CreditModel":
        """Run burn-in and the recorded horizon; returns ``self``."""
        total = self.calendar.days - self.t
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, unit="day", desc=self.cfg.name, leave=False)
        while self.running:
            self.step()
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return self

    # 1 ------------------------------------------------------------------
    def macro(self) -> None:
        """Shock levels for today; risk appetite follows in ``review``."""
        pos = self.pos
        index = self.income_index[pos]
        if pos == 0 or index != self.income_index[pos - 1]:
            refresh_income(self.consumers, slice(None), index, self.cfg.labour.benefit_replacement)

    # 2 ------------------------------------------------------------------
    def labour_and_income(self) -> None:
        """The labour market (separations, layoffs, matching); pay days; essential and
        buffer-stock spending off-platform; expense shocks."""
        cs, cfg, t = self.consumers, self.cfg, self.t
        self._labour_market()
        p = cfg.consumers
        # expense shocks (hardship) drain cash
        hit = np.flatnonzero(cs.next_hardship == t)
        if hit.size:
            cs.next_hardship[hit] = t + self.streams.waiting_days("hardship.clock", t, hit,
                                                                  hardship_rate(cs, p, hit))
            frac = self.streams.uniform_at("hardship.size", t, hit)
            size = (p.hardship_min + (p.hardship_max - p.hardship_min) * frac) * cs.base_income[hit]
            spend = np.minimum(cs.cash[hit], size)
            cs.cash[hit] -= spend
            self.outside.cash += spend.sum()
            self.outside.month_consumer_sales += spend.sum()
            self.today.consumption_offplatform += spend.sum()
        if self.dom > BILLING_DAYS:
            return
        paid = self._group("payday", self.dom)
        # owners live on their businesses' month-end payouts, not on a pay day
        income = np.where(cs.employer[paid] == SELF_EMPLOYED, 0.0, cs.income[paid])
        cs.cash[paid] += income
        staff = paid[(cs.employer[paid] >= 0) & cs.employed[paid]]
        wages = np.bincount(cs.employer[staff], cs.income[staff], minlength=self.merchants.m)
        self.merchants.cash -= wages
        outside_pays = income.sum() - wages.sum()
        # off-platform consumption: essentials (on the pre-shock wage: they do not shrink with
        # income), then buffer-stock spending of a share of the cash above the buffer target
        essentials = np.minimum(cs.cash[paid], p.essential_share * cs.base_income[paid])
        cs.cash[paid] -= essentials
        # cash set aside for the bills the consumer knows of is not spent
        owed = self._bills_known(paid)
        buffer = cs.buffer_months[paid] * cs.income[paid] + owed
        excess = np.maximum(cs.cash[paid] - buffer, 0.0) * (1.0 - (1.0 - p.absorb_rate) ** DAYS_PER_MONTH)
        cs.cash[paid] -= excess
        self.outside.cash += essentials.sum() + excess.sum() - outside_pays
        self.outside.month_consumer_sales += essentials.sum() + excess.sum()
        self.today.consumption_offplatform += essentials.sum() + excess.sum()

    def _labour_market(self) -> None:
        """Outside labour demand from autonomous demand and outside sales; separations, outside
        layoffs, vacancies and matching (:func:`agents.labour.labour_market_day`)."""
        cs, ms, lab, out, t = self.consumers, self.merchants, self.cfg.labour, self.outside, self.t
        target = outside_labour_demand(out.labour_normal, self.autonomous[self.pos], lab.outside_dependence,
                                       out.sales_ratio, self.labour_shift[self.pos])
        out.labour_target = target
        flows = labour_market_day(cs.employed, cs.employer, self.separation_prob,
                                  self.streams.uniform("labour", t, cs.n), target,
                                  self.supply.vacancies(), lab.layoff_speed, lab.matching_efficiency,
                                  lab.matching_elasticity, float(self.streams.uniform("labour.slots", t, 1)[0]),
                                  out.turnover_vacancy_rate)
        leaving = np.concatenate([flows.separated, flows.laid_off])
        leave_jobs(cs.employed, cs.employer, cs.base_income, cs.outside_wage, ms.staff, ms.wage_bill, leaving)
        take_jobs(cs.employed, cs.employer, cs.base_income, cs.outside_wage, ms.staff, ms.wage_bill, ms.wage,
                  flows.hired, flows.hired_by)
        refresh_income(cs, np.concatenate([leaving, flows.hired]), self.income_index[self.pos],
                       lab.benefit_replacement)
        self.today.layoffs += flows.laid_off.size
        self.today.hires += flows.hired.size
        self.today.vacancies = flows.vacancies

    def _close_outside_month(self) -> None:
        """Month end: the outside sector compares the month's sales (consumer spending as it came;
        merchants' daily purchases per 30 days) with the same calendar month of the burn-in's
        last year (year-on-year, so the promotion season is no news) and smooths the ratio."""
        out, lab = self.outside, self.cfg.labour
        if out.month_days == 0:
            return
        complete = out.month_days == int(self.calendar.day_of_month[self.pos])  # a whole calendar month
        sales = out.month_consumer_sales + out.month_merchant_sales * DAYS_PER_MONTH / out.month_days
        month = int(self.calendar.month_of_year[self.pos])
        out.month_consumer_sales = out.month_merchant_sales = 0.0
        out.month_days = 0
        if self.t < 0:  # the burn-in defines normal sales by calendar month
            if complete:
                out.sales_normal[month] = sales
            return
        normal = out.sales_normal.get(month) or (np.mean(list(out.sales_normal.values()))
                                                 if out.sales_normal else sales)
        weight = 1.0 - 0.5 ** (1.0 / lab.outside_sales_halflife_months)
        out.sales_ratio += weight * (sales / normal - out.sales_ratio)

    # 3 ------------------------------------------------------------------
    def shop(self) -> None:
        """Desired spending; payment choice (cash buffer, credit-first habit, second account);
        retrenchment; purchases at retailers (stock-outs lose sales)."""
        cs, acc, cfg, t = self.consumers, self.accounts, self.cfg, self.t
        p = cfg.consumers
        L = len(self.lender_names)
        shop_draw = self.streams.uniform("shopping", t, cs.n)
        shopping = shop_draw < p.shop_probability          # a trip today ...
        big = np.flatnonzero(cs.next_big_ticket == t)      # ... or a big ticket (its clock rings)
        shopping[big] = True
        who = np.flatnonzero(shopping)
        big_today = cs.next_big_ticket[who] == t
        if big.size:
            cs.next_big_ticket[big] = t + self.streams.waiting_days("big_ticket.clock", t, big,
                                                                    p.big_ticket_probability)
        self.merchants.sales_today[:] = 0.0
        self.merchants.demand_today[:] = 0.0
        if who.size == 0:
            return
        # each line's limit, balance and available credit (row-wise gathers: fast)
        limit = np.empty((L, who.size))
        balance = np.empty((L, who.size))
        avail = np.empty((L, who.size))
        for l in range(L):
            limit[l], balance[l], avail[l] = acc.line(l, who)
        owed = self._bills_known(who, balance)
        desired = desired_spending(cs, p, who, self.calendar.season[self.pos], self.confidence[self.pos],
                                   shop_draw[who], self._big_ticket_sizes(who, big_today, t),
                                   avail.sum(axis=0))
        # retrenchment after a cut or at high utilisation of the primary line
        prim = self.primary[who]
        rows = np.arange(who.size)
        util_high = balance[prim, rows] > p.high_utilisation * limit[prim, rows]
        since_cut = t - cs.last_cut_day[who]
        cut_recent = since_cut < p.retrench_days
        desired *= np.where(cut_recent, p.retrench_after_cut, 1.0) * \
            np.where(util_high & (limit[prim, rows] > 0), p.retrench_high_utilisation, 1.0)
        # lines in order of preference: primary lender first, then the others
        avail = _in_preference_order(avail, prim)
        credit_total = avail.sum(axis=0)
        income = cs.income[who]
        cash = cs.cash[who]
        # cash set aside for known bills (all lenders) is not spent on purchases
        reserve = p.reserve_months * income + owed
        above_buffer = np.maximum(cash - cs.buffer_months[who] * income - owed, 0.0)
        above_reserve = np.maximum(cash - reserve, 0.0)
        first = cs.credit_first[who]
        # credit-first: credit, then cash above reserve; others: cash above buffer, credit, cash above reserve
        cash1 = np.where(first, 0.0, np.minimum(desired, above_buffer))
        credit = np.minimum(desired - cash1, credit_total)
        cash2 = np.minimum(desired - cash1 - credit, np.maximum(above_reserve - cash1, 0.0))
        cash_part = cash1 + cash2
        affordable = cash_part + credit
        constrained = desired - affordable > 1e-9
        # retailer and stock-outs
        retailer = choose_retailer(cs, who, self.streams.uniform("retailer", t, cs.n)[who])
        ms = self.merchants
        demand = np.bincount(retailer, affordable, minlength=ms.m)
        fill = fill_rates(ms, demand)[retailer]
        cash_part *= fill
        credit *= fill
        # split credit over lines in order of preference, then back to lender rows
        credit_by_line = np.empty_like(avail)
        left = credit.copy()
        for j in range(L):
            credit_by_line[j] = np.minimum(left, avail[j])
            left -= credit_by_line[j]
        credit_by_lender = _in_lender_order(credit_by_line, prim)
        spent = cash_part + credit
        # money moves: cash sales to retailers now; credit sales settled later
        cs.cash[who] -= cash_part
        if self.recorder.panel:  # monthly totals are only needed for the panel
            cs.month_spending[who] += spent
        cash_sales = np.bincount(retailer, cash_part, minlength=ms.m)
        sales = np.bincount(retailer, spent, minlength=ms.m)
        ms.cash += cash_sales
        cogs = sales / ms.markup
        ms.inventory -= cogs
        ms.sales_today[:] = sales
        ms.demand_today[:] = demand  # what consumers could pay for, before stock-outs
        for l in range(L):
            self._book_credit_purchases(l, who, credit_by_lender[l], retailer)
        # constrained consumers without a second line may apply for one
        self._apply_for_second_accounts(who[constrained])
        d = self.today
        d.consumption += spent.sum()
        d.consumption_cash += cash_part.sum()
        d.consumption_credit_by_lender += credit_by_lender.sum(axis=1)
        d.unmet_demand += (desired - affordable).sum()
        d.stockout_loss += (affordable * (1 - fill)).sum()
        cut30 = since_cut < 30
        d.unmet_demand_cut += (desired - affordable)[cut30].sum()
        d.credit_purchases = (who, credit_by_lender)

    def _book_credit_purchases(self, l: int, who: np.ndarray, amount: np.ndarray,
                               retailer: np.ndarray) -> None:
        """Credit purchases at lender ``l``: the consumer owes, the lender owes the merchant."""
        acc, p, t = self.accounts, self.lender_params[l], self.t
        buy = amount > 0
        idx, amt, ret = who[buy], amount[buy], retailer[buy]
        if idx.size == 0:
            return
        cp = self.cfg.consumers
        big = amt > cp.instalment_threshold
        inst = np.zeros(idx.size, dtype=bool)
        if big.any():
            u = self.streams.uniform_at(f"instalment.{self.lender_names[l]}", t, idx[big])
            take = u < cp.instalment_probability
            inst[np.flatnonzero(big)[take]] = True
            months = np.asarray(cp.instalment_months)[
                np.minimum((u[take] / max(cp.instalment_probability, 1e-12) * len(cp.instalment_months))
                           .astype(int), len(cp.instalment_months) - 1)]
            ii = idx[inst]
            acc.instalment_principal[l][ii] += amt[inst]
            acc.instalment_months[l][ii] = np.maximum(acc.instalment_months[l][ii], months)
        acc.unbilled[l][idx] += np.where(inst, 0.0, amt)
        acc.balance[l][idx] += amt
        if self.recorder.panel:
            acc.month_credit[l][idx] += amt
        total = float(amt.sum())
        self.lenders.receivables[l] += total
        fee = total * p.merchant_discount
        slot = (t + p.settlement_lag + self.settlement_delay[l, self.pos]) % self.merchants.settlement_due.shape[1]
        net = np.bincount(ret, amt * (1 - p.merchant_discount), minlength=self.merchants.m)
        self.merchants.settlement_due[l][slot] += net
        self.lenders.settlement_payable[l] += total - fee
        self.lenders.fee_income[l] += fee

    def _apply_for_second_accounts(self, who: np.ndarray) -> None:
        if who.size == 0 or len(self.lender_names) < 2:
            return
        acc, t = self.accounts, self.t
        u = self.streams.uniform_at("second_account", t, who)
        applicants = who[u < self.cfg.consumers.open_second_probability]
        for l in range(len(self.lender_names)):
            cand = applicants[~acc.open[l][applicants]]
            self._consider_applications(l, cand)

    def _consider_applications(self, l: int, idx: np.ndarray) -> None:
        """Underwrite applications at lender ``l``: approve when PD is below the cut-off."""
        acc, p, t = self.accounts, self.lender_params[l], self.t
        if idx.size == 0:
            return
        # a charge-off at any lender in the last two years shows at the bureau: declined
        recent_default = (acc.charged_off[:, idx] &
                          (t - acc.closed_day[:, idx] <= REAPPLY_AFTER_CHARGE_OFF_DAYS)).any(axis=0)
        idx = idx[~recent_default & ~acc.open[l][idx]]
        if idx.size == 0:
            return
        observed = self._observed_income(l, idx)
        # a new applicant: bureau-visible accounts and income; no history at this lender
        X = features(acc, l, idx, t, observed, self.cfg.consumers.income_median)
        X[:, [1, 2, 3, 6, 7, 8]] = 0.0
        pd = sigmoid(X @ self.lenders.weights[l])
        approve = pd < p.approval_pd
        new = idx[approve]
        limit = target_limit(pd[approve], observed[approve], self.lenders.appetite[l], p) * \
            SECOND_ACCOUNT_LIMIT_SHARE
        acc.open[l][new] = True
        acc.charged_off[l][new] = False
        acc.frozen[l][new] = False
        acc.fixed_limit[l][new] = limit
        acc.temp_limit[l][new] = 0.0
        acc.open_day[l][new] = t
        acc.pd[l][new] = pd[approve]
        acc.closed_day[l][new] = NEVER
        acc.late_score[l][new] = 0.0
        acc.anomaly_score[l][new] = 0.0
        acc.spend_mean[l][new] = 0.0
        acc.spend_var[l][new] = 0.0
        acc.spend_obs[l][new] = 0
        acc.treated[l][new] = -1
        acc.protected_until[l][new] = NEVER
        acc.temp_expiry[l][new] = NEVER
        acc.forgot[l][new] = False
        self.today.accounts_opened[l] += new.size
        self._choose_primary(new)

    # 4 ------------------------------------------------------------------
    def monitor(self) -> None:
        """Anomaly monitor on today's credit purchases; promotion temporary limits."""
        acc, t = self.accounts, self.t
        if self.today.credit_purchases is not None:
            who, credit = self.today.credit_purchases
            for l, p in enumerate(self.lender_params):
                buy = credit[l] > 0
                idx, x = who[buy], credit[l][buy]
                if idx.size == 0:
                    continue
                mean, var = acc.spend_mean[l][idx], acc.spend_var[l][idx]
                z = p.anomaly_z * self.strictness[l, self.pos]
                if p.promotion_aware:
                    z *= self.calendar.season[self.pos]
                # only purchases above the floor can be flagged: test those (few) in full
                big = np.flatnonzero(x > p.anomaly_floor)
                cand = idx[big]
                limit = acc.fixed_limit[l][cand] + acc.temp_limit[l][cand]
                flag = ((acc.spend_obs[l][cand] >= 5) & (x[big] > mean[big] + z * np.sqrt(var[big])) &
                        (x[big] > p.anomaly_limit_share * limit))
                flagged = cand[flag]
                alpha = 1.0 - 0.5 ** (1.0 / p.anomaly_halflife_days)
                diff = x - mean
                acc.spend_mean[l][idx] = mean + alpha * diff
                acc.spend_var[l][idx] = (1 - alpha) * (var + alpha * diff * diff)
                acc.spend_obs[l][idx] = np.minimum(acc.spend_obs[l][idx] + 1, 1000)
                if flagged.size:
                    acc.anomaly_score[l][flagged] = acc.anomaly_score[l][flagged] * np.exp(
                        -(t - acc.anomaly_day[l][flagged]) / ANOMALY_DECAY_DAYS) + 1.0
                    acc.anomaly_day[l][flagged] = t
                    self._set_limit(l, flagged, acc.fixed_limit[l][flagged] * (1 - p.anomaly_cut), "anomaly")
                    self.today.anomaly_flags[l] += flagged.size
        self._promotions()

    def _promotions(self) -> None:
        acc, t = self.accounts, self.t
        for w in self.calendar.windows_starting(t):
            for l, p in enumerate(self.lender_params):
                eligible = np.flatnonzero(acc.open[l] & ~acc.frozen[l] & (acc.dpd[l] == 0) &
                                          (acc.pd[l] < p.approval_pd))
                acc.temp_limit[l][eligible] = p.temp_limit_share * acc.fixed_limit[l][eligible]
                acc.temp_expiry[l][eligible] = w.end + p.promo_grace_days
        for l, p in enumerate(self.lender_params):
            if t not in self.expiry_days[l]:
                continue
            expiring = np.flatnonzero((acc.temp_expiry[l] == t) & acc.open[l] & (acc.temp_limit[l] > 0))
            if expiring.size == 0:
                continue
            fixed = acc.fixed_limit[l][expiring]
            self.log.add(t, l, expiring, fixed + acc.temp_limit[l][expiring], fixed, "promo_expiry", acc)
            acc.temp_limit[l][expiring] = 0.0
            util = acc.balance[l][expiring] / np.maximum(fixed, 1.0)
            revert = expiring[(util > p.promo_reversion_utilisation) & (fixed > 0)]
            if revert.size:
                self._set_limit(l, revert, acc.fixed_limit[l][revert] * (1 - p.promo_reversion_cut),
                                "promo_reversion")

    def _set_limit(self, l: int, idx: np.ndarray, new: np.ndarray, cause) -> None:
        """Change fixed limits and record the change with its cause. Accounts in a running
        credit-line experiment keep their limits, except for freezes and charge-offs."""
        acc = self.accounts
        if self.experiments and not (isinstance(cause, str) and cause in EXPERIMENT_OVERRIDES):
            keep = acc.protected_until[l][idx] <= self.t
            idx, new = idx[keep], new[keep]
            cause = cause if isinstance(cause, str) else cause[keep]
        old = acc.fixed_limit[l][idx].copy()
        self.log.add(self.t, l, idx, old, new, cause, acc)
        acc.fixed_limit[l][idx] = new
        cut = idx[new < old]
        self.consumers.last_cut_day[cut] = self.t

    # 5 ------------------------------------------------------------------
    def book_sales(self) -> None:
        """Settlements due today move from the lenders to the merchants."""
        ms, t = self.merchants, self.t
        slot = t % ms.settlement_due.shape[1]
        due = ms.settlement_due[:, slot, :]
        per_lender = due.sum(axis=1)
        ms.cash += due.sum(axis=0)
        self.lenders.cash -= per_lender
        self.lenders.settlement_payable -= per_lender
        ms.settlement_due[:, slot, :] = 0.0

    # 6 ------------------------------------------------------------------
    def orders(self) -> None:
        self.supply.orders_and_production()

    # 7 ------------------------------------------------------------------
    def pay_costs(self) -> None:
        """Merchants' payments (see :meth:`SupplyChain.payments`); lenders' funding interest,
        funding needs and month-end payouts."""
        lenders, out = self.lenders, self.outside
        self.supply.payments()
        interest = lenders.funding * self.funding_rate[self.pos] / 365.0
        lenders.cash -= interest
        lenders.interest_cost += interest
        out.cash += interest.sum()
        if self.calendar.month_end[self.pos]:
            target = np.array([p.capital_target for p in self.lender_params]) * (lenders.receivables +
                                                                                 lenders.scf_loans)
            share = np.array([p.payout_share for p in self.lender_params])
            dividend = np.maximum(lenders.equity - 1.2 * target, 0.0) * share
            lenders.cash -= dividend
            lenders.payouts += dividend
            out.cash += dividend.sum()
        self._fund_lenders()

    def _fund_lenders(self) -> None:
        """Lenders keep zero cash: they borrow shortfalls and repay surpluses with the outside."""
        lenders, out = self.lenders, self.outside
        flow = np.maximum(-lenders.cash, 0.0) - np.minimum(np.maximum(lenders.cash, 0.0), lenders.funding)
        lenders.cash += flow
        lenders.funding += flow
        out.funding_lent += flow
        out.cash -= flow.sum()

    # 8 ------------------------------------------------------------------
    def repay(self) -> None:
        """Overdue accounts accrue DPD and late fees and pay what they can; statements are cut;
        due statements are paid in full, in part, or missed; freezes and charge-offs."""
        acc = self.accounts
        for l in range(len(self.lender_names)):
            overdue = self._collect_overdue(l)
            if self.dom <= BILLING_DAYS:
                self._cut_statements(l)
                self._collect_due(l)
            # DPD > 0 only on accounts that were overdue this morning: count delinquency there
            dpd = acc.dpd[l][overdue]
            self.today.dpd30_count[l] = np.count_nonzero(dpd >= 30)
            self.today.dpd90_count[l] = np.count_nonzero(dpd >= 90)
        self._fund_lenders()

    def _pay(self, l: int, idx: np.ndarray, amount: np.ndarray, field: str) -> None:
        acc, cs = self.accounts, self.consumers
        getattr(acc, field)[l][idx] -= amount
        acc.balance[l][idx] -= amount
        cs.cash[idx] -= amount
        total = float(amount.sum())
        self.lenders.cash[l] += total
        self.lenders.receivables[l] -= total
        self.today.repayments[l] += total

    def _collect_overdue(self, l: int) -> np.ndarray:
        """Overdue accounts: DPD, late fees, catch-up payments, freezes. Returns their ids."""
        acc, cs, p, t = self.accounts, self.consumers, self.lender_params[l], self.t
        idx = np.flatnonzero(acc.overdue[l] > 0)
        if idx.size == 0:
            return idx
        acc.dpd[l][idx] += 1
        add_debt(acc, self.lenders, l, idx, acc.overdue[l][idx] * p.late_fee_daily, "overdue")
        able = np.maximum(cs.cash[idx] - self.cfg.consumers.reserve_months * cs.income[idx], 0.0)
        forgot = acc.forgot[l][idx]
        notice = self.streams.uniform_at(f"notice.{self.lender_names[l]}", t, idx) < \
            self.cfg.consumers.notice_probability
        pays = ~forgot | notice
        amount = np.where(pays, np.minimum(acc.overdue[l][idx], able), 0.0)
        self._pay(l, idx, amount, "overdue")
        acc.forgot[l][idx] &= ~notice
        cleared = idx[acc.overdue[l][idx] <= 1e-9]
        acc.overdue[l][cleared] = 0.0
        acc.dpd[l][cleared] = 0
        acc.forgot[l][cleared] = False
        hit30 = idx[acc.dpd[l][idx] == 30]
        acc.last_30dpd_day[l][hit30] = t
        freeze = idx[(acc.dpd[l][idx] == p.freeze_dpd) & ~acc.frozen[l][idx]]
        if freeze.size:
            acc.frozen[l][freeze] = True
            acc.temp_limit[l][freeze] = 0.0
            self._set_limit(l, freeze, np.zeros(freeze.size), "freeze")
        return idx

    def _close(self, l: int, idx: np.ndarray) -> None:
        """Close accounts: closed accounts carry no limit, no DPD and no score, so that
        totals over all rows equal totals over open accounts."""
        acc = self.accounts
        acc.open[l][idx] = False
        acc.closed_day[l][idx] = self.t
        for name in ("fixed_limit", "temp_limit", "pd"):
            getattr(acc, name)[l][idx] = 0.0
        acc.frozen[l][idx] = False
        acc.dpd[l][idx] = 0
        self._choose_primary(idx)

    def _choose_primary(self, idx: np.ndarray) -> None:
        """Each consumer's first-choice line: the platform's if open, else the first open one."""
        acc = self.accounts
        has_platform = acc.open[self.platform][idx]
        first_open = np.argmax(acc.open[:, idx], axis=0)
        self.primary[idx] = np.where(has_platform | ~acc.open[:, idx].any(axis=0), self.platform, first_open)

    def _cut_statements(self, l: int) -> None:
        """Statement day: unbilled purchases and this month's instalment become the bill;
        accounts at or beyond the charge-off DPD are charged off on their statement day."""
        acc, p = self.accounts, self.lender_params[l]
        idx = self._group("statement_day", self.dom)
        idx = idx[acc.open[l][idx]]
        if idx.size == 0:
            return
        off = idx[acc.dpd[l][idx] >= p.charge_off_dpd]
        if off.size:
            self._set_limit(l, off, np.zeros(off.size), "charge_off")
            amount = write_off(acc, self.lenders, l, off)
            self._close(l, off)
            acc.charged_off[l][off] = True
            self.today.charge_offs[l] += off.size
            self.today.charge_off_amount[l] += amount
            idx = idx[acc.open[l][idx]]
        months = acc.instalment_months[l][idx]
        on_plan = months > 0
        principal = np.where(on_plan, acc.instalment_principal[l][idx] / np.maximum(months, 1), 0.0)
        fee = np.where(on_plan, acc.instalment_principal[l][idx] * p.instalment_fee_monthly, 0.0)
        add_debt(acc, self.lenders, l, idx, fee, "billed")
        acc.instalment_principal[l][idx] -= principal
        acc.instalment_months[l][idx] = np.maximum(months - 1, 0)
        acc.billed[l][idx] += acc.unbilled[l][idx] + principal
        acc.unbilled[l][idx] = 0.0

    def _collect_due(self, l: int) -> None:
        acc, cs, p, t = self.accounts, self.consumers, self.lender_params[l], self.t
        due_dom = (self.dom - 1 - p.statement_grace_days) % BILLING_DAYS + 1
        idx = self._group("statement_day", due_dom)
        idx = idx[acc.open[l][idx] & (acc.billed[l][idx] > 0)]
        if idx.size == 0:
            return
        able = np.maximum(cs.cash[idx] - self.cfg.consumers.reserve_months * cs.income[idx], 0.0)
        bill = acc.billed[l][idx]
        forgets = self.streams.uniform_at(f"forget.{self.lender_names[l]}", t, idx) < cs.forgetfulness[idx]
        forgets &= able >= bill
        amount = np.where(forgets, 0.0, np.minimum(bill, able))
        self._pay(l, idx, amount, "billed")
        late = idx[acc.billed[l][idx] > 1e-9]
        acc.overdue[l][late] += acc.billed[l][late]
        acc.billed[l][idx] = 0.0
        acc.forgot[l][late] = False
        acc.forgot[l, idx[forgets]] = True
        acc.late_score[l][late] = acc.late_score[l][late] * np.exp(-(t - acc.late_day[l][late]) / 365.0) + 1
        acc.late_day[l][late] = t
        self.today.missed_payments[l] += late.size

    # 9 ------------------------------------------------------------------
    def review(self) -> None:
        """Risk appetite; scheduled re-estimation; staggered monthly reviews; applications."""
        self._update_appetite()
        for l in range(len(self.lender_names)):
            self._maybe_reestimate(l)
            if self.dom <= BILLING_DAYS:
                self._review_accounts(l)
        for s in self.experiments:
            if s.start == self.t:
                self._start_experiment(s)
        self.supply.review()

    def _update_appetite(self) -> None:
        lenders, acc = self.lenders, self.accounts
        u = 1.0 - np.count_nonzero(self.consumers.employed) / self.consumers.n
        u_normal = self.cfg.labour.unemployment_normal
        r = self.funding_rate[self.pos]
        for l, p in enumerate(self.lender_params):
            open_ = np.count_nonzero(acc.open[l])
            delinquent = self.today.dpd30_count[l] / max(open_, 1)
            loans = lenders.receivables[l] + lenders.scf_loans[l]
            capital = lenders.equity[l] / loans if loans > 0 else p.capital_target
            target = (1.0 - p.appetite_unemployment * max(u - u_normal, 0.0)
                      - p.appetite_delinquency * max(delinquent - p.delinquency_normal, 0.0)
                      - p.appetite_funding * max(r - self.cfg.macro.funding_rate_normal, 0.0)
                      - p.appetite_capital * max(p.capital_target - capital, 0.0)
                      + self.tightening[l, self.pos])
            target = min(max(target, p.appetite_min), p.appetite_max)
            alpha = 1.0 - 0.5 ** (1.0 / p.appetite_halflife_days)
            lenders.appetite[l] += alpha * (target - lenders.appetite[l])

    def _maybe_reestimate(self, l: int) -> None:
        """Cause 1: refit the score on recent 30+ DPD outcomes, then take a new snapshot."""
        p, t, lenders = self.lender_params[l], self.t, self.lenders
        forced = (t, None) in self.model_updates or (t, self.lender_names[l]) in self.model_updates
        due = (t - self.calendar.first) % p.reestimate_every_days == 0
        if not (due or forced):
            return
        # fit on the newest snapshot that is at least one re-estimation period old, so the
        # outcome window has a fixed length whenever the fit happens
        snaps = self.snapshots.setdefault(l, [])
        ready = [snap for snap in snaps if t - snap[0] >= p.reestimate_every_days]
        if ready:
            day, idx, X = ready[-1]
            horizon = day + p.reestimate_every_days
            reached = self.accounts.last_30dpd_day[l][idx]
            y = ((reached >= day) & (reached < horizon)).astype(float)
            lenders.weights[l] = fit_logistic(X, y, lenders.prior_weights[l], p.reestimate_ridge)
            snaps[:] = [snap for snap in snaps if snap[0] >= day]
        acc = self.accounts
        open_idx = np.flatnonzero(acc.open[l])
        performing = open_idx[acc.dpd[l][open_idx] < 30]  # the score predicts entry into 30+ DPD
        if performing.size == 0:
            return
        # the sample: the accounts with the smallest draws (each account keeps its own draw)
        draw = self.streams.uniform_at(f"reestimate.{self.lender_names[l]}", t, performing)
        take = min(p.reestimate_sample, performing.size)
        sample = np.sort(performing[np.argpartition(draw, take - 1)[:take]])
        observed = self._observed_income(l, sample)
        X = features(acc, l, sample, t, observed, self.cfg.consumers.income_median)
        snaps.append((t, sample, X))

    def _review_accounts(self, l: int) -> None:
        """Monthly review (staggered by statement day): score, then the limit policy."""
        acc, cs, p, t = self.accounts, self.consumers, self.lender_params[l], self.t
        review_dom = (self.dom - 1 - 14) % BILLING_DAYS + 1
        group = self._group("statement_day", review_dom)
        name = self.lender_names[l]
        # applications from consumers without an account here; voluntary attrition
        absent = group[~acc.open[l][group]]
        if absent.size:
            # acquisition: the flow that keeps account_share steady against attrition, stepped
            # up when the customer base is below its target share and down when above it
            share_now = np.count_nonzero(acc.open[l]) / cs.n
            gap = (p.account_share - share_now) / max(p.account_share, 1e-9)
            apply_p = ACCOUNT_ATTRITION_MONTHLY * p.account_share / max(1 - p.account_share, 1e-9) * \
                min(max(1.0 + ACQUISITION_RESPONSE * gap, 0.0), 3.0)
            u = self.streams.uniform_at(f"apply.{name}", t, absent)
            self._consider_applications(l, absent[u < apply_p])
        idx = group[acc.open[l][group]]
        if idx.size == 0:
            return
        # voluntary closure of paid-up accounts, at a rate that closes ACCOUNT_ATTRITION_MONTHLY
        # of all open accounts a month
        paid_up = acc.balance[l][idx] < BALANCE_EPSILON
        rate = min(1.0, ACCOUNT_ATTRITION_MONTHLY / max(paid_up.mean(), 0.05))
        quit_ = idx[paid_up & (self.streams.uniform_at(f"attrition.{name}", t, idx) < rate)]
        # accounts opened today are not closed; closures keep their history for a re-application
        quit_ = quit_[acc.open_day[l][quit_] < t]
        self._close(l, quit_)
        idx = idx[acc.open[l][idx]]
        observed = self._observed_income(l, idx)
        X = features(acc, l, idx, t, observed, self.cfg.consumers.income_median)
        pd = sigmoid(X @ self.lenders.weights[l])
        acc.pd[l][idx] = pd
        appetite = self.lenders.appetite[l]
        target = target_limit(pd, observed, appetite, p)
        fixed = acc.fixed_limit[l][idx]
        frozen = acc.frozen[l][idx]
        dpd = acc.dpd[l][idx]
        # frozen accounts stay frozen while past due; once current they are unfrozen at limit 0
        unfreeze = frozen & (dpd == 0)
        acc.frozen[l, idx[unfreeze]] = False
        protected = acc.protected_until[l][idx] > t
        active = ~frozen & ~protected & (dpd < p.freeze_dpd)
        clean = (X[:, 1] < CLEAN_LATE_SCORE) & (dpd == 0)
        cut = active & (target < fixed * (1 - p.cut_hysteresis))
        if p.differentiated_policy:
            tenure = t - acc.open_day[l][idx]
            cut &= ~(clean & (tenure >= p.differentiated_tenure_days))
        raise_ = ((active | unfreeze) & ~protected & clean & (target > np.maximum(fixed, 1.0) *
                                                             (1 + p.raise_hysteresis))
                  & (t - acc.open_day[l][idx] >= p.raise_min_tenure_days)
                  & (t - cs.last_cut_day[idx] >= p.raise_cooldown_days))
        if cut.any():
            normal_target = target_limit(pd[cut], observed[cut], 1.0, p)
            macro = normal_target >= fixed[cut] * (1 - p.cut_hysteresis)
            causes = np.where(macro, CAUSE_CODE["macro"], CAUSE_CODE["review"])
            self._set_limit(l, idx[cut], target[cut], causes)
        if raise_.any():
            new = fixed[raise_] + p.raise_speed * (target[raise_] - fixed[raise_])
            self._set_limit(l, idx[raise_], new, "raise")

    def _start_experiment(self, s) -> None:
        """A credit-line experiment: a random share of open accounts get their limit changed by
        ``size``; treated and control keep their limits until the shock ends."""
        l = self.lender_index[s.lender]
        acc = self.accounts
        idx = np.flatnonzero(acc.open[l] & ~acc.frozen[l] & (acc.fixed_limit[l] > 0) & (acc.dpd[l] == 0))
        u = self.streams.uniform_at(f"experiment.{s.lender}.{s.start}", self.t, idx)
        treated = idx[u < s.share]
        acc.treated[l][idx] = 0
        acc.treated[l][treated] = 1
        acc.protected_until[l][idx] = s.end
        self._set_limit(l, treated, acc.fixed_limit[l][treated] * (1 + s.size), "experiment")

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
        return self.supply.failure_rows

    # ------------------------------------------------------------------ helpers

    def _big_ticket_sizes(self, who: np.ndarray, buying: np.ndarray, t: int) -> np.ndarray | None:
        """A size uniform for each shopper buying a big ticket today (``buying``), NaN for the
        others."""
        if not buying.any():
            return None
        sizes = np.full(who.size, np.nan)
        sizes[buying] = self.streams.uniform_at("big_ticket.size", t, who[buying])
        return sizes

    def _bills_known(self, idx: np.ndarray, balance: np.ndarray | None = None) -> np.ndarray:
        """What consumers ``idx`` owe on all lines outside instalment plans (unbilled, billed,
        overdue): cash they keep for bills."""
        acc = self.accounts
        owed = np.zeros(idx.size)
        for l in range(acc.open.shape[0]):
            owed += (acc.balance[l][idx] if balance is None else balance[l]) - acc.instalment_principal[l][idx]
        return owed

    def _observed_income(self, l: int, idx: np.ndarray) -> np.ndarray:
        """Income as lender ``l`` sees it: true income times a persistent per-account error
        (the lender's estimate is wrong in the same direction review after review)."""
        noise = self.streams.normal_at(f"income_noise.{self.lender_names[l]}", 0, idx)
        return self.consumers.income[idx] * np.exp(self.lender_params[l].income_noise * noise)

    def _group(self, name: str, dom: int) -> np.ndarray:
        """Consumers whose ``name`` (payday, statement_day) is day-of-month ``dom``."""
        return self.groups[name][dom - 1]

    def _build_groups(self) -> None:
        """Consumers by pay day and by statement day (fixed for the run), and the days
        temporary limits expire."""
        self.groups = {}
        for name in ("payday", "statement_day"):
            values = getattr(self.consumers, name)
            order = np.argsort(values, kind="stable")
            bounds = np.searchsorted(values[order], np.arange(1, BILLING_DAYS + 2))
            self.groups[name] = [order[bounds[d - 1]:bounds[d]] for d in range(1, BILLING_DAYS + 1)]
        self.expiry_days = [{w.end + p.promo_grace_days for w in self.calendar.windows}
                            for p in self.lender_params]

    @property
    def date(self):
        return self.calendar.date(self.t)

    # results ---------------------------------------------------------------
    def results(self):
        """The recorded outputs as pandas DataFrames (see :mod:`sim.outputs`)."""
        return self.recorder.results()


def _in_preference_order(by_lender: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Rows of ``by_lender`` (L, s) reordered per column: primary lender first, then the rest
    in rotation. :func:`_in_lender_order` undoes it."""
    L = by_lender.shape[0]
    if L == 2:  # the common case, without the index arithmetic
        first = primary == 0
        return np.stack([np.where(first, by_lender[0], by_lender[1]), np.where(first, by_lender[1], by_lender[0])])
    order = (primary[None, :] + np.arange(L)[:, None]) % L
    return np.take_along_axis(by_lender, order, axis=0)


def _in_lender_order(by_preference: np.ndarray, primary: np.ndarray) -> np.ndarray:
    L = by_preference.shape[0]
    if L == 2:  # with two lenders the rotation is its own inverse
        return _in_preference_order(by_preference, primary)
    out = np.empty_like(by_preference)
    order = (primary[None, :] + np.arange(L)[:, None]) % L
    np.put_along_axis(out, order, by_preference, axis=0)
    return out


@dataclass(slots=True)
class _DayFlows:
    """Today's flows, reset each morning (per-lender figures are arrays of length L)."""

    lenders: int
    consumption: float = 0.0
    consumption_cash: float = 0.0
    consumption_offplatform: float = 0.0
    unmet_demand: float = 0.0
    stockout_loss: float = 0.0
    unmet_demand_cut: float = 0.0
    merchant_failures: int = 0
    contagion_failures: int = 0
    layoffs: int = 0
    hires: int = 0
    vacancies: int = 0
    shortfall_upstream: float = 0.0
    credit_purchases: tuple | None = None
    consumption_credit_by_lender: np.ndarray = field(init=False)
    repayments: np.ndarray = field(init=False)
    charge_off_amount: np.ndarray = field(init=False)
    charge_offs: np.ndarray = field(init=False)
    missed_payments: np.ndarray = field(init=False)
    anomaly_flags: np.ndarray = field(init=False)
    accounts_opened: np.ndarray = field(init=False)
    dpd30_count: np.ndarray = field(init=False)
    dpd90_count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        for name in ("consumption_credit_by_lender", "repayments", "charge_off_amount"):
            setattr(self, name, np.zeros(self.lenders))
        for name in ("charge_offs", "missed_payments", "anomaly_flags", "accounts_opened", "dpd30_count",
                     "dpd90_count"):
            setattr(self, name, np.zeros(self.lenders, dtype=np.int64))
