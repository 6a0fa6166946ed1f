"""The labour market: outside labour demand, separations, layoffs, vacancies and matching.

Unemployment is an outcome. Employers (the outside sector and the merchants) want a
number of staff; those with fewer post vacancies, those with more lay off a share
of the excess; everyone employed also leaves at a normal separation rate. Job-seekers
and vacancies meet through a Cobb-Douglas matching function,
``M = mu x U^alpha x V^(1 - alpha)`` (Petrongolo & Pissarides 2001), so more
job-seekers lower everyone's job-finding rate and more vacancies raise it.

The outside sector's desired employment follows what it sells (:func:`outside_labour_demand`):
off-platform consumer spending and merchants' purchases from it feed back into jobs,
which closes the loop from lost sales to lost income.

Employer codes in ``ConsumerState.employer``: a merchant index, :data:`OUTSIDE` (the
outside sector; also the code of a job-seeker) or :data:`SELF_EMPLOYED` (a merchant's
owner, who lives on the business's payouts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OUTSIDE = -1        # employer code of the outside sector (and of job-seekers)
SELF_EMPLOYED = -2  # employer code of a merchant's owner
DAYS_PER_MONTH = 30.0


def outside_labour_demand(normal: float, autonomous: float, theta: float, sales_ratio: float,
                          shift: float) -> float:
    """The outside sector's desired employment (persons).

    ``N* = N_norm x [(1 - theta) x A + theta x S / S_norm] + shift``: a share ``theta`` of
    outside jobs depends on what this economy buys from the outside sector (``sales_ratio`` =
    smoothed outside sales over their normal level), the rest on autonomous demand ``A``
    (exports, government; 1 in normal times). ``shift`` is a direct change in persons (the
    ``unemployment`` shock: minus its size times the labour force). theta = 0 gives a fixed
    outside sector.
    """
    return max(normal * ((1.0 - theta) * autonomous + theta * sales_ratio) + shift, 0.0)


def matches(job_seekers: float, vacancies: float, efficiency: float, elasticity: float) -> float:
    """Hires a day from the matching function ``mu U^alpha V^(1 - alpha)`` (``efficiency`` mu
    per month, ``elasticity`` alpha on job-seekers), never more than either side."""
    if job_seekers <= 0 or vacancies <= 0:
        return 0.0
    monthly = efficiency * job_seekers ** elasticity * vacancies ** (1.0 - elasticity)
    return min(monthly / DAYS_PER_MONTH, job_seekers, vacancies)


def steady_state_vacancies(job_seekers: float, separations_monthly: float, efficiency: float,
                           elasticity: float) -> float:
    """Vacancies at which hires equal ``separations_monthly`` when ``job_seekers`` look for work
    (the inverse of :func:`matches`): used once, to size the outside sector's normal demand
    so that the starting state is a steady state."""
    if separations_monthly <= 0:
        return 0.0
    return (separations_monthly / (efficiency * max(job_seekers, 1e-9) ** elasticity)) ** (1.0 / (1.0 - elasticity))


@dataclass(slots=True)
class LabourFlows:
    """One day's flows: who left (separations, outside layoffs) and who was hired where."""

    separated: np.ndarray      # ids leaving their job at the normal rate
    laid_off: np.ndarray       # ids laid off by the outside sector (excess staff)
    hired: np.ndarray          # ids hired today
    hired_by: np.ndarray       # their new employer: OUTSIDE or a merchant index
    vacancies: int             # vacancies open this morning (outside and merchants)


