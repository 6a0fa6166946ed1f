"""The parameter tree: every parameter declared once, with its default, unit,
allowed range, meaning and source.

Scenarios (TOML files in ``scenarios/``) only override values of this tree; the
validation, the ``--set`` overrides, the docs table (``sim params``) and any
user interface read the declarations here.

A parameter is a dataclass field made by :func:`param`. Sections are frozen
dataclasses; :class:`Config` is the root. Key paths are dotted
(``consumers.propensity_mean``, ``lenders.baitiao.anomaly_z``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.inputs import ConfigError, finite_number, parse_toml, read_input_file, show, show_key, show_path

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
MAX_SCENARIO_BYTES = 1 << 20   # a scenario file above 1 MiB is refused unread (the shipped ones are under 4 KiB)
MAX_EXTENDS_DEPTH = 32         # the longest chain of scenario files that ``extends`` one another
SEED_MAX = 2**63 - 1           # seeds are stored as 64-bit signed integers (numpy, parquet, summary.json)
FIRST_YEAR, LAST_YEAR = 1900, 2200   # the simulated calendar (burn-in to the last recorded day) lies in these years
# Upper bounds of integer parameters (a huge value is a range error, not a MemoryError or an
# OverflowError in numpy's int64 arithmetic): a number of days is at most the longest run, since
# a delay, window or tenure longer than any run never comes to pass
MAX_DAYS = 36500               # run.days at most (a century)
WEIGHT_MAX = 100.0             # largest score weight (logit scale) in lenders.*.initial_weights and model_update


def param(default: Any, doc: str, *, unit: str = "", lo: float | None = None,
          hi: float | None = None, source: str = "", choices: tuple = ()) -> Any:
    """Declare one parameter: default, one-line meaning, unit, range, source."""
    meta = {"doc": doc, "unit": unit, "lo": lo, "hi": hi, "source": source,
            "choices": choices}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: _copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value):
    import copy
    return copy.deepcopy(value)


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class RunParams:
    seed: int = param(20260101, "root seed of every random stream", lo=0, hi=SEED_MAX,
                      source="at most 2^63 - 1: stored as a 64-bit integer (numpy, parquet, summary.json)")
    start_date: str = param("2026-01-01", "first recorded day (ISO date)")
    days: int = param(365, "recorded horizon after burn-in", unit="days", lo=1, hi=MAX_DAYS)
    burn_in_days: int = param(90, "unrecorded days simulated before start_date",
                              unit="days", lo=0, hi=3650)
    platform: str = param("baitiao", "lender under study (unsuffixed output columns)")


@dataclass(frozen=True)
class PopulationParams:
    consumers: int = param(5000, "number of consumers", lo=10, hi=50_000_000,
                           source="interactive size; the research size is 100,000 (docs/model.md 2.8)")
    merchants: int = param(100, "number of merchants (all tiers; replaced by the network's size when loaded)",
                           lo=2, hi=1_000_000,
                           source="fifty consumers a merchant, as at the research size (the calibration of "
                           "docs/model.md 11 holds at that ratio; at 25 a merchant failures and unemployment "
                           "run high)")


@dataclass(frozen=True)
class ConsumerParams:
    income_median: float = param(6000.0, "median monthly income", unit="yuan/month", lo=100,
                                 source="NBS 2023 urban per-capita disposable income ~4,300/month; earners ~6,000")
    income_sigma: float = param(0.55, "log-sd of monthly income (lognormal)", lo=0, hi=3)
    propensity_mean: float = param(0.20, "mean share of income spent on the platform", lo=0, hi=1,
                                   source="online retail ~27% of retail sales (NBS 2023)")
    propensity_concentration: float = param(20.0, "beta concentration of the propensity", lo=0.1)
    buffer_months: float = param(1.0, "cash buffer target, in months of income", unit="months",
                                 lo=0, hi=24, source="buffer-stock saving (Carroll 1997)")
    reserve_months: float = param(0.1, "subsistence cash kept back from platform use and repayment",
                                  unit="months", lo=0, hi=12)
    essential_share: float = param(0.45, "essential off-platform spending, share of income",
                                   lo=0, hi=1)
    essential_stickiness: float = param(0.66, "weight of the usual (pre-shock, in-work) income in essential "
                                        "spending; the rest follows current income (a laid-off consumer "
                                        "cuts essentials only part of the way to the benefit)", lo=0, hi=1,
                                        source="calibrated to platform 30+ DPD 1.1-1.6%; essentials fall 20% at job "
                                        "loss, within the 10-25% drop in spending at job loss (Ganong & Noel 2019)")
    collections_payment_share: float = param(0.1, "most of a month's income a consumer whose debt was called "
                                             "in (frozen, 30+ DPD) pays toward it", unit="share of income a "
                                             "month", lo=0, hi=10,
                                             source="calibrated: few accounts cure after 30 DPD (Huabei 90+ "
                                             "about two thirds of 30+)")
    absorb_rate: float = param(0.05, "daily share of cash above buffer spent off-platform",
                               unit="1/day", lo=0, hi=1)
    shop_probability: float = param(0.20, "daily probability of a platform shopping trip (about six a month)",
                                    lo=0.01, hi=1)
    impatient_share: float = param(0.06, "share of ordinary (not risk-prone) consumers who are impatient: thin "
                                   "cash buffers, revolving credit (risk-prone consumers are all impatient)",
                                   lo=0, hi=1, source="calibrated with the risk-prone share (14% impatient in "
                                   "all) to Gross & Souleles 2002 (debt +10-14% of a limit rise) and Agarwal et "
                                   "al. 2018 (MPB by score band)")
    impatient_buffer_factor: float = param(0.3, "cash buffer target of impatient consumers relative to "
                                           "patient ones", lo=0, hi=1,
                                           source="buffer-stock saving with impatience (Carroll 1997)")
    target_utilisation_impatient: list = param([0.5, 0.7], "range of the target utilisation u* of impatient "
                                               "consumers (uniform): the share of their limits they keep drawn",
                                               source="Fulford 2015; Agarwal et al. 2018: MPB ~0.6 for the "
                                               "riskiest band")
    target_utilisation_patient: float = param(0.0, "target utilisation u* of patient consumers (they keep credit "
                                              "unused as a reserve)", lo=0, hi=1,
                                              source="Agarwal et al. 2018: MPB ~0 for the safest band")
    credit_adjustment_rate: float = param(0.3, "kappa: monthly share of the gap between target debt (u* x "
                                          "limits) and debt carried that extra platform spending closes",
                                          unit="1/month", lo=0, hi=30,
                                          source="buffer-stock adjustment (Carroll 1997; Fulford 2015)")
    big_ticket_probability: float = param(1 / 365, "daily probability of a big-ticket purchase, averaged "
                                          "over the year", unit="1/day", lo=0, hi=1)
    big_ticket_promotion_multiplier: float = param(4.0, "big-ticket purchases are this many times as likely "
                                                   "on a promotion-window day as on another day (the yearly "
                                                   "average stays big_ticket_probability)", lo=1, hi=100,
                                                   source="consumers save big purchases for 618 and Double 11")
    big_ticket_min: float = param(0.3, "smallest big-ticket purchase", unit="months of income", lo=0)
    big_ticket_max: float = param(1.5, "largest big-ticket purchase", unit="months of income", lo=0)
    risk_prone_share: float = param(0.08, "share of consumers with a latent high-risk type", lo=0, hi=1)
    hardship_probability: float = param(1 / 6000, "daily probability of an expense shock (normal type)",
                                        unit="1/day", lo=0, hi=1)
    hardship_probability_risky: float = param(1 / 600, "daily probability of an expense shock (risk-prone)",
                                              unit="1/day", lo=0, hi=1)
    hardship_min: float = param(1.0, "smallest expense shock", unit="months of income", lo=0)
    hardship_max: float = param(3.0, "largest expense shock", unit="months of income", lo=0)
    arrears_payment_share: float = param(0.3, "most of a month's income a consumer pays toward expense arrears "
                                         "on a pay day (bills to hospitals, landlords, family are paid in "
                                         "instalments)", lo=0, hi=10)
    fraud_share: float = param(0.002, "share of consumers who are bust-out fraudsters: once an account is "
                               "fraud_dormancy_days old they try to max it out and never repay", lo=0, hi=0.2,
                               source="first-party (bust-out) fraud is a fraction of a percent of accounts")
    fraud_dormancy_days: int = param(60, "days a fraudster's account behaves before the bust-out", unit="days",
                                     lo=0, hi=3650)
    forget_probability: float = param(0.015, "mean chance an able payer forgets a due date", lo=0, hi=1)
    notice_probability: float = param(0.25, "daily chance a forgetful payer notices and pays",
                                      unit="1/day", lo=0, hi=1)
    customer_churn: float = param(0.05, "monthly share of consumers' retailer links that move to another "
                                  "retailer (chosen by size and appeal)", unit="1/month", lo=0, hi=1,
                                  source="retail customer churn of a few percent a month")
    credit_first_share: float = param(0.30, "share of consumers who pay with credit first", lo=0, hi=1,
                                      source="assumed: about 30% of account holders")
    retailer_links: int = param(3, "preferred retailers per consumer (k)", lo=1, hi=20)
    open_second_probability: float = param(0.02, "daily chance a credit-constrained consumer applies to a second lender",
                                           unit="1/day", lo=0, hi=1)
    instalment_threshold: float = param(1000.0, "credit purchases above this may become instalments",
                                        unit="yuan", lo=0)
    instalment_probability: float = param(0.4, "chance a large credit purchase is put on instalments",
                                          lo=0, hi=1)
    instalment_months: list = param([3, 6, 12], "instalment plan lengths offered", unit="months")


@dataclass(frozen=True)
class LabourParams:
    unemployment_normal: float = param(0.05, "unemployment at the start (the outside sector's normal demand is "
                                       "sized so that this is a steady state) and the rate lenders and banks "
                                       "regard as normal; not a target: unemployment is an outcome", lo=0, hi=0.9,
                                       source="China surveyed urban unemployment ~5.2% (NBS 2023)")
    separation_rate: float = param(0.015, "monthly job separation rate (quits and ordinary turnover)",
                                   unit="1/month", lo=0, hi=1,
                                   source="monthly separation rates 1-3% (Shimer 2005; Hobijn & Sahin 2009)")
    risky_separation_multiplier: float = param(3.0, "separation rate of risk-prone types relative to others",
                                               lo=0, hi=50)
    matching_efficiency: float = param(0.5, "matching efficiency mu in M = mu U^a V^(1-a)", unit="1/month",
                                       lo=0.001, hi=100,
                                       source="calibrated: a job-finding rate of about 1/3 a month at 5% "
                                       "unemployment")
    matching_elasticity: float = param(0.5, "elasticity a of matches with respect to job-seekers", lo=0.05,
                                       hi=0.95, source="Petrongolo & Pissarides 2001: 0.5-0.7")
    layoff_speed: float = param(1.0, "share of the outside sector's excess staff laid off a month "
                                "(1: about two thirds of an excess is gone within a month)",
                                unit="1/month", lo=0, hi=30)
    outside_dependence: float = param(0.5, "theta: share of outside jobs that depend on this economy's "
                                      "spending at the outside sector (0 = a fixed outside sector)", lo=0, hi=1,
                                      source="local (non-tradable) employment ~ half of jobs (Moretti 2010)")
    outside_sales_halflife_months: float = param(2.0, "half-life of the outside sector's smoothing of its "
                                                 "monthly sales", unit="months", lo=0.01, hi=120)
    benefit_replacement: float = param(0.4, "benefit income as share of previous wage", lo=0, hi=1)


@dataclass(frozen=True)
class MacroParams:
    funding_rate_normal: float = param(0.03, "lenders' wholesale funding rate at normal times",
                                       unit="1/year", lo=0, hi=1, source="China 1y LPR 3.1-3.45% (2024)")
    confidence_normal: float = param(1.0, "consumer confidence multiplier at normal times", lo=0)


@dataclass(frozen=True)
class LenderParams:
    account_share: float = param(0.8, "share of consumers holding an account at start", lo=0, hi=1)
    initial_tenure_mean_years: float = param(6.0, "mean account age at start (exponential: the steady state "
                                             "of a constant closure rate, about 15% a year)", unit="years", lo=0)
    merchant_discount: float = param(0.006, "merchant discount fee on credit sales", lo=0, hi=0.2,
                                     source="BNPL merchant fees 0.5-1% in China")
    settlement_lag: int = param(2, "days from credit sale to settlement to the merchant", unit="days",
                                lo=0, hi=30)
    late_fee_daily: float = param(0.0005, "late fee on the overdue amount", unit="1/day", lo=0, hi=0.01,
                                  source="Baitiao 0.05%/day")
    instalment_fee_monthly: float = param(0.011, "monthly fee on the outstanding instalment principal",
                                          unit="1/month", lo=0, hi=0.05,
                                          source="Baitiao 0.5-0.8% a month flat on the original principal; "
                                          "a flat fee f over n equal instalments is about 2nf/(n+1) on the "
                                          "declining balance")
    statement_grace_days: int = param(10, "days from statement to due date", unit="days", lo=1, hi=27)
    charge_off_dpd: int = param(180, "days past due at which the account is charged off (on the next "
                                "statement day)", unit="days", lo=30, hi=720,
                                source="FFIEC uniform retail credit classification policy: open-end credit at "
                                "180 days past due")
    minimum_payment_share: float = param(0.10, "minimum payment, share of the statement balance (new bill plus "
                                         "revolving balance)", lo=0, hi=1,
                                         source="Baitiao and Huabei minimum payment 10%")
    revolving_rate_daily: float = param(0.0005, "interest on the revolving balance", unit="1/day", lo=0, hi=0.01,
                                        source="Baitiao and Huabei revolving interest 0.05% a day")
    freeze_dpd: int = param(30, "days past due at which the account is frozen", unit="days", lo=1, hi=720)
    limit_multiple: float = param(2.0, "limit at zero PD, in months of observed income",
                                  unit="months", lo=0, hi=24)
    pd_max: float = param(0.20, "PD (of 90+ DPD within 12 months) at which the target limit reaches zero at "
                          "normal risk appetite", lo=0.001, hi=1,
                          source="break-even: PD x LGD (0.9) near the yearly yield of a revolving line (about 18% "
                          "interest plus fees); with 0.4 the rival lender lost money and its capital ran out")
    appetite_cutoff_elasticity: float = param(1.4, "elasticity of the PD cut-off (where the target limit reaches "
                                              "zero, and the approval PD) to risk appetite: cut-off = pd_max x "
                                              "appetite^this", lo=0, hi=10,
                                              source="calibrated: a heavy platform tightening (-0.4) cuts about "
                                              "a fifth of the accounts, most with no negative record "
                                              "(docs/model.md 11.3; 2008-09: about one card holder in five)")
    appetite_steepness_elasticity: float = param(0.5, "the target's PD multiplier (1 - PD/cut-off) is raised to "
                                                 "appetite^-this: a tightening steepens it", lo=0, hi=10,
                                                 source="calibrated with appetite_cutoff_elasticity")
    appetite_level_elasticity: float = param(0.0, "mild level effect of risk appetite on every target limit: "
                                             "target x appetite^this", lo=0, hi=2,
                                             source="calibrated with appetite_cutoff_elasticity")
    limit_min: float = param(500.0, "smallest limit granted", unit="yuan", lo=0)
    limit_max: float = param(50000.0, "largest limit granted", unit="yuan", lo=0)
    cut_hysteresis: float = param(0.22, "cut only when the target is this far below the limit", lo=0, hi=1,
                                  source="calibrated: in a calm year at most about one account in ten has a "
                                  "limit cut (docs/model.md 11.3)")
    raise_hysteresis: float = param(0.15, "raise only when the target is this far above the limit", lo=0)
    raise_speed: float = param(0.5, "share of the gap closed by one raise", lo=0, hi=1)
    raise_cooldown_days: int = param(180, "no raise within this many days of a cut", unit="days", lo=0,
                                     hi=MAX_DAYS)
    raise_min_tenure_days: int = param(180, "tenure required for a raise", unit="days", lo=0, hi=MAX_DAYS)
    approval_pd: float = param(0.08, "largest PD at which a new account is approved", lo=0, hi=1)
    income_noise: float = param(0.25, "log-sd of the lender's income observation", lo=0, hi=3)
    income_halflife_months: float = param(6.0, "half-life of the lender's income estimate: it follows a "
                                          "consumer's income with a lag (verification and transaction data come "
                                          "in slowly), so a short unemployment spell moves the limit little",
                                          unit="months", lo=0, hi=120,
                                          source="calibrated: calm-year review cuts; 0 sees current income")
    initial_weights: list = param([-3.9, 0.2, 2.8, 1.0, -0.55, 0.25, -0.05, -0.1, 0.05],
                                  "prior score weights (logit of 90+ DPD within 12 months): intercept, late_12m, "
                                  "dpd/30, utilisation, log income/median, other accounts, tenure years, spend "
                                  "volatility, anomaly flags",
                                  source="calibrated: near the weights the baseline's refits settle at (20,000 "
                                  "consumers, docs/model.md 11.3), so the start is close to the scorecard's fixed "
                                  "point")
    reestimate_every_days: int = param(91, "days between scoring-model re-estimations (and snapshots)",
                                       unit="days", lo=1, hi=MAX_DAYS)
    score_horizon_days: int = param(365, "outcome window of the score: 90+ DPD within this many days of a "
                                    "snapshot; a refit uses the newest snapshot at least this old",
                                    unit="days", lo=1, hi=3650,
                                    source="the industry's bad definition, 90+ DPD in 12 months (Thomas, "
                                    "Edelman & Crook 2002; Basel II default at 90 DPD, BCBS 2006 para. 452)")
    reestimate_sample: int = param(20000, "accounts sampled for a re-estimation", lo=100,
                                   hi=50_000_000)   # population.consumers at most: a sample of every account
    reestimate_ridge: float = param(200.0, "ridge pull toward the prior weights in IRLS (a refit on 20,000 "
                                    "accounts moves the scorecard part of the way: lenders update scorecards "
                                    "conservatively)", lo=0,
                                    source="calibrated: with 5 the refits chase their own effect on who defaults "
                                    "and the baseline drifts for years (docs/model.md 11.3)")
    anomaly_z: float = param(5.0, "z-score of a flagged spending spike", lo=0)
    anomaly_floor: float = param(2000.0, "smallest purchase that can be flagged", unit="yuan", lo=0)
    anomaly_limit_share: float = param(1.0, "a flagged purchase also uses at least this share of the fixed "
                                       "limit (1: only spending beyond the fixed limit, on a temporary limit, or "
                                       "a maxed-out line can be flagged)", lo=0, hi=10,
                                       source="calibrated: calm-year anomaly cuts about 2% of accounts")
    anomaly_cut: float = param(0.3, "share of the fixed limit cut on a flag", lo=0, hi=1)
    anomaly_halflife_days: float = param(30.0, "half-life of the spending mean and variance (shopping days)",
                                         unit="days", lo=1)
    promotion_aware: bool = param(False, "scale the anomaly z threshold with the promotion season and measure a "
                                  "purchase against the whole line, temporary limit included (strategy: risk "
                                  "training)")
    differentiated_policy: bool = param(False, "protect long-tenure clean accounts from review cuts (strategy)")
    reminders: bool = param(False, "send a repayment reminder (SMS or app push) to every account with a bill "
                            "due, on the due date (strategy: credit management)")
    reminder_effect: float = param(0.5, "share of forgotten due dates a reminder prevents (able payers who "
                                   "would have forgotten pay on time)", lo=0, hi=1,
                                   source="Cadena & Schoar 2011: SMS reminders raise on-time loan repayment "
                                   "about as much as a 25% interest rebate; assumed: half of forgetting")
    reminder_cost: float = param(0.05, "cost to the lender of one reminder, paid to the outside sector (SMS "
                                 "and push services)", unit="yuan", lo=0, hi=100,
                                 source="bulk SMS in China about 0.03-0.05 yuan a message")
    differentiated_tenure_days: int = param(730, "tenure that counts as long under the differentiated policy",
                                            unit="days", lo=0, hi=MAX_DAYS)
    appetite_unemployment: float = param(4.0, "appetite loss per unit of unemployment rate above normal (4.0: -0.04 a percentage point)", lo=0)
    appetite_delinquency: float = param(8.0, "appetite loss per unit of 30+ DPD rate above normal", lo=0)
    appetite_funding: float = param(5.0, "appetite loss per unit of funding rate above normal", lo=0)
    appetite_capital: float = param(3.0, "appetite loss per unit of capital ratio below target", lo=0)
    appetite_min: float = param(0.4, "lowest risk appetite", lo=0, hi=1)
    appetite_max: float = param(1.2, "highest risk appetite", lo=1)
    appetite_halflife_days: float = param(30.0, "half-life of risk appetite smoothing", unit="days", lo=1)
    delinquency_normal: float = param(0.015, "30+ DPD rate the lender regards as normal", lo=0, hi=1,
                                      source="Huabei 30+ DPD 1.1-1.6% 2017-19")
    capital_target: float = param(0.10, "equity over loans the lender aims at", lo=0, hi=1)
    lgd: float = param(0.9, "loss given default on consumer balances (provisions)", lo=0, hi=1,
                       source="unsecured consumer credit LGD about 0.85-0.95 (Basel II QRRE; Bellotti & Crook "
                       "2012: credit-card recovery rates mostly below 15%)")
    loss_probability_30dpd: float = param(0.3, "lifetime loss probability of an account 30-59 DPD (provisions)",
                                          lo=0, hi=1, source="roll rates of delinquent card accounts to "
                                          "charge-off; IFRS 9 B5.5.37 (30 DPD: lifetime loss)")
    loss_probability_60dpd: float = param(0.6, "lifetime loss probability of an account 60-89 DPD (provisions)",
                                          lo=0, hi=1, source="as loss_probability_30dpd")
    loss_probability_90dpd: float = param(0.85, "lifetime loss probability of an account 90+ DPD (provisions)",
                                          lo=0, hi=1, source="IFRS 9 B5.5.37: 90 DPD is default")
    payout_share: float = param(0.5, "share of equity above 1.2 x the capital target paid out monthly", lo=0, hi=1)
    recapitalisation_floor: float = param(0.5, "a lender whose capital ratio falls below this share of its target "
                                          "is recapitalised to the target by its parent (the outside sector) at "
                                          "month end", lo=0, hi=1,
                                          source="platform lenders are subsidiaries of groups that inject capital "
                                          "(Ant Group, JD Technology); 0 switches it off")
    temp_limit_share: float = param(0.5, "promotion temporary limit, share of the fixed limit", lo=0, hi=5,
                                    source="assumed: half the fixed limit")
    promo_grace_days: int = param(15, "days a temporary limit outlives its window", unit="days", lo=0,
                                  hi=365)   # a temporary limit that outlives a year is a fixed one
    promo_reversion_utilisation: float = param(1.0, "utilisation of the fixed limit at expiry that "
                                               "triggers a reversion cut", lo=0)
    promo_reversion_cut: float = param(0.2, "share of the fixed limit cut at reversion", lo=0, hi=1)
    attrition_monthly: float = param(0.01, "share of open accounts closed voluntarily a month (paid-up ones)",
                                     unit="1/month", lo=0, hi=1)
    acquisition_response: float = param(10.0, "acquisition effort per unit of relative shortfall of accounts "
                                        "below account_share", lo=0)
    new_account_limit_share: float = param(0.5, "a new account starts at this share of its target limit", lo=0,
                                           hi=1)
    reapply_after_charge_off_days: int = param(730, "a consumer charged off at any lender is declined for this "
                                               "long (the bureau shows it)", unit="days", lo=0, hi=MAX_DAYS)
    clean_late_score: float = param(0.37, "decayed late-payment count below which a record is clean (no late "
                                    "payment in about 12 months)", lo=0)
    starting_limit_share: float = param(0.85, "starting limits sit this far into the cut/raise band of the "
                                        "policy's target", lo=0, hi=2)
    starting_score_utilisation: float = param(0.2, "utilisation assumed in the score of starting limits", lo=0,
                                              hi=3)
    starting_score_spend_volatility: float = param(0.7, "spending-volatility feature assumed in the score of "
                                                   "starting limits", lo=0)
    starting_drawn_share: float = param(0.35, "share of starting limits assumed drawn when sizing the lender's "
                                        "starting capital", lo=0, hi=1)


def _default_lenders() -> dict:
    # the rival's line is a second line for most of its holders: less drawn, riskier, and
    # its scorecard (fitted in the baseline) weighs utilisation less
    return {"baitiao": LenderParams(account_share=0.8),
            "huabei": LenderParams(account_share=0.35, starting_drawn_share=0.15,
                                   initial_weights=[-3.4, 0.12, 2.6, 0.7, -0.45, 0.1, -0.07, 0.0, 0.1])}


@dataclass(frozen=True)
class PromotionParams:
    start: str = param("06-01", "first day of the window (MM-DD)")
    peak: str = param("06-18", "peak day (MM-DD)")
    end: str = param("06-20", "last day of the window (MM-DD)")
    demand_peak: float = param(1.5, "extra demand on the peak day (1.5 = +150%)", lo=0)
    demand_window: float = param(0.3, "extra demand on other window days", lo=0)


def _default_promotions() -> dict:
    return {"618": PromotionParams(),
            "double11": PromotionParams(start="10-20", peak="11-11", end="11-13",
                                        demand_peak=2.5, demand_window=0.4)}


@dataclass(frozen=True)
class TierParams:
    markup: float = param(1.35, "price over cost", lo=1, hi=10)
    wage_share: float = param(0.12, "wage bill as share of expected revenue at start", lo=0, hi=1)
    fixed_cost_share: float = param(0.11, "fixed costs (rent, utilities) as share of expected revenue at start "
                                    "(they do not follow sales: operating leverage)", lo=0, hi=1,
                                    source="net margins of small retailers ~3-6% (NBS retail and wholesale "
                                    "profit over revenue)")
    cover_days: float = param(20.0, "target inventory, days of expected cost of goods", unit="days", lo=0,
                              source="about 20 days of cost of goods")
    bank_access_share: float = param(0.2, "share of the tier's merchants with a bank credit line", lo=0, hi=1,
                                     source="World Bank Enterprise Survey China 2012: 25% of firms have a bank "
                                     "loan or line of credit, fewer of the small")
    fixed_assets_months: float = param(0.5, "fixed assets (premises fit-out, equipment), months of expected "
                                       "revenue: illiquid capital that makes a going concern's equity "
                                       "positive though its trade payables exceed its cash", unit="months",
                                       lo=0, hi=120, source="equity of 10-40 days of revenue for retailers and "
                                       "wholesalers, a few months for manufacturers (asset turnover and "
                                       "equity ratios of small firms, NBS enterprise statistics)")


def _default_tiers() -> dict:
    return {"retailer": TierParams(),
            "distributor": TierParams(markup=1.15, wage_share=0.06, fixed_cost_share=0.05, cover_days=25.0,
                                      fixed_assets_months=0.3, bank_access_share=0.45),
            "manufacturer": TierParams(markup=1.30, wage_share=0.12, fixed_cost_share=0.08, cover_days=30.0,
                                       fixed_assets_months=2.0, bank_access_share=0.65)}


@dataclass(frozen=True)
class NetworkParams:
    path: str = param("", "GraphML or edge-list CSV file of the supply network ('' = generate one)")
    nodes_path: str = param("", "nodes CSV of an edge-list network ('' = <stem>.nodes.csv beside it)")
    retailer_share: float = param(0.7, "share of merchants that are retailers", lo=0, hi=1)
    distributor_share: float = param(0.2, "share of merchants that are distributors", lo=0, hi=1)
    suppliers_per_retailer: int = param(2, "distributors each retailer buys from", lo=1, hi=50)
    suppliers_per_distributor: int = param(2, "manufacturers each distributor buys from", lo=1, hi=50)
    pareto_alpha: float = param(1.5, "tail index of merchant sizes (1 + Pareto)", lo=0.5, hi=10)
    attachment: str = param("additive", "preferential attachment: 'additive' (size + buyers so far) or "
                            "'multiplicative' (size x (1 + buyers); condenses onto one supplier)",
                            choices=("additive", "multiplicative"),
                            source="Barabasi & Albert 1999; sizes as fitness (Bianconi & Barabasi 2001)")
    relink_delay_days: int = param(30, "days a buyer needs to find and qualify a new supplier after its "
                                   "supplier failed or rationed it for as long (relationship-specific inputs)",
                                   source="Barrot & Sauvagnat 2016: supplier disruptions last about a quarter",
                                   unit="days", lo=0, hi=3650)


@dataclass(frozen=True)
class MerchantParams:
    start_sales_share: float = param(0.88, "the start sizes merchants (stocks, staff, costs, lines) for this "
                                     "share of consumers' desired platform spending: the rest goes unmet by "
                                     "cash- and credit-constrained consumers", lo=0.1, hi=1,
                                     source="measured in the baseline (docs/model.md): about 12% of desired "
                                     "spending is unmet")
    restock_speed: float = param(0.3, "share of the inventory gap ordered per day", lo=0, hi=1)
    cash_buffer_days: float = param(27.0, "median cash buffer target, days of outflows (cost of goods, fixed "
                                    "costs, wages)", unit="days", lo=0, hi=3650,
                                    source="JPMorgan Chase Institute 2016: the median small business holds "
                                    "27 days of cash outflows")
    cash_buffer_sigma: float = param(0.6, "log-sd of merchants' cash buffer targets (lognormal)", lo=0, hi=3,
                                     source="JPMorgan Chase Institute 2016: a quarter hold under 13 days, a "
                                     "quarter over 62")
    sales_halflife_days: float = param(14.0, "half-life of expected sales smoothing", unit="days", lo=1)
    trade_terms_days: int = param(60, "days from shipment to the invoice's due date", unit="days", lo=1,
                                  hi=365, source="typical trade-credit terms, about 60 days")
    capacity_halflife_days: float = param(90.0, "half-life of manufacturers' capacity following their expected "
                                          "output (machines and trained staff take months)", unit="days", lo=1)
    backorder_days: float = param(30.0, "mean days an unfilled order stays on back-order before the buyer "
                                  "cancels it", unit="days", lo=1)
    rationed_fill: float = param(0.5, "a supplier shipping less than this share of what a buyer asked rations "
                                 "it; rationed for relink_delay_days, the buyer qualifies a second supplier",
                                 lo=0, hi=1)
    capacity_margin: float = param(2.0, "manufacturers' capacity over their expected output (overtime, "
                                   "temporary staff in peaks)", lo=1)
    appeal_persistence: float = param(0.95, "monthly AR(1) coefficient of a retailer's log appeal to "
                                      "customers (fashion, location, service)", lo=0, hi=0.9999)
    appeal_sigma: float = param(0.15, "monthly innovation sd of a retailer's log appeal", lo=0, hi=2,
                                source="calibrated: with thin margins, idiosyncratic demand gives most of the "
                                "baseline's 2-6% yearly failures")
    protected_cash_share: float = param(0.5, "share of its cash buffer target a merchant keeps for wages and "
                                        "urgent bills: invoices beyond what the rest of its cash pays are "
                                        "stretched", lo=0, hi=1,
                                        source="Boissay & Gropp 2013: more than a quarter of a liquidity shock "
                                        "is passed to suppliers (T8; docs/model.md)")
    working_cash_share: float = param(0.5, "credit lines are repaid from cash above this share of the cash "
                                      "buffer target", lo=0, hi=10)
    distress_line_use: float = param(0.8, "a merchant drawing more than this share of its bank line is "
                                     "distressed", lo=0, hi=1)
    min_wage_share: float = param(0.5, "staffing plans assume at least this share of the median income per "
                                  "employee", lo=0, hi=10)
    stretch_days: int = param(20, "a merchant short of cash pays suppliers late for up to this many days "
                              "before it draws credit lines or asks its owner to pay them (0: lines first)",
                              unit="days", lo=0, hi=365,
                              source="Boissay & Gropp 2013: firms pass over a quarter of a liquidity shock "
                              "to their suppliers")
    credit_stop_days: int = param(30, "suppliers stop shipping to a buyer whose arrears on the relation are "
                                  "older than this", unit="days", lo=0, hi=MAX_DAYS)
    bank_line_months: float = param(2.0, "bank credit line, months of expected revenue", unit="months", lo=0)
    bank_rate: float = param(0.05, "interest on drawn bank lines", unit="1/year", lo=0, hi=1,
                             source="China 1y LPR 3.1% + SME spread")
    scf_share: float = param(0.0, "share of merchants enrolled in the platform's supply-chain finance",
                             lo=0, hi=1)
    instalment_offers: bool = param(False, "retailers offer interest-free instalments (分期免息) on credit "
                                    "purchases above consumers.instalment_threshold and pay the lender the "
                                    "instalment fee up front (strategy)")
    offer_take_up: float = param(0.8, "chance a purchase above the instalment threshold goes on an interest-free "
                                 "plan when one is offered (against consumers.instalment_probability when the "
                                 "consumer pays the fee)", lo=0, hi=1,
                                 source="assumed: most buyers of big items take a free plan")
    offer_big_ticket_uplift: float = param(0.2, "big-ticket purchases are this much more frequent when retailers "
                                           "offer interest-free instalments", lo=0, hi=10,
                                           source="Berg, Burg, Keil & Puri 2023: offering buy-now-pay-later "
                                           "raises a retailer's sales by about 20%, mostly from buyers short of "
                                           "liquidity; applied here to big tickets only")
    scf_advance_rate: float = param(0.8, "SCF line, share of receivables (trade and settlements)", lo=0, hi=1)
    scf_rate: float = param(0.06, "interest on SCF loans (income of the platform)", unit="1/year", lo=0, hi=1)
    owner_topup_share: float = param(0.2, "share of a cash shortfall below the buffer target that the owner "
                                     "puts back from their own cash at the month end (none while the "
                                     "business's net worth is negative)", unit="1/month", lo=0, hi=1)
    owner_households: bool = param(True, "merchants are household businesses owned by consumers (false: "
                                   "owned by outside investors, who receive the payouts and top up without "
                                   "limit; for counterfactuals without the owners' income channel)")
    owner_income_halflife_months: float = param(3.0, "half-life of the smoothing of payouts that owners treat "
                                                "as their income", unit="months", lo=0.01)
    loss_shock_rate: float = param(0.005, "yearly chance of an operating loss (fraud, lawsuit, breakdown, bad "
                                   "batch) hitting a merchant: a small minority of failures (docs/model.md)",
                                   unit="1/year", lo=0, hi=50)
    loss_shock_min: float = param(1.0, "smallest operating loss, months of expected revenue", unit="months", lo=0)
    loss_shock_max: float = param(4.0, "largest operating loss, months of expected revenue", unit="months", lo=0)
    failure_arrears_days: int = param(90, "a merchant fails when its oldest arrears (to suppliers, or an "
                                      "overdraft beyond its bank line) are this old",
                                      unit="days", lo=1, hi=MAX_DAYS)
    failure_arrears_months: float = param(1.0, "... or its arrears (trade, and overdraft beyond its bank line) exceed this many months of revenue",
                                          unit="months", lo=0)
    fire_sale_haircut: float = param(0.5, "loss on a failed merchant's inventory sold off", lo=0, hi=1)
    fixed_asset_haircut: float = param(0.7, "loss on a failed merchant's fixed assets sold off (specific "
                                       "fit-out and equipment fetch little)", lo=0, hi=1)
    factoring_haircut: float = param(0.2, "discount on a failed merchant's receivables sold to the outside",
                                     lo=0, hi=1)
    entry_delay_days: int = param(90, "days before a failed merchant's slot is refilled", unit="days", lo=0,
                                  hi=MAX_DAYS)
    staff_elasticity: float = param(0.4, "short-run elasticity of desired staff to trend sales relative to "
                                    "their long-run level", lo=0, hi=2,
                                    source="employment-output elasticity 0.3-0.5 within a year (Okun; "
                                    "Hamermesh 1993)")
    staff_longrun_halflife_days: float = param(365.0, "half-life of the long-run sales level staff follow "
                                               "fully", unit="days", lo=1)
    merchant_layoff_share: float = param(0.5, "share of a merchant's excess staff laid off at the monthly "
                                         "review", unit="1/month", lo=0, hi=1)
    distress_staff_cut: float = param(0.2, "distressed merchants want this share fewer staff", lo=0, hi=1)
    contagion_window_days: int = param(30, "a failure whose distress began within this many days of a "
                                       "material counterparty loss or a lender's line cut is contagion",
                                       unit="days", lo=0, hi=MAX_DAYS)
    counterparty_materiality: float = param(0.1, "a counterparty loss (write-off, or a buyer's overdue "
                                            "invoices) is material above this share of the creditor's net worth",
                                            lo=0, hi=10)
    counterparty_shortfall_share: float = param(0.5, "... or when it is at least this share of the unpaid "
                                                "debts that make the creditor fail (the loss explains that much "
                                                "of its shortfall)", lo=0, hi=10,
                                                source="a material loss is a share of net worth or of the "
                                                "shortfall (docs/model.md 7.22)")


@dataclass(frozen=True)
class BankParams:
    appetite_unemployment: float = param(4.0, "banks' appetite loss per unit of unemployment rate above normal",
                                         lo=0)
    appetite_losses: float = param(10.0, "banks' appetite loss per unit of yearly loss rate on merchants' "
                                   "drawn lines", lo=0)
    appetite_min: float = param(0.3, "lowest bank risk appetite", lo=0, hi=1)
    appetite_max: float = param(1.0, "highest bank risk appetite", lo=0.5, hi=2)
    appetite_halflife_days: float = param(30.0, "half-life of banks' appetite smoothing", unit="days", lo=1)
    loss_halflife_days: float = param(90.0, "half-life of the loss rate banks remember", unit="days", lo=1)


@dataclass(frozen=True)
class Config:
    run: RunParams = field(default_factory=RunParams)
    population: PopulationParams = field(default_factory=PopulationParams)
    consumers: ConsumerParams = field(default_factory=ConsumerParams)
    labour: LabourParams = field(default_factory=LabourParams)
    macro: MacroParams = field(default_factory=MacroParams)
    lenders: dict = field(default_factory=_default_lenders,
                          metadata={"item": LenderParams, "doc": "lenders by name",
                                    "new_requires": ("account_share",)})
    promotions: dict = field(default_factory=_default_promotions,
                             metadata={"item": PromotionParams, "doc": "promotion windows by name"})
    merchants: MerchantParams = field(default_factory=MerchantParams)
    tiers: dict = field(default_factory=_default_tiers,
                        metadata={"item": TierParams, "doc": "merchant tiers by name", "fixed_keys": True})
    network: NetworkParams = field(default_factory=NetworkParams)
    banks: BankParams = field(default_factory=BankParams)
    shocks: tuple = field(default=(), metadata={"doc": "scheduled shocks ([[shocks]] tables)"})
    name: str = "custom"
    description: str = ""

    # convenience -----------------------------------------------------------
    @property
    def start(self) -> dt.date:
        return dt.date.fromisoformat(self.run.start_date)

    @property
    def lender_names(self) -> list[str]:
        return list(self.lenders)

    def to_dict(self) -> dict:
        return _to_plain(self)

    def get(self, path: str) -> Any:
        node: Any = self
        for part in path.split("."):
            node = node[part] if isinstance(node, dict) else getattr(node, part)
        return node


def _to_plain(obj):
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- building


_TYPES = {"bool": bool, "int": int, "float": float, "str": str, "list": list}


def _check_value(path: str, f: dataclasses.Field, value: Any) -> Any:
    """Coerce ``value`` to the field's type and check its range."""
    kind = _TYPES.get(f.type, f.type) if isinstance(f.type, str) else f.type
    meta = f.metadata
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {show(value)}")
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{path}: expected an integer, got {show(value)}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {show(value)}")
        if not finite_number(value):   # (nan, inf, or an int that float() would overflow)
            raise ConfigError(f"{path}: {show(value)} is not a finite number")
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {show(value)}")
    elif kind is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {show(value)}")
    if kind is list:
        for i, item in enumerate(value):
            if isinstance(item, float) and not math.isfinite(item):
                raise ConfigError(f"{path}[{i}]: {show(item)} is not a finite number")
    lo, hi = meta.get("lo"), meta.get("hi")
    if kind in (int, float) and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        rng = f"[{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
        raise ConfigError(f"{path}: {show(value)} is out of range {rng}"
                          + (f" ({meta['unit']})" if meta.get("unit") else ""))
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{path}: {show(value)} is not one of {list(meta['choices'])}")
    return value


