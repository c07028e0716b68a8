# Two commands a newcomer needs: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/carbonc run models/panorama/panorama.carbon
	$(BIN)/carbonc run models/ruritania/inventory.carbon
	$(BIN)/carbonc run models/ruritania/inventory.carbon --choose metric=AR6_GWP100 -o out/ruritania
	$(BIN)/carbonc run models/footprints/footprints.carbon --choose perspective=consumption
	$(BIN)/carbonc run models/wind_pv/wind_pv.carbon
	$(BIN)/carbonc run models/ruritania/inventory.carbon --samples 10000 --seed 42
	$(BIN)/carbonc sensitivity models/ruritania/inventory.carbon --output total --top 5

test: $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy needs the `carbonc.*` layout on disk; a tree of symlinks gives it that without copying.
typecheck: $(STAMP)
	rm -rf .typecheck && mkdir -p .typecheck/carbonc
	cp carbonc/*.py .typecheck/carbonc/
	for d in dsl compiler runtime stdlib; do ln -s ../../$$d .typecheck/carbonc/$$d; done
	cd .typecheck && ../$(BIN)/mypy -p carbonc

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/pytest tests/benchmarks --benchmark-only --benchmark-columns=min,mean,max,rounds -p no:randomly

clean:
	rm -rf $(VENV) .typecheck .mypy_cache .ruff_cache .pytest_cache .hypothesis out
