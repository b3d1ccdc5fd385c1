# `make run` and `make test` work on a fresh machine: the virtual environment is
# created and the package installed on first use, and again only when
# pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run chat test lint format check docs bench clean

# pytest workers: twice the cores, since most tests wait on a bot process, a
# browser or a database rather than compute (4 measured fastest on 2 cores).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -qq --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## run: the bot on Telegram when TELEGRAM_BOT_TOKEN is set, else a chat in the terminal
run: $(STAMP)
	$(BIN)/python -m bot

## chat: the terminal channel, whatever the environment says
chat: $(STAMP)
	$(BIN)/python -m bot chat

## test: lint, check the import contracts, check the shipped flows, run their scenarios, run the test suite (in parallel, TEST_WORKERS=N to choose)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m bot flows check
	$(BIN)/python -m bot flows test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

## check: load every flow and text, report problems as file:line: message
check: $(STAMP)
	$(BIN)/python -m bot flows check

## docs: draw every flow as docs/flows/<id>.svg (Graphviz comes with the package)
docs: $(STAMP)
	@for file in flows/*.yaml; do \
		id=$$(basename "$$file" .yaml); \
		$(BIN)/python -m bot flows graph "$$id" --format svg --out "docs/flows/$$id.svg" || exit 1; \
	done

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -qq --disable-pip-version-check -e '.[test,bench]'
	touch $(BENCH_STAMP)

## bench: load benchmark, ours vs peers through the real stack, 50 and 500 users (~9 min; BENCH_ARGS=--quick for ~2 min)
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
