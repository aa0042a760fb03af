# Two commands set everything up on a fresh machine:
#   make demo   virtualenv, install (with the embedded ffmpeg), generate a sample recording, encode it
#   make test   the test suite (real ffmpeg on tiny generated frames)
# make docs builds the documentation site (docs/ -> site/). make mutation: mutation testing (docs/testing.md).
# make test-ffmpeg FFMPEG=/usr/bin/ffmpeg runs it on another ffmpeg build.
# make test-lerobot runs tests_lerobot/ against LeRobot 0.6.1 itself (a virtualenv of its own; not in CI).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-data
# Tests run in two processes: one at a time kept about one of two cores busy (process start-ups, real-time waits).
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

.PHONY: install demo test test-ffmpeg test-lerobot lint docs bench mutation clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "encodectl needs Python >= 3.11; run make PYTHON=python3.11 ...")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || $(PYTHON) scripts/bootstrap_venv.py $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/python examples/make_sample_recording.py $(DEMO_DIR) --cameras 2 --episodes 3 --frames 60 --size 320x240
	$(BIN)/encodectl version
	$(BIN)/encodectl encode $(DEMO_DIR) --overwrite
	@echo "Videos: $(DEMO_DIR)/videos/<camera>/<episode>.mp4"

test: install
	$(PYTEST) $(PYTEST_ARGS)

# The suite on another ffmpeg build (CI runs it on Debian's), less the tests marked same_on_every_ffmpeg.
test-ffmpeg: install
	@test -n "$(FFMPEG)" || { echo "usage: make test-ffmpeg FFMPEG=/path/to/ffmpeg"; exit 2; }
	ENCODECTL_FFMPEG="$(FFMPEG)" $(PYTEST) -m "not same_on_every_ffmpeg" $(PYTEST_ARGS)

# install_streaming against LeRobot 0.6.1 itself (tests_lerobot/), in a virtualenv of its own made when missing
# with pyenv's Python 3.12 (LeRobot 0.6 needs >= 3.12; torch makes it a heavy install, so not in `make test`
# or CI). LEROBOT_VENV=path runs it in a virtualenv that already has lerobot[dataset]==0.6.1.
LEROBOT_VENV ?= .venv-lerobot
LEROBOT_PYTHON ?= $(shell pyenv root 2>/dev/null)/versions/3.12.1/bin/python

test-lerobot: $(LEROBOT_VENV)/.encodectl-installed
	$(LEROBOT_VENV)/bin/python -m pytest -q -p no:cacheprovider tests_lerobot $(PYTEST_ARGS)

$(LEROBOT_VENV)/.encodectl-installed: pyproject.toml
	@test -x $(LEROBOT_VENV)/bin/python || { test -x "$(LEROBOT_PYTHON)" || { echo "no Python 3.12 at $(LEROBOT_PYTHON); make test-lerobot LEROBOT_PYTHON=/path/to/python3.12"; exit 2; }; \
		$(LEROBOT_PYTHON) -m venv $(LEROBOT_VENV) && $(LEROBOT_VENV)/bin/python -m pip install --quiet 'lerobot[dataset]==0.6.1'; }
	$(LEROBOT_VENV)/bin/python -m pip install --quiet -e . pytest pytest-timeout
	@touch $@

lint: install
	$(BIN)/ruff check encodectl tests tests_lerobot examples benchmarks scripts
	$(BIN)/ruff format --check encodectl tests tests_lerobot examples benchmarks scripts
	$(BIN)/mypy encodectl

# The documentation site (MkDocs, Material theme) in site/; warnings are errors, so a broken link fails.
# The command reference is generated from the CLI first, so it cannot drift from the code. (Not --quiet: it
# hides the warnings that --strict counts.)
DOCS_STAMP := $(VENV)/.installed-docs

docs: $(DOCS_STAMP)
	$(BIN)/python scripts/command_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The docs extra only when the docs are built: `make test` installs no more than it needs.
$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --quiet -e '.[docs]'
	@touch $(DOCS_STAMP)

bench: install
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/pool.py

# Mutation testing of the modules that hold the promises (scripts/mutation.py, mutmut; minutes per module, not
# in CI): prints the share of mutants killed per module. MODULE=encodectl/watching/rules.py runs one. Niced: the
# machine is shared.
mutation: install
	nice -n 10 $(BIN)/python scripts/mutation.py $(MODULE)

clean:
	rm -rf mutants $(VENV) $(DEMO_DIR) site .pytest_cache .mypy_cache .ruff_cache
