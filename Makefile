# The front door.  `make help` lists the targets.  Every target uses a local
# virtual environment (.venv), created on first use, so a fresh machine needs
# only python3 (with venv) and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= build
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := build
.PHONY: help build test lint docs check-generated conformance bench measure demo clean distclean venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(STAMP) ## create the virtual environment and install the project (editable) with its tools

build: $(STAMP) ## regenerate examples and vectors, validate them, render the XEP XML and HTML into $(OUT)/
	$(BIN)/xepgen build --out $(OUT)

test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff and mypy --strict
	$(BIN)/ruff check spec_impl tests docs
	$(BIN)/mypy

docs: $(STAMP) ## build the Sphinx documentation (warnings are errors) into docs/_build/html
	rm -rf docs/_autosummary docs/_generated
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

check-generated: $(STAMP) ## fail if committed examples, vectors or the rendered XEP are stale
	$(BIN)/xepgen check

ADAPTER ?= $(BIN)/python -m otrv4_conformance.reference
conformance: $(STAMP) ## run the conformance harness against ADAPTER="command" (default: the reference adapter)
	$(BIN)/otrv4-conformance --adapter "$(ADAPTER)" $(ARGS)

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@touch $@

bench: $(BENCH_STAMP) ## benchmarks against peers run in the same process (python-omemo, xmllint): verdicts, build/bench/*.json, plots in docs/benchmarks/
	@command -v xmllint >/dev/null || echo "note: xmllint not found (apt-get install libxml2-utils): the validation benchmark gives no verdict"
	@rm -f $(OUT)/bench/*.json
	@for b in tests/benchmarks/bench_*.py; do echo "== $$b"; BENCH_OUT=$(OUT)/bench PYTHONPATH=spec_impl:tests/benchmarks $(BIN)/python $$b || exit 1; done
	@echo "== plots and verdicts"
	@BENCH_OUT=$(OUT)/bench PYTHONPATH=spec_impl:tests/benchmarks $(BIN)/python tests/benchmarks/plots.py --out docs/benchmarks

measure: $(STAMP) ## re-measure multi-device delivery (xep/data/multidevice.json; times depend on the machine)
	PYTHONPATH=spec_impl $(BIN)/python -m otrv4_devtools.measure_multidevice

demo: $(STAMP) ## run the demo: a throw-away Prosody, Juliet and Romeo with several devices (needs prosody)
	PYTHONPATH=spec_impl $(BIN)/python -m otrv4_devtools.demo $(ARGS)

clean: ## remove build outputs and caches
	rm -rf $(OUT) docs/_build .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## also remove the virtual environment
	rm -rf $(VENV)
