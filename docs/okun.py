"""Measure Okun's relation: how unemployment moves with households' spending after a demand
shock (docs/model.md 11.2, "Okun").

    python docs/okun.py [--seeds 3] [--consumers 20000] [--merchants 400] [--size -0.05]

For each seed the baseline runs to 1 March 2026 and a copy goes on with the outside sector's
autonomous demand lower by ``--size`` from March to December (shock ``demand``; the pair
shares its first days, :meth:`sim.model.CreditModel.fork`). Prints by seed the monthly
paired difference in unemployment (points) and in log household spending, platform and
off-platform (%), then the slope of a least-squares regression of the first on the second,
March to December over the seeds, with the correlation. Textbook Okun coefficients on GDP
are about -0.3 to -0.5. About a minute a seed at 20,000 consumers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import CreditModel, load_config  # noqa: E402

START, END = "2026-03-01", "2027-01-01"


def monthly(model: CreditModel) -> pd.DataFrame:
    ts = model.results()["timeseries"].set_index("date")
    spend = ts["consumption"] + ts["consumption_offplatform"]
    return pd.DataFrame({"unemployment": ts["unemployment_rate"].resample("ME").mean(),
                         "spending": spend.resample("ME").sum()})


def one_seed(seed: int, consumers: int, merchants: int, size: float) -> pd.DataFrame:
    sets = [f"population.consumers={consumers}", f"population.merchants={merchants}", f"run.seed={seed}"]
    base = CreditModel(load_config("baseline", sets))
    shocked_cfg = load_config("baseline", [*sets, f'shocks=[{{kind="demand", start="{START}", end="{END}", '
                                                  f'size={size}}}]'])
    base.run(until=(pd.Timestamp(START) - pd.Timestamp(str(base.calendar.date(0)))).days)
    shocked = base.fork(shocked_cfg)
    b, s = monthly(base.run()), monthly(shocked.run())
    out = pd.DataFrame({"unemployment_points": 100 * (s["unemployment"] - b["unemployment"]),
                        "spending_pct": 100 * np.log(s["spending"] / b["spending"])})
    return out[(out.index >= START) & (out.index < END)].assign(seed=seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--consumers", type=int, default=20_000)
    ap.add_argument("--merchants", type=int, default=400)
    ap.add_argument("--size", type=float, default=-0.05)
    args = ap.parse_args()
    frames = [one_seed(s, args.consumers, args.merchants, args.size) for s in range(1, args.seeds + 1)]
    for f in frames:
        print(f"seed {f['seed'].iloc[0]}: unemployment (points) {f['unemployment_points'].round(2).tolist()}; "
              f"household spending (%) {f['spending_pct'].round(2).tolist()}")
    data = pd.concat(frames)
    slope = np.polyfit(data["spending_pct"], data["unemployment_points"], 1)[0]
    corr = np.corrcoef(data["spending_pct"], data["unemployment_points"])[0, 1]
    late = data[data.index >= "2026-06-01"]
    print(f"slope {slope:.3f} points of unemployment per % of household spending, correlation {corr:.2f}; "
          f"June-December: unemployment {late['unemployment_points'].mean():+.2f} points, "
          f"spending {late['spending_pct'].mean():+.2f}%")


if __name__ == "__main__":
    main()
