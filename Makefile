# Developer commands; CI runs .ci/run (the same test command as `make test`).
PYTHON ?= python

.PHONY: format lint test test-fast

format:  ## rewrite the code in the house style and apply the safe lint fixes
	ruff format .
	ruff check --fix .

lint:  ## check style without changing anything
	ruff check .
	ruff format --check .

test:  ## the whole suite, slow tests included (what CI runs)
	$(PYTHON) -m pytest -q

test-fast:  ## leave out the end-to-end runs marked slow
	$(PYTHON) -m pytest -q -m "not slow"
