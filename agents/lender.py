"""Lenders and their consumer accounts: state stores, Mesa view agent, and the
four causes of limit cuts (scoring updates, anomaly monitoring, macro
tightening, promotion cycles) as vectorised rules.

Account arrays have shape ``(L, n)``: one row per lender, one column per
consumer. A consumer without an account at a lender has ``open`` false there.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from agents.base import Column, ViewAgent
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
    revolving: np.ndarray       # balance carried past its due date at revolving interest (paid at least the minimum), yuan
    instalment_principal: np.ndarray  # 分期 principal outstanding on instalment plans, yuan
    instalment_months: np.ndarray     # int: months left on the (merged) instalment plan
    free_principal: np.ndarray  # the part of instalment_principal on interest-free plans (merchant-funded), yuan
    balance: np.ndarray         # all the consumer owes: unbilled + billed + overdue + revolving + instalments, yuan
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
    last_90dpd_day: np.ndarray  # int: last day it reached 90 DPD or was charged off before (the score's outcome)
    pd: np.ndarray              # probability of default at the last review
    protected_until: np.ndarray  # int: experiment accounts keep their limit until this day
    treated: np.ndarray         # int8: 1 treated, 0 control, -1 not in an experiment
    month_credit: np.ndarray    # credit spending this month (panel), yuan

    @classmethod
    def empty(cls, n_lenders: int, n: int) -> "Accounts":
        shape = (n_lenders, n)
        ints = {"temp_expiry", "instalment_months", "dpd", "open_day", "closed_day", "late_day",
                "anomaly_day", "spend_obs", "last_30dpd_day", "last_90dpd_day", "protected_until"}
        bools = {"open", "frozen", "forgot", "charged_off"}
        kw = {}
        for f in fields(cls):
            if f.name in bools:
                kw[f.name] = np.zeros(shape, dtype=bool)
            elif f.name == "treated":
                kw[f.name] = np.full(shape, -1, dtype=np.int8)
            elif f.name in ints:
                fill = NEVER if f.name in ("closed_day", "last_30dpd_day", "last_90dpd_day", "late_day",
                                           "anomaly_day", "protected_until", "temp_expiry") else 0
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
    pinned: np.ndarray          # (L, 9) bool: weights a model_update imposed (refits keep them)
    score_auc: np.ndarray       # out-of-time AUC of the score at the last refit (NaN before the first)
    provisions: np.ndarray      # expected-loss allowance on consumer receivables (contra-asset), yuan
    provision_expense: np.ndarray  # cumulative provision expense (charges less releases), yuan
    fee_income: np.ndarray      # cumulative fees: merchant discount, late, instalment, SCF interest, yuan
    interest_income: np.ndarray  # cumulative revolving interest, yuan
    interest_cost: np.ndarray   # cumulative funding cost, yuan
    charge_off_total: np.ndarray  # cumulative charge-offs, yuan
    payouts: np.ndarray         # cumulative payouts to owners, yuan
    injections: np.ndarray      # cumulative capital injected by the parent, yuan

    @property
    def equity(self) -> np.ndarray:
        """Book equity: receivables net of provisions (IFRS 9 loss allowance), so the capital
        ratio sees expected losses before the charge-offs come."""
        return (self.cash + self.receivables - self.provisions + self.scf_loans - self.funding
                - self.settlement_payable)

    @classmethod
    def create(cls, params: list[LenderParams], initial_equity: np.ndarray) -> "LenderState":
        L = len(params)
        w = np.array([p.initial_weights for p in params], dtype=float)
        z = np.zeros(L)
        return cls(cash=initial_equity.astype(float).copy(), funding=z.copy(), receivables=z.copy(),
                   settlement_payable=z.copy(), scf_loans=z.copy(), scf_losses=z.copy(), appetite=np.ones(L), weights=w.copy(),
                   prior_weights=w.copy(), pinned=np.zeros(w.shape, dtype=bool), score_auc=np.full(L, np.nan),
                   provisions=z.copy(), provision_expense=z.copy(), fee_income=z.copy(), interest_income=z.copy(),
                   interest_cost=z.copy(), charge_off_total=z.copy(), payouts=z.copy(),
                   injections=z.copy())


class Lender(ViewAgent):
    """A lender (a view of row ``index`` of ``model.lenders``)."""

    cash = Column("lenders", "liquid balance, yuan")
    funding = Column("lenders", "wholesale funding owed to the outside sector, yuan")
    receivables = Column("lenders", "consumer balances on the lender's book, yuan")
    provisions = Column("lenders", "expected-loss allowance on consumer receivables, yuan")

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
    """Every limit change with its cause (``limit_changes.parquet``) and daily counts.

    A cut is a fall of the fixed limit by the lender's choice: freezes for delinquency and
    charge-offs are counted apart (``freezes``; charge-offs in the repayment flows), and an
    expiring temporary limit leaves the fixed limit alone."""

    NOT_CUTS = ("promo_expiry", "freeze", "charge_off")

    def __init__(self, n_lenders: int):
        self.chunks: list[tuple] = []
        self.recording = False
        self.cuts = np.zeros(n_lenders, dtype=np.int64)
        self.cut_amount = np.zeros(n_lenders)
        self.raises = np.zeros(n_lenders, dtype=np.int64)
        self.freezes = np.zeros(n_lenders, dtype=np.int64)
        self.cuts_by_cause = np.zeros((n_lenders, len(CAUSES)), dtype=np.int64)
        self._not_cut = np.isin(np.arange(len(CAUSES)), [CAUSE_CODE[c] for c in self.NOT_CUTS])

    def reset_day(self) -> None:
        self.cuts[:] = 0
        self.cut_amount[:] = 0
        self.raises[:] = 0
        self.freezes[:] = 0
        self.cuts_by_cause[:] = 0

    def add(self, day: int, l: int, idx: np.ndarray, old: np.ndarray, new: np.ndarray, cause,
            acc: Accounts) -> None:
        """Record changes for consumers ``idx`` at lender ``l``; ``cause`` a name or code array."""
        if idx.size == 0:
            return
        codes = (np.full(idx.size, CAUSE_CODE[cause], dtype=np.int8) if isinstance(cause, str)
                 else cause.astype(np.int8))
        down = (new < old) & ~self._not_cut[codes]
        self.cuts[l] += int(down.sum())
        self.cut_amount[l] += float((old - new)[down].sum())
        self.raises[l] += int((new > old).sum())
        self.freezes[l] += int(np.count_nonzero(codes == CAUSE_CODE["freeze"]))
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
                 iterations: int = 25, pinned: np.ndarray | None = None) -> np.ndarray:
    """Logistic regression by IRLS (Newton), with a ridge pull toward ``prior``
    on every weight but the intercept. Weights marked ``pinned`` are held at their prior
    (a scorecard weight the lender imposed: :func:`update_scorecard`)."""
    if pinned is not None and pinned.any():
        free = ~pinned
        w = prior.copy()
        w[free] = _fit_free(X[:, free], y, prior[free], ridge, iterations, X[:, pinned] @ prior[pinned],
                            intercept=bool(free[0]))
        return w
    return _fit_free(X, y, prior, ridge, iterations, 0.0, intercept=True)


def _fit_free(X: np.ndarray, y: np.ndarray, prior: np.ndarray, ridge: float, iterations: int,
              offset, intercept: bool) -> np.ndarray:
    w = prior.copy()
    penalty = np.full(w.size, ridge)
    if intercept:
        penalty[0] = INTERCEPT_RIDGE  # weak: keeps the intercept finite when a sample has no events

    def objective(v):
        z = X @ v + offset
        return float(np.sum(y * z - np.logaddexp(0.0, z)) - 0.5 * np.sum(penalty * (v - prior) ** 2))

    current = objective(w)
    for _ in range(iterations):
        p = sigmoid(X @ w + offset)
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


def auc(score: np.ndarray, outcome: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a randomly chosen bad account (``outcome``
    true) scores above a randomly chosen good one, ties counted half (the Mann-Whitney U
    statistic over the product of the group sizes; Hanley & McNeil 1982). NaN when either
    group is empty."""
    score = np.asarray(score, dtype=float)
    bad = np.asarray(outcome, dtype=bool)
    n_bad, n_good = int(bad.sum()), int((~bad).sum())
    if n_bad == 0 or n_good == 0:
        return float("nan")
    order = np.argsort(score, kind="stable")
    sorted_score = score[order]
    # mid-ranks: tied scores share the mean of their ranks (1-based)
    first = np.r_[True, sorted_score[1:] != sorted_score[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], score.size]
    mid = (starts + ends + 1) / 2.0
    ranks = np.empty(score.size)
    ranks[order] = mid[group]
    u = ranks[bad].sum() - n_bad * (n_bad + 1) / 2.0
    return float(u / (n_bad * n_good))


