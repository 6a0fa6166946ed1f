"""The household side: the consumers' working, earning and spending day (docs/model.md
sections 7.2-7.6).

:class:`Households` owns the household phases of the day and is driven by
:class:`sim.model.CreditModel`; the rules it applies live in :mod:`agents.labour`,
:mod:`agents.consumer`, :mod:`agents.accounts` and :mod:`agents.merchant`:

- phase 2 :meth:`labour_and_income`: the labour market (separations, outside layoffs,
  vacancies, matching); expense shocks; on pay days income, essentials, expense arrears and
  buffer-stock spending off the platform;
- phase 3 :meth:`shop`: who shops (trips, big tickets, bust-outs); desired spending and
  payment choice; purchases at retailers (stock-outs lose sales); credit booked at the
  lenders; constrained shoppers apply at another lender
  (:meth:`sim.credit_market.CreditMarket.apply_for_second_accounts`); the day's flows;
- month end :meth:`close_outside_month`: the outside sector's sales ratio, which drives its
  labour demand.

The state stays on the model (``model.consumers``, ``model.accounts``, ``model.outside``,
``model.today``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.accounts import book_credit_purchases, book_outside_credit
from agents.consumer import (BILLING_DAYS, DAYS_PER_MONTH, big_ticket_acceptance, bills_known, choose_retailer,
                             credit_gap, debt_carried, desired_spending, essential_spending, finance_expense,
                             hardship_rate, in_lender_order, in_preference_order, pay_arrears, payment_choice,
                             refresh_income, split_over_lines)
from agents.labour import SELF_EMPLOYED, labour_market_day, leave_jobs, outside_labour_demand, take_jobs
from agents.merchant import fill_rates

if TYPE_CHECKING:
    from sim.model import CreditModel


class Households:
    """The household side of the model (see the module docstring)."""

    def __init__(self, model: CreditModel):
        self.model = model

    # ------------------------------------------------------------------ phase 2

    def labour_and_income(self) -> None:
        """The labour market (:meth:`_labour_market`); expense shocks (:meth:`_expense_shocks`);
        on days 1-28 the pay day (:meth:`_pay_day`)."""
        self._labour_market()
        self._expense_shocks()
        if self.model.dom <= BILLING_DAYS:
            self._pay_day()

    def _labour_market(self) -> None:
        """Outside labour demand from autonomous demand and outside sales; separations, outside
        layoffs, vacancies and matching (:func:`agents.labour.labour_market_day`)."""
        model = self.model
        cs, ms, lab, out, t = model.consumers, model.merchants, model.cfg.labour, model.outside, model.t
        target = outside_labour_demand(out.labour_normal, model.autonomous[model.pos], lab.outside_dependence,
                                       out.sales_ratio, model.labour_shift[model.pos])
        out.labour_target = target
        flows = labour_market_day(cs.employed, cs.employer, model.separation_prob,
                                  model.streams.uniform("labour", t, cs.n), target,
                                  model.supply.vacancies(), lab.layoff_speed, lab.matching_efficiency,
                                  lab.matching_elasticity, float(model.streams.uniform("labour.slots", t, 1)[0]),
                                  out.turnover_vacancy_rate)
        leaving = np.concatenate([flows.separated, flows.laid_off])
        leave_jobs(cs.employed, cs.employer, cs.base_income, cs.outside_wage, ms.staff, ms.wage_bill, leaving)
        take_jobs(cs.employed, cs.employer, cs.base_income, cs.outside_wage, ms.staff, ms.wage_bill, ms.wage,
                  flows.hired, flows.hired_by)
        refresh_income(cs, np.concatenate([leaving, flows.hired]), model.income_index[model.pos],
                       lab.benefit_replacement)
        model.today.layoffs += flows.laid_off.size
        model.today.hires += flows.hired.size
        model.today.vacancies = flows.vacancies

    def _expense_shocks(self) -> None:
        """Expense shocks (medical bills, repairs, family needs) ring on a Poisson clock; they
        are paid from cash above subsistence, then on credit, and the rest becomes arrears
        (:func:`agents.consumer.finance_expense`). The outside sector is the payee."""
        model = self.model
        cs, p, t, acc = model.consumers, model.cfg.consumers, model.t, model.accounts
        hit = np.flatnonzero(cs.next_hardship == t)
        if hit.size == 0:
            return
        cs.next_hardship[hit] = t + model.streams.waiting_days("hardship.clock", t, hit, hardship_rate(cs, p, hit))
        frac = model.streams.uniform_at("hardship.size", t, hit)
        size = (p.hardship_min + (p.hardship_max - p.hardship_min) * frac) * cs.base_income[hit]
        L = len(model.lender_names)
        avail = np.empty((L, hit.size))
        for l in range(L):
            avail[l] = acc.line(l, hit)[2]
        prim = model.primary[hit]
        cash, credit, arrears = finance_expense(size, model.credit.able(hit), in_preference_order(avail, prim))
        credit = in_lender_order(credit, prim)
        cs.cash[hit] -= cash
        cs.arrears[hit] += arrears
        out = model.outside
        out.cash += cash.sum()
        out.consumer_receivables += arrears.sum()
        for l in range(L):
            use = credit[l] > 0
            if use.any():
                out.cash += book_outside_credit(acc, model.lenders, l, hit[use], credit[l][use])
        out.month_consumer_sales += size.sum()
        model.today.consumption_offplatform += size.sum()
        model.today.expense_credit += credit.sum()
        model.today.expense_arrears += arrears.sum()

    def _pay_day(self) -> None:
        """Consumers whose pay day is today receive income (merchant staff from their employers,
        who may owe part of it; owners nothing); then essentials, expense arrears and
        buffer-stock spending off the platform, the outside sector's sales."""
        model = self.model
        cs, p, out = model.consumers, model.cfg.consumers, model.outside
        paid = model.groups["payday"][model.dom - 1]
        # owners live on their businesses' month-end payouts, not on a pay day
        income = np.where(cs.employer[paid] == SELF_EMPLOYED, 0.0, cs.income[paid])
        # merchant staff are paid by their employers, who may owe part of it (wage arrears)
        on_staff = (cs.employer[paid] >= 0) & cs.employed[paid]
        from_merchants = model.supply.pay_wages(paid[on_staff], income[on_staff])
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
            settled = pay_arrears(cs.arrears[owing], model.credit.able(owing), cs.income[owing],
                                  p.arrears_payment_share)
            cs.cash[owing] -= settled
            cs.arrears[owing] -= settled
            out.cash += settled.sum()
            out.consumer_receivables -= settled.sum()
        # cash set aside for the bills the consumer knows of is not spent
        owed = bills_known(model.accounts, paid)
        buffer = cs.buffer_months[paid] * cs.income[paid] + owed
        excess = np.maximum(cs.cash[paid] - buffer, 0.0) * (1.0 - (1.0 - p.absorb_rate) ** DAYS_PER_MONTH)
        cs.cash[paid] -= excess
        out.cash += essentials.sum() + excess.sum() - outside_pays
        out.month_consumer_sales += essentials.sum() + excess.sum()
        model.today.consumption_offplatform += essentials.sum() + excess.sum()

    # ------------------------------------------------------------------ phase 3

    def shop(self) -> None:
        """Who shops today (:meth:`_shoppers`); desired spending and payment choice
        (:meth:`_choose_payment`); purchases at retailers, stock-outs and credit booked at the
        lenders (:meth:`_buy`); constrained shoppers may apply at another lender
        (:meth:`sim.credit_market.CreditMarket.apply_for_second_accounts`); the day's flows
        (:meth:`_count_purchases`). Merchants' sales and demand of the day restart first."""
        model = self.model
        who, shop_draw, big_today, fraud = self._shoppers()
        model.merchants.sales_today[:] = 0.0
        model.merchants.demand_today[:] = 0.0
        if who.size == 0:
            return
        since_cut = model.t - model.consumers.last_cut_day[who]   # before today's limit changes
        desired, cash_part, credit, avail, prim = self._choose_payment(who, shop_draw, big_today, fraud)
        affordable = cash_part + credit
        shortfall = desired - affordable
        constrained = shortfall > 1e-9
        cash_part, spent, lost, credit_by_lender = self._buy(who, cash_part, credit, affordable, avail, prim)
        model.credit.apply_for_second_accounts(who[constrained])
        self._count_purchases(who, spent, cash_part, credit_by_lender, shortfall, lost, since_cut)

    def _shoppers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Who shops today: a trip (the ``shopping`` draw below ``shop_probability``), a big
        ticket (:meth:`_big_tickets_today`) or a bust-out (:meth:`_busting_fraudsters`).

        Returns
        -------
        who, shop_draw, big_today, fraud:
            The shoppers' ids in ascending order; their ``shopping`` draws; masks over ``who``
            of those buying a big ticket and of the fraudsters busting out.
        """
        model = self.model
        shop_draw = model.streams.uniform("shopping", model.t, model.consumers.n)
        shopping = shop_draw < model.cfg.consumers.shop_probability   # a trip today ...
        big = self._big_tickets_today()                                # ... or a big ticket
        shopping[big] = True
        busting = self._busting_fraudsters()                           # ... or a bust-out
        shopping[busting] = True
        who = np.flatnonzero(shopping)
        big_today = np.zeros(who.size, dtype=bool)
        big_today[np.searchsorted(who, big)] = True
        fraud = np.zeros(who.size, dtype=bool)
        fraud[np.searchsorted(who, busting)] = True
        return who, shop_draw[who], big_today, fraud

    def _choose_payment(self, who: np.ndarray, shop_draw: np.ndarray, big_today: np.ndarray,
                        fraud: np.ndarray) -> tuple[np.ndarray, ...]:
        """Desired spending toward target debt (:func:`agents.consumer.desired_spending`; a
        bust-out maxes out every line) and how it is paid (:func:`agents.consumer.payment_choice`).

        Returns
        -------
        desired, cash_part, credit, avail, prim:
            Desired spending, its cash and credit parts, yuan; the available credit of each line
            in preference order (primary lender first); each shopper's primary lender.
        """
        model = self.model
        cs, acc, p = model.consumers, model.accounts, model.cfg.consumers
        L = len(model.lender_names)
        # each line's limit, balance and available credit (row-wise gathers: fast)
        limit, balance, avail = (np.empty((L, who.size)) for _ in range(3))
        for l in range(L):
            limit[l], balance[l], avail[l] = acc.line(l, who)
        owed = bills_known(acc, who, balance)
        desired = desired_spending(cs, p, who, model.calendar.season[model.pos], model.confidence[model.pos],
                                   shop_draw, self._big_ticket_sizes(who, big_today, model.t),
                                   credit_gap(cs.target_utilisation[who], limit.sum(axis=0),
                                              debt_carried(acc, who)))
        desired[fraud] = avail.sum(axis=0)[fraud]          # a bust-out maxes out every line
        prim = model.primary[who]
        avail = in_preference_order(avail, prim)  # primary lender first, then the others
        cash_part, credit = payment_choice(desired, cs.cash[who], cs.income[who], cs.buffer_months[who], owed,
                                           cs.credit_first[who] | fraud, avail.sum(axis=0), p)
        # (a fraudster wants exactly the credit available and pays credit first: no cash)
        return desired, cash_part, credit, avail, prim

    def _buy(self, who: np.ndarray, cash_part: np.ndarray, credit: np.ndarray, affordable: np.ndarray,
             avail: np.ndarray, prim: np.ndarray) -> tuple[np.ndarray, ...]:
        """Purchases: each shopper's retailer (:func:`agents.consumer.choose_retailer`); stock-outs
        scale what is bought (:func:`agents.merchant.fill_rates`); the credit part is split over
        the lines in preference order; the cash sale (:meth:`_sell`) and the credit purchases
        booked at the lenders (:func:`agents.accounts.book_credit_purchases`).

        Returns
        -------
        cash_part, spent, lost, credit_by_lender:
            What each shopper paid in cash and in all, and the affordable spending lost to
            stock-outs, yuan; the credit part by lender (lender order).
        """
        model = self.model
        cs, ms, t = model.consumers, model.merchants, model.t
        retailer = choose_retailer(cs, who, model.streams.uniform("retailer", t, cs.n)[who])
        demand = np.bincount(retailer, affordable, minlength=ms.m)
        fill = fill_rates(ms, demand)[retailer]
        cash_part = cash_part * fill
        credit = credit * fill
        credit_by_lender = in_lender_order(split_over_lines(credit, avail), prim)
        spent = cash_part + credit
        self._sell(who, retailer, cash_part, spent, demand)
        mp = model.cfg.merchants
        for l in range(len(model.lender_names)):
            model.today.instalment_subsidy += book_credit_purchases(
                model.accounts, model.lenders, ms.settlement_due, l, model.lender_params[l], model.cfg.consumers,
                model.streams, model.lender_names[l], t, model.settlement_delay[l, model.pos], who,
                credit_by_lender[l], retailer, bool(model.recorder.panel), mp.instalment_offers, mp.offer_take_up)
        return cash_part, spent, affordable * (1 - fill), credit_by_lender

    def _count_purchases(self, who: np.ndarray, spent: np.ndarray, cash_part: np.ndarray,
                         credit_by_lender: np.ndarray, shortfall: np.ndarray, lost: np.ndarray,
                         since_cut: np.ndarray) -> None:
        """The day's shopping flows: consumption (cash, credit by lender), unmet demand (of
        which by shoppers cut in the last 30 days), stock-out losses and today's credit
        purchases for the anomaly monitor."""
        d = self.model.today
        d.consumption += spent.sum()
        d.consumption_cash += cash_part.sum()
        d.consumption_credit_by_lender += credit_by_lender.sum(axis=1)
        d.unmet_demand += shortfall.sum()
        d.stockout_loss += lost.sum()
        d.unmet_demand_cut += shortfall[since_cut < 30].sum()
        d.credit_purchases = (who, credit_by_lender)

    def _big_tickets_today(self) -> np.ndarray:
        """Consumers buying a big ticket today: their Poisson clock (at the promotion-window
        rate) rings and, outside a window, the thinning draw accepts it
        (:func:`agents.consumer.big_ticket_acceptance`)."""
        model = self.model
        cs, t, p = model.consumers, model.t, model.cfg.consumers
        ring = np.flatnonzero(cs.next_big_ticket == t)
        if ring.size == 0:
            return ring
        cs.next_big_ticket[ring] = t + model.streams.waiting_days("big_ticket.clock", t, ring,
                                                                  model.big_ticket_rate)
        accept = big_ticket_acceptance(bool(model.calendar.in_window[model.pos]), p)
        return ring[model.streams.uniform_at("big_ticket.accept", t, ring) < accept]

    def _busting_fraudsters(self) -> np.ndarray:
        """Fraudsters with a line past its dormancy and credit left: they try to max it out."""
        model = self.model
        acc, t = model.accounts, model.t
        ids = model.fraudsters
        if ids.size == 0:
            return ids
        ripe = np.zeros(ids.size, dtype=bool)
        for l in range(acc.open.shape[0]):
            ripe |= acc.open[l][ids] & (t - acc.open_day[l][ids] >= model.cfg.consumers.fraud_dormancy_days) & \
                (acc.line(l, ids)[2] > 0)
        return ids[ripe]

    def _big_ticket_sizes(self, who: np.ndarray, buying: np.ndarray, t: int) -> np.ndarray | None:
        """A size uniform for each shopper buying a big ticket today (``buying``), NaN for the
        others."""
        if not buying.any():
            return None
        sizes = np.full(who.size, np.nan)
        sizes[buying] = self.model.streams.uniform_at("big_ticket.size", t, who[buying])
        return sizes

    def _sell(self, who: np.ndarray, retailer: np.ndarray, cash_part: np.ndarray, spent: np.ndarray,
              demand: np.ndarray) -> None:
        """Money and goods move: cash sales to retailers now (credit sales settle later)."""
        model = self.model
        cs, ms = model.consumers, model.merchants
        cs.cash[who] -= cash_part
        if model.recorder.panel:  # monthly totals are only needed for the panel
            cs.month_spending[who] += spent
        cash_sales = np.bincount(retailer, cash_part, minlength=ms.m)
        sales = np.bincount(retailer, spent, minlength=ms.m)
        ms.cash += cash_sales
        cogs = sales / ms.markup
        ms.inventory -= cogs
        ms.sales_today[:] = sales
        ms.demand_today[:] = demand  # what consumers could pay for, before stock-outs

    # ------------------------------------------------------------------ month end

    def close_outside_month(self) -> None:
        """Month end: the outside sector compares the month's sales (consumer spending as it came;
        merchants' daily purchases per 30 days) with the same calendar month of the burn-in's
        last year (year-on-year, so the promotion season is no news) and smooths the ratio,
        which drives its labour demand (:meth:`_labour_market`)."""
        model = self.model
        out, lab = model.outside, model.cfg.labour
        if out.month_days == 0:
            return
        complete = out.month_days == int(model.calendar.day_of_month[model.pos])  # a whole calendar month
        sales = out.month_consumer_sales + out.month_merchant_sales * DAYS_PER_MONTH / out.month_days
        month = int(model.calendar.month_of_year[model.pos])
        out.month_consumer_sales = out.month_merchant_sales = 0.0
        out.month_days = 0
        if model.t < 0:  # the burn-in defines normal sales by calendar month
            if complete:
                out.sales_normal[month] = sales
            return
        normal = out.sales_normal.get(month) or (np.mean(list(out.sales_normal.values()))
                                                 if out.sales_normal else sales)
        weight = 1.0 - 0.5 ** (1.0 / lab.outside_sales_halflife_months)
        out.sales_ratio += weight * (sales / normal - out.sales_ratio)
