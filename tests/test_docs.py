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


def test_the_research_page_shows_the_committed_results_with_the_commit_they_were_made_at():
    """docs/scenarios.md's results blocks are the committed tables of docs/results/ rendered
    (``python docs/scenarios.py --render``), each stamped with a commit of this repository."""
    import json
    import subprocess
    spec = importlib.util.spec_from_file_location("scenarios_doc", ROOT / "docs" / "scenarios.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "scenarios.md").read_text()
    assert module.render_page(page) == page, "run `python docs/scenarios.py --render` to refresh docs/scenarios.md"
    for name in module.PARTS:
        meta = json.loads((ROOT / "docs" / "results" / f"{name}.json").read_text())
        assert (ROOT / "docs" / "figures" / f"{name}.png").exists()
        assert f"<!-- BEGIN results-{name}" in page and f"`{meta['commit']}`" in page
        commit = meta["commit"].removesuffix("+changes")
        known = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True)
        assert known.returncode == 0 or not (ROOT / ".git").exists(), f"{name}: commit {commit} is not in this repository"


def test_relative_links_in_the_docs_resolve():
    """Every relative link in README.md and docs/*.md names a file of the repository."""
    import re
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#")[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken
