# Two commands matter: `make demo` and `make test`. Both create (or reuse) .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.consist-installed

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml constraints.txt
	@echo "== creating $(VENV) (once; later runs reuse it)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "== installing Consist and its test dependencies (a few minutes the first time)"
	$(BIN)/python -m pip install --progress-bar off -e '.[dev]' -c constraints.txt
	touch $(STAMP)
	@echo "== installed"

demo: $(STAMP)
	$(BIN)/python examples/quickstart.py

test: $(STAMP)
	./scripts/system-deps.sh
	$(BIN)/lint-imports
	$(BIN)/mypy src/consist/core src/consist/api
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

docs: $(STAMP)
	$(BIN)/python scripts/gen_plugin_docs.py --check
	$(BIN)/python scripts/gen_cli_docs.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python benchmarks/run_overhead.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache quickstart-workspace