def score_outcome(acc: Accounts, l: int, idx: np.ndarray, day: int, horizon_days: int) -> np.ndarray:
    """The score's outcome for accounts ``idx`` of a snapshot taken on ``day``: 90+ DPD
    within ``horizon_days`` (charge-offs before 90 DPD are dated as reaching it), the
    industry's usual bad definition (90 days past due within 12 months: Thomas, Edelman &
    Crook 2002, ch. 8; Basel II's default at 90 DPD, BCBS 2006 para. 452)."""
    reached = acc.last_90dpd_day[l][idx]
    return (reached >= day) & (reached < day + horizon_days)


def target_limit(pd: np.ndarray, observed_income: np.ndarray, appetite: float,
                 p: LenderParams) -> np.ndarray:
    """Risk-based limit policy: multiplier(PD) x observed income, clipped.

    ``target = limit_multiple x (1 - PD / PD_cut)^s x appetite^level_elasticity x income``,
    with the PD cut-off ``PD_cut = pd_max x appetite^cutoff_elasticity`` (the PD at which the
    target reaches zero) and the steepness ``s = appetite^-steepness_elasticity``. Lower risk
    appetite lowers the cut-off and steepens the multiplier, so a tightening takes most from
    marginal (high-PD) accounts and little from the safest, with at most a mild level effect on
    every account: risk-based pricing of credit lines (Thomas, Edelman & Crook 2002, ch. 11;
    in 2008-09 issuers cut lines of borrowers with weaker scores far more: Agarwal et al. 2018).
    At appetite 1 the target is ``limit_multiple x (1 - PD / pd_max) x income``."""
    cutoff = cutoff_pd(p.pd_max, appetite, p)
    share = np.clip(1.0 - pd / cutoff, 0.0, 1.0)
    if appetite != 1.0:
        share = share ** (appetite ** -p.appetite_steepness_elasticity)
        level = appetite ** p.appetite_level_elasticity
    else:
        level = 1.0
    return np.clip(p.limit_multiple * share * level * observed_income, p.limit_min, p.limit_max)


