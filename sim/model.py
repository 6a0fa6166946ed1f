"""The credit-limit contagion model: a ``mesa.Model`` with a documented daily schedule.

State lives in columnar stores (``model.consumers``, ``model.accounts``, ``model.lenders``,
``model.merchants``, ``model.outside``), built by :mod:`sim.construction`; Mesa agents are
views of their rows (``model.agents_by_type[Consumer]``). One call of :meth:`CreditModel.step`
is one calendar day and runs the twelve phases of docs/model.md section 3 in order. The
behavioural rules are functions of the agent type they belong to (``agents/``); the glue that
gathers their inputs, calls them in order and keeps the day's flows (``model.today``) lives
here for the households, in :class:`~sim.credit_market.CreditMarket` (``model.credit``) for
the lenders and in :class:`~sim.supply_chain.SupplyChain` (``model.supply``) for the merchants:

1. ``macro``              here: incomes follow the income index (levels set at construction)
2. ``labour_and_income``  here: separations and hires (agents/labour.py); expense shocks; pay days;
                          essentials, arrears, buffer-stock spending (agents/consumer.py)
3. ``shop``               here: desired spending, payment choice, purchases (agents/consumer.py);
                          credit booked (agents/accounts.py); ``CreditMarket.apply_for_second_accounts``
4. ``monitor``            ``CreditMarket.monitor``: anomaly monitor; promotion limits open, expire
5. ``book_sales``         here: lenders' settlements due today, less the fee (agents/accounts.py)
6. ``orders``             ``SupplyChain.orders_and_production``: restocking, orders, production
7. ``pay_costs``          ``SupplyChain.payments`` (merchants), then ``CreditMarket.pay_costs`` (lenders)
8. ``repay``              ``CreditMarket.repay``: overdue accounts, statements, due dates, charge-offs
9. ``review``             ``CreditMarket.review`` (appetite, scores, limits; agents/lender.py), then
                          ``SupplyChain.review`` (banks, merchants' appeal, churn and staff)
10. ``defaults``          ``supplier_failure`` shocks, then ``SupplyChain.defaults``: failures, cascades
11. ``entry``             ``SupplyChain.entry``: buyers re-link; failed slots refilled
    (month end)           here: ``_close_outside_month``; ``CreditMarket.close_month`` (income estimates)
12. ``record``            here: the invariants (with ``check``); the day's figures (sim/outputs.py)

Every limit change goes through ``CreditMarket.set_limit`` (:func:`agents.lender.set_limit`),
which logs its cause.
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.accounts import book_credit_purchases, book_outside_credit, settle
from agents.consumer import (BILLING_DAYS, DAYS_PER_MONTH, big_ticket_acceptance, bills_known, choose_retailer,
                             credit_gap, debt_carried, desired_spending, essential_spending, finance_expense,
                             hardship_rate, in_lender_order, in_preference_order, pay_arrears, payment_choice,
                             refresh_income, split_over_lines)
from agents.labour import SELF_EMPLOYED, labour_market_day, leave_jobs, outside_labour_demand, take_jobs
from agents.lender import LimitLog
from agents.merchant import fill_rates
from sim.accounting import check_invariants
from sim.calendar import Calendar
from sim.config import Config, load_config
from sim.construction import (build_accounts, build_agents, build_consumers, build_groups, build_lenders,
                              build_levels, build_merchants, build_outside)
from sim.credit_market import CreditMarket
from sim.flows import DayFlows
from sim.memory import tune_allocator
from sim.outputs import Recorder
from sim.rng import Streams


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
        self.credit = CreditMarket(self)   # the consumer-credit side (its state is built below)
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
        self.today = DayFlows(len(self.lender_names))
        self.snapshots: dict[int, list] = {}
        self.running = True

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """One calendar day: the twelve phases of the schedule, in order (the month's close on its
        last day comes between phases 11 and 12)."""
        if self.t >= self.calendar.days:
            self.running = False
            return
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
        self._expense_shocks()
        if self.dom > BILLING_DAYS:
            return
        paid = self._group("payday", self.dom)
        # owners live on their businesses' month-end payouts, not on a pay day
        income = np.where(cs.employer[paid] == SELF_EMPLOYED, 0.0, cs.income[paid])
        # merchant staff are paid by their employers, who may owe part of it (wage arrears)
        on_staff = (cs.employer[paid] >= 0) & cs.employed[paid]
        from_merchants = self.supply.pay_wages(paid[on_staff], income[on_staff])
        outside_pays = income.sum() - income[on_staff].sum()
        income[on_staff] = from_merchants
        cs.cash[paid] += income
        # off-platform consumption: essentials (partly on the usual wage: they do not shrink at
        # once), then buffer-stock spending of a share of the cash above the buffer target
        essentials = essential_spending(cs.cash[paid], cs.base_income[paid], cs.income[paid], p.essential_share,
                                        p.essential_stickiness)
        cs.cash[paid] -= essentials
        # expense arrears come next: they crowd out platform repayments
        owing = paid[cs.arrears[paid] > 0]
        if owing.size:
            settled = pay_arrears(cs.arrears[owing], self._able(owing), cs.income[owing], p.arrears_payment_share)
            cs.cash[owing] -= settled
            cs.arrears[owing] -= settled
            self.outside.cash += settled.sum()
            self.outside.consumer_receivables -= settled.sum()
        # cash set aside for the bills the consumer knows of is not spent
        owed = bills_known(self.accounts, paid)
        buffer = cs.buffer_months[paid] * cs.income[paid] + owed
        excess = np.maximum(cs.cash[paid] - buffer, 0.0) * (1.0 - (1.0 - p.absorb_rate) ** DAYS_PER_MONTH)
        cs.cash[paid] -= excess
        self.outside.cash += essentials.sum() + excess.sum() - outside_pays
        self.outside.month_consumer_sales += essentials.sum() + excess.sum()
        self.today.consumption_offplatform += essentials.sum() + excess.sum()

    def _expense_shocks(self) -> None:
        """Expense shocks (medical bills, repairs, family needs) ring on a Poisson clock; they
        are paid from cash above subsistence, then on credit, and the rest becomes arrears
        (:func:`agents.consumer.finance_expense`). The outside sector is the payee."""
        cs, p, t, acc = self.consumers, self.cfg.consumers, self.t, self.accounts
        hit = np.flatnonzero(cs.next_hardship == t)
        if hit.size == 0:
            return
        cs.next_hardship[hit] = t + self.streams.waiting_days("hardship.clock", t, hit, hardship_rate(cs, p, hit))
        frac = self.streams.uniform_at("hardship.size", t, hit)
        size = (p.hardship_min + (p.hardship_max - p.hardship_min) * frac) * cs.base_income[hit]
        L = len(self.lender_names)
        avail = np.empty((L, hit.size))
        for l in range(L):
            avail[l] = acc.line(l, hit)[2]
        prim = self.primary[hit]
        cash, credit, arrears = finance_expense(size, self._able(hit), in_preference_order(avail, prim))
        credit = in_lender_order(credit, prim)
        cs.cash[hit] -= cash
        cs.arrears[hit] += arrears
        out = self.outside
        out.cash += cash.sum()
        out.consumer_receivables += arrears.sum()
        for l in range(L):
            use = credit[l] > 0
            if use.any():
                out.cash += book_outside_credit(acc, self.lenders, l, hit[use], credit[l][use])
        out.month_consumer_sales += size.sum()
        self.today.consumption_offplatform += size.sum()
        self.today.expense_credit += credit.sum()
        self.today.expense_arrears += arrears.sum()

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
        """Who shops today (trips, big tickets, bust-outs); desired spending toward target debt; payment
        choice (:func:`agents.consumer.payment_choice`); purchases at retailers (stock-outs
        lose sales); credit booked at the lenders; constrained shoppers may apply elsewhere."""
        cs, cfg, t = self.consumers, self.cfg, self.t
        p = cfg.consumers
        L = len(self.lender_names)
        shop_draw = self.streams.uniform("shopping", t, cs.n)
        shopping = shop_draw < p.shop_probability          # a trip today ...
        big = self._big_tickets_today()                    # ... or a big ticket
        shopping[big] = True
        busting = self._busting_fraudsters()               # ... or a bust-out
        shopping[busting] = True
        who = np.flatnonzero(shopping)
        big_today = np.zeros(who.size, dtype=bool)
        big_today[np.searchsorted(who, big)] = True
        self.merchants.sales_today[:] = 0.0
        self.merchants.demand_today[:] = 0.0
        if who.size == 0:
            return
        # each line's limit, balance and available credit (row-wise gathers: fast)
        limit, balance, avail = (np.empty((L, who.size)) for _ in range(3))
        for l in range(L):
            limit[l], balance[l], avail[l] = self.accounts.line(l, who)
        owed = bills_known(self.accounts, who, balance)
        desired = desired_spending(cs, p, who, self.calendar.season[self.pos], self.confidence[self.pos],
                                   shop_draw[who], self._big_ticket_sizes(who, big_today, t),
                                   credit_gap(cs.target_utilisation[who], limit.sum(axis=0),
                                              debt_carried(self.accounts, who)))
        fraud = np.zeros(who.size, dtype=bool)
        fraud[np.searchsorted(who, busting)] = True
        desired[fraud] = avail.sum(axis=0)[fraud]          # a bust-out maxes out every line
        prim = self.primary[who]
        since_cut = t - cs.last_cut_day[who]
        avail = in_preference_order(avail, prim)  # primary lender first, then the others
        cash_part, credit = payment_choice(desired, cs.cash[who], cs.income[who], cs.buffer_months[who], owed,
                                           cs.credit_first[who] | fraud, avail.sum(axis=0), p)
        # (a fraudster wants exactly the credit available and pays credit first: no cash)
        affordable = cash_part + credit
        constrained = desired - affordable > 1e-9
        retailer = choose_retailer(cs, who, self.streams.uniform("retailer", t, cs.n)[who])
        demand = np.bincount(retailer, affordable, minlength=self.merchants.m)
        fill = fill_rates(self.merchants, demand)[retailer]
        cash_part *= fill
        credit *= fill
        credit_by_lender = in_lender_order(split_over_lines(credit, avail), prim)
        spent = cash_part + credit
        self._sell(who, retailer, cash_part, spent, demand)
        for l in range(L):
            book_credit_purchases(self.accounts, self.lenders, self.merchants.settlement_due, l,
                                  self.lender_params[l], p, self.streams, self.lender_names[l], t,
                                  self.settlement_delay[l, self.pos], who, credit_by_lender[l], retailer,
                                  bool(self.recorder.panel))
        self._apply_for_second_accounts(who[constrained])  # constrained shoppers may apply elsewhere
        d = self.today
        d.consumption += spent.sum()
        d.consumption_cash += cash_part.sum()
        d.consumption_credit_by_lender += credit_by_lender.sum(axis=1)
        d.unmet_demand += (desired - affordable).sum()
        d.stockout_loss += (affordable * (1 - fill)).sum()
        d.unmet_demand_cut += (desired - affordable)[since_cut < 30].sum()
        d.credit_purchases = (who, credit_by_lender)

    def _big_tickets_today(self) -> np.ndarray:
        """Consumers buying a big ticket today: their Poisson clock (at the promotion-window
        rate) rings and, outside a window, the thinning draw accepts it
        (:func:`agents.consumer.big_ticket_acceptance`)."""
        cs, t, p = self.consumers, self.t, self.cfg.consumers
        ring = np.flatnonzero(cs.next_big_ticket == t)
        if ring.size == 0:
            return ring
        cs.next_big_ticket[ring] = t + self.streams.waiting_days("big_ticket.clock", t, ring,
                                                                 self.big_ticket_rate)
        accept = big_ticket_acceptance(bool(self.calendar.in_window[self.pos]), p)
        return ring[self.streams.uniform_at("big_ticket.accept", t, ring) < accept]

    def _busting_fraudsters(self) -> np.ndarray:
        """Fraudsters with a line past its dormancy and credit left: they try to max it out."""
        cs, acc, t = self.consumers, self.accounts, self.t
        ids = self.fraudsters
        if ids.size == 0:
            return ids
        ripe = np.zeros(ids.size, dtype=bool)
        for l in range(acc.open.shape[0]):
            ripe |= acc.open[l][ids] & (t - acc.open_day[l][ids] >= self.cfg.consumers.fraud_dormancy_days) & \
                (acc.line(l, ids)[2] > 0)
        return ids[ripe]

    def _sell(self, who: np.ndarray, retailer: np.ndarray, cash_part: np.ndarray, spent: np.ndarray,
              demand: np.ndarray) -> None:
        """Money and goods move: cash sales to retailers now (credit sales settle later)."""
        cs, ms = self.consumers, self.merchants
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
        if self.calendar.month_end[self.pos]:
            self.consumers.month_spending[:] = 0.0
            self.accounts.month_credit[:] = 0.0

    def _close_month(self) -> None:
        """After phase 11: the day counts toward the outside sector's month; on a month's last
        day the outside sector closes its month (:meth:`_close_outside_month`) and the lenders
        update their income estimates (:meth:`CreditMarket.close_month`)."""
        self.outside.month_days += 1
        if self.calendar.month_end[self.pos]:
            self._close_outside_month()
            self.credit.close_month()

    # ------------------------------------------------------------------ helpers

    def _big_ticket_sizes(self, who: np.ndarray, buying: np.ndarray, t: int) -> np.ndarray | None:
        """A size uniform for each shopper buying a big ticket today (``buying``), NaN for the
        others."""
        if not buying.any():
            return None
        sizes = np.full(who.size, np.nan)
        sizes[buying] = self.streams.uniform_at("big_ticket.size", t, who[buying])
        return sizes

    def _group(self, name: str, dom: int) -> np.ndarray:
        """Consumers whose ``name`` (payday, statement_day) is day-of-month ``dom``."""
        return self.groups[name][dom - 1]

    def _able(self, idx: np.ndarray) -> np.ndarray:
        """Cash consumers ``idx`` can put toward a bill (:meth:`CreditMarket.able`)."""
        return self.credit.able(idx)

    def _apply_for_second_accounts(self, who: np.ndarray) -> None:
        """Constrained shoppers may apply at another lender
        (:meth:`CreditMarket.apply_for_second_accounts`)."""
        self.credit.apply_for_second_accounts(who)

    def _set_limit(self, l: int, idx: np.ndarray, new: np.ndarray, cause) -> None:
        """Change fixed limits and record the change with its cause (:meth:`CreditMarket.set_limit`)."""
        self.credit.set_limit(l, idx, new, cause)

    def _build_groups(self) -> None:
        """Regroup consumers by pay day and statement day after a change
        (:func:`sim.construction.build_groups`)."""
        build_groups(self)

    @property
    def date(self):
        """Today's calendar date."""
        return self.calendar.date(self.t)

    # results ---------------------------------------------------------------
    def results(self):
        """The recorded outputs as pandas DataFrames (see :mod:`sim.outputs`)."""
        return self.recorder.results()

