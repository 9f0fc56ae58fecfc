# FieldRound — every target installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
FR := .venv/bin/fieldround

.PHONY: help install run test test-fast lint fmt bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .uv && .uv/bin/pip install -q "uv==$(UV_VERSION)"

install: $(UV) ## create .venv and install the locked dependencies
	$(UV) sync --frozen --python $(PYTHON) -q

run: install ## migrate var/fieldround.db, load the demo estate once, serve on http://127.0.0.1:8000
	$(FR) db upgrade
	$(FR) demo
	$(FR) serve

test: install ## lint, type-check, then every test: unit, integration on SQLite + PostgreSQL (2 workers)
	.venv/bin/ruff check server sync checklists tests
	.venv/bin/ruff format --check server sync checklists tests
	.venv/bin/mypy
	.venv/bin/pytest -n auto

test-fast: install ## the suite on SQLite only
	.venv/bin/pytest -m "not postgres" -x -q

lint: install ## ruff + mypy
	.venv/bin/ruff check server sync checklists tests
	.venv/bin/ruff format --check server sync checklists tests
	.venv/bin/mypy

fmt: install ## format the code
	.venv/bin/ruff check --fix server sync checklists tests
	.venv/bin/ruff format server sync checklists tests

bench: install ## run the benchmarks under tests/benchmarks/ (prints figures and ratios)
	@for f in tests/benchmarks/bench_*.py; do echo "== $$f"; .venv/bin/python $$f || exit 1; done

clean: ## remove the venvs and caches (keeps var/)
	rm -rf .venv .uv .pytest_cache .mypy_cache .ruff_cache