def cutoff_pd(pd_at_normal: float, appetite: float, p: LenderParams) -> float:
    """A PD cut-off at risk appetite ``appetite``: ``pd_at_normal x appetite^cutoff_elasticity``
    (tightening lowers the largest PD the lender accepts)."""
    if appetite == 1.0:
        return pd_at_normal
    return pd_at_normal * max(appetite, 1e-9) ** p.appetite_cutoff_elasticity


# --------------------------------------------------------------------------- book-keeping helpers


def add_debt(acc: Accounts, lenders: LenderState, l: int, idx: np.ndarray, amount: np.ndarray,
             into: str, income: str = "fee_income") -> None:
    """Fees and interest: the consumer owes more, the lender earns it (``income``: fee or
    interest income; no cash moves)."""
    getattr(acc, into)[l][idx] += amount
    acc.balance[l][idx] += amount
    total = float(amount.sum())
    lenders.receivables[l] += total
    getattr(lenders, income)[l] += total


def write_off(acc: Accounts, lenders: LenderState, l: int, idx: np.ndarray, t: int) -> float:
    """Charge off accounts ``idx`` on day ``t``: the lender loses the whole balance. An account
    charged off before it reached 90 DPD is dated as reaching it today (a bad outcome for the
    score)."""
    early = idx[acc.dpd[l][idx] < 90]
    acc.last_90dpd_day[l][early] = t
    amount = acc.balance[l][idx].copy()
    for name in ("unbilled", "billed", "overdue", "revolving", "instalment_principal", "free_principal", "balance",
                 "temp_limit"):
        getattr(acc, name)[l][idx] = 0.0
    acc.instalment_months[l][idx] = 0
    total = float(amount.sum())
    lenders.receivables[l] -= total
    lenders.charge_off_total[l] += total
    return total


