# The two commands of the README. Each builds its own virtualenv, so a fresh machine needs only
# Python 3.10+ and network access to PyPI.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_MINUTES ?= 1

.PHONY: demo test test-fast lint install clean

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/.installed

## Runs an AutoML experiment on a real dataset into sqlite:///mlflow.db and prints the leaderboard.
demo: install
	$(BIN)/python examples/demo.py --minutes $(DEMO_MINUTES)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Lints, then runs the whole test suite against real MLflow stores, on two pytest workers
## (each test then has a busy neighbour, as on a user's machine).
test: lint
	$(BIN)/pytest -n 2

## The suite without the tests marked slow (whole experiments, servers, subprocesses), on two
## pytest workers: 2.6 min on a slow 2-core machine (5.6 min on one).
test-fast: lint
	$(BIN)/pytest -m "not slow" -n 2

clean:
	rm -rf $(VENV) mlruns mlflow.db build *.egg-info
