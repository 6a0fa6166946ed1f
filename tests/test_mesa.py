"""The model follows Mesa's conventions: keyword construction, ``mesa.batch_run``, a built-in
``DataCollector`` over the recorder, ``model.date``, one documented id per agent, and
``remove()`` refused rather than silently desynchronised."""

from __future__ import annotations

import dataclasses
import datetime as dt

import mesa
import numpy as np
import pandas as pd
import pytest

from agents.base import RowRemovalError
from agents.consumer import Consumer
from agents.lender import Lender
from agents.merchant import FAILED, Merchant
from sim.config import ConfigError, load_config
from sim.model import CreditModel

SMALL = {"population__consumers": 200, "population__merchants": 6, "run__days": 6, "run__burn_in_days": 3}


def test_keywords_resolve_the_scenario_and_key_paths():
    model = CreditModel(scenario="tightening", rng=11, **{**SMALL, "run__days": 250})
    cfg = load_config("tightening", ["population.consumers=200", "population.merchants=6", "run.days=250",
                                     "run.burn_in_days=3", "run.seed=11"])
    assert model.cfg == cfg
    assert model.consumers.n == 200 and model.merchants.m == 6


def test_strategies_are_laid_over_the_scenario():
    model = CreditModel(strategies=["cash_reserves"], **SMALL)
    assert model.cfg == load_config("baseline", [f"{k.replace('__', '.')}={v}" for k, v in SMALL.items()],
                                    strategies=("cash_reserves",))
    assert model.cfg.name == "baseline+cash_reserves"


def test_rng_sets_the_seed_and_none_keeps_the_scenarios():
    assert CreditModel(rng=5, **SMALL).cfg.run.seed == 5
    assert CreditModel(rng=0, **SMALL).cfg.run.seed == 0                      # the range's ends are seeds
    assert CreditModel(rng=2**63 - 1, **SMALL).cfg.run.seed == 2**63 - 1
    assert CreditModel(rng=np.int64(8), **SMALL).cfg.run.seed == 8
    assert CreditModel(**SMALL).cfg.run.seed == load_config("baseline").run.seed
    drawn = CreditModel(rng=np.random.default_rng(3), **SMALL).cfg.run.seed
    assert drawn == int(np.random.default_rng(3).integers(2**63 - 1))


@pytest.mark.parametrize("rng", [-1, 2**63, 1.5, "7", True])
def test_a_bad_rng_is_refused_with_the_range(rng):
    with pytest.raises(ConfigError, match=r"rng: expected a seed in \[0, 9223372036854775807\]"):
        CreditModel(rng=rng, **SMALL)


def test_a_config_and_keywords_together_are_refused():
    cfg = load_config("baseline", ["population.consumers=200"])
    with pytest.raises(TypeError) as err:
        CreditModel(cfg, run__days=5, population__merchants=6)
    assert str(err.value) == ("CreditModel: give a resolved config, or scenario/strategies/parameters, not both "
                              "(got config='baseline' with population__merchants, run__days)")
    with pytest.raises(TypeError, match="scenario='tightening'"):
        CreditModel(cfg, scenario="tightening")


def test_an_unknown_key_path_names_it():
    with pytest.raises(ConfigError, match="populaton"):
        CreditModel(populaton__consumers=100)


def test_batch_run_over_two_values_and_two_seeds_returns_a_row_per_run_with_its_last_day():
    rows = mesa.batch_run(CreditModel, parameters={**SMALL, "population__consumers": [200, 300]},
                          rng=[1, 2], max_steps=1000, data_collection_period=-1, number_processes=1,
                          display_progress=False)
    frame = pd.DataFrame(rows)
    assert len(frame) == 4
    assert sorted(zip(frame.population__consumers, frame.rng)) == [(200, 1), (200, 2), (300, 1), (300, 2)]
    assert set(frame.Step) == {3 + 6}          # burn-in and recorded days, all stepped
    for row in frame.itertuples():
        direct = CreditModel(rng=row.rng, **{**SMALL, "population__consumers": row.population__consumers}).run()
        last = direct.results()["timeseries"].iloc[-1]
        assert row.day == 5
        assert row.consumption == last["consumption"]
        assert row.unemployment_rate == last["unemployment_rate"]
        assert row.merchants_active == last["merchants_active"]
    # different seeds are different runs
    a, b = frame[frame.population__consumers == 300].consumption
    assert a != b


