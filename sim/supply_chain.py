"""The supply chain: merchants' orders, production, trade credit, payments, credit
lines, owners, failures, contagion and entry (docs/model.md sections 7.10-7.24).

:class:`SupplyChain` owns the merchant phases of the day and is driven by
:class:`sim.model.CreditModel`; the rules it applies live in :mod:`agents.merchant`,
:mod:`agents.trade`, :mod:`agents.labour` and :mod:`agents.consumer`:

- phase 6 :meth:`orders_and_production`: restocking toward target cover net of back-orders;
  orders split over suppliers by purchase shares; manufacturers produce within a capacity
  that follows expected output over months, buying raw inputs on trade credit from the
  outside sector; suppliers ship back-orders and new orders pro rata from stock; invoices
  fall due ``trade_terms_days`` later; buyers rationed for long qualify second suppliers;
- phase 7 :meth:`payments`: fixed costs and interest, then invoices due by the waterfall
  (cash above the protected buffer -> stretching -> for pressing invoices the bank line, the
  SCF line, the buffer, the owner -> arrears); line repayments; month-end settlement with
  the owners (payouts and top-ups);
- phase 9 :meth:`review`: the banks' risk appetite (daily); on the 1st, bank lines, retailers'
  appeal and customer churn, and desired staff (layoffs of a share of any excess);
- phase 10 :meth:`defaults`: the failure rule (illiquid, and the owner will not or cannot
  pay in), the estate shared by creditors, attribution, layoffs, the owner back on the
  labour market, consumers and buyers re-linking, cascade bookkeeping;
- phase 11 :meth:`entry`: buyers re-link to new suppliers after the qualification delay;
  failed slots are refilled with outside capital and a new owner.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from agents.consumer import DAYS_PER_MONTH, OUTSIDE, churn_retailers, refresh_income
from agents.labour import SELF_EMPLOYED, leave_jobs
from agents.merchant import (ACTIVE, DISTRESSED, FAILED, MANUFACTURER, NEVER, RETAILER, TIER_NAMES,
                             MerchantState, cash_budget_gap, cash_target, desired_staff, drift_appeal, failure_due,
                             layoffs_due, line_repayments, owner_available, owner_flows, scf_limits, wage_waterfall)
from agents.trade import TradeBook, pay_invoices, place_orders, serve_orders
from sim.network import SupplyNetwork, generate_network, load_network

CAUSE_LIQUIDITY, CAUSE_COUNTERPARTY, CAUSE_CREDIT_LINE = "liquidity", "counterparty", "credit_line"


def build_network(cfg, streams) -> SupplyNetwork:
    """The supply network: loaded from ``network.path`` or generated (seeded)."""
    n = cfg.network
    if n.path:
        return load_network(n.path, n.nodes_path or None)
    return generate_network(cfg.population.merchants, retailer_share=n.retailer_share,
                            distributor_share=n.distributor_share,
                            suppliers_per_retailer=n.suppliers_per_retailer,
                            suppliers_per_distributor=n.suppliers_per_distributor,
                            pareto_alpha=n.pareto_alpha, attachment=n.attachment,
                            rng=streams.generator("network"))


def create_merchants(cfg, net: SupplyNetwork, lag_slots: int, n_lenders: int) -> MerchantState:
    markup = np.array([cfg.tiers[name].markup for name in TIER_NAMES])[net.tier]
    return MerchantState.create(net.tier, net.size, markup, lag_slots, n_lenders)


class SupplyChain:
    """The merchant side of the model (see the module docstring)."""

    def __init__(self, model, net: SupplyNetwork):
        self.model = model
        self.net = net
        cfg = model.cfg
        self.p = cfg.merchants
        tiers = [cfg.tiers[name] for name in TIER_NAMES]
        self.cover = np.array([t.cover_days for t in tiers])
        self.wage_share = np.array([t.wage_share for t in tiers])
        self.fixed_share = np.array([t.fixed_cost_share for t in tiers])
        self.fixed_assets_months = np.array([t.fixed_assets_months for t in tiers])
        self.bank_access_share = np.array([t.bank_access_share for t in tiers])
        self.bank_appetite = 1.0      # banks' risk appetite (1 = normal)
        self.bank_loss_rate = 0.0     # smoothed yearly loss rate on merchants' drawn lines
        self.slots = self.p.trade_terms_days + 1
        self.book = TradeBook.create(net.supplier, net.buyer, net.weight, self.slots)
        # manufacturers buy raw inputs from the outside sector on the same trade terms: one
        # outside-owned relation each (no goods flow on it through the book)
        self.input_edge = np.full(net.m, -1, dtype=np.int64)
        self._open_input_accounts(np.flatnonzero(net.tier == MANUFACTURER))
        self.relink_day = np.full(self.book.supplier.size, NEVER, dtype=np.int64)
        # merchant -> {failed debtor: (day, loss in yuan, material against the merchant's net worth)}
        self.loss_sources: dict[int, dict[int, tuple[int, float, bool]]] = defaultdict(dict)
        self.failure_rows: list[dict] = []
        self.closed_retailers: list[int] = []   # retailers failed today, their customers to re-link
        self.wage_claimants: dict[int, np.ndarray] = {}  # merchant -> consumers it owes wages (wage arrears)
        self.next_cascade = 0
        self.bank_tightening = self.economy_tightening()
        self.start_relations = self.relations()

    def relations(self) -> tuple[np.ndarray, np.ndarray]:
        """The live supply relations between merchants today, as ``(supplier, buyer)`` id arrays
        (one entry per relation). :attr:`start_relations` holds those of the eve of the recorded
        window (day 0), the network to measure chain failures against
        (:func:`sim.contagion.failure_by_customer_losses`): re-linking and entry during the
        burn-in change the network that was generated."""
        book = self.book
        n = book.n
        live = book.live[:n] & ~book.outside_owned[:n]
        return book.supplier[:n][live].copy(), book.buyer[:n][live].copy()

    # ------------------------------------------------------------------ start

    def _open_input_accounts(self, manufacturers: np.ndarray) -> None:
        """Trade accounts of ``manufacturers`` at their (outside) raw-input suppliers."""
        book = self.book
        ids = book.add(manufacturers, manufacturers, np.ones(manufacturers.size))
        book.live[ids] = False
        book.outside_owned[ids] = True
        book.changed()
        self.input_edge[manufacturers] = ids

    def economy_tightening(self) -> np.ndarray:
        """Daily level of credit-tightening shocks for the banks: those naming the banks, and
        those naming no lender (every platform and the banks)."""
        from sim.shocks import shock_level
        cal = self.model.calendar
        return shock_level([s for s in self.model.cfg.shocks if s.lender in (None, "banks")],
                           "credit_tightening", cal.n, cal.first)

    def initialise(self, retail_sales: np.ndarray) -> None:
        """Steady-state start: expected sales up the chain, stocks, staff, costs, lines, and a
        full pipeline of trade invoices (``trade_terms_days`` of purchases outstanding)."""
        model, ms, book = self.model, self.model.merchants, self.book
        n = book.n
        sales = retail_sales.copy()
        for _ in range(50):  # revenue of suppliers = their buyers' purchases, by purchase share
            purchases = sales / ms.markup
            goods = np.where(book.live[:n], book.weight[:n], 0.0)   # not the raw-input accounts
            upstream = np.bincount(book.supplier[:n], goods * purchases[book.buyer[:n]], minlength=ms.m)
            new = retail_sales + upstream
            if np.allclose(new, sales, rtol=1e-12, atol=1e-9):
                break
            sales = new
        ms.expected_sales[:] = sales
        ms.trend_sales[:] = sales
        ms.sales_longrun[:] = sales
        ms.normal_sales[:] = sales
        cogs = sales / ms.markup
        ms.inventory[:] = self.cover[ms.tier] * cogs
        ms.fixed_cost[:] = self.fixed_share[ms.tier] * sales
        ms.fixed_assets[:] = self.fixed_assets_months[ms.tier] * DAYS_PER_MONTH * sales
        ms.capacity[:] = np.where(ms.tier == MANUFACTURER, self.p.capacity_margin * cogs, 0.0)
        ms.bank_access[:] = model.streams.uniform("population.bank_access", 0, ms.m) < self.bank_access_share[ms.tier]
        ms.bank_limit[:] = np.where(ms.bank_access, self.p.bank_line_months * DAYS_PER_MONTH * sales, 0.0)
        enrol = model.streams.uniform("population.scf", 0, ms.m) < self.p.scf_share
        ms.scf_enrolled[:] = enrol
        self._hire_initial_staff()
        daily = book.weight[:n] * cogs[book.buyer[:n]]
        today_slot = (model.t + self.p.trade_terms_days) % self.slots
        for s in range(self.slots):
            if s != today_slot:
                book.due[s, :n] = daily
        book.outstanding[:n] = daily * (self.slots - 1)
        ms.trade_payables[:] = book.payables(ms.m)
        ms.trade_receivables[:] = book.receivables(ms.m)
        # thin, heterogeneous cash buffers (a few weeks of outflows), held from the start
        z = model.streams.normal_at("population.cash_buffer", 0, np.arange(ms.m))
        ms.buffer_days[:] = self.p.cash_buffer_days * np.exp(self.p.cash_buffer_sigma * z)
        ms.cash[:] = cash_target(ms)
        if self.p.owner_households:
            self._appoint_owners()

    def _appoint_owners(self) -> None:
        """Every merchant is a household business: its owner is a consumer (not on anyone's
        staff) who lives on the payouts. The owner's business income starts at the merchant's
        expected monthly profit."""
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        pool = np.flatnonzero(cs.employed & (cs.employer == OUTSIDE))
        if pool.size < ms.m:
            raise ValueError(f"population.consumers: {cs.n} consumers cannot own and staff {ms.m} merchants; "
                             f"add consumers or reduce merchants")
        draw = model.streams.uniform_at("population.owners", 0, pool)
        owners = np.sort(pool[np.argsort(draw, kind="stable")[:ms.m]])
        owners = owners[model.streams.generator("population.owners").permutation(ms.m)]
        ms.owner[:] = owners
        profit = DAYS_PER_MONTH * (ms.expected_sales * (1 - 1 / ms.markup) - ms.fixed_cost) - ms.wage_bill
        ms.owner_income[:] = np.maximum(profit, 0.0)
        cs.employer[owners] = SELF_EMPLOYED
        cs.base_income[owners] = ms.owner_income
        refresh_income(cs, owners, model.income_index[0], model.cfg.labour.benefit_replacement)
        cs.cash[owners] = cs.buffer_months[owners] * cs.income[owners]

    def owner_funds(self) -> np.ndarray:
        """What each owner would put into the business now (see :func:`owner_available`). Without
        owner households (``merchants.owner_households = false``) the owners are outside
        investors, whose funds have no limit (net worth must still be non-negative)."""
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        household = ms.owner >= 0
        owner = np.where(household, ms.owner, 0)
        cash = np.where(household, cs.cash[owner], np.inf if not self.p.owner_households else 0.0)
        reserve = np.where(household, model.cfg.consumers.reserve_months * cs.income[owner], 0.0)
        return owner_available(ms, cash, reserve)

    def _to_owners(self, flow: np.ndarray) -> None:
        """``flow`` (per merchant; negative: a top-up) moves between each business and its owner:
        a household's cash, or the outside sector for outside-owned businesses."""
        ms, cs, out = self.model.merchants, self.model.consumers, self.model.outside
        ms.cash -= flow
        ms.payouts += flow
        household = ms.owner >= 0
        np.add.at(cs.cash, ms.owner[household], flow[household])
        out.cash += float(flow[~household].sum())

    def _from_owners(self, amount: np.ndarray) -> None:
        """Owners put ``amount`` (per merchant) of their own cash into their businesses."""
        if amount.any():
            self._to_owners(-amount)

    def _hire_initial_staff(self) -> None:
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        bill = self.wage_share[ms.tier] * ms.expected_sales * DAYS_PER_MONTH
        staff = np.maximum(1, np.rint(bill / model.cfg.consumers.income_median)).astype(np.int64)
        pool = model.streams.generator("population.staff").permutation(np.flatnonzero(cs.employed))
        if staff.sum() > pool.size:
            raise ValueError(f"population.consumers: {cs.n} consumers cannot staff {ms.m} merchants "
                             f"({staff.sum()} jobs); add consumers or reduce merchants")
        hired = pool[:staff.sum()]
        employer = np.repeat(np.arange(ms.m), staff)
        ms.wage[:] = bill / staff
        cs.employer[hired] = employer
        cs.base_income[hired] = ms.wage[employer]
        refresh_income(cs, hired, model.income_index[0], model.cfg.labour.benefit_replacement)
        ms.staff[:] = staff
        ms.normal_staff[:] = staff
        ms.staff_target[:] = staff
        ms.wage_bill[:] = bill

    # ------------------------------------------------------------------ analytics

    def trade_exposures(self):
        """Who is owed what by whom along the chain today: a sparse (m, m) matrix with
        [i, j] = trade receivables of supplier i from buyer j (invoices sold to the outside
        sector excluded)."""
        from sim.contagion import exposure_matrix
        book, n = self.book, self.book.n
        mine = ~book.outside_owned[:n]
        return exposure_matrix(book.supplier[:n][mine], book.buyer[:n][mine], book.owed()[mine],
                               self.model.merchants.m)

    def systemic_importance(self) -> np.ndarray:
        """DebtRank of each merchant's default on today's trade-credit exposures, with the
        merchants' net worth as their capital buffers (Battiston et al. 2012)."""
        from sim.contagion import systemic_importance
        return systemic_importance(self.trade_exposures(), self.model.merchants.net_worth())

    # ------------------------------------------------------------------ phase 6

    def orders_and_production(self) -> None:
        model, ms, book, t = self.model, self.model.merchants, self.book, self.model.t
        n = book.n
        active = ms.status != FAILED
        # retailers stock up ahead of promotions; suppliers' expectations already carry the season
        season = np.where(ms.tier == RETAILER, model.season_ahead[model.pos], 1.0)
        target = self.cover[ms.tier] * ms.expected_sales / ms.markup * season
        gap = np.where(active, np.maximum(target - ms.inventory, 0.0) * self.p.restock_speed, 0.0)
        # manufacturers produce from raw inputs bought now from the outside sector
        manufacturer = ms.tier == MANUFACTURER
        # capacity follows expected output slowly (machines and trained staff take months), with
        # a margin for peaks
        wanted = np.where(manufacturer & active, self.p.capacity_margin * ms.expected_sales / ms.markup, 0.0)
        rate = 1.0 - 0.5 ** (1.0 / self.p.capacity_halflife_days)
        ms.capacity[:] = np.where(manufacturer & active, ms.capacity + rate * (wanted - ms.capacity), 0.0)
        # suppliers stop trade credit to buyers long in arrears (the outside sector too)
        stop = (book.arrears[:n] > 0) & (t - book.arrears_day[:n] > self.p.credit_stop_days)
        inputs = self.input_edge
        supplied = manufacturer & active & (inputs >= 0)
        supplied[supplied] &= ~stop[inputs[supplied]]
        output = np.where(supplied, np.minimum(gap, ms.capacity), 0.0)
        # raw inputs bought on trade credit from the outside sector, due trade_terms_days later
        makers = np.flatnonzero(output > 0)
        book.due[(t + self.p.trade_terms_days) % self.slots, inputs[makers]] += output[makers]
        book.outstanding[inputs[makers]] += output[makers]
        ms.trade_payables += output
        model.outside.trade_receivables += output.sum()
        ms.inventory += output
        model.outside.month_merchant_sales += output.sum()
        # the others order from their suppliers, on trade credit
        orders = place_orders(book, np.where(manufacturer, 0.0, gap), stop)
        backlog_before = float(book.backlog[:n].sum())
        ship, demand = serve_orders(book, orders, np.maximum(ms.inventory, 0.0) * ms.markup, stop, t,
                                    self.p.backorder_days, self.p.rationed_fill)
        sold = np.bincount(book.supplier[:n], ship, minlength=ms.m)
        bought = np.bincount(book.buyer[:n], ship, minlength=ms.m)
        ms.inventory += bought - sold / ms.markup
        ms.sales_today += sold
        ms.demand_today += demand
        ms.trade_receivables += sold
        ms.trade_payables += bought
        book.due[(t + self.p.trade_terms_days) % self.slots, :n] += ship
        book.outstanding[:n] += ship
        self._update_expectations()
        model.today.shortfall_upstream += float(orders.sum() + backlog_before - ship.sum())  # unserved orders
        self._qualify_second_suppliers()

    def _qualify_second_suppliers(self) -> None:
        """A buyer rationed by a supplier for ``relink_delay_days`` has qualified another: half of
        that edge's purchase share moves to a new supplier of the same tier (chosen by size)."""
        model, ms, book, t = self.model, self.model.merchants, self.book, self.model.t
        n = book.n
        due = np.flatnonzero(book.live[:n] & (book.rationed_since[:n] != NEVER) &
                             (t - book.rationed_since[:n] >= model.cfg.network.relink_delay_days))
        if due.size == 0:
            return
        # a buyer keeps at most twice the suppliers it started with
        suppliers = np.bincount(book.buyer[:n][book.live[:n]], minlength=ms.m)
        allowed = 2 * np.maximum(np.bincount(self.net.buyer, minlength=ms.m), 1)
        for e in due:  # rare: supply shortages that last a month
            supplier, buyer = int(book.supplier[e]), int(book.buyer[e])
            if suppliers[buyer] >= allowed[buyer]:
                book.rationed_since[e] = NEVER
                continue
            suppliers[buyer] += 1
            new = self._pick(int(ms.tier[supplier]), 1, f"qualify.{e}", exclude=supplier)
            book.rationed_since[e] = NEVER
            if new.size == 0:
                continue
            share = 0.5 * book.weight[e]
            book.weight[e] -= share
            book.changed()
            ids = book.add(new, np.array([buyer]), np.array([share]))
            self.relink_day = _grow_like(self.relink_day, book.supplier.size, ids)

    def _update_expectations(self) -> None:
        """Retailers expect the consumer demand they see (before stock-outs, net of the season,
        so that neither stock-outs nor promotions feed on themselves). Suppliers expect their
        buyers' expected purchases, by purchase share: the demand signal travels up the chain
        without the bullwhip of unfilled orders placed again day after day."""
        model, ms, book = self.model, self.model.merchants, self.book
        active = ms.status != FAILED
        retail = (ms.tier == RETAILER) & active
        alpha = 1.0 - 0.5 ** (1.0 / self.p.sales_halflife_days)
        season = model.calendar.season[model.pos]
        ms.expected_sales[retail] += alpha * (ms.demand_today[retail] / season - ms.expected_sales[retail])
        # buyers' expected purchases, with retailers' stocking for the season ahead
        season_ahead = np.where(ms.tier == RETAILER, model.season_ahead[model.pos], 1.0)
        purchases = np.where(active, ms.expected_sales / ms.markup * season_ahead, 0.0)
        share = book.share_matrix(ms.m)
        upstream = share.T @ purchases
        supplier = ~retail & active
        ms.expected_sales[supplier] += alpha * (upstream[supplier] - ms.expected_sales[supplier])
        # the trend without the season (for staff and credit lines): the same signal, unseasoned
        ms.trend_sales[retail] = ms.expected_sales[retail]
        trend_up = share.T @ np.where(active, ms.trend_sales / ms.markup, 0.0)
        ms.trend_sales[supplier] += alpha * (trend_up[supplier] - ms.trend_sales[supplier])
        beta = 1.0 - 0.5 ** (1.0 / self.p.staff_longrun_halflife_days)
        ms.sales_longrun[active] += beta * (ms.trend_sales[active] - ms.sales_longrun[active])

    def _draw_credit(self, amount: np.ndarray) -> None:
        """Pay ``amount`` (per merchant) from the bank line, then the SCF line, then the cash
        ``buffer`` kept for wages, then the owner's funds (what is left, never expected, is an
        emergency overdraft: see :meth:`_cover_negative_cash`)."""
        ms = self.model.merchants
        if not amount.any():
            return
        bank = np.minimum(amount, np.maximum(ms.bank_limit - ms.bank_drawn, 0.0))
        scf = np.minimum(amount - bank, np.maximum(ms.scf_limit - ms.scf_drawn, 0.0))
        self._borrow(bank, scf)
        ms.cash -= amount   # what the lines did not bring in comes out of the buffer
        self._cover_negative_cash()

    def _borrow(self, bank: np.ndarray, scf: np.ndarray) -> None:
        """Draw ``bank`` on the bank lines and ``scf`` on the SCF lines into cash."""
        ms, model = self.model.merchants, self.model
        ms.bank_drawn += bank
        ms.scf_drawn += scf
        ms.cash += bank + scf
        model.outside.cash -= bank.sum()
        model.outside.bank_lent += bank.sum()
        model.lenders.cash[model.platform] -= scf.sum()
        model.lenders.scf_loans[model.platform] += scf.sum()

    def _cover_negative_cash(self) -> None:
        ms, model = self.model.merchants, self.model
        short = np.maximum(-ms.cash, 0.0)
        if not short.any():
            return
        bank = np.minimum(short, np.maximum(ms.bank_limit - ms.bank_drawn, 0.0))
        short -= bank
        scf = np.minimum(short, np.maximum(ms.scf_limit - ms.scf_drawn, 0.0))
        short -= scf
        if short.any():
            owner = np.minimum(short, self.owner_funds())
            self._from_owners(owner)
            short -= owner
        over = short > 1e-9
        ms.overdraft_day[over & (ms.overdraft_day == NEVER)] = model.t
        bank += short  # an emergency overdraft beyond the limit: arrears to the bank
        self._borrow(bank, scf)

    # ------------------------------------------------------------------ phase 7

    def payments(self) -> None:
        """Fixed costs, interest, invoices due (waterfall), line repayments, payouts."""
        model, ms, book, t = self.model, self.model.merchants, self.book, self.model.t
        out, plat = model.outside, model.platform
        active = ms.status != FAILED
        self._pay_wage_arrears()   # staff first
        fixed = np.where(active, ms.fixed_cost, 0.0)
        bank_interest = ms.bank_drawn * self.p.bank_rate / 365.0
        scf_interest = ms.scf_drawn * self.p.scf_rate / 365.0
        ms.cash -= fixed + bank_interest + scf_interest
        out.cash += fixed.sum() + bank_interest.sum()
        out.month_merchant_sales += fixed.sum()
        model.lenders.cash[plat] += scf_interest.sum()
        model.lenders.fee_income[plat] += scf_interest.sum()
        self._operating_losses()
        self._cover_negative_cash()
        self._update_scf_limits()
        # invoices due today, and arrears: cash first, then stretching, then credit for the
        # pressing ones (agents.trade.pay_invoices)
        n = book.n
        slot = t % self.slots
        due = book.due[slot, :n].copy()
        book.due[slot, :n] = 0.0
        book.outstanding[:n] -= due
        payable = due + book.arrears[:n]
        pressing = (book.arrears[:n] > 0) & (t - book.arrears_day[:n] >= self.p.stretch_days)
        # the buffer is kept for wages and urgent bills: suppliers are paid from cash above it,
        # then stretched; pressing invoices draw on the lines, then the buffer, then the owner
        buffer = np.clip(ms.cash, 0.0, self.p.protected_cash_share * cash_target(ms))
        credit_room = (np.maximum(ms.bank_limit - ms.bank_drawn, 0.0) + np.maximum(ms.scf_limit - ms.scf_drawn, 0.0)
                       + buffer + self.owner_funds())
        from_cash, from_credit = pay_invoices(payable, book.buyer[:n], pressing, ms.cash - buffer, credit_room, active)
        paid = from_cash + from_credit
        by_buyer = np.bincount(book.buyer[:n], paid, minlength=ms.m)
        on_credit = np.bincount(book.buyer[:n], from_credit, minlength=ms.m)
        ms.trade_payables -= by_buyer   # first, so that the owner sees the business's true net worth
        ms.cash -= by_buyer - on_credit
        self._draw_credit(on_credit)
        outside_owned = book.outside_owned[:n]
        to_suppliers = np.bincount(book.supplier[:n], np.where(outside_owned, 0.0, paid), minlength=ms.m)
        ms.cash += to_suppliers
        ms.trade_receivables -= to_suppliers
        to_outside = float(paid[outside_owned].sum())
        out.cash += to_outside
        out.trade_receivables -= to_outside
        left = payable - paid
        left[left < 1e-9] = 0.0
        had = book.arrears[:n] > 0
        book.arrears[:n] = left
        book.arrears_day[:n] = np.where(left > 0, np.where(had, book.arrears_day[:n], t), NEVER)
        self._repay_lines()
        if model.calendar.month_end[model.pos]:
            self._settle_with_owners()
        # distress: arrears beyond the stretch window, or a bank line nearly used up
        pressing = np.bincount(book.buyer[:n], np.where(t - book.arrears_day[:n] >= self.p.stretch_days,
                                                        book.arrears[:n], 0.0), minlength=ms.m)
        distressed = active & ((pressing > 0) | (ms.wage_arrears > 0) |
                               (ms.bank_drawn > self.p.distress_line_use * np.maximum(ms.bank_limit, 1e-9)))
        ms.status[:] = np.where(active, np.where(distressed, DISTRESSED, ACTIVE), FAILED)

    def _cash_budget_gap(self) -> np.ndarray:
        """Invoices due over the trade terms ahead against expected inflows (:func:`cash_budget_gap`)."""
        model, ms, book = self.model, self.model.merchants, self.book
        n = book.n
        horizon = self.slots - 1
        slots = (model.t + 1 + np.arange(horizon)) % self.slots
        due = book.due[slots, :n]                                    # (H, edges)
        mine = np.where(book.outside_owned[:n], 0.0, 1.0)
        payables = np.zeros((ms.m, horizon))
        receivables = np.zeros((ms.m, horizon))
        for h in range(horizon):
            payables[:, h] = np.bincount(book.buyer[:n], due[h], minlength=ms.m)
            receivables[:, h] = np.bincount(book.supplier[:n], due[h] * mine, minlength=ms.m)
        return cash_budget_gap(ms, payables, receivables)

    def _settle_with_owners(self) -> None:
        """Month end: payouts of cash above the buffer target to the owners, or top-ups from them
        (:func:`agents.merchant.owner_flows`); owners' business income follows the payouts."""
        model, cs, ms, p = self.model, self.model.consumers, self.model.merchants, self.p
        flow = owner_flows(ms, p.owner_topup_share, self.owner_funds(), self._cash_budget_gap())
        self._to_owners(flow)
        live = (ms.status != FAILED) & (ms.owner >= 0)
        weight = 1.0 - 0.5 ** (1.0 / p.owner_income_halflife_months)
        ms.owner_income[live] += weight * (flow[live] - ms.owner_income[live])
        owners = ms.owner[live]
        cs.base_income[owners] = np.maximum(ms.owner_income[live], 0.0)
        refresh_income(cs, owners, model.income_index[model.pos], model.cfg.labour.benefit_replacement)

    # ------------------------------------------------------------------ wages (phases 2 and 7)

    def pay_wages(self, staff: np.ndarray, wages: np.ndarray) -> np.ndarray:
        """Pay day of merchant staff ``staff`` (monthly ``wages``): each employer pays by the
        waterfall of :func:`agents.merchant.wage_waterfall` (cash, lines, owner) and owes the
        rest as wage arrears, shared over today's staff in proportion to their wages. Returns
        what each receives today (yuan).

        A worker still owed wages by a former employer is paid in full by the new one (one
        claim per consumer; the case is rare, wage arrears precede failure)."""
        cs, ms = self.model.consumers, self.model.merchants
        employer = cs.employer[staff]
        due = np.bincount(employer, wages, minlength=ms.m)
        unpaid = self._wage_waterfall(due)
        short = np.divide(unpaid, due, out=np.zeros(ms.m), where=due > 0)[employer]
        other_claim = (cs.wage_claim_on[staff] >= 0) & (cs.wage_claim_on[staff] != employer)
        if other_claim.any() and short[other_claim].any():
            extra = np.bincount(employer[other_claim], wages[other_claim] * short[other_claim], minlength=ms.m)
            ms.cash -= extra
            unpaid = unpaid - extra
            short[other_claim] = 0.0
            self._cover_negative_cash()
        owed = wages * short
        owing = owed > 0
        ms.cash += unpaid - np.bincount(employer, owed, minlength=ms.m)  # exactly what the staff are owed
        if owing.any():
            ids, by = staff[owing], employer[owing]
            cs.wage_claim[ids] += owed[owing]
            cs.wage_claim_on[ids] = by
            ms.wage_arrears += np.bincount(by, owed[owing], minlength=ms.m)
            first = (ms.wage_arrears > 0) & (ms.wage_arrears_day == NEVER)
            ms.wage_arrears_day[first] = self.model.t
            for f in np.unique(by):
                mine = ids[by == f]
                old = self.wage_claimants.get(int(f))
                self.wage_claimants[int(f)] = mine if old is None else np.union1d(old, mine)
        return wages - owed

    def _pay_wage_arrears(self) -> None:
        """Wage arrears come first in the day's payments: paid by the waterfall, to each
        claimant in proportion to what it is owed."""
        ms = self.model.merchants
        if not self.wage_claimants:
            return
        due = ms.wage_arrears.copy()
        unpaid = self._wage_waterfall(due)
        for f in list(self.wage_claimants):
            paid = due[f] - unpaid[f]
            if paid > 0:
                settled = self._settle_wage_claims(f, paid / due[f] if unpaid[f] > 0 else 1.0, paid=True)
                ms.cash[f] += paid - settled  # exactly what the claimants received

    def _wage_waterfall(self, due: np.ndarray) -> np.ndarray:
        """Raise cash for ``due`` (per merchant) from cash, the lines and the owner, and pay it
        out of the merchant's cash; returns what is left unpaid."""
        ms = self.model.merchants
        bank_room = np.maximum(ms.bank_limit - ms.bank_drawn, 0.0)
        scf_room = np.maximum(ms.scf_limit - ms.scf_drawn, 0.0)
        from_cash, from_credit, from_owner, unpaid = wage_waterfall(due, ms.cash, bank_room + scf_room,
                                                                    self.owner_funds())
        bank = np.minimum(from_credit, bank_room)
        self._borrow(bank, from_credit - bank)
        self._from_owners(from_owner)
        ms.cash -= from_cash + from_credit + from_owner
        return unpaid

    def _settle_wage_claims(self, f: int, share: float, paid: bool) -> float:
        """``share`` of what merchant ``f`` owes each claimant is settled: paid from the cash the
        merchant has already set aside (``paid``) or written off (a failed employer's estate
        falls short); all of it when ``share`` is 1. Returns the amount settled (yuan)."""
        cs, ms = self.model.consumers, self.model.merchants
        ids = self.wage_claimants[f]
        amount = cs.wage_claim[ids] * share
        if paid:
            cs.cash[ids] += amount
        if share >= 1.0:
            cs.wage_claim[ids] = 0.0
            cs.wage_claim_on[ids] = -1
            ms.wage_arrears[f] = 0.0
            ms.wage_arrears_day[f] = NEVER
            del self.wage_claimants[f]
        else:
            cs.wage_claim[ids] -= amount
            ms.wage_arrears[f] -= amount.sum()
        return float(amount.sum())

    def _operating_losses(self) -> None:
        """Idiosyncratic operating losses (fraud, lawsuits, breakdowns, a bad batch), paid to the
        outside sector: the source of failures in a calm economy."""
        model, ms, p = self.model, self.model.merchants, self.p
        rate = p.loss_shock_rate / 365.0
        draw = model.streams.uniform("merchant_loss", model.t, ms.m)
        hit = np.flatnonzero((draw < rate) & (ms.status != FAILED))
        if hit.size == 0:
            return
        months = p.loss_shock_min + (p.loss_shock_max - p.loss_shock_min) * draw[hit] / rate
        loss = months * DAYS_PER_MONTH * ms.expected_sales[hit]
        ms.cash[hit] -= loss
        ms.shock_day[hit] = model.t
        model.outside.cash += loss.sum()

    def _repay_lines(self) -> None:
        """Cash above working needs repays the SCF loan first, then the bank line
        (:func:`agents.merchant.line_repayments`)."""
        model, ms = self.model, self.model.merchants
        scf, bank = line_repayments(ms.cash, cash_target(ms), ms.scf_drawn, ms.bank_drawn, self.p.working_cash_share)
        ms.cash -= scf + bank
        ms.scf_drawn -= scf
        ms.bank_drawn -= bank
        model.lenders.cash[model.platform] += scf.sum()
        model.lenders.scf_loans[model.platform] -= scf.sum()
        model.outside.cash += bank.sum()
        model.outside.bank_lent -= bank.sum()
        ms.overdraft_day[ms.bank_drawn <= ms.bank_limit + 1e-6] = NEVER

    def _update_scf_limits(self) -> None:
        """SCF line: the advance rate on receivables, scaled by the platform's risk appetite
        (lines shrink in tightening; an ``scf_freeze`` shock closes them;
        :func:`agents.merchant.scf_limits`)."""
        model, ms = self.model, self.model.merchants
        limit, cut = scf_limits(ms.scf_enrolled, ms.status, ms.trade_receivables, ms.settlement_receivable(),
                                ms.scf_limit, ms.scf_drawn, self.p.scf_advance_rate,
                                model.lenders.appetite[model.platform], model.scf_frozen[model.pos])
        ms.line_cut_day[cut] = model.t
        ms.scf_limit[:] = limit

    # ------------------------------------------------------------------ phase 9

    def review(self) -> None:
        """Banks' risk appetite (daily); monthly (first of the month): bank-line limits follow
        trend revenue and the banks' appetite; customers churn; staff follow sales."""
        model, ms = self.model, self.model.merchants
        self._update_bank_appetite()
        if model.calendar.day_of_month[model.pos] != 1:
            return
        active = ms.status != FAILED
        normal = np.where(active & ms.bank_access, self.p.bank_line_months * DAYS_PER_MONTH * ms.trend_sales, 0.0)
        limit = normal * self.bank_appetite
        # a cut is the banks' decision when the line at normal appetite would still cover the
        # drawn amount; a line that shrinks with the merchant's own sales is not contagion
        decided = (limit < ms.bank_drawn - 1e-9) & (normal >= ms.bank_drawn - 1e-9) & (limit < ms.bank_limit)
        ms.line_cut_day[decided] = model.t
        ms.bank_limit[:] = limit
        self._churn_customers()
        self._plan_staff()

    def _update_bank_appetite(self) -> None:
        """Banks' risk appetite falls with unemployment above normal, with recent losses on
        merchants' lines, and with ``credit_tightening`` shocks for the banks; smoothed, bounded."""
        model, bp = self.model, self.model.cfg.banks
        u = 1.0 - np.count_nonzero(model.consumers.employed) / model.consumers.n
        excess = max(u - model.cfg.labour.unemployment_normal, 0.0)
        target = (1.0 - bp.appetite_unemployment * excess - bp.appetite_losses * self.bank_loss_rate
                  + self.bank_tightening[model.pos])
        target = min(max(target, bp.appetite_min), bp.appetite_max)
        self.bank_appetite += (1.0 - 0.5 ** (1.0 / bp.appetite_halflife_days)) * (target - self.bank_appetite)
        self.bank_loss_rate *= 0.5 ** (1.0 / bp.loss_halflife_days)

    def _bank_loss(self, amount: float) -> None:
        """A loss on a failed merchant's line raises the loss rate banks remember (yearly rate on
        drawn lines, decaying with ``banks.loss_halflife_days``)."""
        bp, out = self.model.cfg.banks, self.model.outside
        tau = bp.loss_halflife_days / np.log(2.0)
        self.bank_loss_rate += amount / max(out.bank_lent, 1.0) * 365.0 / tau

    def _churn_customers(self) -> None:
        """Retailers' appeal drifts and a share of customers move (idiosyncratic demand)."""
        model, cs, ms, p = self.model, self.model.consumers, self.model.merchants, self.p
        retail = (ms.tier == RETAILER) & (ms.status != FAILED)
        shock = model.streams.normal_at("retail_appeal", model.t, np.arange(ms.m))
        ms.appeal[:] = np.where(retail, drift_appeal(ms.appeal, p.appeal_persistence, p.appeal_sigma, shock), 0.0)
        churn = model.cfg.consumers.customer_churn
        if churn <= 0:
            return
        candidates = np.flatnonzero(retail)
        draw = model.streams.uniform("customer_churn", model.t, cs.retailers.size).reshape(cs.retailers.shape)
        cs.retailers[:] = churn_retailers(cs.retailers, draw, churn, candidates,
                                          ms.size[candidates] * np.exp(ms.appeal[candidates]))

    def _plan_staff(self) -> None:
        """Desired staff from sales (:func:`agents.merchant.desired_staff`); a share of any excess
        is laid off now; shortfalls are vacancies filled through the labour market."""
        model, cs, ms, p = self.model, self.model.consumers, self.model.merchants, self.p
        ms.staff_target[:] = desired_staff(ms, self.wage_share, p.staff_elasticity, p.distress_staff_cut,
                                           self.p.min_wage_share * model.cfg.consumers.income_median)
        going = layoffs_due(ms.staff, ms.staff_target, p.merchant_layoff_share,
                            model.streams.uniform("merchant_layoffs", model.t, ms.m))
        if not going.any():
            return
        # within each employer the staff with the highest consumer ids go first (a fixed rule)
        staff = np.flatnonzero(cs.employed & (cs.employer >= 0))
        staff = staff[np.argsort(cs.employer[staff], kind="stable")]
        employer = cs.employer[staff]
        rank_from_end = np.searchsorted(employer, employer, side="right") - 1 - np.arange(staff.size)
        self._separate(staff[rank_from_end < going[employer]])

    def vacancies(self) -> np.ndarray:
        """Open positions per merchant (desired staff above current staff), persons."""
        ms = self.model.merchants
        return np.where(ms.status != FAILED, np.maximum(ms.staff_target - ms.staff, 0), 0)

    def _separate(self, ids: np.ndarray) -> None:
        """Staff ``ids`` lose their jobs (layoffs and failures)."""
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        if ids.size == 0:
            return
        leave_jobs(cs.employed, cs.employer, cs.base_income, cs.outside_wage, ms.staff, ms.wage_bill, ids)
        refresh_income(cs, ids, model.income_index[model.pos], model.cfg.labour.benefit_replacement)
        model.today.layoffs += ids.size

    # ------------------------------------------------------------------ phase 10

    def defaults(self) -> None:
        """Merchants past the failure rule (:func:`agents.merchant.failure_due`) fail; their
        estate is shared by their creditors."""
        ms, book, t = self.model.merchants, self.book, self.model.t
        # arrears to suppliers, and an overdraft beyond the bank line (arrears to the bank);
        # payables merely stretched (overdue less than stretch_days) are not yet a default
        trade_arrears = book.arrears_by_buyer(ms.m)
        n = book.n
        unpaid = np.bincount(book.buyer[:n], np.where(t - book.arrears_day[:n] >= self.p.stretch_days,
                                                      book.arrears[:n], 0.0), minlength=ms.m)
        trade_oldest = book.oldest_arrears_day(ms.m) if trade_arrears.any() else np.full(ms.m, NEVER, dtype=np.int64)
        overdraft = np.maximum(ms.bank_drawn - ms.bank_limit, 0.0)
        failing = np.flatnonzero(failure_due(ms.status, trade_oldest, ms.overdraft_day, ms.wage_arrears_day, t,
                                             unpaid, overdraft, ms.wage_arrears, ms.expected_sales, ms.net_worth(),
                                             self.owner_funds(), self.p.failure_arrears_days,
                                             self.p.failure_arrears_months))
        for f in failing:  # the day's failures are few: settle each estate in turn
            self._fail(int(f), arrears=float(trade_arrears[f]),
                       shortfall=float(unpaid[f] + overdraft[f] + ms.wage_arrears[f]))
        self._relink_consumers()

    def _fail(self, f: int, arrears: float, forced: bool = False, shortfall: float = 0.0) -> None:
        """Merchant ``f`` fails today and its estate is settled (docs/model.md 7.22).

        The cause is attributed first (a forced failure is a root with cause ``liquidity``);
        the estate is realised in cash, which pays the staff first, then the other creditors
        pro rata, the residual going to the owner; the business closes, and the failure joins
        its cascade and is recorded.

        Parameters
        ----------
        f : int
            The failing merchant.
        arrears : float
            Its trade arrears (yuan), written to the failure row.
        forced : bool
            Whether a ``supplier_failure`` shock (``force_failure``) fails it, rather than the
            failure rule.
        shortfall : float
            The unpaid debts that make it fail (yuan): trade arrears beyond the stretch window,
            the overdraft beyond its bank line and wage arrears.
        """
        cause, parents = (CAUSE_LIQUIDITY, []) if forced else self._attribute(f, shortfall)
        self._realise_estate(f)
        # staff come first (PRC Enterprise Bankruptcy Law art. 113): their wage arrears
        wages_lost = self._pay_staff_from_estate(f)
        creditor_losses = self._pay_creditors(f, wages_lost)
        self._close_business(f)
        self._record_failure(f, cause, parents, arrears, creditor_losses)

    def _realise_estate(self, f: int) -> None:
        """Failed merchant ``f``'s assets are turned into cash.

        The settlements its lenders still owe it are paid now (accelerated); its inventory and
        fixed assets are sold to the outside sector at the fire-sale discounts; the invoices
        its buyers owe it are sold to the outside sector at the factoring discount. Those
        relations become outside-owned (the buyers keep paying on the original due dates, to
        the outside sector) and dead, and their buyers re-link ``relink_delay_days`` later.
        """
        model, ms, book, t = self.model, self.model.merchants, self.book, self.model.t
        out, n = model.outside, book.n
        # the estate: settlements due from the lenders (paid now), inventory sold at a fire-sale
        # discount, receivables sold to the outside sector at a factoring discount
        settle = ms.settlement_due[:, :, f].sum(axis=1)
        ms.settlement_due[:, :, f] = 0.0
        model.lenders.cash -= settle
        model.lenders.settlement_payable -= settle
        ms.cash[f] += settle.sum()
        fire_sale = ms.inventory[f] * (1 - self.p.fire_sale_haircut) + \
            ms.fixed_assets[f] * (1 - self.p.fixed_asset_haircut)
        out.cash -= fire_sale
        ms.cash[f] += fire_sale
        ms.inventory[f] = ms.fixed_assets[f] = 0.0
        sells = np.flatnonzero((book.supplier[:n] == f) & ~book.outside_owned[:n])
        face = float(book.owed()[sells].sum())
        book.outside_owned[sells] = True
        book.live[sells] = False
        book.backlog[sells] = 0.0          # its buyers' back-orders die with it
        book.weight[sells] = 0.0
        book.changed()
        self.relink_day[sells] = t + model.cfg.network.relink_delay_days
        ms.trade_receivables[f] -= face
        out.trade_receivables += face
        price = face * (1 - self.p.factoring_haircut)
        out.cash -= price
        ms.cash[f] += price

    def _pay_creditors(self, f: int, wages_lost: float) -> float:
        """Failed merchant ``f``'s cash, after its staff are paid, is shared by its creditors.

        The claims are all it owes its suppliers (invoices not yet due included, and those the
        outside sector owns), its bank line (emergency overdraft included) and the platform's
        SCF loan; the pool is its cash (at least 0), shared pro rata. The bank's loss raises the
        banks' remembered loss rate; the platform's is an SCF loss. What is left of the pool
        after every claim is paid in full goes to the owner (to the outside sector without one).

        Returns
        -------
        float
            The creditors' losses (yuan): ``wages_lost``, the staff's unpaid wages, plus what
            the suppliers, the outside sector, the bank and the platform do not recover.
        """
        model, ms, book = self.model, self.model.merchants, self.book
        out, plat, n = model.outside, model.platform, book.n
        # creditors: suppliers (or the outside sector for invoices it owns), the bank, the platform
        owes = np.flatnonzero((book.buyer[:n] == f))
        owed = book.owed()[owes]
        claims_trade = float(owed.sum())
        claims = claims_trade + ms.bank_drawn[f] + ms.scf_drawn[f]
        pool = max(ms.cash[f], 0.0)
        share = min(1.0, pool / claims) if claims > 0 else 0.0
        lost, outside_lost = self._pay_trade_creditors(f, owes, owed, share)
        self._record_losses(f, lost)
        # the bank and the platform's SCF loan
        bank_paid, scf_paid = ms.bank_drawn[f] * share, ms.scf_drawn[f] * share
        self._bank_loss(float(ms.bank_drawn[f] - bank_paid))
        out.cash += bank_paid
        out.bank_lent -= ms.bank_drawn[f]
        model.lenders.cash[plat] += scf_paid
        model.lenders.scf_loans[plat] -= ms.scf_drawn[f]
        model.lenders.scf_losses[plat] += ms.scf_drawn[f] - scf_paid
        model.today.scf_losses += float(ms.scf_drawn[f] - scf_paid)
        creditor_losses = float(wages_lost + lost.sum() + (ms.bank_drawn[f] - bank_paid) + (ms.scf_drawn[f] - scf_paid)
                                + outside_lost.sum())
        residual = pool - share * claims
        ms.cash[f] -= pool  # the pool went to creditors; anything left goes to the owner
        if ms.owner[f] >= 0:
            model.consumers.cash[ms.owner[f]] += residual
        else:
            out.cash += residual
        return creditor_losses

    def _pay_trade_creditors(self, f: int, owes: np.ndarray, owed: np.ndarray,
                             share: float) -> tuple[np.ndarray, np.ndarray]:
        """Failed merchant ``f``'s trade creditors receive ``share`` of what it owes them.

        ``owes`` are its payable relations and ``owed`` what it owes on each. Its suppliers are
        paid their share of their invoices, and the outside sector its share of the invoices it
        owns; the rest is written off. The relations are then closed and dead (back-orders
        cancelled) and its trade payables are 0.

        Returns
        -------
        lost : numpy.ndarray
            Each merchant's loss as its supplier (yuan, by merchant id).
        outside_lost : numpy.ndarray
            The outside sector's loss on each invoice it owns (yuan).
        """
        ms, book, out = self.model.merchants, self.book, self.model.outside
        # trade creditors
        received = owed * share
        outside_edge = book.outside_owned[owes]
        suppliers = book.supplier[owes]
        to_suppliers = np.bincount(suppliers, np.where(outside_edge, 0.0, received), minlength=ms.m)
        lost = np.bincount(suppliers, np.where(outside_edge, 0.0, owed - received), minlength=ms.m)
        ms.cash += to_suppliers
        ms.trade_receivables -= np.bincount(suppliers, np.where(outside_edge, 0.0, owed), minlength=ms.m)
        out.cash += float(received[outside_edge].sum())
        out.trade_receivables -= float(owed[outside_edge].sum())
        book.due[:, owes] = 0.0
        book.outstanding[owes] = 0.0
        book.arrears[owes] = 0.0
        book.arrears_day[owes] = NEVER
        book.live[owes] = False
        book.backlog[owes] = 0.0
        book.weight[owes] = 0.0
        book.changed()
        ms.trade_payables[f] = 0.0
        return lost, owed[outside_edge] - received[outside_edge]

    def _record_losses(self, f: int, lost: np.ndarray) -> None:
        """Suppliers' losses on failed merchant ``f`` are recorded for cause attribution.

        Every creditor's ``loss_sources`` record ``f``, the day, the loss and whether it is
        material against its net worth: above ``counterparty_materiality`` times its net worth
        before the loss (any loss, when that net worth was not positive); then its
        ``loss_day`` is today. (A loss can also be material against the shortfall of a later
        failure: :meth:`_attribute`.)
        """
        ms, t = self.model.merchants, self.model.t
        worth = ms.net_worth() + lost
        material = lost > np.maximum(self.p.counterparty_materiality * np.maximum(worth, 0.0), 1e-9)
        for creditor in np.flatnonzero(lost > 0):
            self.loss_sources[int(creditor)][f] = (t, float(lost[creditor]), bool(material[creditor]))
        ms.loss_day[material] = t

    def _close_business(self, f: int) -> None:
        """Failed merchant ``f`` closes.

        Its credit lines are closed, its status is failed, its staff lose their jobs and its
        owner loses the business and looks for work; a failed retailer is queued so that its
        consumers re-link; its expected and trend sales are 0.
        """
        model, ms, t = self.model, self.model.merchants, self.model.t
        ms.bank_drawn[f] = ms.scf_drawn[f] = ms.bank_limit[f] = ms.scf_limit[f] = 0.0
        ms.overdraft_day[f] = NEVER
        # staff lose their jobs; customers go elsewhere
        ms.status[f] = FAILED
        staff = np.flatnonzero(model.consumers.employed & (model.consumers.employer == f))
        self._separate(staff)
        self._owner_loses_business(f)
        if ms.tier[f] == RETAILER:
            self.closed_retailers.append(f)
        ms.failed_day[f] = t
        ms.expected_sales[f] = ms.trend_sales[f] = 0.0

    def _record_failure(self, f: int, cause: str, parents: list[int], arrears: float,
                        creditor_losses: float) -> None:
        """Failed merchant ``f`` joins a cascade and its failure is counted and recorded.

        With failed merchants among its ``parents``, it joins the lowest cascade among them,
        one generation after the highest; otherwise it starts a new cascade at generation 0.
        Its loss records are dropped. The failure row is written only in the recorded window
        (not in the burn-in); ``merchant_failures`` counts every failure and
        ``contagion_failures`` those whose cause is not ``liquidity``.
        """
        model, ms, t = self.model, self.model.merchants, self.model.t
        # cascade bookkeeping
        failed_parents = [p for p in parents if ms.generation[p] >= 0]
        if failed_parents:
            generation = 1 + int(max(ms.generation[p] for p in failed_parents))
            cascade = int(min(ms.cascade[p] for p in failed_parents))
        elif parents:  # hit by buyers paying late that have not failed: the root of a cascade
            generation, cascade = 0, self.next_cascade
            self.next_cascade += 1
        else:
            generation, cascade = 0, self.next_cascade
            self.next_cascade += 1
        ms.generation[f], ms.cascade[f] = generation, cascade
        self.loss_sources.pop(f, None)
        if t >= 0:  # burn-in is not recorded
            self.failure_rows.append({
                "date": np.datetime64(model.calendar.date(t)), "merchant_id": f, "tier": TIER_NAMES[ms.tier[f]],
                "cause": cause, "parents": parents, "generation": generation, "cascade_id": cascade,
                "arrears": arrears, "creditor_losses": creditor_losses})
        model.today.merchant_failures += 1
        model.today.contagion_failures += cause != CAUSE_LIQUIDITY

    def _pay_staff_from_estate(self, f: int) -> float:
        """The staff's wage arrears are paid first from failed merchant ``f``'s cash; what the
        cash does not cover is written off. Returns the staff's loss (yuan)."""
        ms = self.model.merchants
        owed = float(ms.wage_arrears[f])
        if f not in self.wage_claimants:
            return 0.0
        pool = max(float(ms.cash[f]), 0.0)
        if pool >= owed:
            ms.cash[f] -= self._settle_wage_claims(f, 1.0, paid=True)
            return 0.0
        if pool > 0:
            ms.cash[f] -= self._settle_wage_claims(f, pool / owed, paid=True)
        lost = self._settle_wage_claims(f, 1.0, paid=False)
        return lost

    def _attribute(self, f: int, shortfall: float = 0.0) -> tuple[str, list[int]]:
        """Why merchant ``f`` fails (a description, docs/model.md 7.22; causal effects come from paired runs, 9.3).

        The window runs back from the onset of its distress (the due day of its oldest unpaid
        arrears, or its first overdraft), since paying suppliers late delays the formal failure:
        ``counterparty`` when a failed debtor's write-off, or a buyer's late payment, hit it
        within ``contagion_window_days`` of that onset and was material: above
        ``counterparty_materiality`` of its net worth before the loss, or at least
        ``counterparty_shortfall_share`` of ``shortfall``, the unpaid debts that make it fail
        (parents: those counterparties); else ``credit_line`` when a lender's or the banks'
        decision cut a line it had drawn in that window; else ``liquidity``."""
        ms, book, t = self.model.merchants, self.book, self.model.t
        n = book.n
        window = self.p.contagion_window_days
        mine = book.buyer[:n] == f
        owing = mine & (book.arrears[:n] > 0)
        onset = int(min(t, book.arrears_day[:n][owing].min() if owing.any() else t,
                        ms.overdraft_day[f] if ms.overdraft_day[f] != NEVER else t,
                        ms.wage_arrears_day[f] if ms.wage_arrears_day[f] != NEVER else t))
        since = onset - window
        explains = self.p.counterparty_shortfall_share * shortfall if shortfall > 0 else np.inf
        parents = {p for p, (day, amount, material) in self.loss_sources.get(f, {}).items()
                   if day >= since and (material or amount >= explains)}
        # buyers paying it late beyond the stretch window: material overdue receivables
        late = ((book.supplier[:n] == f) & ~book.outside_owned[:n] & (book.arrears[:n] > 0)
                & (t - book.arrears_day[:n] >= self.p.stretch_days))
        if late.any():
            owed = np.bincount(book.buyer[:n][late], book.arrears[:n][late], minlength=ms.m)
            worth = max(float(ms.net_worth()[f] + owed.sum()), 0.0)
            material = (owed > max(self.p.counterparty_materiality * worth, 1e-9)) | ((owed > 0) & (owed >= explains))
            parents |= set(np.flatnonzero(material).tolist())
        if parents:
            return CAUSE_COUNTERPARTY, sorted(int(p) for p in parents)
        if ms.line_cut_day[f] >= since:
            return CAUSE_CREDIT_LINE, []
        return CAUSE_LIQUIDITY, []

    def _owner_loses_business(self, f: int) -> None:
        """The owner of failed merchant ``f`` loses the business income and looks for a job."""
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        owner = ms.owner[f]
        if owner < 0:
            return
        cs.employed[owner] = False
        cs.employer[owner] = OUTSIDE
        cs.base_income[owner] = cs.outside_wage[owner]
        refresh_income(cs, np.array([owner]), model.income_index[model.pos], model.cfg.labour.benefit_replacement)
        ms.owner[f] = -1
        ms.owner_income[f] = 0.0

    def force_failure(self, target) -> None:
        """A ``supplier_failure`` shock: merchant ``target`` (an id, or a tier name for that
        tier's largest active merchant) fails today, as a root failure."""
        ms = self.model.merchants
        if isinstance(target, str):
            cand = np.flatnonzero((ms.tier == TIER_NAMES.index(target)) & (ms.status != FAILED))
            if cand.size == 0:
                return
            target = int(cand[np.argmax(ms.expected_sales[cand])])
        if not 0 <= target < ms.m:
            raise ValueError(f"supplier_failure: target {target} is not a merchant id (0..{ms.m - 1})")
        if ms.status[target] != FAILED:
            self._fail(target, arrears=float(self.book.arrears_by_buyer(ms.m)[target]), forced=True)
            self._relink_consumers()

    def _relink_consumers(self) -> None:
        """Customers of the retailers that failed today move those links to other retailers
        (chosen by size; one scan of the links for all of the day's failures)."""
        if not self.closed_retailers:
            return
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        closed = np.array(self.closed_retailers)
        self.closed_retailers.clear()
        is_closed = np.zeros(ms.m, dtype=bool)
        is_closed[closed] = True
        rows, cols = np.nonzero(is_closed[cs.retailers])
        open_ = np.flatnonzero((ms.tier == RETAILER) & (ms.status != FAILED))
        if rows.size == 0 or open_.size == 0:
            return
        cum = np.cumsum(ms.size[open_])
        draw = model.streams.uniform_at("relink_consumer", model.t, rows * cs.retailers.shape[1] + cols)
        cs.retailers[rows, cols] = open_[np.minimum(np.searchsorted(cum, draw * cum[-1], side="right"),
                                                    open_.size - 1)]

    # ------------------------------------------------------------------ phase 11

    def entry(self) -> None:
        """Buyers of failed suppliers find new ones after the delay; failed slots are refilled
        with outside capital after ``entry_delay_days``."""
        ms, book, t = self.model.merchants, self.book, self.model.t
        n = book.n
        due = np.flatnonzero(self.relink_day[:n] == t)
        if due.size:
            self._relink_buyers(due)
        entrants = np.flatnonzero((ms.status == FAILED) & (ms.failed_day + self.p.entry_delay_days == t))
        for e in entrants:
            self._enter(int(e))
        if t == -1:   # the eve of the recorded window
            self.start_relations = self.relations()

    def _pick(self, tier: int, count: int, stream: str, exclude: int = -1) -> np.ndarray:
        """``count`` active merchants of ``tier`` chosen by size (with replacement)."""
        ms, model = self.model.merchants, self.model
        cand = np.flatnonzero((ms.tier == tier) & (ms.status != FAILED) & (np.arange(ms.m) != exclude))
        if cand.size == 0 or count == 0:
            return np.zeros(0, dtype=np.int64)
        cum = np.cumsum(ms.size[cand])
        draw = model.streams.uniform_at(stream, model.t, np.arange(count))
        return cand[np.minimum(np.searchsorted(cum, draw * cum[-1], side="right"), cand.size - 1)]

    def _relink_buyers(self, dead: np.ndarray) -> None:
        ms, book = self.model.merchants, self.book
        self.relink_day[dead] = NEVER
        buyers = book.buyer[dead]
        alive = ms.status[buyers] != FAILED
        dead, buyers = dead[alive], buyers[alive]
        old = book.supplier[dead]
        for tier in np.unique(ms.tier[old]):
            which = ms.tier[old] == tier
            new = self._pick(int(tier), int(which.sum()), f"relink_buyer.{tier}")
            if new.size:
                weight = self._weight_before_failure(dead[which], buyers[which])
                ids = book.add(new, buyers[which][:new.size], weight[:new.size])
                self.relink_day = _grow_like(self.relink_day, book.supplier.size, ids)

    def _weight_before_failure(self, dead: np.ndarray, buyers: np.ndarray) -> np.ndarray:
        """The purchase share a dead edge had: what the buyer's live shares miss from 1."""
        book = self.book
        n = book.n
        live_share = np.bincount(book.buyer[:n], np.where(book.live[:n], book.weight[:n], 0.0),
                                 minlength=self.model.merchants.m)
        missing = np.maximum(1.0 - live_share[buyers], 0.0)
        counts = np.bincount(buyers, minlength=self.model.merchants.m)[buyers]
        return missing / np.maximum(counts, 1)

    def _enter(self, e: int) -> None:
        """A new merchant in slot ``e``: outside capital, half the old sales expectation, new
        suppliers and buyers by size, staff hired from the unemployed."""
        model, ms, book = self.model, self.model.merchants, self.book
        t = model.t
        ms.status[e] = ACTIVE
        ms.expected_sales[e] = ms.trend_sales[e] = ms.sales_longrun[e] = 0.5 * ms.normal_sales[e]
        ms.inventory[e] = 0.0
        ms.loss_day[e] = ms.line_cut_day[e] = ms.shock_day[e] = NEVER
        ms.appeal[e] = 0.0
        ms.generation[e] = ms.cascade[e] = -1   # a new business: not part of its slot's old cascade
        ms.bank_limit[e] = (self.p.bank_line_months * DAYS_PER_MONTH * ms.expected_sales[e] * self.bank_appetite
                            if ms.bank_access[e] else 0.0)
        # outside capital: the cash buffer and stock money, paid by the outside sector; the fixed
        # assets (fit-out, equipment) come with it as a real investment (a new real asset, so net
        # worth and real assets rise together)
        ms.fixed_assets[e] = self.fixed_assets_months[ms.tier[e]] * DAYS_PER_MONTH * ms.expected_sales[e]
        capital = cash_target(ms)[e] + self.cover[ms.tier[e]] * ms.expected_sales[e] / ms.markup[e]
        ms.cash[e] += capital
        model.outside.cash -= capital
        if self.p.owner_households:
            self._new_owner(e)
        tier = int(ms.tier[e])
        if tier == MANUFACTURER:
            self._open_input_accounts(np.array([e]))
        net = self.net
        k_up = int(np.bincount(net.buyer, minlength=ms.m)[e])
        if k_up:
            suppliers = self._pick(tier + 1 if tier < MANUFACTURER else tier, k_up, f"entry_suppliers.{e}", e)
            if suppliers.size:
                book.add(suppliers, np.full(suppliers.size, e), np.full(suppliers.size, 1.0 / suppliers.size))
        k_down = int(np.bincount(net.supplier, minlength=ms.m)[e])
        if k_down and tier > RETAILER:
            buyers = np.unique(self._pick(tier - 1, k_down, f"entry_buyers.{e}", e))
            self._attach_buyers(e, buyers)
        if tier == RETAILER:
            self._attract_customers(e)
        self.relink_day = _grow_like(self.relink_day, book.supplier.size, np.zeros(0, dtype=np.int64))
        ms.staff_target[e] = desired_staff(ms, self.wage_share, self.p.staff_elasticity, self.p.distress_staff_cut,
                                           self.p.min_wage_share * model.cfg.consumers.income_median)[e]
        del t

    def _new_owner(self, e: int) -> None:
        """A job-seeker with savings starts the business in slot ``e`` (with outside capital) and
        lives on it: founders are drawn with probability proportional to their cash."""
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        seekers = np.flatnonzero(~cs.employed & (cs.cash > 0))
        if seekers.size == 0:  # nobody free: an outside employee leaves a job to run it
            seekers = np.flatnonzero(cs.employed & (cs.employer == OUTSIDE))
        # exponential race: the smallest -log(u) / cash wins with probability proportional to cash
        draw = model.streams.uniform_at(f"entry_owner.{e}", model.t, seekers)
        race = -np.log(np.maximum(draw, 1e-300)) / np.maximum(cs.cash[seekers], 1e-9)
        owner = int(seekers[np.argmin(race)])
        ms.owner[e] = owner
        ms.owner_income[e] = 0.0
        cs.employed[owner] = True
        cs.employer[owner] = SELF_EMPLOYED
        cs.base_income[owner] = 0.0
        refresh_income(cs, np.array([owner]), model.income_index[model.pos], model.cfg.labour.benefit_replacement)

    def _attach_buyers(self, e: int, buyers: np.ndarray) -> None:
        """Each buyer gives the entrant a share 1/(k+1) of its purchases, scaling down the rest."""
        book = self.book
        n = book.n
        k = np.bincount(book.buyer[:n][book.live[:n]], minlength=self.model.merchants.m)[buyers]
        scale = k / (k + 1.0)
        factor = np.ones(self.model.merchants.m)
        factor[buyers] = scale
        book.weight[:n] *= factor[book.buyer[:n]]
        book.changed()
        book.add(np.full(buyers.size, e), buyers, 1.0 / (k + 1.0))

    def _attract_customers(self, e: int) -> None:
        """Consumers discover the new retailer: as many links as its size warrants move to it."""
        model, cs, ms = self.model, self.model.consumers, self.model.merchants
        retail = (ms.tier == RETAILER) & (ms.status != FAILED)
        expected = cs.retailers.size * ms.size[e] / ms.size[retail].sum()
        ids = np.arange(cs.n)
        draw = model.streams.uniform_at(f"entry_customers.{e}", model.t, ids)
        chosen = ids[draw < expected / cs.n]
        cs.retailers[chosen, -1] = e


def _grow_like(array: np.ndarray, size: int, ids: np.ndarray) -> np.ndarray:
    """``array`` padded with NEVER to ``size`` (edge capacity grew)."""
    if array.size >= size:
        array[ids] = NEVER
        return array
    out = np.full(size, NEVER, dtype=array.dtype)
    out[:array.size] = array
    return out