def _build(cls, data: dict, path: str, base):
    """A new ``cls`` from ``base`` with the overrides in ``data`` (validated)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'scenario'}: expected a table, got {show(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    changes = {}
    for key, value in data.items():
        sub = f"{path}.{show_key(key)}" if path else show_key(key)
        if key not in fields:
            close = [n for n in fields if n.startswith(key[:3])]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{sub}: unknown key{hint} (known: {', '.join(sorted(fields))})")
        f = fields[key]
        current = getattr(base, key)
        if dataclasses.is_dataclass(current):
            changes[key] = _build(type(current), value, sub, current)
        elif "item" in f.metadata:
            if not isinstance(value, dict):
                raise ConfigError(f"{sub}: expected a table of named entries, got {show(value)}")
            merged = dict(current)
            for name, entry in value.items():
                if f.metadata.get("fixed_keys") and name not in merged:
                    raise ConfigError(f"{sub}.{show_key(name)}: unknown name (known: {', '.join(merged)})")
                required = f.metadata.get("new_requires", ())
                if name not in merged and required and not (isinstance(entry, dict) and set(required) <= set(entry)):
                    # a new entry must say what makes it one, so that a misspelt name is not a new lender
                    raise ConfigError(f"{sub}.{show_key(name)}: unknown name (known: {', '.join(merged)}); a new "
                                      f"one must set {', '.join(required)}")
                item_base = merged.get(name, f.metadata["item"]())
                merged[name] = _build(f.metadata["item"], entry, f"{sub}.{show_key(name)}", item_base)
            changes[key] = merged
        elif key == "shocks":   # validated against the calendar at the end of load_config
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{sub}: expected a list of shock tables ([[shocks]] in a file, "
                                  f"shocks=[{{kind=..., start=...}}, ...] with --set), got {show(value)}")
            changes[key] = tuple(value)
        else:
            changes[key] = _check_value(sub, f, value)
    return dataclasses.replace(base, **changes)


def _read_toml(path: Path) -> dict:
    """A scenario file's table (:func:`read_input_file`: a regular UTF-8 file of at most
    :data:`MAX_SCENARIO_BYTES`; not empty)."""
    text = read_input_file(path, "scenario file", MAX_SCENARIO_BYTES)
    if not text.strip():
        raise ConfigError(f'{path}: the scenario file is empty (a scenario says at least extends = "baseline")')
    return parse_toml(text, str(path))


def _exists(path: Path) -> bool:
    """Whether ``path`` names something; True when the system refuses to say (the reading
    then says why)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return True