def labour_market_day(employed: np.ndarray, employer: np.ndarray, separation_prob: np.ndarray,
                      draw: np.ndarray, outside_target: float, merchant_vacancies: np.ndarray,
                      layoff_speed: float, efficiency: float, elasticity: float,
                      slot_draw: float, turnover_vacancy_rate: float = 0.0) -> LabourFlows:
    """The day's labour-market flows (state is not changed here).

    ``draw`` is one uniform per consumer (stream ``labour``): an employee whose draw is below
    ``separation_prob`` leaves; an outside employee whose draw falls in the next
    ``layoff`` band is laid off, where the outside sector lays off ``layoff_speed`` (a month)
    of its staff above ``outside_target``; a job-seeker whose draw is below the job-finding
    rate ``M / U`` is hired. Owners (:data:`SELF_EMPLOYED`) neither leave nor look.

    Vacancies are the outside sector's shortfall below its target plus the vacancies it keeps
    open to replace turnover (``turnover_vacancy_rate`` of its staff: at its target it hires
    as many as leave), plus the merchants' ``merchant_vacancies``. The hired fill vacancy slots by systematic sampling
    (``slot_draw`` in [0, 1) places the first): every vacancy is filled with the same
    probability and none twice, so a merchant gets at most the staff it asked for.
    """
    employees = employed & (employer != SELF_EMPLOYED)
    outside = employed & (employer == OUTSIDE)
    outside_count = int(np.count_nonzero(outside))
    excess = max(outside_count - outside_target, 0.0)
    layoff_prob = layoff_speed / DAYS_PER_MONTH * excess / max(outside_count, 1)
    seekers = ~employed
    job_seekers = int(np.count_nonzero(seekers))
    vacancies_outside = int(max(np.floor(outside_target + turnover_vacancy_rate * outside_count) - outside_count, 0))
    vacancies = vacancies_outside + int(merchant_vacancies.sum())
    hires = matches(job_seekers, vacancies, efficiency, elasticity)
    finding = hires / max(job_seekers, 1)
    separated = np.flatnonzero(employees & (draw < separation_prob))
    laid_off = np.flatnonzero(outside & (draw >= separation_prob) & (draw < separation_prob + layoff_prob))
    hired = np.flatnonzero(seekers & (draw < finding))
    if hired.size > vacancies:  # the matching function never hires more than there are vacancies
        hired = hired[np.argsort(draw[hired], kind="stable")[:vacancies]]
        hired.sort()
    hired_by = np.empty(hired.size, dtype=np.int64)
    if hired.size:
        # vacancy slots: [0, vacancies_outside) outside, then each merchant's in turn
        positions = np.floor((np.arange(hired.size) + slot_draw) * vacancies / hired.size).astype(np.int64)
        bounds = np.cumsum(np.r_[vacancies_outside, merchant_vacancies])
        bucket = np.searchsorted(bounds, positions, side="right")
        hired_by[:] = np.where(bucket == 0, OUTSIDE, bucket - 1)
    return LabourFlows(separated, laid_off, hired, hired_by, vacancies)


def separation_probability(risk_prone: np.ndarray, separation_rate: float, risky_multiplier: float) -> np.ndarray:
    """Daily chance an employee leaves at the normal rate: ``separation_rate`` a month,
    ``risky_multiplier`` times that for risk-prone types (less stable jobs)."""
    return separation_rate / DAYS_PER_MONTH * np.where(risk_prone, risky_multiplier, 1.0)


def leave_jobs(employed: np.ndarray, employer: np.ndarray, base_income: np.ndarray, outside_wage: np.ndarray,
               staff: np.ndarray, wage_bill: np.ndarray, ids: np.ndarray) -> None:
    """Consumers ``ids`` lose their jobs: merchants' staff and wage bills fall; the consumer
    becomes a job-seeker whose base income is again the outside wage (what a new job would
    pay). The caller refreshes current incomes."""
    if ids.size == 0:
        return
    at_merchant = ids[employer[ids] >= 0]
    m = staff.size
    staff -= np.bincount(employer[at_merchant], minlength=m)
    wage_bill -= np.bincount(employer[at_merchant], base_income[at_merchant], minlength=m)
    employed[ids] = False
    employer[ids] = OUTSIDE
    base_income[ids] = outside_wage[ids]


def take_jobs(employed: np.ndarray, employer: np.ndarray, base_income: np.ndarray, outside_wage: np.ndarray,
              staff: np.ndarray, wage_bill: np.ndarray, merchant_wage: np.ndarray, ids: np.ndarray,
              hired_by: np.ndarray) -> None:
    """Job-seekers ``ids`` take jobs at ``hired_by`` (OUTSIDE or a merchant), at that employer's
    wage (a merchant's posted wage, or the consumer's own outside wage)."""
    if ids.size == 0:
        return
    m = staff.size
    employed[ids] = True
    employer[ids] = hired_by
    at_merchant = hired_by >= 0
    base_income[ids] = np.where(at_merchant, merchant_wage[np.maximum(hired_by, 0)], outside_wage[ids])
    staff += np.bincount(hired_by[at_merchant], minlength=m)
    wage_bill += np.bincount(hired_by[at_merchant], base_income[ids][at_merchant], minlength=m)
