"""docs/model.md stays in step with the code: its generated tables match."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_tables_are_current():
    spec = importlib.util.spec_from_file_location("fill_tables", ROOT / "docs" / "fill_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs" / "model.md").read_text()
    assert module.render(current) == current, "run `make docs` to refresh docs/model.md"
    scenarios = (ROOT / "docs" / "scenarios.md").read_text()
    assert module.render_scenarios(scenarios) == scenarios, "run `make docs` to refresh docs/scenarios.md"


def test_readme_shows_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