def scenario_files() -> list[Path]:
    """The scenario files in ``scenarios/``, sorted; sweep files (``*_sweep.toml``, :mod:`sim.sweep_file`)
    live there too and are not scenarios."""
    return sorted(p for p in SCENARIO_DIR.glob("*.toml") if not p.name.endswith("_sweep.toml"))


def resolve_scenario(name_or_path: str | Path) -> Path:
    """The TOML file for a scenario name (in ``scenarios/``) or a path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or _exists(p):
        if not _exists(p):
            raise ConfigError(f"scenario file not found: {p}")
        return p
    candidate = SCENARIO_DIR / f"{name_or_path}.toml"
    if not _exists(candidate):
        known = [q.stem for q in scenario_files()]
        raise ConfigError(f"unknown scenario {show(str(name_or_path))}; known scenarios: {', '.join(known)} "
                          f"(or give a path to a .toml file)")
    return candidate


def _scenario_layers(path: Path, seen: tuple = ()) -> list[tuple[Path, dict]]:
    """The files of ``path``'s ``extends`` chain, the first ancestor first, each with its table;
    ``seen``: the files that extend ``path``, the chain's start first (resolved paths)."""
    data = _read_toml(path)
    here = path.resolve()
    if here in seen:
        chain = " -> ".join(str(s) for s in (*seen, here))
        raise ConfigError(f"{path}: 'extends' forms a cycle: {chain}")
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ConfigError(f"{seen[0]}: its 'extends' chain is longer than {MAX_EXTENDS_DEPTH} files (the limit; "
                          f"file {MAX_EXTENDS_DEPTH + 1} is {path})")
    parent = data.pop("extends", None)
    layers = []
    if parent is not None:
        if not isinstance(parent, str) or not parent.strip():
            raise ConfigError(f"{path}: extends must be a scenario name, got {show(parent)}")
        try:
            sibling = path.parent / f"{parent}.toml"
            parent_path = sibling if parent and _exists(sibling) else resolve_scenario(parent)
        except ConfigError as err:
            raise ConfigError(f"{path}: extends: {err}") from None
        layers = _scenario_layers(parent_path, (*seen, here))
    return [*layers, (path, data)]


