# One venv, two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint typecheck bench serve clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required, this is " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*; touch $@

demo: $(STAMP)          ## set up, then run the offline end-to-end demo
	$(BIN)/switchboard demo

test: $(STAMP) lint typecheck  ## set up, then run every test (SQLite, PostgreSQL, Redis)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot connectors agents policies tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_ack.py
	$(BIN)/python bench/bench_dlp.py

serve: $(STAMP)
	$(BIN)/switchboard serve

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info switchboard.db*
