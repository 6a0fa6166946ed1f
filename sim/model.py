"""The credit-limit contagion model: a ``mesa.Model`` with a documented daily schedule.

State lives in columnar stores (``model.consumers``, ``model.accounts``,
``model.lenders``, ``model.merchants``, ``model.outside``); Mesa agents are views
of their rows (``model.agents_by_type[Consumer]``). One call of :meth:`step`
is one calendar day and runs the phases of DESIGN section 3 in order; the
behavioural rules are functions of the agent type they belong to, and each phase
method here gathers their inputs, calls them in order and keeps the day's flows:

1. ``macro``            shocks, unemployment target, income index, confidence, funding rate
2. ``labour_and_income`` separations and hires (agents/labour.py); expense shocks paid by cash,
                        credit or arrears; pay days; essentials, arrears, buffer-stock spending
                        (agents/consumer.py)
3. ``shop``             desired spending (buffer-stock credit gap), payment choice, splitting credit over
                        lines (agents/consumer.py); purchases at retailers; booking credit
                        purchases (agents/accounts.py); applications (agents/lender.py)
4. ``monitor``          anomaly monitor on today's credit purchases; promotion limits open/expire
                        (agents/lender.py)
5. ``book_sales``       retailers' cash sales; lender settlements after the lag, less the fee
                        (agents/accounts.py)
6. ``orders``           restocking toward target cover; orders up the chain by purchase shares;
                        manufacturers produce; suppliers ship (pro-rata rationing); invoices
                        (sim/supply_chain.py)
7. ``pay_costs``        merchants: fixed costs, interest, invoices due (cash, bank line, SCF line,
                        arrears), payouts; lenders: funding interest, funding, payouts
8. ``repay``            overdue accounts; statements; due dates; late fees; DPD; freezes;
                        charge-offs (agents/accounts.py); ability to pay (agents/consumer.py)
9. ``review``           risk appetite; scheduled re-estimation and scorecard changes; staggered
                        monthly reviews; applications and attrition; provisions; experiments
                        (agents/lender.py)
10. ``defaults``        merchant failures, creditors' losses, layoffs, re-linking, cascades
11. ``entry``           buyers re-link to new suppliers; failed slots refilled with outside capital
12. ``record``          the day's figures (recorded window only)

Every limit change goes through :func:`agents.lender.set_limit` (``_set_limit``), which
logs its cause.
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.accounts import (book_credit_purchases, book_outside_credit, charge_offs_due, close_accounts, collect_due,
                             collect_overdue, cut_statements, settle)
from agents.consumer import (BILLING_DAYS, DAYS_PER_MONTH, able_to_pay, big_ticket_acceptance, bills_known,
                             choose_retailer, credit_gap, debt_carried, desired_spending, essential_spending,
                             finance_expense, hardship_rate, in_lender_order, in_preference_order, pay_arrears,
                             payment_choice, primary_line, refresh_income, split_over_lines)
from agents.labour import SELF_EMPLOYED, labour_market_day, leave_jobs, outside_labour_demand, take_jobs
from agents.lender import (LimitLog, anomaly_monitor, application_probability, attrition_rate, capital_flows,
                           cut_causes, eligible_applicants, enrol_experiment, expire_temporary_limits, features,
                           grant_temporary_limits, limit_review, observed_income, open_accounts, promotion_reversion,
                           raised_limit, reestimation_sample, refit_score, set_limit, sigmoid, target_limit,
                           underwrite, update_appetite, update_income_estimate, update_provisions, update_scorecard,
                           write_off)
from agents.merchant import fill_rates
from sim.accounting import check_invariants
from sim.calendar import Calendar
from sim.config import Config, load_config
from sim.construction import (build_accounts, build_agents, build_consumers, build_groups, build_lenders,
                              build_levels, build_merchants, build_outside)
from sim.flows import DayFlows
from sim.memory import tune_allocator
from sim.outputs import Recorder
from sim.rng import Streams

BALANCE_EPSILON = 0.005            # balances below half a fen count as paid up (rounding residue)


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
        """One calendar day: the twelve phases of the schedule, in order."""
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
        self.outside.month_days += 1
        if self.calendar.month_end[self.pos]:
            self._close_outside_month()
            for l, p in enumerate(self.lender_params):
                update_income_estimate(self.income_estimate[l], self.consumers.income, p.income_halflife_months)
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
        self._expense_shocks()
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
        """Underwrite applications at lender ``l`` (:func:`agents.lender.underwrite`)."""
        acc, t = self.accounts, self.t
        if idx.size == 0:
            return
        idx = eligible_applicants(acc, l, idx, t, self.lender_params[l].reapply_after_charge_off_days)
        if idx.size == 0:
            return
        observed = self._observed_income(l, idx)
        X = features(acc, l, idx, t, observed, self.cfg.consumers.income_median)
        approve, pd, limit = underwrite(X, self.lenders.weights[l], observed, self.lenders.appetite[l],
                                        self.lender_params[l], self.lender_params[l].new_account_limit_share)
        new = idx[approve]
        open_accounts(acc, l, new, limit, pd[approve], t)
        self.today.accounts_opened[l] += new.size
        self._choose_primary(new)

    # 4 ------------------------------------------------------------------
    def monitor(self) -> None:
        """Anomaly monitor on today's credit purchases (:func:`agents.lender.anomaly_monitor`);
        promotion temporary limits."""
        acc = self.accounts
        if self.today.credit_purchases is not None:
            who, credit = self.today.credit_purchases
            for l, p in enumerate(self.lender_params):
                buy = credit[l] > 0
                idx, x = who[buy], credit[l][buy]
                if idx.size == 0:
                    continue
                z = p.anomaly_z * self.strictness[l, self.pos]
                if p.promotion_aware:
                    z *= self.calendar.season[self.pos]
                flagged = anomaly_monitor(acc, l, p, idx, x, z, self.t)
                if flagged.size:
                    self._set_limit(l, flagged, acc.fixed_limit[l][flagged] * (1 - p.anomaly_cut), "anomaly")
                    self.today.anomaly_flags[l] += flagged.size
        self._promotions()

    def _promotions(self) -> None:
        """Temporary limits open with a promotion window and expire after it; at expiry the
        accounts are re-scored, and a reversion cut follows only where the account is drawn
        beyond its fixed limit and the re-score calls for a cut
        (:func:`agents.lender.promotion_reversion`)."""
        acc, t = self.accounts, self.t
        for w in self.calendar.windows_starting(t):
            for l, p in enumerate(self.lender_params):
                grant_temporary_limits(acc, l, p, w.end + p.promo_grace_days, float(self.lenders.appetite[l]))
        for l, p in enumerate(self.lender_params):
            if t not in self.expiry_days[l]:
                continue
            expiring = expire_temporary_limits(acc, self.log, l, p, t)
            if expiring.size == 0:
                continue
            observed = self._observed_income(l, expiring)
            X = features(acc, l, expiring, t, observed, self.cfg.consumers.income_median)
            pd = sigmoid(X @ self.lenders.weights[l])
            acc.pd[l][expiring] = pd
            target = target_limit(pd, observed, self.lenders.appetite[l], p)
            cut, new = promotion_reversion(acc.balance[l][expiring], acc.fixed_limit[l][expiring], target, p)
            if cut.any():
                self._set_limit(l, expiring[cut], new, "promo_reversion")

    def _set_limit(self, l: int, idx: np.ndarray, new: np.ndarray, cause) -> None:
        """Change fixed limits and record the change with its cause (:func:`agents.lender.set_limit`)."""
        set_limit(self.accounts, self.log, self.consumers.last_cut_day, l, idx, new, cause, self.t,
                  bool(self.experiments))

    # 5 ------------------------------------------------------------------
    def book_sales(self) -> None:
        """Settlements due today move from the lenders to the merchants."""
        self.merchants.cash += settle(self.merchants.settlement_due, self.lenders, self.t)

    # 6 ------------------------------------------------------------------
    def orders(self) -> None:
        self.supply.orders_and_production()

    # 7 ------------------------------------------------------------------
    def pay_costs(self) -> None:
        """Merchants' payments (see :meth:`SupplyChain.payments`); lenders' funding interest,
        funding needs, month-end payouts and recapitalisation (:func:`agents.lender.capital_flows`)."""
        lenders, out = self.lenders, self.outside
        self.supply.payments()
        interest = lenders.funding * self.funding_rate[self.pos] / 365.0
        lenders.cash -= interest
        lenders.interest_cost += interest
        out.cash += interest.sum()
        if self.calendar.month_end[self.pos]:
            params = self.lender_params
            dividend, injection = capital_flows(lenders.equity, lenders.receivables + lenders.scf_loans,
                                                np.array([p.capital_target for p in params]),
                                                np.array([p.payout_share for p in params]),
                                                np.array([p.recapitalisation_floor for p in params]))
            lenders.cash += injection - dividend
            lenders.payouts += dividend
            lenders.injections += injection
            out.cash += dividend.sum() - injection.sum()
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
        due statements are paid in full, in part, or missed; freezes and charge-offs
        (:mod:`agents.accounts`)."""
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

    def _able(self, idx: np.ndarray) -> np.ndarray:
        """Cash consumers ``idx`` can put toward a bill (:func:`agents.consumer.able_to_pay`)."""
        cs = self.consumers
        return able_to_pay(cs.cash[idx], cs.income[idx], self.cfg.consumers.reserve_months)

    def _able_to_repay(self, idx: np.ndarray) -> np.ndarray:
        """What consumers ``idx`` put toward their credit bills: fraudsters never repay."""
        return np.where(self.consumers.fraud[idx], 0.0, self._able(idx))

    def _collect_overdue(self, l: int) -> np.ndarray:
        """A day past due on the overdue accounts (:func:`agents.accounts.collect_overdue`);
        freezes. Returns their ids."""
        idx = np.flatnonzero(self.accounts.overdue[l] > 0)
        if idx.size == 0:
            return idx
        notice = self.streams.uniform_at(f"notice.{self.lender_names[l]}", self.t, idx) < \
            self.cfg.consumers.notice_probability
        able = self._able_to_repay(idx)
        # a consumer whose debt was called in (frozen) pays it off in instalments at most
        frozen = self.accounts.frozen[l][idx]
        cap = self.cfg.consumers.collections_payment_share * self.consumers.income[idx] / DAYS_PER_MONTH
        able[frozen] = np.minimum(able[frozen], cap[frozen])
        repaid, freeze = collect_overdue(self.accounts, self.lenders, self.consumers.cash, able, l,
                                         self.lender_params[l], idx, notice, self.t)
        self.today.repayments[l] += repaid
        if freeze.size:
            self._set_limit(l, freeze, np.zeros(freeze.size), "freeze")
        return idx

    def _cut_statements(self, l: int) -> None:
        """Statement day: accounts at or beyond the charge-off DPD are charged off, the others
        get their bill (:func:`agents.accounts.cut_statements`)."""
        acc = self.accounts
        idx = self._group("statement_day", self.dom)
        idx = idx[acc.open[l][idx]]
        if idx.size == 0:
            return
        off = charge_offs_due(acc, l, idx, self.lender_params[l])
        if off.size:
            self._set_limit(l, off, np.zeros(off.size), "charge_off")
            amount = write_off(acc, self.lenders, l, off, self.t)
            self._close(l, off)
            acc.charged_off[l][off] = True
            self.today.charge_offs[l] += off.size
            self.today.charge_off_amount[l] += amount
            idx = idx[acc.open[l][idx]]
        cut_statements(acc, self.lenders, l, idx, self.lender_params[l], DAYS_PER_MONTH)

    def _collect_due(self, l: int) -> None:
        """Due date of the statements cut ``statement_grace_days`` ago
        (:func:`agents.accounts.collect_due`)."""
        acc, cs, p = self.accounts, self.consumers, self.lender_params[l]
        due_dom = (self.dom - 1 - p.statement_grace_days) % BILLING_DAYS + 1
        idx = self._group("statement_day", due_dom)
        idx = idx[acc.open[l][idx] & ((acc.billed[l][idx] > 0) | (acc.revolving[l][idx] > 0))]
        if idx.size == 0:
            return
        forgets = self.streams.uniform_at(f"forget.{self.lender_names[l]}", self.t, idx) < cs.forgetfulness[idx]
        carry = cs.target_utilisation[idx] * (acc.fixed_limit[l][idx] + acc.temp_limit[l][idx])
        repaid, late = collect_due(acc, self.lenders, cs.cash, self._able_to_repay(idx), l, idx, forgets, self.t,
                                   carry, p, self.cfg.consumers.credit_adjustment_rate,
                                   np.maximum(cs.cash[idx] - cs.buffer_months[idx] * cs.income[idx], 0.0))
        self.today.repayments[l] += repaid
        self.today.missed_payments[l] += late.size

    def _close(self, l: int, idx: np.ndarray) -> None:
        """Close accounts (:func:`agents.accounts.close_accounts`); consumers re-choose their
        primary line."""
        close_accounts(self.accounts, l, idx, self.t)
        self._choose_primary(idx)

    def _choose_primary(self, idx: np.ndarray) -> None:
        """Each consumer's first-choice line (:func:`agents.consumer.primary_line`)."""
        self.primary[idx] = primary_line(self.accounts.open[:, idx], self.platform)

    # 9 ------------------------------------------------------------------
    def review(self) -> None:
        """Risk appetite; scheduled re-estimation; staggered monthly reviews; applications;
        provisions on the day's closing balances."""
        self._update_appetite()
        for l in range(len(self.lender_names)):
            self._maybe_reestimate(l)
            if self.dom <= BILLING_DAYS:
                self._review_accounts(l)
            self._provide(l)
        for s in self.experiments:
            if s.start == self.t:
                self._start_experiment(s)
        self.supply.review()

    def _update_appetite(self) -> None:
        """Risk appetite (:func:`agents.lender.update_appetite`)."""
        cs = self.consumers
        update_appetite(self.lenders, self.lender_params, 1.0 - np.count_nonzero(cs.employed) / cs.n,
                        self.cfg.labour.unemployment_normal, self.funding_rate[self.pos],
                        self.cfg.macro.funding_rate_normal, self.tightening[:, self.pos],
                        self.today.dpd30_count, np.count_nonzero(self.accounts.open, axis=1))

    def _provide(self, l: int) -> None:
        """Expected-loss provisions (:func:`agents.lender.update_provisions`)."""
        acc = self.accounts
        update_provisions(self.lenders, l, acc.balance[l], acc.dpd[l], acc.pd[l], self.lender_params[l])

    def _maybe_reestimate(self, l: int) -> None:
        """Cause 1 on schedule (or a ``model_update`` shock): refit the score
        (:func:`agents.lender.refit_score`), then take a new snapshot of performing accounts with
        the weights in force (for the out-of-time AUC). A ``model_update`` with a feature
        replaces that weight of the scorecard instead (:func:`agents.lender.update_scorecard`)."""
        p, t, acc = self.lender_params[l], self.t, self.accounts
        for s in self.scorecard_changes:
            if s.start == t and s.lender in (None, self.lender_names[l]):
                update_scorecard(self.lenders, l, s.feature, s.weight)
        forced = (t, None) in self.model_updates or (t, self.lender_names[l]) in self.model_updates
        due = (t - self.calendar.first) % p.reestimate_every_days == 0
        if not (due or forced):
            return
        snaps = self.snapshots.setdefault(l, [])
        refit_score(acc, self.lenders, l, p, snaps, t)
        open_idx = np.flatnonzero(acc.open[l])
        performing = open_idx[acc.dpd[l][open_idx] < 30]  # fitted on accounts below 30 DPD at the snapshot
        if performing.size == 0:
            return
        draw = self.streams.uniform_at(f"reestimate.{self.lender_names[l]}", t, performing)
        sample = reestimation_sample(performing, draw, p.reestimate_sample)
        observed = self._observed_income(l, sample)
        snaps.append((t, sample, features(acc, l, sample, t, observed, self.cfg.consumers.income_median),
                      self.lenders.weights[l].copy()))

    def _review_accounts(self, l: int) -> None:
        """Monthly review (staggered by statement day): applications from consumers without an
        account here; voluntary attrition of paid-up accounts; the limit review."""
        acc, cs, p, t = self.accounts, self.consumers, self.lender_params[l], self.t
        group = self._group("statement_day", (self.dom - 1 - 14) % BILLING_DAYS + 1)
        name = self.lender_names[l]
        absent = group[~acc.open[l][group]]
        if absent.size:
            apply_p = application_probability(np.count_nonzero(acc.open[l]) / cs.n, p,
                                              p.attrition_monthly, p.acquisition_response)
            u = self.streams.uniform_at(f"apply.{name}", t, absent)
            self._consider_applications(l, absent[u < apply_p])
        idx = group[acc.open[l][group]]
        if idx.size == 0:
            return
        paid_up = acc.balance[l][idx] < BALANCE_EPSILON
        rate = attrition_rate(paid_up, p.attrition_monthly)
        quit_ = idx[paid_up & (self.streams.uniform_at(f"attrition.{name}", t, idx) < rate)]
        # accounts opened today are not closed; closures keep their history for a re-application
        self._close(l, quit_[acc.open_day[l][quit_] < t])
        self._review_limits(l, idx[acc.open[l][idx]])

    def _review_limits(self, l: int, idx: np.ndarray) -> None:
        """Score the reviewed accounts, then the limit policy (:func:`agents.lender.limit_review`):
        unfreezes, cuts (by cause: review or macro) and raises."""
        acc, p, t = self.accounts, self.lender_params[l], self.t
        observed = self._observed_income(l, idx)
        X = features(acc, l, idx, t, observed, self.cfg.consumers.income_median)
        pd = sigmoid(X @ self.lenders.weights[l])
        acc.pd[l][idx] = pd
        target = target_limit(pd, observed, self.lenders.appetite[l], p)
        fixed = acc.fixed_limit[l][idx]
        unfreeze, cut, raise_ = limit_review(X[:, 1], target, fixed, acc.frozen[l][idx], acc.dpd[l][idx],
                                             acc.protected_until[l][idx] > t, t - acc.open_day[l][idx],
                                             t - self.consumers.last_cut_day[idx], p, p.clean_late_score)
        acc.frozen[l, idx[unfreeze]] = False
        if cut.any():
            causes = cut_causes(pd[cut], observed[cut], fixed[cut], p)
            self._set_limit(l, idx[cut], target[cut], causes)
        if raise_.any():
            self._set_limit(l, idx[raise_], raised_limit(fixed[raise_], target[raise_], p), "raise")

    def _start_experiment(self, s) -> None:
        """A credit-line experiment: a random share of open accounts get their limit changed by
        ``size``; treated and control keep their limits until the shock ends."""
        l = self.lender_index[s.lender]
        acc = self.accounts
        idx = np.flatnonzero(acc.open[l] & ~acc.frozen[l] & (acc.fixed_limit[l] > 0) & (acc.dpd[l] == 0))
        u = self.streams.uniform_at(f"experiment.{s.lender}.{s.start}", self.t, idx)
        treated = idx[u < s.share]
        enrol_experiment(acc, l, idx, treated, s.end)
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

    def _observed_income(self, l: int, idx: np.ndarray) -> np.ndarray:
        """Income as lender ``l`` sees it: its lagged estimate (:func:`agents.lender.update_income_estimate`)
        with a persistent error (:func:`agents.lender.observed_income`)."""
        return observed_income(self.income_estimate[l], idx, self.lender_params[l].income_noise, self.streams,
                               self.lender_names[l])

    def _group(self, name: str, dom: int) -> np.ndarray:
        """Consumers whose ``name`` (payday, statement_day) is day-of-month ``dom``."""
        return self.groups[name][dom - 1]

    def _build_groups(self) -> None:
        """Regroup consumers by pay day and statement day after a change
        (:func:`sim.construction.build_groups`)."""
        build_groups(self)

    @property
    def date(self):
        return self.calendar.date(self.t)

    # results ---------------------------------------------------------------
    def results(self):
        """The recorded outputs as pandas DataFrames (see :mod:`sim.outputs`)."""
        return self.recorder.results()

