# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint catalogs bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime install; re-done when pyproject.toml changes.
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# Runtime plus the test and lint tools.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

# Translations: every bot/locales/<lang>/LC_MESSAGES/*.po merged into messages.mo.
catalogs: $(VENV)/.run-installed
	$(BIN)/python -m bot.catalogs

run: $(VENV)/.run-installed catalogs
	@if [ ! -f .env ]; then \
		cp .env.example .env; \
		echo "Created .env from .env.example."; \
		echo "Fill in BOT_TOKEN (from @BotFather) and ADMIN_IDS (your Telegram user id), then run 'make run' again."; \
		exit 1; \
	fi
	$(BIN)/python -m bot

test: $(VENV)/.dev-installed catalogs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q

# Figures next to their baselines; not part of `make test`.
bench: $(VENV)/.dev-installed catalogs
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/start_bench.py
	$(BIN)/python bench/telegram_bench.py
	$(BIN)/python bench/email_bench.py
	$(BIN)/python bench/segment_bench.py
	$(BIN)/python bench/counts_bench.py
	$(BIN)/python bench/history_bench.py
	$(BIN)/python bench/journal_bench.py

bench-quick: $(VENV)/.dev-installed catalogs
	$(BIN)/python bench/import_bench.py --rows 5000 --no-memory
	$(BIN)/python bench/start_bench.py --quick
	$(BIN)/python bench/telegram_bench.py --quick
	$(BIN)/python bench/email_bench.py --quick
	$(BIN)/python bench/segment_bench.py --quick
	$(BIN)/python bench/history_bench.py --quick
	$(BIN)/python bench/journal_bench.py --rows 20000 --skip-openpyxl

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