# --------------------------------------------------------------------------- limit changes

EXPERIMENT_OVERRIDES = ("freeze", "charge_off", "experiment")  # changes experiments allow


def set_limit(acc: Accounts, log: LimitLog, last_cut_day: np.ndarray, l: int, idx: np.ndarray,
              new: np.ndarray, cause, t: int, experiments: bool, held: np.ndarray | None = None) -> None:
    """Change fixed limits of accounts ``idx`` at lender ``l`` to ``new`` and record each change
    with its ``cause`` (a name or an array of codes); a cut dates the consumer's
    ``last_cut_day`` (the raise cool-down). While credit-line ``experiments`` run,
    accounts in one keep their limits, except for freezes and charge-offs. ``held`` (a mask
    over cause codes, from ``limit_hold`` shocks) switches off today's cuts of those causes:
    the account keeps its limit, as if the lender had not cut it (a counterfactual)."""
    if experiments and not (isinstance(cause, str) and cause in EXPERIMENT_OVERRIDES):
        keep = acc.protected_until[l][idx] <= t
        idx, new = idx[keep], new[keep]
        cause = cause if isinstance(cause, str) else cause[keep]
    old = acc.fixed_limit[l][idx].copy()
    if held is not None:
        codes = np.full(idx.size, CAUSE_CODE[cause]) if isinstance(cause, str) else cause
        keep = ~(held[codes] & (new < old))
        idx, new, old = idx[keep], new[keep], old[keep]
        cause = cause if isinstance(cause, str) else cause[keep]
    log.add(t, l, idx, old, new, cause, acc)
    acc.fixed_limit[l][idx] = new
    cut = idx[new < old]
    last_cut_day[cut] = t


# --------------------------------------------------------------------------- the anomaly monitor


def anomaly_monitor(acc: Accounts, l: int, p: LenderParams, idx: np.ndarray, x: np.ndarray, z: float,
                    t: int, limit_share: float | None = None, aware: bool = False) -> np.ndarray:
    """Cause 2: the anomaly monitor on today's credit purchases ``x`` of accounts ``idx``.

    A purchase above ``anomaly_floor`` is flagged when the account has a history (5 shopping
    days), the purchase is ``z`` standard deviations above its smoothed mean and uses at least
    ``limit_share`` (default ``anomaly_limit_share``) of the FIXED limit (a bust-out pattern, or a promotion-season
    splurge; a temporary limit does not raise the bar, so a splurge on it counts as drawing
    beyond the regular line; a promotion-``aware`` monitor measures it against the whole line,
    fixed plus temporary limit, as spending the temporary limit is what it was granted for);
    then every purchase updates the smoothed mean and variance. A flag adds to the account's
    decaying flag count. Returns the flagged accounts (their limit is cut by ``anomaly_cut``)."""
    mean, var = acc.spend_mean[l][idx], acc.spend_var[l][idx]
    # only purchases above the floor can be flagged: test those (few) in full
    big = np.flatnonzero(x > p.anomaly_floor)
    cand = idx[big]
    limit = acc.fixed_limit[l][cand] + (acc.temp_limit[l][cand] if aware else 0.0)
    share = p.anomaly_limit_share if limit_share is None else limit_share
    flag = ((acc.spend_obs[l][cand] >= 5) & (x[big] > mean[big] + z * np.sqrt(var[big])) &
            (x[big] >= share * limit))
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
    return flagged


