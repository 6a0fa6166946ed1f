"""Refill the generated blocks of docs/model.md (columns, shock kinds, parameters)
from the code: ``python docs/fill_tables.py`` (or ``make docs``). A test checks the
committed file is in step."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sim.outputs import COLUMNS, LENDER_COLUMNS
from sim.shocks import KINDS, NOT_YET, OWN_KEYS, SIZE_RANGE

doc = ROOT / "docs" / "model.md"
text = doc.read_text()
scen_doc = ROOT / "docs" / "scenarios.md"

rows = ["| Column | Meaning |", "|---|---|"]
for name, meaning in COLUMNS.items():
    rows.append(f"| `{name}` | {meaning} |")
columns = "\n".join(rows)
lender_cols = ", ".join(f"`{c}`" for c in LENDER_COLUMNS)
krows = ["| Kind | Meaning of `size` and keys | Size (one shock, and overlapping ones added up) | Built |",
         "|---|---|---|---|"]
for k, v in KINDS.items():
    lo_hi = f"[{SIZE_RANGE[k][0]:g}, {SIZE_RANGE[k][1]:g}]" if k in SIZE_RANGE else "any finite number"
    krows.append(f"| `{k}` | {v} | {lo_hi} | {'no' if k in NOT_YET else 'yes'} |")
kinds = "\n".join(krows)
params = subprocess.run([sys.executable, "-m", "sim", "params"], capture_output=True, text=True, check=True).stdout.strip()

CONSTANT = re.compile(r"^([A-Z][A-Z_0-9]+) = (.+?)\s+# (.+)$")
crows = ["| Constant | Module | Value | Meaning |", "|---|---|---|---|"]
for module in ("sim/credit_market.py", "sim/supply_chain.py", "agents/lender.py", "agents/consumer.py"):
    for line in (ROOT / module).read_text().splitlines():
        m = CONSTANT.match(line)
        if m:
            crows.append(f"| `{m.group(1)}` | `{module}` | `{m.group(2)}` | {m.group(3)} |")
constants = "\n".join(crows)


def put(text, tag, body, inline=False):
    pat = re.compile(r"(<!-- BEGIN " + re.escape(tag) + r"[^>]*-->)(.*?)(<!-- END " + re.escape(tag) + r" -->)", re.S)
    assert pat.search(text), tag
    sep = "" if inline else "\n"
    return pat.sub(lambda m: m.group(1) + sep + body + sep + m.group(3), text)

srows = ["| Kind | What it does (`size` and keys) | Size range | Keys of its own |", "|---|---|---|---|"]
for k, v in KINDS.items():
    lo_hi = f"[{SIZE_RANGE[k][0]:g}, {SIZE_RANGE[k][1]:g}]" if k in SIZE_RANGE else "unused"
    own = ", ".join(f"`{key}`" for key in OWN_KEYS.get(k, ())) or "none"
    srows.append(f"| `{k}` | {v} | {lo_hi} | {own} |")
shock_kinds = "\n".join(srows)


def scenario_list() -> str:
    from sim.config import load_config, scenario_files, strategy_names
    strategies = set(strategy_names())
    rows = ["| Scenario | Strategy | Description |", "|---|---|---|"]
    for path in scenario_files():
        rows.append(f"| `{path.stem}` | {'yes' if path.stem in strategies else ''} | "
                    f"{load_config(path).description} |")
    return "\n".join(rows)


def render_scenarios(text: str) -> str:
    text = put(text, "shock-kinds", shock_kinds)
    return put(text, "scenario-list", scenario_list())


def render(text: str) -> str:
    text = put(text, "columns", columns)
    text = put(text, "lender-columns", lender_cols, inline=True)
    text = put(text, "kinds", kinds)
    text = put(text, "constants", constants)
    return put(text, "params", params)


if __name__ == "__main__":
    doc.write_text(render(text))
    scen_doc.write_text(render_scenarios(scen_doc.read_text()))
    print("ok", len(COLUMNS), "columns,", params.count("\n") - 1, "params")
