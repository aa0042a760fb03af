# Two commands set everything up on a fresh machine:
#   make demo   virtualenv, install (with the embedded ffmpeg), generate a sample recording, encode it
#   make test   the test suite (real ffmpeg on tiny generated frames)
# make docs builds the documentation site (docs/ -> site/).
# make test-ffmpeg FFMPEG=/usr/bin/ffmpeg runs it on another ffmpeg build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-data
# Tests run in two processes: one at a time kept about one of two cores busy (process start-ups, real-time waits).
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS)

.PHONY: install demo test test-ffmpeg lint docs bench clean

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

lint: install
	$(BIN)/ruff check encodectl tests examples benchmarks scripts
	$(BIN)/ruff format --check encodectl tests examples benchmarks scripts
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

clean:
	rm -rf $(VENV) $(DEMO_DIR) site .pytest_cache .mypy_cache .ruff_cache
