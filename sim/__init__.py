"""Credit-limit contagion: an agent-based model of consumer-credit limit cuts
spreading through merchant liquidity (Mesa).

The Python API::

    from sim import load_config, CreditModel
    model = CreditModel(load_config("baseline", ["population.consumers=2000"])).run()
    frames = model.results()      # timeseries, limit_changes (and panel)

    from sim import compare
    table = compare("tightening", against="baseline", seeds=5)   # paired effects (sim/compare.py)
"""

from sim.config import Config, ConfigError, load_config


def __getattr__(name: str):
    # the model imports the agents, which import the configuration: load it lazily so that
    # ``import agents`` works first as well as second
    if name == "CreditModel":
        from sim.model import CreditModel
        return CreditModel
    if name == "compare":
        # the module sim.compare is callable (it calls sim.compare.compare): importing it makes
        # it the package attribute ``compare`` in any case, so it is what is exported
        import importlib
        return importlib.import_module("sim.compare")
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def run(scenario: str = "baseline", overrides=(), *, check: bool = False, panel=None,
        panel_sample: float = 1.0, progress: bool = False) -> "CreditModel":  # noqa: F821
    """Load a scenario, run it, return the finished model."""
    from sim.model import CreditModel
    return CreditModel(load_config(scenario, list(overrides)), check=check, panel=panel,
                       panel_sample=panel_sample).run(progress=progress)


__all__ = ["Config", "ConfigError", "CreditModel", "compare", "load_config", "run"]
