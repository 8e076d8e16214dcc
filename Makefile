# Two commands on a fresh clone (only Python 3.10+ and pip needed):
#   make demo   build, print, compile and run a graph; then train an MLP on real handwriting
#   make test   ruff + the test suite
# Both create .venv and install graphc into it (again only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench browser reliability mutation

demo: $(STAMP)
	$(BIN)/python examples/quickstart.py
	$(BIN)/python examples/mlp_digits.py

test: lint browser
	$(BIN)/python -m pytest

# The explorer's browser test drives headless Chromium: install Debian's packages where missing
# (as root, or through sudo; no prompt, so CI's clean machine gets them too).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		( $(SUDO) apt-get update -q && \
		  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver )

lint: $(STAMP)
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[test,examples,mpi]'
	touch $(STAMP)

# `make bench`: graphc against its peers (the `bench` extra); writes benchmarks/RESULTS.md.
BENCH_STAMP := $(VENV)/.installed-bench

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --out benchmarks/RESULTS.md

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[test,examples,mpi,bench]'
	touch $(BENCH_STAMP)

# `make reliability`: differential and parser fuzzing, cache faults, killed saves, CLI bad input
# (all sections at full size, niced: it takes a while); writes reliability/RESULTS.md.
# `python -m reliability --only fuzz --count 100 --seed 1` runs a share.
reliability: $(STAMP)
	nice $(BIN)/python -m reliability

# `make mutation`: mutation test of the compiler's core (tools/mutation, ~30 min on 2 cores, at
# low priority): prints the surviving mutants and, last, `mutation score: K/N killed`.
mutation: $(STAMP)
	nice -n 10 $(BIN)/python -m tools.mutation