def test_batch_run_collects_every_recorded_day():
    rows = mesa.batch_run(CreditModel, parameters=SMALL, rng=[4], max_steps=1000, data_collection_period=1,
                          number_processes=1, display_progress=False)
    frame = pd.DataFrame(rows)
    assert list(frame.day) == list(range(6))
    assert list(frame.Step) == list(range(4, 10))   # steps count the burn-in's three days too


def test_the_datacollectors_model_frame_is_the_recorders_time_series():
    model = CreditModel(scenario="tightening", rng=9, **{**SMALL, "run__days": 250})
    model.run()
    frame = model.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(frame, model.results()["timeseries"])


def test_the_datacollector_collects_nothing_in_the_burn_in():
    model = CreditModel(**SMALL)
    for _ in range(3):
        model.step()
    assert model.datacollector.model_vars["consumption"] == []
    model.step()
    assert model.datacollector.model_vars["day"] == [0]
    assert model.datacollector._collection_steps == [4]


def test_agent_reporters_are_opt_in_and_a_name_reads_none_where_a_type_lacks_it():
    model = CreditModel(**SMALL)
    assert model.datacollector.agent_reporters == {}
    model = CreditModel(agent_reporters={"cash": "cash", "employed": "employed"}, **SMALL)
    model.run(until=1)
    agents = model.datacollector.get_agent_vars_dataframe()
    day0 = agents.xs(4, level="Step")
    lender = next(iter(model.agents_by_type[Lender]))
    consumer = model.consumer(7)
    assert day0.loc[consumer.unique_id, "cash"] == model.consumers.cash[7]
    assert day0.loc[consumer.unique_id, "employed"] == bool(model.consumers.employed[7])
    assert day0.loc[lender.unique_id, "cash"] == model.lenders.cash[lender.index]   # a lender holds cash
    assert day0.loc[lender.unique_id, "employed"] is None
    assert len(day0) == 200 + 6 + len(model.lender_names)


def test_date_is_the_day_just_simulated():
    model = CreditModel(**SMALL)
    start = dt.date(2026, 1, 1)
    assert model.date == start - dt.timedelta(days=4) and model.day == -4   # before the first day
    model.step()
    assert model.day == -3 and model.date == start - dt.timedelta(days=3)
    model.run(until=0)
    assert model.day == -1
    model.step()
    assert model.day == 0 and model.date == start
    assert model.results()["timeseries"]["date"].iloc[-1] == pd.Timestamp(model.date)


def test_date_inside_a_step_is_the_day_being_simulated():
    model = CreditModel(**SMALL)
    seen = []
    model.record = lambda: seen.append(model.day)   # phase 12 runs before the day is over
    model.step()
    model.step()
    assert seen == [-3, -2]


def test_one_id_per_consumer_and_merchant_maps_to_the_outputs():
    model = CreditModel(rng=2, **{**SMALL, "run__days": 60}).run()
    cuts = model.results()["limit_changes"]
    cid = int(cuts["consumer_id"].iloc[0])
    agent = model.consumer(cid)
    assert isinstance(agent, Consumer) and agent.consumer_id == cid == agent.index
    assert agent.cash == model.consumers.cash[cid]
    assert model.merchant(4).merchant_id == 4 and model.merchant(4).cell.coordinate == 4
    ids = [a.unique_id for a in model.agents]
    assert len(set(ids)) == len(ids)   # Mesa's unique_id is unique model-wide


