"""Stock-flow accounting: the invariants of docs/model.md section 8.

- total cash over all sectors, outside included, is constant (zero);
- each loan is an asset of exactly one agent and a liability of another:
  lender receivables = consumer balances (and every balance = its parts; the interest-free
  part of an instalment balance within it),
  consumers' expense arrears = the outside sector's claims on them,
  merchants' wage arrears = their staff's wage claims (merchant by merchant),
  settlements the lenders owe = settlements the merchants are owed,
  wholesale funding the lenders owe = funding the outside sector lent,
  trade receivables (suppliers' and the outside sector's) = trade payables,
  each merchant's trade books = the invoices on its trade relations,
  bank lines drawn = bank credit of the outside sector,
  SCF loans of the platform = SCF debt of the merchants;
- total net worth equals the real assets: merchants' inventory and fixed assets, on the
  gross basis (provisions, a contra-asset of the lenders, added back: the consumers owe the
  whole balance);
- each lender's provisions lie between zero and its receivables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class InvariantError(AssertionError):
    """An accounting identity broke; the message names the day and the figures."""


@dataclass(frozen=True)
class Breach:
    name: str
    left: float
    right: float

    def __str__(self) -> str:
        return f"{self.name}: {self.left:,.6f} != {self.right:,.6f} (difference {self.left - self.right:,.6f})"


def balance_sheets(model) -> dict[str, float]:
    """Net worth of each sector (yuan), each from its own books."""
    cs, acc, ms, lenders, out = model.consumers, model.accounts, model.merchants, model.lenders, model.outside
    return {
        "consumers": float(cs.cash.sum() + cs.wage_claim.sum() - acc.balance.sum() - cs.arrears.sum()),
        "merchants": float(ms.net_worth().sum()),
        "lenders": float(lenders.equity.sum()),
        "outside": float(out.cash + out.funding_lent.sum() + out.bank_lent + out.trade_receivables
                         + out.consumer_receivables),
    }


def invariants(model) -> list[Breach]:
    """Every invariant that does not hold today (empty when the books balance)."""
    cs, acc, ms, lenders, out = model.consumers, model.accounts, model.merchants, model.lenders, model.outside
    scale = float(np.abs(cs.cash).sum() + np.abs(ms.cash).sum() + abs(out.cash) + acc.balance.sum()
                  + ms.inventory.sum() + ms.trade_payables.sum() + 1.0)
    tol = 1e-9 * scale + 1e-6
    breaches = []

    def same(name, left, right, tolerance=tol):
        if not abs(left - right) <= tolerance:
            breaches.append(Breach(name, float(left), float(right)))

    total_cash = cs.cash.sum() + ms.cash.sum() + lenders.cash.sum() + out.cash
    same("total cash (consumers + merchants + lenders + outside)", total_cash, model.initial_total_cash)
    parts = acc.unbilled + acc.billed + acc.overdue + acc.revolving + acc.instalment_principal
    worst = float(np.abs(parts - acc.balance).max()) if parts.size else 0.0
    same("largest gap between an account's balance and its parts", worst, 0.0, 1e-6)
    for l, name in enumerate(model.lender_names):
        same(f"{name}: receivables vs consumer balances", lenders.receivables[l], acc.balance[l].sum())
        same(f"{name}: settlements payable vs merchants' settlement receivables",
             lenders.settlement_payable[l], ms.settlement_due[l].sum())
        same(f"{name}: wholesale funding owed vs lent by the outside sector",
             lenders.funding[l], out.funding_lent[l])
    book, m = model.supply.book, ms.m
    payables, receivables = book.payables(m), book.receivables(m)
    same("trade receivables (merchants + outside) vs trade payables",
         ms.trade_receivables.sum() + out.trade_receivables, ms.trade_payables.sum())
    same("largest gap between a merchant's trade payables and its invoices",
         float(np.abs(payables - ms.trade_payables).max()), 0.0)
    same("largest gap between a merchant's trade receivables and its invoices",
         float(np.abs(receivables - ms.trade_receivables).max()), 0.0)
    same("outside sector's trade receivables vs the invoices it owns", out.trade_receivables,
         book.outside_receivable())
    same("bank lines drawn vs bank credit of the outside sector", ms.bank_drawn.sum(), out.bank_lent)
    same(f"{model.lender_names[model.platform]}: SCF loans vs merchants' SCF debt",
         lenders.scf_loans.sum(), ms.scf_drawn.sum())
    same("consumers' expense arrears vs the outside sector's claims on them", cs.arrears.sum(),
         out.consumer_receivables)
    claimant = cs.wage_claim_on >= 0
    claims = np.bincount(cs.wage_claim_on[claimant], cs.wage_claim[claimant], minlength=m)
    same("largest gap between a merchant's wage arrears and its staff's wage claims",
         float(np.abs(claims - ms.wage_arrears).max()), 0.0)
    same("wage claims of consumers with no employer owing them", float(np.abs(cs.wage_claim[~claimant]).sum()), 0.0)
    if (cs.wage_claim < -1e-6).any() or (ms.wage_arrears < -1e-6).any():
        breaches.append(Breach("negative wage arrears or claims", float(min(cs.wage_claim.min(), ms.wage_arrears.min())),
                               0.0))
    if (cs.arrears < -1e-6).any():
        breaches.append(Breach("negative expense arrears", float(cs.arrears.min()), 0.0))
    if (acc.free_principal < -1e-6).any() or (acc.free_principal > acc.instalment_principal + 1e-6).any():
        breaches.append(Breach("interest-free principal outside [0, instalment principal]",
                               float(np.max(acc.free_principal - acc.instalment_principal, initial=0.0)), 0.0))
    if (acc.revolving < -1e-6).any():
        breaches.append(Breach("negative revolving balance", float(acc.revolving.min()), 0.0))
    if (ms.cash < -1e-6).any():
        breaches.append(Breach("negative merchant cash after the payment waterfall", float(ms.cash.min()), 0.0))
    if (acc.balance < -1e-6).any():
        breaches.append(Breach("negative account balance", float(acc.balance.min()), 0.0))
    for l, name in enumerate(model.lender_names):
        if not -tol <= lenders.provisions[l] <= lenders.receivables[l] + tol:
            breaches.append(Breach(f"{name}: provisions outside [0, receivables]", float(lenders.provisions[l]),
                                   float(lenders.receivables[l])))
    net_worth = sum(balance_sheets(model).values()) + lenders.provisions.sum()  # gross basis
    same("total net worth (provisions added back) vs real assets (inventory and fixed assets)", net_worth,
         ms.inventory.sum() + ms.fixed_assets.sum())
    return breaches


def check_invariants(model, raise_on_breach: bool = True) -> list[Breach]:
    """Check every invariant; raise :class:`InvariantError` on the first day one breaks."""
    breaches = invariants(model)
    if breaches and raise_on_breach:
        lines = "\n  ".join(str(b) for b in breaches)
        raise InvariantError(f"accounting invariant broken on day {model.t} ({model.date}):\n  {lines}")
    return breaches
