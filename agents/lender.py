"""Lenders and their consumer accounts: state stores, Mesa view agent, and the
four causes of limit cuts (scoring updates, anomaly monitoring, macro
tightening, promotion cycles) as vectorised rules.

Account arrays have shape ``(L, n)``: one row per lender, one column per
consumer. A consumer without an account at a lender has ``open`` false there.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from agents.base import ViewAgent
from sim.config import LenderParams

NEVER = -10**9  # a day that never was: 'never happened' for day fields

CAUSES = ("review", "anomaly", "macro", "promo_expiry", "promo_reversion", "freeze", "raise",
          "experiment", "charge_off")
CAUSE_CODE = {c: i for i, c in enumerate(CAUSES)}

FEATURES = ("intercept", "late_12m", "dpd_30", "utilisation", "log_income", "other_accounts",
            "tenure_years", "spend_volatility", "anomaly_flags")

LATE_DECAY_DAYS = 365.0     # a late payment's weight falls by e in a year ("late in 12 months")
ANOMALY_DECAY_DAYS = 90.0   # an anomaly flag's weight falls by e in 90 days ("recent flags")
INTERCEPT_RIDGE = 0.1      # ridge on the intercept in the re-estimation
BUREAU_LAG_DAYS = 30        # a new account shows at the credit bureau after this lag


@dataclass(slots=True)
class Accounts:
    """Columnar state of every consumer's account at every lender, shape (L, n)."""

    open: np.ndarray            # bool: account open
    fixed_limit: np.ndarray     # 固定额度 fixed limit, yuan
    temp_limit: np.ndarray      # 临时额度 temporary limit, yuan
    temp_expiry: np.ndarray     # int: last day the temporary limit can be used (removed that evening)
    unbilled: np.ndarray        # purchases since the last statement, yuan
    billed: np.ndarray          # last statement not yet due, yuan
    overdue: np.ndarray         # past-due amount including late fees, yuan
    instalment_principal: np.ndarray  # 分期 principal outstanding on instalment plans, yuan
    instalment_months: np.ndarray     # int: months left on the (merged) instalment plan
    balance: np.ndarray         # all the consumer owes: unbilled + billed + overdue + instalments, yuan
    dpd: np.ndarray             # int: days past due
    frozen: np.ndarray          # bool: frozen for delinquency
    forgot: np.ndarray          # bool: missed the last due date by forgetting (pays on noticing)
    charged_off: np.ndarray     # bool: account closed by charge-off
    open_day: np.ndarray        # int: day opened (tenure)
    closed_day: np.ndarray      # int: day closed (NEVER while open or never opened)
    late_score: np.ndarray      # late payments, decaying with LATE_DECAY_DAYS, as of late_day
    late_day: np.ndarray        # int
    anomaly_score: np.ndarray   # anomaly flags, decaying with ANOMALY_DECAY_DAYS, as of anomaly_day
    anomaly_day: np.ndarray     # int
    spend_mean: np.ndarray      # smoothed credit spending on shopping days, yuan
    spend_var: np.ndarray       # its smoothed variance, yuan^2
    spend_obs: np.ndarray       # int: observations in the monitor (capped)
    last_30dpd_day: np.ndarray  # int: last day the account reached 30 DPD
    pd: np.ndarray              # probability of default at the last review
    protected_until: np.ndarray  # int: experiment accounts keep their limit until this day
    treated: np.ndarray         # int8: 1 treated, 0 control, -1 not in an experiment
    month_credit: np.ndarray    # credit spending this month (panel), yuan

    @classmethod
    def empty(cls, n_lenders: int, n: int) -> "Accounts":
        shape = (n_lenders, n)
        ints = {"temp_expiry", "instalment_months", "dpd", "open_day", "closed_day", "late_day",
                "anomaly_day", "spend_obs", "last_30dpd_day", "protected_until"}
        bools = {"open", "frozen", "forgot", "charged_off"}
        kw = {}
        for f in fields(cls):
            if f.name in bools:
                kw[f.name] = np.zeros(shape, dtype=bool)
            elif f.name == "treated":
                kw[f.name] = np.full(shape, -1, dtype=np.int8)
            elif f.name in ints:
                fill = NEVER if f.name in ("closed_day", "last_30dpd_day", "late_day", "anomaly_day",
                                           "protected_until", "temp_expiry") else 0
                kw[f.name] = np.full(shape, fill, dtype=np.int64)
            else:
                kw[f.name] = np.zeros(shape)
        return cls(**kw)

    def row(self, lender: int, consumer: int) -> dict:
        return {f.name: getattr(self, f.name)[lender, consumer].item() for f in fields(self)}

    def line(self, l: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Limit (fixed + temporary), balance and available credit of accounts ``idx`` at
        lender ``l``. Closed and frozen accounts carry no limit, and temporary limits are zeroed
        at the end of their expiry day, so no further masks are needed; an account past due
        cannot spend."""
        limit = self.fixed_limit[l][idx] + self.temp_limit[l][idx]
        balance = self.balance[l][idx]
        available = np.where(self.dpd[l][idx] == 0, np.maximum(limit - balance, 0.0), 0.0)
        return limit, balance, available


@dataclass(slots=True)
class LenderState:
    """Balance sheet and policy state of every lender (arrays of length L)."""

    cash: np.ndarray            # yuan
    funding: np.ndarray         # wholesale funding owed to the outside sector, yuan
    receivables: np.ndarray     # consumer balances on the lender's book, yuan
    settlement_payable: np.ndarray  # credit sales owed to merchants, yuan
    scf_loans: np.ndarray       # supply-chain-finance loans to merchants, yuan
    scf_losses: np.ndarray      # cumulative SCF losses on failed merchants, yuan
    appetite: np.ndarray        # risk appetite (1 = normal)
    weights: np.ndarray         # (L, 9) score weights
    prior_weights: np.ndarray   # (L, 9) prior weights (ridge target)
    fee_income: np.ndarray      # cumulative fee income, yuan
    interest_cost: np.ndarray   # cumulative funding cost, yuan
    charge_off_total: np.ndarray  # cumulative charge-offs, yuan
    payouts: np.ndarray         # cumulative payouts to owners, yuan

    @property
    def equity(self) -> np.ndarray:
        return self.cash + self.receivables + self.scf_loans - self.funding - self.settlement_payable

    @classmethod
    def create(cls, params: list[LenderParams], initial_equity: np.ndarray) -> "LenderState":
        L = len(params)
        w = np.array([p.initial_weights for p in params], dtype=float)
        z = np.zeros(L)
        return cls(cash=initial_equity.astype(float).copy(), funding=z.copy(), receivables=z.copy(),
                   settlement_payable=z.copy(), scf_loans=z.copy(), scf_losses=z.copy(), appetite=np.ones(L), weights=w.copy(),
                   prior_weights=w.copy(), fee_income=z.copy(),
                   interest_cost=z.copy(), charge_off_total=z.copy(), payouts=z.copy())


class Lender(ViewAgent):
    """A lender (a view of row ``index`` of ``model.lenders``)."""

    def __init__(self, model, index: int, name: str):
        super().__init__(model, index)
        self.name = name

    @property
    def equity(self) -> float:
        return float(self.model.lenders.equity[self.index])

    @property
    def appetite(self) -> float:
        return float(self.model.lenders.appetite[self.index])

    @property
    def weights(self) -> np.ndarray:
        return self.model.lenders.weights[self.index]

    def __repr__(self) -> str:
        return f"Lender({self.name!r})"


# --------------------------------------------------------------------------- the change log


class LimitLog:
    """Every limit change with its cause (``limit_changes.parquet``) and daily counts."""

    def __init__(self, n_lenders: int):
        self.chunks: list[tuple] = []
        self.recording = False
        self.cuts = np.zeros(n_lenders, dtype=np.int64)
        self.cut_amount = np.zeros(n_lenders)
        self.raises = np.zeros(n_lenders, dtype=np.int64)
        self.cuts_by_cause = np.zeros((n_lenders, len(CAUSES)), dtype=np.int64)

    def reset_day(self) -> None:
        self.cuts[:] = 0
        self.cut_amount[:] = 0
        self.raises[:] = 0
        self.cuts_by_cause[:] = 0

    def add(self, day: int, l: int, idx: np.ndarray, old: np.ndarray, new: np.ndarray, cause,
            acc: Accounts) -> None:
        """Record changes for consumers ``idx`` at lender ``l``; ``cause`` a name or code array."""
        if idx.size == 0:
            return
        codes = (np.full(idx.size, CAUSE_CODE[cause], dtype=np.int8) if isinstance(cause, str)
                 else cause.astype(np.int8))
        down = (new < old) & (codes != CAUSE_CODE["promo_expiry"])  # expiry leaves the fixed limit
        self.cuts[l] += int(down.sum())
        self.cut_amount[l] += float((old - new)[down].sum())
        self.raises[l] += int((new > old).sum())
        self.cuts_by_cause[l] += np.bincount(codes[down], minlength=len(CAUSES))
        if self.recording:
            self.chunks.append((np.full(idx.size, day, dtype=np.int32), idx.astype(np.int64),
                                np.full(idx.size, l, dtype=np.int8), old.astype(float), new.astype(float),
                                codes, acc.dpd[l][idx].astype(np.int32), acc.pd[l][idx].astype(float)))


# --------------------------------------------------------------------------- scoring


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))


def decayed(score: np.ndarray, since: np.ndarray, today: int, scale: float) -> np.ndarray:
    """A count that decays with time constant ``scale`` days, as of ``today`` (computed only
    where it is non-zero: most accounts have no late payments or flags)."""
    out = np.zeros(score.shape)
    live = np.flatnonzero(score)
    out[live] = score[live] * np.exp(-np.maximum(today - since[live], 0) / scale)
    return out


def features(acc: Accounts, l: int, idx: np.ndarray, today: int, observed_income: np.ndarray,
             income_median: float) -> np.ndarray:
    """The score's features for accounts ``idx`` at lender ``l`` (rows = accounts)."""
    X = np.empty((idx.size, len(FEATURES)))
    X[:, 0] = 1.0
    X[:, 1] = decayed(acc.late_score[l][idx], acc.late_day[l][idx], today, LATE_DECAY_DAYS)
    X[:, 2] = np.minimum(acc.dpd[l][idx], 120) / 30.0
    limit = acc.fixed_limit[l][idx]
    balance = np.where(acc.balance[l][idx] < 0.005, 0.0, acc.balance[l][idx])  # rounding residue is 0
    X[:, 3] = np.where(limit > 0, np.minimum(balance / np.maximum(limit, 1.0), 3.0),
                       np.where(balance > 0, 3.0, 0.0))
    X[:, 4] = np.log(np.maximum(observed_income, 1.0) / income_median)
    others = np.zeros(idx.size)
    for k in range(acc.open.shape[0]):
        if k != l:
            others += acc.open[k][idx] & (today - acc.open_day[k][idx] >= BUREAU_LAG_DAYS)
    X[:, 5] = others
    X[:, 6] = np.maximum(today - acc.open_day[l][idx], 0) / 365.0
    mean = acc.spend_mean[l][idx]
    X[:, 7] = np.log1p(np.where(mean > 0, np.sqrt(acc.spend_var[l][idx]) / np.maximum(mean, 1e-9), 0.0))
    X[:, 8] = decayed(acc.anomaly_score[l][idx], acc.anomaly_day[l][idx], today, ANOMALY_DECAY_DAYS)
    return X


def fit_logistic(X: np.ndarray, y: np.ndarray, prior: np.ndarray, ridge: float,
                 iterations: int = 25) -> np.ndarray:
    """Logistic regression by IRLS (Newton), with a ridge pull toward ``prior``
    on every weight but the intercept."""
    w = prior.copy()
    penalty = np.full(w.size, ridge)
    penalty[0] = INTERCEPT_RIDGE  # weak: keeps the intercept finite when a sample has no events

    def objective(v):
        z = X @ v
        return float(np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * np.sum(penalty * (v - prior) ** 2))

    current = objective(w)
    for _ in range(iterations):
        p = sigmoid(X @ w)
        grad = X.T @ (y - p) - penalty * (w - prior)
        hess = (X * (p * (1 - p))[:, None]).T @ X + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-4:  # damped Newton: halve the step until the fit improves
            trial = w + scale * step
            value = objective(trial)
            if value >= current - 1e-12:
                break
            scale /= 2
        if value < current - 1e-12:  # no step improves the fit: w is the optimum
            break
        w, improvement, current = trial, value - current, value
        if np.max(np.abs(scale * step)) < 1e-8 or abs(improvement) < 1e-10:
            break
    return w


def target_limit(pd: np.ndarray, observed_income: np.ndarray, appetite: float,
                 p: LenderParams) -> np.ndarray:
    """Limit policy: multiple(PD) x observed income x risk appetite, clipped."""
    multiple = p.limit_multiple * np.clip(1.0 - pd / p.pd_max, 0.0, 1.0)
    return np.clip(multiple * observed_income * appetite, p.limit_min, p.limit_max)


# --------------------------------------------------------------------------- book-keeping helpers


def add_debt(acc: Accounts, lenders: LenderState, l: int, idx: np.ndarray, amount: np.ndarray,
             into: str) -> None:
    """Fees and interest: the consumer owes more, the lender earns it (no cash moves)."""
    getattr(acc, into)[l][idx] += amount
    acc.balance[l][idx] += amount
    total = float(amount.sum())
    lenders.receivables[l] += total
    lenders.fee_income[l] += total


def write_off(acc: Accounts, lenders: LenderState, l: int, idx: np.ndarray) -> float:
    """Charge off accounts ``idx``: the lender loses the whole balance."""
    amount = acc.balance[l][idx].copy()
    for name in ("unbilled", "billed", "overdue", "instalment_principal", "balance", "temp_limit"):
        getattr(acc, name)[l][idx] = 0.0
    acc.instalment_months[l][idx] = 0
    total = float(amount.sum())
    lenders.receivables[l] -= total
    lenders.charge_off_total[l] += total
    return total