def test_remove_is_refused_and_the_row_keeps_its_view():
    model = CreditModel(**SMALL)
    consumer, merchant = model.consumer(3), model.merchant(2)
    with pytest.raises(RowRemovalError, match="row 3 of the model's arrays"):
        consumer.remove()
    with pytest.raises(RowRemovalError, match=r"force_failure\(2\)"):
        merchant.remove()
    assert consumer in model.agents_by_type[Consumer] and merchant in model.agents_by_type[Merchant]
    assert merchant.cell.agents == [merchant]


def test_merchants_are_fixed_on_their_node():
    model = CreditModel(**SMALL)
    merchant = model.merchant(1)
    other = next(c for c in model.space.all_cells if c.coordinate == 2)
    with pytest.raises(ValueError):
        merchant.cell = other
    assert merchant.cell.coordinate == 1


def test_apply_shock_starts_tomorrow_and_moves_the_model():
    base = CreditModel(rng=6, **{**SMALL, "run__days": 20})
    base.run(until=2)
    shocked = CreditModel(rng=6, **{**SMALL, "run__days": 20})
    shocked.run(until=2)
    shock = shocked.apply_shock("credit_tightening", size=-0.5, days=10)
    assert (shock.start, shock.end) == (2, 12)
    assert shocked.tightening[shocked.platform, shocked.calendar.pos(2)] == -0.5
    assert shocked.tightening[shocked.platform, shocked.calendar.pos(1)] == 0.0
    target = int(np.argmax(shocked.merchants.expected_sales))
    shocked.apply_shock("supplier_failure", target=target)
    for m in (base, shocked):
        m.run(until=8)
    a, b = base.results()["timeseries"], shocked.results()["timeseries"]
    pd.testing.assert_frame_equal(a.iloc[:2], b.iloc[:2])   # the same past
    assert b.risk_appetite.iloc[7] < a.risk_appetite.iloc[7]
    assert shocked.merchants.status[target] == FAILED and b.merchant_failures.iloc[2] >= 1
    assert [s.kind for s in shocked.cfg.shocks] == ["credit_tightening", "supplier_failure"]


def test_apply_shock_is_validated_and_refused_in_the_burn_in():
    model = CreditModel(**SMALL)
    with pytest.raises(ValueError, match="burn-in"):
        model.apply_shock("confidence", size=-0.2)
    model.run(until=0)
    with pytest.raises(ConfigError, match="out of range"):
        model.apply_shock("unemployment", size=5)
    with pytest.raises(ConfigError, match="not a merchant id|target"):
        model.apply_shock("supplier_failure", target=99)
    assert model.cfg.shocks == ()


def test_a_forked_model_keeps_its_own_collector():
    model = CreditModel(**SMALL)
    model.run(until=1)
    twin = model.fork(dataclasses.replace(model.cfg))
    twin.step()
    assert len(twin.datacollector.model_vars["day"]) == 2
    assert len(model.datacollector.model_vars["day"]) == 1


def test_solaravizs_reset_rebuilds_the_model_from_its_keywords():
    from mesa.visualization.solara_viz import _build_model_init_kwargs, _check_model_params

    params = {"scenario": "tightening", "rng": 3, **{**SMALL, "run__days": 250}}
    model = CreditModel(**params)
    _check_model_params(model, params)   # as SolaraViz checks its model_params
    kwargs = _build_model_init_kwargs(model, params, add_scenario_when_empty=True,
                                      require_model_accepts_scenario=True)
    assert kwargs == params
    assert type(model)(**kwargs).cfg == model.cfg


def test_batch_run_with_iterations_repeats_the_scenarios_seed():
    # Mesa 3.5 deprecates iterations for rng; they pass rng=None, which keeps the scenario's seed:
    # the same run twice (give seeds for replicates, as the docstring and README say)
    with pytest.warns(DeprecationWarning, match="iterations"):
        rows = mesa.batch_run(CreditModel, parameters=SMALL, iterations=2, max_steps=1000,
                              data_collection_period=-1, number_processes=1, display_progress=False)
    frame = pd.DataFrame(rows)
    assert len(frame) == 2 and frame.rng.isna().all()
    assert frame.consumption.nunique() == 1 and frame.iteration.tolist() == [0, 1]
