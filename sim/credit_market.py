"""The consumer-credit side: the lenders' daily work on their accounts (docs/model.md
sections 7.6-7.8 and 7.14-7.19).

:class:`CreditMarket` owns the lender phases of the day and is driven by
:class:`sim.model.CreditModel`; the rules it applies live in :mod:`agents.lender`,
:mod:`agents.accounts` and :mod:`agents.consumer`:

- phase 3 (its end) :meth:`apply_for_second_accounts`: shoppers short of credit apply at
  another lender; underwriting;
- phase 4 :meth:`monitor`: the anomaly monitor on today's credit purchases; promotion
  temporary limits open with a window and expire after it, with reversion cuts;
- phase 7 :meth:`pay_costs`: lenders' funding interest, month-end dividends and
  recapitalisation, wholesale funding;
- phase 8 :meth:`repay`: overdue accounts (DPD, late fees, freezes); statements and
  charge-offs; due dates; wholesale funding;
- phase 9 :meth:`review`: risk appetite; scheduled re-estimation and scorecard changes; the
  staggered monthly review (applications, attrition, the limit policy); provisions;
  credit-limit experiments;
- month end :meth:`close_month`: the lenders' income estimates catch up.

Every limit change goes through :meth:`set_limit` (:func:`agents.lender.set_limit`), which
logs its cause. The state stays on the model (``model.accounts``, ``model.lenders``,
``model.primary``, ``model.income_estimate``, ``model.snapshots``, ``model.log``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.accounts import (charge_offs_due, close_accounts, collect_due, collect_overdue, cut_statements,
                             forget_chance)
from agents.consumer import BILLING_DAYS, DAYS_PER_MONTH, able_to_pay, primary_line
from agents.lender import (anomaly_monitor, application_probability, attrition_rate, capital_flows, cut_causes,
                           eligible_applicants, enrol_experiment, expire_temporary_limits, features,
                           grant_temporary_limits, limit_review, observed_income, open_accounts, promotion_reversion,
                           raised_limit, reestimation_sample, refit_score, set_limit, sigmoid, target_limit,
                           underwrite, update_appetite, update_income_estimate, update_provisions, update_scorecard,
                           write_off)

if TYPE_CHECKING:
    from sim.model import CreditModel

BALANCE_EPSILON = 0.005            # balances below half a fen count as paid up (rounding residue)


class CreditMarket:
    """The consumer-credit side of the model (see the module docstring)."""

    def __init__(self, model: CreditModel):
        self.model = model

    # ------------------------------------------------------------------ consumers and lines

    def able(self, idx: np.ndarray) -> np.ndarray:
        """Cash consumers ``idx`` can put toward a bill (:func:`agents.consumer.able_to_pay`)."""
        model = self.model
        cs = model.consumers
        return able_to_pay(cs.cash[idx], cs.income[idx], model.cfg.consumers.reserve_months)

    def _able_to_repay(self, idx: np.ndarray) -> np.ndarray:
        """What consumers ``idx`` put toward their credit bills: fraudsters never repay."""
        return np.where(self.model.consumers.fraud[idx], 0.0, self.able(idx))

    def observed_income(self, l: int, idx: np.ndarray) -> np.ndarray:
        """Income as lender ``l`` sees it: its lagged estimate (:func:`agents.lender.update_income_estimate`)
        with a persistent error (:func:`agents.lender.observed_income`)."""
        model = self.model
        return observed_income(model.income_estimate[l], idx, model.lender_params[l].income_noise, model.streams,
                               model.lender_names[l])

    def choose_primary(self, idx: np.ndarray) -> None:
        """Each consumer's first-choice line (:func:`agents.consumer.primary_line`)."""
        model = self.model
        model.primary[idx] = primary_line(model.accounts.open[:, idx], model.platform)

    def set_limit(self, l: int, idx: np.ndarray, new: np.ndarray, cause) -> None:
        """Change fixed limits and record the change with its cause (:func:`agents.lender.set_limit`)."""
        model = self.model
        held = None if model.held is None or not model.held[l, :, model.pos].any() else model.held[l, :, model.pos]
        set_limit(model.accounts, model.log, model.consumers.last_cut_day, l, idx, new, cause, model.t,
                  bool(model.experiments), held)

    def _close(self, l: int, idx: np.ndarray) -> None:
        """Close accounts (:func:`agents.accounts.close_accounts`); consumers re-choose their
        primary line."""
        close_accounts(self.model.accounts, l, idx, self.model.t)
        self.choose_primary(idx)

    def _statement_group(self, dom: int) -> np.ndarray:
        """Consumers whose statement day is day-of-month ``dom``."""
        return self.model.groups["statement_day"][dom - 1]

    # ------------------------------------------------------------------ 3: applications

    def apply_for_second_accounts(self, who: np.ndarray) -> None:
        """Constrained shoppers ``who`` apply, with probability ``open_second_probability``, at
        every lender where they hold no account."""
        model = self.model
        if who.size == 0 or len(model.lender_names) < 2:
            return
        acc, t = model.accounts, model.t
        u = model.streams.uniform_at("second_account", t, who)
        applicants = who[u < model.cfg.consumers.open_second_probability]
        for l in range(len(model.lender_names)):
            cand = applicants[~acc.open[l][applicants]]
            self._consider_applications(l, cand)

    def _consider_applications(self, l: int, idx: np.ndarray) -> None:
        """Underwrite applications at lender ``l`` (:func:`agents.lender.underwrite`)."""
        model = self.model
        acc, t = model.accounts, model.t
        if idx.size == 0:
            return
        idx = eligible_applicants(acc, l, idx, t, model.lender_params[l].reapply_after_charge_off_days)
        if idx.size == 0:
            return
        observed = self.observed_income(l, idx)
        X = features(acc, l, idx, t, observed, model.cfg.consumers.income_median)
        approve, pd, limit = underwrite(X, model.lenders.weights[l], observed, model.lenders.appetite[l],
                                        model.lender_params[l], model.lender_params[l].new_account_limit_share)
        new = idx[approve]
        open_accounts(acc, l, new, limit, pd[approve], t)
        model.today.accounts_opened[l] += new.size
        self.choose_primary(new)

    # ------------------------------------------------------------------ 4: monitor

    def monitor(self) -> None:
        """Anomaly monitor on today's credit purchases (:func:`agents.lender.anomaly_monitor`);
        promotion temporary limits."""
        model = self.model
        acc = model.accounts
        if model.today.credit_purchases is not None:
            who, credit = model.today.credit_purchases
            for l, p in enumerate(model.lender_params):
                buy = credit[l] > 0
                idx, x = who[buy], credit[l][buy]
                if idx.size == 0:
                    continue
                # both thresholds (the z-score and the share of the limit) scale with a strictness
                # shock; under promotion-aware monitoring z also rises with the season, and the
                # share is of the whole line (the temporary limit included)
                strict = model.strictness[l, model.pos]
                z = p.anomaly_z * strict
                if p.promotion_aware:
                    z *= model.calendar.season[model.pos]
                flagged = anomaly_monitor(acc, l, p, idx, x, z, model.t, p.anomaly_limit_share * strict,
                                          p.promotion_aware)
                if flagged.size:
                    self.set_limit(l, flagged, acc.fixed_limit[l][flagged] * (1 - p.anomaly_cut), "anomaly")
                    model.today.anomaly_flags[l] += flagged.size
        self._promotions()

    def _promotions(self) -> None:
        """Temporary limits open with a promotion window and expire after it; at expiry the
        accounts are re-scored, and a reversion cut follows only where the account is drawn
        beyond its fixed limit and the re-score calls for a cut
        (:func:`agents.lender.promotion_reversion`)."""
        model = self.model
        acc, t = model.accounts, model.t
        for w in model.calendar.windows_starting(t):
            for l, p in enumerate(model.lender_params):
                grant_temporary_limits(acc, l, p, w.end + p.promo_grace_days, float(model.lenders.appetite[l]))
        for l, p in enumerate(model.lender_params):
            if t not in model.expiry_days[l]:
                continue
            expiring = expire_temporary_limits(acc, model.log, l, p, t)
            if expiring.size == 0:
                continue
            observed = self.observed_income(l, expiring)
            X = features(acc, l, expiring, t, observed, model.cfg.consumers.income_median)
            pd = sigmoid(X @ model.lenders.weights[l])
            acc.pd[l][expiring] = pd
            target = target_limit(pd, observed, model.lenders.appetite[l], p)
            cut, new = promotion_reversion(acc.balance[l][expiring], acc.fixed_limit[l][expiring], target, p)
            if cut.any():
                self.set_limit(l, expiring[cut], new, "promo_reversion")

    # ------------------------------------------------------------------ 7: lenders' costs

    def pay_costs(self) -> None:
        """Lenders' funding interest, month-end dividends and recapitalisation
        (:func:`agents.lender.capital_flows`), then funding."""
        model = self.model
        lenders, out = model.lenders, model.outside
        interest = lenders.funding * model.funding_rate[model.pos] / 365.0
        lenders.cash -= interest
        lenders.interest_cost += interest
        out.cash += interest.sum()
        if model.calendar.month_end[model.pos]:
            params = model.lender_params
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
        lenders, out = self.model.lenders, self.model.outside
        flow = np.maximum(-lenders.cash, 0.0) - np.minimum(np.maximum(lenders.cash, 0.0), lenders.funding)
        lenders.cash += flow
        lenders.funding += flow
        out.funding_lent += flow
        out.cash -= flow.sum()

    # ------------------------------------------------------------------ 8: repayment

    def repay(self) -> None:
        """Overdue accounts accrue DPD and late fees and pay what they can; statements are cut;
        due statements are paid in full, in part, or missed; freezes and charge-offs
        (:mod:`agents.accounts`); then funding."""
        model = self.model
        acc = model.accounts
        for l in range(len(model.lender_names)):
            overdue = self._collect_overdue(l)
            if model.dom <= BILLING_DAYS:
                self._cut_statements(l)
                self._collect_due(l)
            # DPD > 0 only on accounts that were overdue this morning: count delinquency there
            dpd = acc.dpd[l][overdue]
            model.today.dpd30_count[l] = np.count_nonzero(dpd >= 30)
            model.today.dpd90_count[l] = np.count_nonzero(dpd >= 90)
        self._fund_lenders()

    def _collect_overdue(self, l: int) -> np.ndarray:
        """A day past due on the overdue accounts (:func:`agents.accounts.collect_overdue`);
        freezes. Returns their ids."""
        model = self.model
        idx = np.flatnonzero(model.accounts.overdue[l] > 0)
        if idx.size == 0:
            return idx
        notice = model.streams.uniform_at(f"notice.{model.lender_names[l]}", model.t, idx) < \
            model.cfg.consumers.notice_probability
        able = self._able_to_repay(idx)
        # a consumer whose debt was called in (frozen) pays it off in instalments at most
        frozen = model.accounts.frozen[l][idx]
        cap = model.cfg.consumers.collections_payment_share * model.consumers.income[idx] / DAYS_PER_MONTH
        able[frozen] = np.minimum(able[frozen], cap[frozen])
        repaid, freeze = collect_overdue(model.accounts, model.lenders, model.consumers.cash, able, l,
                                         model.lender_params[l], idx, notice, model.t)
        model.today.repayments[l] += repaid
        if freeze.size:
            self.set_limit(l, freeze, np.zeros(freeze.size), "freeze")
        return idx

    def _cut_statements(self, l: int) -> None:
        """Statement day: accounts at or beyond the charge-off DPD are charged off, the others
        get their bill (:func:`agents.accounts.cut_statements`)."""
        model = self.model
        acc = model.accounts
        idx = self._statement_group(model.dom)
        idx = idx[acc.open[l][idx]]
        if idx.size == 0:
            return
        off = charge_offs_due(acc, l, idx, model.lender_params[l])
        if off.size:
            self.set_limit(l, off, np.zeros(off.size), "charge_off")
            amount = write_off(acc, model.lenders, l, off, model.t)
            self._close(l, off)
            acc.charged_off[l][off] = True
            model.today.charge_offs[l] += off.size
            model.today.charge_off_amount[l] += amount
            idx = idx[acc.open[l][idx]]
        cut_statements(acc, model.lenders, l, idx, model.lender_params[l], DAYS_PER_MONTH)

    def _collect_due(self, l: int) -> None:
        """Due date of the statements cut ``statement_grace_days`` ago
        (:func:`agents.accounts.collect_due`)."""
        model = self.model
        acc, cs, p = model.accounts, model.consumers, model.lender_params[l]
        due_dom = (model.dom - 1 - p.statement_grace_days) % BILLING_DAYS + 1
        idx = self._statement_group(due_dom)
        idx = idx[acc.open[l][idx] & ((acc.billed[l][idx] > 0) | (acc.revolving[l][idx] > 0))]
        if idx.size == 0:
            return
        forgets = model.streams.uniform_at(f"forget.{model.lender_names[l]}", model.t, idx) < \
            forget_chance(cs.forgetfulness[idx], p.reminders, p.reminder_effect)
        if p.reminders:   # one reminder per bill due, paid to the outside sector
            cost = idx.size * p.reminder_cost
            model.lenders.cash[l] -= cost
            model.outside.cash += cost
            model.today.reminder_cost[l] += cost
        carry = cs.target_utilisation[idx] * (acc.fixed_limit[l][idx] + acc.temp_limit[l][idx])
        repaid, late = collect_due(acc, model.lenders, cs.cash, self._able_to_repay(idx), l, idx, forgets, model.t,
                                   carry, p, model.cfg.consumers.credit_adjustment_rate,
                                   np.maximum(cs.cash[idx] - cs.buffer_months[idx] * cs.income[idx], 0.0))
        model.today.repayments[l] += repaid
        model.today.missed_payments[l] += late.size

    # ------------------------------------------------------------------ 9: review

    def review(self) -> None:
        """Risk appetite; scheduled re-estimation; staggered monthly reviews; applications;
        provisions on the day's closing balances; credit-limit experiments starting today."""
        model = self.model
        self._update_appetite()
        for l in range(len(model.lender_names)):
            self._maybe_reestimate(l)
            if model.dom <= BILLING_DAYS:
                self._review_accounts(l)
            self._provide(l)
        for s in model.experiments:
            if s.start == model.t:
                self._start_experiment(s)

    def _update_appetite(self) -> None:
        """Risk appetite (:func:`agents.lender.update_appetite`)."""
        model = self.model
        cs = model.consumers
        update_appetite(model.lenders, model.lender_params, 1.0 - np.count_nonzero(cs.employed) / cs.n,
                        model.cfg.labour.unemployment_normal, model.funding_rate[model.pos],
                        model.cfg.macro.funding_rate_normal, model.tightening[:, model.pos],
                        model.today.dpd30_count, np.count_nonzero(model.accounts.open, axis=1))

    def _provide(self, l: int) -> None:
        """Expected-loss provisions (:func:`agents.lender.update_provisions`)."""
        model = self.model
        acc = model.accounts
        update_provisions(model.lenders, l, acc.balance[l], acc.dpd[l], acc.pd[l], model.lender_params[l])

    def _maybe_reestimate(self, l: int) -> None:
        """Cause 1 on schedule (or a ``model_update`` shock): refit the score
        (:func:`agents.lender.refit_score`), then take a new snapshot of performing accounts with
        the weights in force (for the out-of-time AUC). A ``model_update`` with a feature
        replaces that weight of the scorecard instead (:func:`agents.lender.update_scorecard`)."""
        model = self.model
        p, t, acc = model.lender_params[l], model.t, model.accounts
        for s in model.scorecard_changes:
            if s.start == t and s.lender in (None, model.lender_names[l]):
                update_scorecard(model.lenders, l, s.feature, s.weight)
        forced = (t, None) in model.model_updates or (t, model.lender_names[l]) in model.model_updates
        due = (t - model.calendar.first) % p.reestimate_every_days == 0
        if not (due or forced):
            return
        snaps = model.snapshots.setdefault(l, [])
        refit_score(acc, model.lenders, l, p, snaps, t)
        open_idx = np.flatnonzero(acc.open[l])
        performing = open_idx[acc.dpd[l][open_idx] < 30]  # fitted on accounts below 30 DPD at the snapshot
        if performing.size == 0:
            return
        draw = model.streams.uniform_at(f"reestimate.{model.lender_names[l]}", t, performing)
        sample = reestimation_sample(performing, draw, p.reestimate_sample)
        observed = self.observed_income(l, sample)
        snaps.append((t, sample, features(acc, l, sample, t, observed, model.cfg.consumers.income_median),
                      model.lenders.weights[l].copy()))

    def _review_accounts(self, l: int) -> None:
        """Monthly review (staggered by statement day): applications from consumers without an
        account here; voluntary attrition of paid-up accounts; the limit review."""
        model = self.model
        acc, cs, p, t = model.accounts, model.consumers, model.lender_params[l], model.t
        group = self._statement_group((model.dom - 1 - 14) % BILLING_DAYS + 1)
        name = model.lender_names[l]
        absent = group[~acc.open[l][group]]
        if absent.size:
            apply_p = application_probability(np.count_nonzero(acc.open[l]) / cs.n, p,
                                              p.attrition_monthly, p.acquisition_response)
            u = model.streams.uniform_at(f"apply.{name}", t, absent)
            self._consider_applications(l, absent[u < apply_p])
        idx = group[acc.open[l][group]]
        if idx.size == 0:
            return
        paid_up = acc.balance[l][idx] < BALANCE_EPSILON
        rate = attrition_rate(paid_up, p.attrition_monthly)
        quit_ = idx[paid_up & (model.streams.uniform_at(f"attrition.{name}", t, idx) < rate)]
        # accounts opened today are not closed; closures keep their history for a re-application
        self._close(l, quit_[acc.open_day[l][quit_] < t])
        self._review_limits(l, idx[acc.open[l][idx]])

    def _review_limits(self, l: int, idx: np.ndarray) -> None:
        """Score the reviewed accounts, then the limit policy (:func:`agents.lender.limit_review`):
        unfreezes, cuts (by cause: review or macro) and raises."""
        model = self.model
        acc, p, t = model.accounts, model.lender_params[l], model.t
        observed = self.observed_income(l, idx)
        X = features(acc, l, idx, t, observed, model.cfg.consumers.income_median)
        pd = sigmoid(X @ model.lenders.weights[l])
        acc.pd[l][idx] = pd
        target = target_limit(pd, observed, model.lenders.appetite[l], p)
        fixed = acc.fixed_limit[l][idx]
        unfreeze, cut, raise_ = limit_review(X[:, 1], target, fixed, acc.frozen[l][idx], acc.dpd[l][idx],
                                             acc.protected_until[l][idx] > t, t - acc.open_day[l][idx],
                                             t - model.consumers.last_cut_day[idx], p, p.clean_late_score)
        acc.frozen[l, idx[unfreeze]] = False
        if cut.any():
            causes = cut_causes(pd[cut], observed[cut], fixed[cut], p)
            self.set_limit(l, idx[cut], target[cut], causes)
        if raise_.any():
            self.set_limit(l, idx[raise_], raised_limit(fixed[raise_], target[raise_], p), "raise")

    def _start_experiment(self, s) -> None:
        """A credit-line experiment: a random share of open accounts get their limit changed by
        ``size``; treated and control keep their limits until the shock ends."""
        model = self.model
        l = model.lender_index[s.lender]
        acc = model.accounts
        idx = np.flatnonzero(acc.open[l] & ~acc.frozen[l] & (acc.fixed_limit[l] > 0) & (acc.dpd[l] == 0))
        u = model.streams.uniform_at(f"experiment.{s.lender}.{s.start}", model.t, idx)
        treated = idx[u < s.share]
        enrol_experiment(acc, l, idx, treated, s.end)
        self.set_limit(l, treated, acc.fixed_limit[l][treated] * (1 + s.size), "experiment")

    # ------------------------------------------------------------------ month end

    def close_month(self) -> None:
        """Month end: each lender's income estimate moves toward current incomes
        (:func:`agents.lender.update_income_estimate`)."""
        model = self.model
        for l, p in enumerate(model.lender_params):
            update_income_estimate(model.income_estimate[l], model.consumers.income, p.income_halflife_months)
