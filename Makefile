# One-command set-up: `make run` and `make test` create .venv with a Python >= 3.12.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Find a Python >= 3.12: $PYTHON, then python3.13/python3.12/python3 on PATH, then pyenv.
FIND_PYTHON = for c in "$$PYTHON" python3.13 python3.12 python3 \
	  "$$(pyenv prefix 3.13 2>/dev/null)/bin/python3" "$$(pyenv prefix 3.12 2>/dev/null)/bin/python3" \
	  $$(ls -d $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	  [ -n "$$c" ] && command -v "$$c" >/dev/null 2>&1 && \
	  "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo "$$c"; break; }; \
	done

.PHONY: run test venv app bench bench-sweep bench-app docs scenarios clean help

help:
	@echo "make run    - set up .venv, run the baseline scenario, write results/baseline"
	@echo "make test   - set up .venv and run the whole test suite"
	@echo "make bench  - run the benchmarks and print consumer-days per second"
	@echo "make bench-sweep - measure the sweep's overhead and the speed-up of two workers"
	@echo "make app    - set up .venv and serve the app on http://127.0.0.1:8765/"
	@echo "make bench-app - time a step with every panel redrawn (server and Chromium)"
	@echo "make docs   - refill the generated tables of docs/model.md and docs/scenarios.md"
	@echo "make scenarios - rerun every study of docs/scenarios.md (under an hour on two cores)"

$(STAMP): pyproject.toml
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then \
	  echo "error: Python >= 3.12 not found. Install one (e.g. 'pyenv install 3.12' or 'apt-get install python3.12 python3.12-venv')," >&2; \
	  echo "       or point PYTHON=/path/to/python3.12 at it, then run make again." >&2; exit 1; \
	fi; \
	echo "using $$py ($$($$py --version))"; \
	rm -rf $(VENV) && $$py -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/sim run baseline --out results/baseline

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_step.py

bench-sweep: $(STAMP)
	$(PY) benchmarks/bench_sweep.py --out benchmarks/out/bench_sweep.json

app: $(STAMP)
	$(VENV)/bin/sim app

bench-app: $(STAMP)
	$(PY) benchmarks/bench_app.py --browser --out benchmarks/out/bench_app.json

clean:
	rm -rf $(VENV) results .pytest_cache

docs: $(STAMP)
	$(PY) docs/fill_tables.py

scenarios: $(STAMP)
	$(PY) docs/scenarios.py