def parse_override(text: str) -> tuple[str, Any]:
    """``key.path=value`` with value read as TOML (numbers, booleans, strings, lists, inline
    tables); a value that is not TOML is a string (bare words)."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(f"--set {show(text)}: expected key.path=value")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if any(c in raw for c in "\n\r"):   # the rest of a second line would be read as more TOML, or lost
        raise ConfigError(f"--set {show_path(key)}: the value must be on one line")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # bare words
    except RecursionError:
        raise ConfigError(f"--set {show_path(key)}: the value is nested too deeply") from None
    except ValueError:   # an integer of over 4300 digits
        raise ConfigError(f"--set {show_path(key)}: the value has too many digits") from None
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()  # a bare date is a date string (run.start_date=2026-03-10)
    return key, value


def _nest(key: str, value: Any) -> dict:
    out: Any = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def load_config(scenario: str | Path | None = "baseline", overrides: list[str] | tuple = (), *,
                strategies: list[str] | tuple = (), add_shocks: list[dict] | tuple = (),
                **direct: Any) -> Config:
    """Resolve a scenario (with its ``extends`` chain) and ``--set`` overrides.

    ``strategies`` are strategy scenarios (names in ``scenarios/`` or paths) laid over the
    scenario in order: each one's own table (parameters and shocks, not its ``extends``
    chain) as one more layer, so a strategy combines with any crisis (``--strategy NAME``).
    ``add_shocks`` are shock tables added after the scenario's and the strategies' shocks
    (after any ``--set shocks=...`` too): counterfactual switches such as a ``limit_hold``.
    ``direct`` takes dotted keys with ``__`` for dots, for the Python API:
    ``load_config("baseline", population__consumers=1000)``.
    """
    cfg = Config()
    shocks: list = []
    layers: list[tuple[Path, dict]] = []
    if scenario is not None:
        layers = _scenario_layers(resolve_scenario(scenario))
    n_own = len(layers)
    for name in strategies:
        layers.append(_strategy_layer(resolve_scenario(name)))
    for k, (layer_path, data) in enumerate(layers):
        layer_shocks = data.pop("shocks", None)
        desc = data.pop("description", None)
        data.pop("name", None)
        if not isinstance(data.pop("strategy", False), bool):
            raise ConfigError(f"{layer_path}: strategy must be true or false")
        try:
            cfg = _build(Config, data, "", cfg)
        except ConfigError as err:
            raise ConfigError(f"{layer_path}: {err}") from None
        if desc is not None and not isinstance(desc, str):
            raise ConfigError(f"{layer_path}: description: expected a string, got {show(desc)}")
        if desc is not None and k < n_own:   # a strategy keeps the scenario's description
            cfg = dataclasses.replace(cfg, description=desc)
        if layer_shocks is not None:
            if not isinstance(layer_shocks, list):
                raise ConfigError(f"{layer_path}: shocks must be a list of [[shocks]] tables")
            shocks.extend((str(layer_path), i, s) for i, s in enumerate(layer_shocks))
    if scenario is not None:
        name = "+".join([Path(resolve_scenario(scenario)).stem, *(resolve_scenario(n).stem for n in strategies)])
        cfg = dataclasses.replace(cfg, name=name, shocks=tuple(shocks))
    for text in overrides:
        key, value = parse_override(text) if isinstance(text, str) else text
        try:
            cfg = _build(Config, _nest(key, value), "", cfg)
        except ConfigError as err:
            raise ConfigError(f"--set {show_path(key)}: {err}") from None
    for key, value in direct.items():
        cfg = _build(Config, _nest(key.replace("__", "."), value), "", cfg)
    if add_shocks:
        cfg = dataclasses.replace(cfg, shocks=(*cfg.shocks, *(("added", i, dict(t)) for i, t in enumerate(add_shocks))))
    _check_consistency(cfg)
    from sim.shocks import check_targets, parse_shocks
    shocks = parse_shocks(cfg.shocks, cfg)
    if not cfg.network.path:   # a generated network: population.merchants merchants, every tier
        check_targets(shocks, cfg.population.merchants)
    return dataclasses.replace(cfg, shocks=tuple(shocks))


def shock_tables(scenario: str | Path, strategies: list | tuple = ()) -> list[dict]:
    """The raw ``[[shocks]]`` tables of a scenario (its ``extends`` chain, the first ancestor
    first) and of the strategies laid over it, in the order :func:`load_config` lays them
    (what a sweep's ``shocks[N]`` counts)."""
    layers = _scenario_layers(resolve_scenario(scenario))
    layers += [_strategy_layer(resolve_scenario(name)) for name in strategies]
    return [dict(t) if isinstance(t, dict) else t for _, data in layers for t in (data.get("shocks") or [])]


def _strategy_layer(path: Path) -> tuple[Path, dict]:
    """A strategy file's own table: what it changes, without the scenario it ``extends``
    (a strategy file extends the baseline so that it also runs on its own)."""
    data = _read_toml(path)
    data.pop("extends", None)
    if data.get("strategy") is not True:
        raise ConfigError(f"--strategy {path.stem}: {path} is not a strategy (strategy files say strategy = true; "
                          f"strategies: {', '.join(strategy_names()) or 'none'})")
    return path, data


def strategy_names() -> list[str]:
    """The strategy scenarios in ``scenarios/`` (files with ``strategy = true``)."""
    out = []
    for p in scenario_files():
        try:
            if _read_toml(p).get("strategy") is True:
                out.append(p.stem)
        except ConfigError:
            continue
    return out


def _check_consistency(cfg: Config) -> None:
    if cfg.run.platform not in cfg.lenders:
        raise ConfigError(f"run.platform: {show(cfg.run.platform)} is not a lender "
                          f"(lenders: {', '.join(map(show_key, cfg.lenders))})")
    try:
        start = cfg.start
    except ValueError:
        raise ConfigError(f"run.start_date: {show(cfg.run.start_date)} is not an ISO date (YYYY-MM-DD)") from None
    try:
        first = start - dt.timedelta(days=cfg.run.burn_in_days)
        last = start + dt.timedelta(days=cfg.run.days - 1)
    except OverflowError:
        first = last = None
    if first is None or first.year < FIRST_YEAR or last.year > LAST_YEAR:
        raise ConfigError(f"run.start_date: {start.isoformat()} puts the simulated calendar (run.burn_in_days = "
                          f"{cfg.run.burn_in_days} days before it, run.days = {cfg.run.days} from it) outside the "
                          f"years {FIRST_YEAR} to {LAST_YEAR}")
    c = cfg.consumers
    if c.big_ticket_min > c.big_ticket_max:
        raise ConfigError("consumers.big_ticket_min must not exceed consumers.big_ticket_max")
    if c.hardship_min > c.hardship_max:
        raise ConfigError("consumers.hardship_min must not exceed consumers.hardship_max")
    u = c.target_utilisation_impatient
    if len(u) != 2 or not all(finite_number(x) and 0 <= x <= 1 for x in u) or u[0] > u[1]:
        raise ConfigError(f"consumers.target_utilisation_impatient: expected [low, high] with "
                          f"0 <= low <= high <= 1, got {show(u)}")
    months = c.instalment_months
    if not months or len(months) > 12 or any(isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 120
                                             for m in months):
        raise ConfigError(f"consumers.instalment_months: expected a list of 1 to 12 whole months in [1, 120], "
                          f"got {show(months)}")
    for name, lp in cfg.lenders.items():
        w = lp.initial_weights
        if len(w) != 9 or not all(finite_number(x) and abs(x) <= WEIGHT_MAX for x in w):
            raise ConfigError(f"lenders.{show_key(name)}.initial_weights: expected 9 numbers in [-{WEIGHT_MAX:g}, "
                              f"{WEIGHT_MAX:g}] (the intercept and eight feature weights of a logit), got {show(w)}")
        if lp.limit_min > lp.limit_max:
            raise ConfigError(f"lenders.{show_key(name)}.limit_min must not exceed limit_max")
    n = cfg.network
    if n.retailer_share + n.distributor_share >= 1:
        raise ConfigError("network.retailer_share + network.distributor_share must leave room for manufacturers")
    if cfg.population.merchants < 3 and not n.path:
        raise ConfigError("population.merchants: a generated supply chain needs at least 3 merchants")
    if n.path:   # the files are read when the model is built; what can be checked unread is checked now
        from sim.network import check_network_files
        try:
            check_network_files(n.path, n.nodes_path or None)
        except ConfigError as err:
            raise ConfigError(f"network.path: {err}") from None
    for name, pp in cfg.promotions.items():
        days = []
        for key in ("start", "peak", "end"):
            text = getattr(pp, key)
            try:   # a day of every year (not 02-29: the calendar places the window in each year)
                if not re.fullmatch(r"\d\d-\d\d", text):
                    raise ValueError
                days.append(dt.date.fromisoformat("2023-" + text))
            except ValueError:
                raise ConfigError(f"promotions.{show_key(name)}.{key}: {show(text)} is not MM-DD, a day of every "
                                  f"year (02-29 is not)") from None
        if not days[0] <= days[1] <= days[2]:   # a window out of order used to vanish
            raise ConfigError(f"promotions.{show_key(name)}: start {pp.start}, peak {pp.peak} and end {pp.end} must "
                              f"come in that order within one year")
    from agents.lender import CAUSES
    reserved = set(CAUSES) | {"retailer", "distributor", "manufacturer", "banks"}
    for name in cfg.lenders:   # other lenders' output columns are suffixed with their names
        if not re.fullmatch(r"[a-z][a-z0-9]*", name) or name in reserved:
            raise ConfigError(f"lenders.{show_key(name)}: a lender's name must be lowercase letters and digits, starting "
                              f"with a letter, and none of {', '.join(sorted(reserved))} (output columns "
                              f"carry it as a suffix)")


def with_flags(overrides, flags: dict) -> list[str]:
    """``overrides`` (``key.path=value`` strings) with the command line's shortcut flags
    (``--seed``, ``--days``, ``--consumers``, ``--merchants``: ``{key path: value or None}``)
    added as overrides of their keys. A flag and a ``--set`` of the same key must agree: the
    flag used to win silently, whatever the order."""
    out = [str(o) for o in overrides]
    for key, value in flags.items():
        if value is None:
            continue
        for o in out:
            k, sep, v = o.partition("=")
            if sep and k.strip() == key and v.strip() != str(value):
                v = v.strip() if v.strip().isprintable() and len(v) <= 60 else show(v.strip())
                raise ConfigError(f"{key}: --set {key}={v} and the flag's {value} disagree; give one of them")
        out.append(f"{key}={value}")
    return out


def differs_only_in_shocks(a: Config, b: Config) -> bool:
    """Whether configurations ``a`` and ``b`` are the same but for their shocks (and their
    names and descriptions): a scenario and its base in a paired comparison, typically."""
    strip = dict(shocks=(), name="", description="")
    return dataclasses.replace(a, **strip) == dataclasses.replace(b, **strip)


def iter_params(cls=Config, prefix: str = ""):
    """Yield (key path, field, default) for every leaf parameter (docs, UI)."""
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        if f.name in ("name", "description", "shocks"):
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if dataclasses.is_dataclass(default):
            yield from iter_params(type(default), path + ".")
        elif "item" in f.metadata:
            for name, item in default.items():
                for sub, sf, sd in iter_params(type(item), f"{path}.{name}."):
                    yield sub, sf, getattr(item, sf.name)
        else:
            yield path, f, default


def iter_values(cfg: Config, prefix: str = ""):
    """Yield (key path, field, value) for every leaf parameter of the configuration ``cfg``, the
    named tables' entries it has (a lender a scenario adds, say) included."""
    for f in dataclasses.fields(cfg):
        path = f"{prefix}{f.name}"
        if f.name in ("name", "description", "shocks"):
            continue
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            yield from iter_values(value, path + ".")
        elif "item" in f.metadata:
            for name, item in value.items():
                yield from iter_values(item, f"{path}.{name}.")
        else:
            yield path, f, value


def params_table(cfg: Config | None = None, changed: bool = False) -> str:
    """A Markdown table of every parameter (for docs/model.md); with ``cfg``, a column of its
    values beside the defaults (``sim params --scenario NAME``), and with ``changed`` only the
    parameters whose value is not the default."""
    rows = ["| key | default | unit | range | meaning | source |", "|---|---|---|---|---|---|"]
    defaults = {path: default for path, _, default in iter_params()}
    if cfg is not None:
        rows = ["| key | value | default | unit | range | meaning | source |", "|---|---|---|---|---|---|---|"]
    for path, f, value in (iter_params() if cfg is None else iter_values(cfg)):
        m = f.metadata
        default = defaults.get(path, f.default if f.default is not dataclasses.MISSING else f.default_factory())
        if changed and value == default:
            continue
        lo, hi = m.get("lo"), m.get("hi")
        rng = "" if lo is None and hi is None else f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
        shown = f"{default!r}" if cfg is None else f"{value!r}{' *' if value != default else ''} | {default!r}"
        rows.append(f"| `{path}` | {shown} | {m.get('unit', '')} | {rng} | {m.get('doc', '')} | "
                    f"{m.get('source', '')} |")
    return "\n".join(rows)