# --------------------------------------------------------------------------- promotions


def grant_temporary_limits(acc: Accounts, l: int, p: LenderParams, expiry: int, appetite: float = 1.0) -> None:
    """Cause 4, the opening: a promotion window starts and current, unfrozen accounts with a
    PD below the approval cut-off (:func:`cutoff_pd` at today's risk appetite) get a temporary
    limit (临时额度) of ``temp_limit_share`` of their fixed limit, usable until ``expiry``."""
    eligible = np.flatnonzero(acc.open[l] & ~acc.frozen[l] & (acc.dpd[l] == 0) &
                              (acc.pd[l] < cutoff_pd(p.approval_pd, appetite, p)))
    acc.temp_limit[l][eligible] = p.temp_limit_share * acc.fixed_limit[l][eligible]
    acc.temp_expiry[l][eligible] = expiry


def expire_temporary_limits(acc: Accounts, log: LimitLog, l: int, p: LenderParams,
                            t: int) -> np.ndarray:
    """Cause 4, the close: temporary limits expiring today are removed (logged as
    ``promo_expiry``: the usable limit falls though the fixed limit stays). Returns the
    expiring accounts with a fixed limit: they are re-scored (:func:`promotion_reversion`)."""
    expiring = np.flatnonzero((acc.temp_expiry[l] == t) & acc.open[l] & (acc.temp_limit[l] > 0))
    if expiring.size == 0:
        return expiring
    fixed = acc.fixed_limit[l][expiring]
    log.add(t, l, expiring, fixed + acc.temp_limit[l][expiring], fixed, "promo_expiry", acc)
    acc.temp_limit[l][expiring] = 0.0
    return expiring[fixed > 0]


def promotion_reversion(balance: np.ndarray, fixed: np.ndarray, target: np.ndarray,
                        p: LenderParams) -> tuple[np.ndarray, np.ndarray]:
    """Cause 4, the reversion: at expiry the account is re-scored (``target``: today's target
    limit from current features and weights), and the fixed limit is cut only where the
    promotion left it drawn beyond ``promo_reversion_utilisation`` of the fixed limit AND the
    re-score calls for a cut (the target is more than ``cut_hysteresis`` below the fixed limit).
    The new limit is ``max(target, fixed x (1 - promo_reversion_cut))``: the re-score sets it,
    and one reversion takes at most ``promo_reversion_cut``. Returns (cut mask, new limits of
    the cut)."""
    util = balance / np.maximum(fixed, 1.0)
    cut = (util > p.promo_reversion_utilisation) & (target < fixed * (1 - p.cut_hysteresis)) & (fixed > 0)
    return cut, np.maximum(target[cut], fixed[cut] * (1 - p.promo_reversion_cut))


# --------------------------------------------------------------------------- risk appetite and re-estimation


def capital_flows(equity: np.ndarray, loans: np.ndarray, target: np.ndarray, payout_share: np.ndarray,
                  floor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Month-end capital flows between each lender and its owners: ``payout_share`` of equity
    above 1.2 x the target capital (``target`` x ``loans``) is paid out; a lender whose equity
    is below ``floor`` x the target capital is recapitalised to the target by its parent.
    Returns (payout, injection), yuan."""
    required = target * loans
    payout = np.maximum(equity - 1.2 * required, 0.0) * payout_share
    injection = np.where(equity < floor * required, required - equity, 0.0)
    return payout, injection


def update_appetite(lenders: LenderState, params: list[LenderParams], unemployment: float,
                    unemployment_normal: float, funding_rate: float, funding_rate_normal: float,
                    tightening: np.ndarray, dpd30_count: np.ndarray, open_accounts: np.ndarray) -> None:
    """Cause 3: each lender's risk appetite moves (half-life ``appetite_halflife_days``) toward
    a target that falls with unemployment, the 30+ DPD rate and the funding rate above normal
    and with a capital ratio below target, plus any ``credit_tightening`` shock; clipped to
    [``appetite_min``, ``appetite_max``]. Limits follow appetite at the next review."""
    for l, p in enumerate(params):
        delinquent = dpd30_count[l] / max(open_accounts[l], 1)
        loans = lenders.receivables[l] + lenders.scf_loans[l]
        capital = lenders.equity[l] / loans if loans > 0 else p.capital_target
        target = (1.0 - p.appetite_unemployment * max(unemployment - unemployment_normal, 0.0)
                  - p.appetite_delinquency * max(delinquent - p.delinquency_normal, 0.0)
                  - p.appetite_funding * max(funding_rate - funding_rate_normal, 0.0)
                  - p.appetite_capital * max(p.capital_target - capital, 0.0)
                  + tightening[l])
        target = min(max(target, p.appetite_min), p.appetite_max)
        alpha = 1.0 - 0.5 ** (1.0 / p.appetite_halflife_days)
        lenders.appetite[l] += alpha * (target - lenders.appetite[l])


def refit_score(acc: Accounts, lenders: LenderState, l: int, p: LenderParams, snaps: list, t: int) -> None:
    """Cause 1: refit lender ``l``'s score (:func:`fit_logistic`) on whether the accounts of a
    snapshot (all below 30 DPD when it was taken) reached 90+ DPD within
    ``score_horizon_days`` after it (:func:`score_outcome`). The newest snapshot at least
    ``score_horizon_days`` old is used, so the outcome window has a fixed length whenever the
    fit happens; older snapshots are dropped from ``snaps`` [(day, accounts, features, weights
    in force that day)]. Before refitting, the scores the lender used at the snapshot are
    compared with the outcomes: ``score_auc`` is an honest out-of-time AUC (:func:`auc`)."""
    ready = [snap for snap in snaps if t - snap[0] >= p.score_horizon_days]
    if not ready:
        return
    day, idx, X, used = ready[-1]
    y = score_outcome(acc, l, idx, day, p.score_horizon_days)
    lenders.score_auc[l] = auc(X @ used, y)   # the logit orders as the PD does
    lenders.weights[l] = fit_logistic(X, y.astype(float), lenders.prior_weights[l], p.reestimate_ridge,
                                      pinned=lenders.pinned[l])
    snaps[:] = [snap for snap in snaps if snap[0] >= day]


def update_scorecard(lenders: LenderState, l: int, feature: str, weight: float) -> None:
    """A ``model_update`` shock replaces lender ``l``'s scorecard: the weight of ``feature``
    and its prior become ``weight``, and later refits keep it (it is pinned: the lender
    imposes it, as when a registry starts to report multi-platform borrowing and the lender
    decides how much it counts)."""
    k = FEATURES.index(feature)
    lenders.weights[l, k] = weight
    lenders.prior_weights[l, k] = weight
    lenders.pinned[l, k] = True


def reestimation_sample(performing: np.ndarray, draw: np.ndarray, size: int) -> np.ndarray:
    """The next snapshot's accounts: the ``size`` performing accounts with the smallest draws
    (each account keeps its own draw), sorted."""
    take = min(size, performing.size)
    return np.sort(performing[np.argpartition(draw, take - 1)[:take]])


def update_income_estimate(estimate: np.ndarray, income: np.ndarray, halflife_months: float) -> None:
    """Month end: the lender's income estimate moves toward current income with a half-life of
    ``halflife_months`` (0: it is current income)."""
    weight = 1.0 if halflife_months <= 0 else 1.0 - 0.5 ** (1.0 / halflife_months)
    estimate += weight * (income - estimate)


def observed_income(income: np.ndarray, idx: np.ndarray, noise_sd: float, streams, name: str) -> np.ndarray:
    """Income of consumers ``idx`` as lender ``name`` sees it: true income times a persistent
    per-account log-normal error of sd ``noise_sd`` (the estimate is wrong in the same
    direction review after review: imperfect information)."""
    noise = streams.normal_at(f"income_noise.{name}", 0, idx)
    return income[idx] * np.exp(noise_sd * noise)


# --------------------------------------------------------------------------- reviews


def application_probability(share_now: float, p: LenderParams, attrition: float, response: float) -> float:
    """Monthly chance that a consumer without an account at the lender applies (acquisition):
    the flow that keeps ``account_share`` steady against ``attrition``, stepped up when the
    customer base is below its target share and down when above it (by ``response`` per unit
    of relative shortfall, within 0 to 3 times)."""
    gap = (p.account_share - share_now) / max(p.account_share, 1e-9)
    return attrition * p.account_share / max(1 - p.account_share, 1e-9) * \
        min(max(1.0 + response * gap, 0.0), 3.0)


def attrition_rate(paid_up: np.ndarray, attrition: float) -> float:
    """Monthly chance a paid-up account is closed voluntarily: the rate that closes
    ``attrition`` of all open accounts a month (at least 5% of accounts count as paid up)."""
    return min(1.0, attrition / max(paid_up.mean(), 0.05))


def limit_review(late_12m: np.ndarray, target: np.ndarray, fixed: np.ndarray, frozen: np.ndarray,
                 dpd: np.ndarray, protected: np.ndarray, tenure: np.ndarray, since_cut: np.ndarray,
                 p: LenderParams, clean_late_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The limit policy at a monthly review: returns masks (unfreeze, cut, raise).

    Frozen accounts stay frozen while past due and are unfrozen (at limit 0) once current.
    Active accounts (not frozen, not in an experiment, below ``freeze_dpd``) are cut when
    the target is ``cut_hysteresis`` below the fixed limit (under the differentiated policy,
    not long-tenure clean ones); clean accounts (no late payment in about 12 months, current)
    are raised when the target is ``raise_hysteresis`` above it, after ``raise_min_tenure_days``
    of tenure and ``raise_cooldown_days`` after a cut."""
    unfreeze = frozen & (dpd == 0)
    active = ~frozen & ~protected & (dpd < p.freeze_dpd)
    clean = (late_12m < clean_late_score) & (dpd == 0)
    cut = active & (target < fixed * (1 - p.cut_hysteresis))
    if p.differentiated_policy:
        cut &= ~(clean & (tenure >= p.differentiated_tenure_days))
    raise_ = ((active | unfreeze) & ~protected & clean & (target > np.maximum(fixed, 1.0) *
                                                         (1 + p.raise_hysteresis))
              & (tenure >= p.raise_min_tenure_days)
              & (since_cut >= p.raise_cooldown_days))
    return unfreeze, cut, raise_


def cut_causes(pd: np.ndarray, observed: np.ndarray, fixed: np.ndarray, p: LenderParams) -> np.ndarray:
    """Cause codes of review cuts: ``macro`` when the limit would not be cut at normal risk
    appetite (the cut is the lender's tightening), else ``review`` (the score moved)."""
    normal_target = target_limit(pd, observed, 1.0, p)
    macro = normal_target >= fixed * (1 - p.cut_hysteresis)
    return np.where(macro, CAUSE_CODE["macro"], CAUSE_CODE["review"])


def raised_limit(fixed: np.ndarray, target: np.ndarray, p: LenderParams) -> np.ndarray:
    """A raise closes ``raise_speed`` of the gap between the fixed limit and the target."""
    return fixed + p.raise_speed * (target - fixed)


# --------------------------------------------------------------------------- applications


def eligible_applicants(acc: Accounts, l: int, idx: np.ndarray, t: int, reapply_days: int) -> np.ndarray:
    """Applicants ``idx`` lender ``l`` considers: those without an open account there and
    without a charge-off at any lender in the last ``reapply_days`` (it shows at the bureau)."""
    recent_default = (acc.charged_off[:, idx] & (t - acc.closed_day[:, idx] <= reapply_days)).any(axis=0)
    return idx[~recent_default & ~acc.open[l][idx]]


def underwrite(X: np.ndarray, weights: np.ndarray, observed: np.ndarray, appetite: float, p: LenderParams,
               limit_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Score new applicants (features ``X`` with no history at this lender: bureau-visible
    accounts and income only) and approve those with PD below the approval cut-off
    (``approval_pd`` at normal risk appetite, lower when the lender tightens: :func:`cutoff_pd`);
    a new account starts at ``limit_share`` of its target limit. Returns (approve mask, PD,
    limits of the approved)."""
    X[:, [1, 2, 3, 6, 7, 8]] = 0.0
    pd = sigmoid(X @ weights)
    approve = pd < cutoff_pd(p.approval_pd, appetite, p)
    limit = target_limit(pd[approve], observed[approve], appetite, p) * limit_share
    return approve, pd, limit


def open_accounts(acc: Accounts, l: int, new: np.ndarray, limit: np.ndarray, pd: np.ndarray, t: int) -> None:
    """Open accounts ``new`` at lender ``l`` with fixed limits ``limit``: a fresh history."""
    acc.open[l][new] = True
    acc.charged_off[l][new] = False
    acc.frozen[l][new] = False
    acc.fixed_limit[l][new] = limit
    acc.temp_limit[l][new] = 0.0
    acc.open_day[l][new] = t
    acc.pd[l][new] = pd
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


def enrol_experiment(acc: Accounts, l: int, idx: np.ndarray, treated: np.ndarray, end: int) -> None:
    """A credit-line experiment at lender ``l``: accounts ``idx`` (open, unfrozen, current, with
    a limit) are enrolled, ``treated`` ones as treated, the rest as controls; all keep their
    limits until ``end`` (see :func:`set_limit`)."""
    acc.treated[l][idx] = 0
    acc.treated[l][treated] = 1
    acc.protected_until[l][idx] = end


# --------------------------------------------------------------------------- provisions


def expected_loss(balance: np.ndarray, dpd: np.ndarray, pd: np.ndarray, p: LenderParams) -> np.ndarray:
    """IFRS 9 expected-loss allowance per account (IFRS 9 paras 5.5.3-5.5.5; B5.5.37: more than
    30 DPD is a significant increase in credit risk, 90 DPD default): accounts current or 1-29
    DPD carry the 12-month expected loss ``PD x LGD x balance`` (the PD of the last review is a
    12-month PD of 90+ DPD); accounts 30+ DPD carry the lifetime loss ``q(DPD) x LGD x balance``
    with the loss probability ``q`` rising by bucket (30-59, 60-89, 90+ DPD), as roll rates do.
    ``lgd`` is the loss given default of unsecured consumer credit."""
    q = np.where(dpd >= 90, p.loss_probability_90dpd,
                 np.where(dpd >= 60, p.loss_probability_60dpd,
                          np.where(dpd >= 30, p.loss_probability_30dpd, pd)))
    return q * p.lgd * np.maximum(balance, 0.0)


def update_provisions(lenders: LenderState, l: int, balance: np.ndarray, dpd: np.ndarray, pd: np.ndarray,
                      p: LenderParams) -> float:
    """Recompute lender ``l``'s loss allowance on its accounts (:func:`expected_loss`); the
    change is provision expense (a charge to equity when it rises, a release when it falls, as
    when a charged-off balance leaves the book). Returns today's expense, yuan."""
    owed = np.flatnonzero(balance > 0)
    new = float(expected_loss(balance[owed], dpd[owed], pd[owed], p).sum())
    expense = new - float(lenders.provisions[l])
    lenders.provisions[l] = new
    lenders.provision_expense[l] += expense
    return expense
